#!/usr/bin/env bash
# Start-up figures: wall time (median of N runs, milliseconds) of our binary next to ReaR 2.7
# (Debian's `rear` package), on this machine, with the same /etc/rear.
#   bench/startup.sh [N]        (needs root; builds nothing: run `npm run build` first)
# Targets (issue 2): `rear --version` under 50 ms; `rear dump` at least 5x faster than ReaR's.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-15}
OURS=${OURS:-./dist/rear}
REAR27=${REAR27:-/usr/sbin/rear}
[ -x "$OURS" ] || { echo "bench: $OURS is missing: run 'npm run build' first" >&2; exit 1; }

. bench/lib.sh

printf '%-28s %12s %12s %8s\n' "command (median of $N)" "rear (ms)" "ReaR 2.7" "ratio"
row() { # label ours-args rear27-args
  local label=$1 ours theirs ratio=""
  ours=$(median_ms "$OURS" $2)
  if [ -x "$REAR27" ] && [ -n "$3" ]; then
    theirs=$(median_ms "$REAR27" $3)
    ratio=$(awk -v a="$theirs" -v b="$ours" 'BEGIN { if (b > 0) printf "%.1fx", a / b }')
  else
    theirs="-"
  fi
  printf '%-28s %12s %12s %8s\n' "$label" "$ours" "$theirs" "$ratio"
}
row "rear --version" "--version" "--version"
row "rear dump" "dump" "dump"
row "rear -s mkbackup" "-s mkbackup" "-s mkbackup"
row "rear -s mkrescue" "-s mkrescue" "-s mkrescue"
[ -x "$REAR27" ] || echo "(ReaR 2.7 not installed: apt-get install rear)"
