#!/usr/bin/env bash
# OUTPUT=PORTABLE figures on this host: `rear mkrescue` wall time (median of N runs) and the archive's size,
# next to ReaR 2.7 (Debian package) with the same local.conf. No kernel is needed for a portable archive;
# ReaR builds its initramfs anyway (it needs KERNEL_FILE: a placeholder is given). Prints a table.
#   bench/portable.sh [N]        (root; `npm run build` first)
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
N=${1:-3}
[ -x dist/rear ] || { echo "bench: dist/rear is missing: run 'npm run build' first" >&2; exit 1; }
W=$(mktemp -d /var/tmp/rear-bench-portable.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/conf"
echo "not a kernel: the archive has none" > "$W/vmlinuz"
cat > "$W/conf/local.conf" <<CONF
OUTPUT=PORTABLE
OUTPUT_URL=file://$W/out
BACKUP=REQUESTRESTORE
BOOTLOADER=GRUB2
KERNEL_FILE=$W/vmlinuz
CONF
ours_ms=$(REAR_VAR="$W/var" median_ms dist/rear -c "$W/conf" mkrescue)
archive=$(find "$W/out" -name '*-portable.tar.gz' | head -n 1)
ours_mib=$([ -n "$archive" ] && echo "scale=1; $(stat -c %s "$archive") / 1048576" | bc || echo "-")
r27=$(/usr/sbin/rear -c "$W/conf" mkrescue 2>&1 | grep -m1 ERROR || true)
r27_ms=$(median_ms /usr/sbin/rear -c "$W/conf" mkrescue)
printf 'OUTPUT=PORTABLE mkrescue on %s (median of %s runs)\n' "$(hostname -s)" "$N"
printf '%-10s %12s %12s  %s\n' tool "ms" "archive MiB" note
printf '%-10s %12s %12s  %s\n' ours "$ours_ms" "$ours_mib" "binary + etc/rear + var/lib/rear; no initramfs"
printf '%-10s %12s %12s  %s\n' "ReaR 2.7" "$r27_ms" "-" "${r27:-ok}"
