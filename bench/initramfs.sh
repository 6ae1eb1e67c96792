#!/usr/bin/env bash
# Initramfs figures: wall time and size of our writer (streamed newc cpio, zstd or gzip in-process)
# next to ReaR's pipeline (`find . ! -name "*~" | cpio -H newc --create | gzip`) and the same pipeline
# into the zstd tool, on a realistic tree: a copy of /usr/lib/x86_64-linux-gnu, /usr/bin and /usr/sbin.
#   bench/initramfs.sh                     (needs cpio, gzip, zstd; builds nothing)
#   ZSTD_LEVELS="3 9 19" bench/initramfs.sh   also our zstd at those levels
# The tree is read once before timing, so every row reads it from the page cache.
set -euo pipefail
cd "$(dirname "$0")/.."
BUN=${BUN:-node_modules/.bin/bun}
for p in cpio gzip zstd; do command -v "$p" >/dev/null || { echo "bench: $p is not installed" >&2; exit 1; }; done

work=$(mktemp -d "${TMPDIR:-/tmp}/rear-bench-initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/rootfs
mkdir -p "$tree/usr/lib" "$work/out"
cp -a /usr/lib/x86_64-linux-gnu "$tree/usr/lib/"
cp -a /usr/bin /usr/sbin "$tree/usr/"
(cd "$tree" && find . | cpio -H newc --create --quiet >/dev/null)

files=$(cd "$tree" && find . | wc -l)
printf 'tree: %s entries, %s MiB (%s)\n' "$files" "$(du -sm "$tree" | cut -f1)" "$(nproc) CPUs"
printf '%-40s %9s %10s %7s\n' "method" "seconds" "MiB" "ratio"

in_bytes=0
row() { # label output-file command...
  local label=$1 out=$2 t0 t1 size
  shift 2
  rm -f "$out"
  t0=$(date +%s%N)
  "$@" >/dev/null
  t1=$(date +%s%N)
  size=$(stat -c %s "$out")
  [ "$in_bytes" -gt 0 ] || in_bytes=$size
  awk -v l="$label" -v t=$(( (t1 - t0) / 1000000 )) -v s="$size" -v i="$in_bytes" \
    'BEGIN { printf "%-40s %9.2f %10.1f %6.1f%%\n", l, t / 1000, s / 1048576, 100 * s / i }'
}
ours() { "$BUN" bench/initramfs-write.ts "$tree" "$work/out" "$@"; }

row "ours: cpio only (uncompressed)" "$work/out/initrd.cpio" ours none
row "find | cpio (uncompressed)" "$work/rear.cpio" sh -c 'cd "$1" && find . ! -name "*~" | cpio -H newc --create --quiet > "$2"' sh "$tree" "$work/rear.cpio"
row "ours: zstd (level $("$BUN" -e 'import("./src/rescue/compress.ts").then(m => console.log(m.ZSTD_LEVEL))'))" "$work/out/initrd.zst" ours zstd
row "ours: gzip (level 6)" "$work/out/initrd.cgz" ours gzip
row "ReaR: find | cpio | gzip" "$work/rear.cgz" sh -c 'cd "$1" && find . ! -name "*~" | cpio -H newc --create --quiet | gzip > "$2"' sh "$tree" "$work/rear.cgz"
row "find | cpio | zstd (level 3)" "$work/rear.zst" sh -c 'cd "$1" && find . ! -name "*~" | cpio -H newc --create --quiet | zstd -q > "$2"' sh "$tree" "$work/rear.zst"
for l in ${ZSTD_LEVELS:-}; do
  row "ours: zstd level $l" "$work/out/initrd-$l.zst" ours zstd "$l"
done
