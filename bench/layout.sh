#!/usr/bin/env bash
# Layout figures: wall time (median of N runs, ms) of `savelayout` and `checklayout`, ours next to
# ReaR 2.7 (Debian's `rear`), on this machine with the same configuration, then the figures measured
# inside the VM guests when their fixtures were captured (test/fixtures/machines/*/capture.json: LVM,
# RAID, LUKS, btrfs … that this host's kernel cannot have).
#   bench/layout.sh [N]        (needs root; run `npm run build` first)
# Target (issue 4): checklayout at least 10x faster than ReaR's.
# Both tools get a separate configuration directory and VAR directory so nothing of the host's
# /etc/rear or /var/lib/rear is touched; BOOTLOADER is set because some sandboxes cannot read the disk.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-11}
OURS=${OURS:-./dist/rear}
REAR27=${REAR27:-/usr/sbin/rear}
[ -x "$OURS" ] || { echo "bench: $OURS is missing: run 'npm run build' first" >&2; exit 1; }
W=$(mktemp -d /var/tmp/rear-bench-layout.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/conf" "$W/var-ours"
echo 'BOOTLOADER=GRUB2' > "$W/conf/local.conf"
chmod 755 "$W" "$W/conf"; chmod 644 "$W/conf/local.conf"

. bench/lib.sh
ours() { REAR_VAR="$W/var-ours" "$OURS" -c "$W/conf" "$@"; }
theirs() { "$REAR27" -c "$W/conf" "$@"; }

echo "this machine: $(uname -r), $(nproc) CPUs"
printf '%-28s %12s %12s %8s\n' "workflow (median of $N)" "rear (ms)" "ReaR 2.7" "ratio"
ours savelayout >/dev/null 2>&1 || true
for wf in savelayout checklayout; do
  a=$(median_ms ours "$wf")
  if [ -x "$REAR27" ]; then
    # ReaR 2.7 keeps its layout in /var/lib/rear: save it aside and put it back afterwards
    [ -d /var/lib/rear ] && cp -a /var/lib/rear "$W/var-rear27-saved"
    theirs savelayout >/dev/null 2>&1 || true
    b=$(median_ms theirs "$wf")
    rm -rf /var/lib/rear; [ -d "$W/var-rear27-saved" ] && cp -a "$W/var-rear27-saved" /var/lib/rear
    r=$(awk -v a="$b" -v b="$a" 'BEGIN { if (b > 0) printf "%.1fx", a / b }')
  else b="-"; r=""; fi
  printf '%-28s %12s %12s %8s\n' "rear $wf" "$a" "$b" "$r"
done

echo
echo "inside the VM guests (TCG), measured at fixture capture (ms):"
printf '%-20s %12s %12s %12s %12s\n' "fixture" "save ours" "save 2.7" "check ours" "check 2.7"
for f in test/fixtures/machines/*/capture.json; do
  [ -f "$f" ] || continue
  node_modules/.bin/bun -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const t = j.timings ?? {};
    const med = (a) => (Array.isArray(a) && a.length ? [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] : a ?? "-");
    const row = [j.layout ?? j.name, t.ours?.savelayoutMs ?? "-", t.rear27?.savelayoutMs ?? "-", med(t.ours?.checklayoutMs), med(t.rear27?.checklayoutMs)];
    console.log(row.map((x, i) => String(x).padStart(i ? 12 : -20)).map((x, i) => (i ? x : String(row[0]).padEnd(20))).join(" "));
  ' "$f"
done
