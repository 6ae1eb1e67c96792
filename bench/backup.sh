#!/usr/bin/env bash
# NETFS backup and restore throughput on this machine: our `mkbackuponly`/`restoreonly` next to plain
# GNU tar with the same compression (the limit: we run that tar, plus the SHA-256 of the archive and the
# check before the restore) and next to ReaR 2.7's `mkbackuponly` (Debian's `rear` package; its
# restoreonly runs only inside its rescue system, so only its backup is timed).
#   bench/backup.sh [SOURCE_DIR] [--compress gzip|zstd|none]   (root; `npm run build` first)
# SOURCE_DIR defaults to a copy of /usr/lib/x86_64-linux-gnu and /usr/share (about 1-2 GB); the target is
# an ext4 image on a loop device (a second disk), the restore goes into another one. Figures only.
#   bench/backup.sh --vm [--no-run]
# The same comparison in a TCG guest that has a /boot kernel, where ReaR 2.7 runs both its mkbackuponly
# and its restoreonly: `bun test/vm/run.ts backup --rear27` (test/vm/lib/backup.ts: ~420 MiB of mixed
# data, gzip, file:// to a disk of its own; also the NFS/SMB test). --no-run prints the newest result only.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --vm ]; then
  CACHE=${REAR_VM_CACHE:-/var/cache/rear-vm}
  if [ "${2:-}" != --no-run ]; then
    [ -x dist/rear ] || { echo "bench: dist/rear is missing: run 'npm run build' first" >&2; exit 1; }
    node_modules/.bin/bun test/vm/run.ts backup --rear27 || true
  fi
  exec node_modules/.bin/bun -e '
    import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
    import { printBackup } from "./test/vm/lib/backup.ts";
    const dir = `${process.argv[1]}/backup`;
    let newest;
    for (const d of existsSync(dir) ? readdirSync(dir) : []) {
      const f = `${dir}/${d}/result.json`;
      if (!existsSync(f)) continue;
      const r = JSON.parse(readFileSync(f, "utf8"));
      const t = statSync(f).mtimeMs;
      if (r.bench && (!newest || newest.t < t)) newest = { r, t };
    }
    if (!newest) console.log("no backup results with ReaR 2.7 figures yet");
    else printBackup(newest.r);
' "$CACHE"
fi
REAR=$PWD/dist/rear
[ -x "$REAR" ] || { echo "bench: dist/rear is missing: run 'npm run build' first" >&2; exit 1; }
SRC=${1:-}
COMP=gzip
[ "${2:-}" = --compress ] && COMP=${3:-gzip}
case $COMP in
  gzip) OPT=--gzip; SUF=.gz ;;
  zstd) OPT=--zstd; SUF=.zst ;;
  none) OPT=; SUF= ;;
  *) echo "bench: --compress gzip|zstd|none" >&2; exit 2 ;;
esac
W=$(mktemp -d /var/tmp/rear-bench-backup.XXXXXX)
LOOPS=()
cleanup() {
  for m in "$W/target" "$W/restore"; do mountpoint -q "$m" && umount "$m"; done
  for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
if [ -z "$SRC" ]; then
  SRC=$W/data
  mkdir -p "$SRC"
  cp -a /usr/lib/x86_64-linux-gnu /usr/share "$SRC"/
fi
BYTES=$(du -sb "$SRC" | cut -f1)
MIB=$((BYTES / 1048576))
mkfs_loop() { # name size-MiB
  truncate -s "$2M" "$W/$1.img"
  mkfs.ext4 -q -F "$W/$1.img"
  local l
  l=$(losetup --find --show "$W/$1.img")
  LOOPS+=("$l")
  mkdir -p "$W/$1"
  mount "$l" "$W/$1"
}
mkfs_loop target $((MIB * 3 + 512))
mkfs_loop restore $((MIB * 2 + 512))
now() { date +%s.%N; }
rate() { awk -v s="$1" -v e="$2" -v m="$MIB" 'BEGIN { t = e - s; printf "%7.1f s %8.1f MiB/s", t, m / t }'; }
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true

echo "data: $SRC ($MIB MiB), compression: $COMP"
t0=$(now)
tar --create --sparse --one-file-system --xattrs --xattrs-include='*' --acls --numeric-owner $OPT -C / -f "$W/target/plain.tar$SUF" "${SRC#/}"
t1=$(now)
echo "plain tar -c            $(rate "$t0" "$t1")"
# a backup that replaces the previous one safely waits until the new one is on the disk (we fsync
# before the rename): the same wait for plain tar's archive
sync -f "$W/target/plain.tar$SUF"
t2=$(now)
echo "plain tar -c + sync     $(rate "$t0" "$t2")   (the limit for a backup that is on the disk when it ends)"

mkdir -p "$W/conf"
cat > "$W/conf/local.conf" <<EOF
BACKUP=NETFS
BACKUP_URL=file://$W/target
NETFS_PREFIX=ours
BOOTLOADER=GRUB2
BACKUP_ONLY_INCLUDE=yes
BACKUP_PROG_INCLUDE=( $SRC )
BACKUP_PROG_EXCLUDE=()
BACKUP_PROG_COMPRESS_OPTIONS=( $OPT )
BACKUP_PROG_COMPRESS_SUFFIX="$SUF"
TARGET_FS_ROOT=$W/restore
EOF
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
t0=$(now)
"$REAR" -c "$W/conf" mkbackuponly
t1=$(now)
echo "ours mkbackuponly       $(rate "$t0" "$t1")   (tar through rear: SHA-256 on the way, fsync before the rename; + layout probe)"

if command -v /usr/sbin/rear >/dev/null && [ "$COMP" = gzip ]; then
  mkdir -p "$W/conf27"
  sed -e 's/^NETFS_PREFIX=ours/NETFS_PREFIX=rear27/' -e '/^TARGET_FS_ROOT/d' -e '/^BACKUP_PROG_COMPRESS/d' "$W/conf/local.conf" > "$W/conf27/local.conf"
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(now)
  if /usr/sbin/rear -v -c "$W/conf27" mkbackuponly > "$W/rear27.out" 2>&1; then
    t1=$(now)
    echo "ReaR 2.7 mkbackuponly   $(rate "$t0" "$t1")"
  else
    # e.g. on a machine without a kernel in /boot: 2.7 looks for one (prep/GNU/Linux/400_guess_kernel.sh)
    # even for mkbackuponly, which makes no rescue image
    echo "ReaR 2.7 mkbackuponly   failed: $(grep -m1 -E 'ERROR|line [0-9]+:' "$W/rear27.out" || tail -n 1 "$W/rear27.out")"
  fi
fi

sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
mkdir -p "$W/restore/plain"
t0=$(now)
tar --extract --xattrs --xattrs-include='*' --acls --numeric-owner --same-permissions $OPT -C "$W/restore/plain" -f "$W/target/plain.tar$SUF"
t1=$(now)
echo "plain tar -x            $(rate "$t0" "$t1")"
rm -rf "$W/restore/plain"
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
t0=$(now)
"$REAR" -c "$W/conf" -p restoreonly
t1=$(now)
echo "ours restoreonly        $(rate "$t0" "$t1")   (SHA-256 check first, then tar -x)"
ls -l "$W/target/ours" | sed 's/^/  /'
