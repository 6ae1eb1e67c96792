#!/usr/bin/env bash
# Library resolution figures: our resolver (src/rescue/libraries.ts) over every ELF program in
# /usr/bin and /usr/sbin, next to running `ldd` on each of them as ReaR does. Figures only, no verdict;
# test/integration/rescue-libraries.test.ts checks that both find the same files.
#   bench/libraries.sh [DIR…]        (default /usr/bin /usr/sbin)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- /usr/bin /usr/sbin
LIST=$(mktemp /tmp/rear-bench-libraries.XXXXXX)
trap 'rm -f "$LIST"' EXIT

echo "this machine: $(uname -r), $(nproc) CPUs; directories: $*"
node_modules/.bin/bun bench/libraries.ts "$LIST" "$@"

t0=$(date +%s%N)
refused=0
while IFS= read -r f; do
  ldd "$f" >/dev/null 2>&1 || refused=$((refused + 1))
done <"$LIST"
t1=$(date +%s%N)
printf '%-58s %s\n' "ldd on each program, one after another" "$(( (t1 - t0) / 1000000 )) ms ($refused refused: static or not runnable)"
