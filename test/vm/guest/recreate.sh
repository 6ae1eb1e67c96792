#!/bin/bash
# The guest side of `run.ts recreate` (test/vm/lib/recreate.ts), run by harness-run in a builder guest.
# With the layout recipe (./layout.sh) on the blank source disks (serials src1, src2, …) it:
#   1. makes the "USB backup disk" (serial usb) an ext4 REAR-000 with a file, and hashes the whole device;
#   2. runs the recipe, puts files on it, switches its swap on (a layout only has active swap), and saves
#      the layout with our binary (and with ReaR 2.7 when REAR27=1);
#   3. unmounts it, leaving the LVM/MD/LUKS stacks active (our plan must release them), and recreates it
#      with `rear -p -n layoutonly` onto the same disks; saves the result again (mounted at /mnt/local);
#   4. REAR27=1: ReaR 2.7's own layoutonly on the same disks (its rescue-system check satisfied by
#      /etc/rear-release), timed, and its result saved with our binary;
#   5. MIGRATE=1: wipes the source disks (a dead disk) and recreates onto the 30% bigger disks (serials
#      tgt1, …) with a disk_mappings file, and saves the result;
#   6. hashes the backup disk again.
# Everything the host compares goes to $HARNESS_OUT; the host does the comparing. The job fails (exit 1)
# only when the test itself cannot be set up (a missing disk, a recipe that fails); the tools' exit codes
# are results, in timings.txt ("name exit-code milliseconds" per line, as capture jobs write).
# Input (environment): NSRC (number of source disks), REAR27=1, MIGRATE=1.
set -x
export LC_ALL=C
# harness-init starts us without a PATH: bash has its own default, but env(1) and other exec'ing
# programs fall back to /bin:/usr/bin, where our binary is not
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PS4='+ $(date +%T) '
O=$HARNESS_OUT
mkdir -p "$O/ours" "$O/rear27" "$O/migrate" "$O/guest"
say() { echo "recreate: $* ($(date +%T))" > /dev/ttyS0 2>/dev/null || true; }
# name, command…: its output in $O/<name>.out, "name exit-code milliseconds" in timings.txt
timed() {
  local name=$1; shift
  local t0 rc; t0=$(date +%s%N)
  "$@" > "$O/$name.out" 2>&1
  rc=$?
  echo "${name//\//-} $rc $(( ($(date +%s%N) - t0) / 1000000 ))" >> "$O/timings.txt"
  return $rc
}
# the disk with this QEMU serial, on any bus: virtio-<serial>, nvme-QEMU_NVMe_Ctrl_<serial>, scsi-…_<serial>
by_serial() {
  local l
  for l in /dev/disk/by-id/*; do
    case "$l" in *-part[0-9]*) continue ;; esac
    case "${l##*/}" in "virtio-$1" | *"_$1") readlink -f "$l"; return 0 ;; esac
  done
  return 1
}
udevadm settle --timeout=30
SRC=()
TGT=()
for i in $(seq 1 "$NSRC"); do
  d=$(by_serial "src$i") || { echo "no source disk src$i"; exit 1; }
  SRC+=("$d"); export "DISK$i=$d"; echo "src$i $d" >> "$O/disks.txt"
  if [ "${MIGRATE:-}" = 1 ]; then
    t=$(by_serial "tgt$i") || { echo "no migration disk tgt$i"; exit 1; }
    TGT+=("$t"); echo "tgt$i $t" >> "$O/disks.txt"
  fi
done
USB=$(by_serial usb) || { echo "no backup disk"; exit 1; }
echo "usb $USB" >> "$O/disks.txt"
# every disk that is not a source disk: the harness's root and channel disks, the backup disk, the
# migration targets. Their lines go out of the saved layouts (the integration test keeps only its
# loop disk's lines the same way).
OTHERS=$(lsblk -dnpo NAME,TYPE | awk '$2 == "disk" { print $1 }' | grep -vxF "$(printf '%s\n' "${SRC[@]}")")
echo "$OTHERS" > "$O/others.txt"

# 1. the backup disk: what must come through every recreation bit for bit
say "making the backup disk $USB"
mkfs.ext4 -q -F -L REAR-000 "$USB" || exit 1
mkdir -p /mnt/usb && mount "$USB" /mnt/usb || exit 1
echo "the backup that no recreation may touch" > /mnt/usb/BACKUP-MARKER
head -c 8M /dev/urandom > /mnt/usb/backup.tar.gz
umount /mnt/usb && sync
usb_state() { echo "sha256 $(sha256sum < "$USB" | cut -d' ' -f1)"; echo "label $(blkid -p -o value -s LABEL "$USB")"; }
t0=$(date +%s%N); usb_state > "$O/usb-before.txt"; echo "usb-hash-before 0 $(( ($(date +%s%N) - t0) / 1000000 ))" >> "$O/timings.txt"

# 2. the source layout, saved
say "layout recipe"
mkdir -p /target
# The recipes name partitions "${DISK1}2", as the builder's virtio disks have them (vdd2). Here the disks
# are on their own buses, and the kernel puts a "p" between a disk name ending in a digit and the
# partition number (nvme0n1p2): the recipe gets that spelling for such disks.
for i in $(seq 1 "$NSRC"); do
  d=DISK$i
  [[ ${!d} =~ [0-9]$ ]] && sed -i -E "s/\\$\{DISK$i\}([0-9]+)/\${DISK$i}p\1/g" ./layout.sh
done
bash -euxo pipefail ./layout.sh > "$O/recipe.out" 2>&1 || { echo "the layout recipe failed"; tail -n 20 "$O/recipe.out"; exit 1; }
mountpoint -q /target || { echo "the layout recipe did not mount /target"; exit 1; }
# the key file's path goes into the crypt line (keyfile=): recreation then needs no passphrase
[ -f /target.crypttab ] && cp /target.crypttab /etc/crypttab
findmnt -R -n -r -o TARGET /target | while read -r t; do
  echo "a file on $t" > "$t/recreate-test.txt"
  cp -a /etc/os-release /usr/bin/bash "$t/" 2>/dev/null
done
swaps_on() { udevadm settle --timeout=30; for s in $(lsblk -lnpo NAME,FSTYPE "$@" | awk '$2 == "swap" { print $1 }' | sort -u); do swapon "$s"; done; }
swaps_on "${SRC[@]}"
cat /proc/swaps > "$O/guest/swaps-source.txt"
lsblk -ipo NAME,TYPE,FSTYPE,LABEL,SIZE,MOUNTPOINT,UUID > "$O/guest/lsblk-source.txt"

C=/var/tmp/rear-conf
mkdir -p -m 0755 "$C"
cat > "$C/local.conf" <<'EOF'
# written by the VM harness (recreate). The source disks have no boot loader (the builder boots from the
# harness's own disk), so savelayout cannot guess one:
BOOTLOADER=GRUB2
# the recreated layout is saved again where it is mounted, /mnt/local, which AUTOEXCLUDE_PATH's /mnt hides
AUTOEXCLUDE_PATH=( )
EOF
chmod 0644 "$C/local.conf"
install -m 0755 ./rear-ours /usr/local/sbin/rear-ours && hash -r
rear-ours --version > "$O/ours-version" 2>&1
ours() { local v=$1; shift; env REAR_VAR="$v" /usr/local/sbin/rear-ours -c "$C" "$@"; }
SAVED=/var/tmp/ours-saved
say "ours: savelayout"
timed ours/savelayout-source ours "$SAVED" -v savelayout
cp "$SAVED/lib/rear/layout/disklayout.conf" "$O/ours/source.conf"
cp "$SAVED/lib/rear/layout/layout.json" "$O/ours/source-layout.json" 2>/dev/null

if [ "${REAR27:-}" = 1 ]; then
  say "ReaR 2.7: savelayout"
  mkdir -p /etc/rear
  cat > /etc/rear/local.conf <<'EOF'
# written by the VM harness (recreate): no boot loader on the source disks
BOOTLOADER=GRUB2
EOF
  rear --version > "$O/rear-version" 2>&1
  timed rear27/savelayout rear -v savelayout
  cp /var/lib/rear/layout/disklayout.conf "$O/rear27/source.conf" 2>/dev/null
fi

swapoff -a
umount -R /target || { echo "cannot unmount /target"; findmnt -R /target; exit 1; }
# LVM, MD and LUKS stay active, as when a rescue system assembled them: the plan must release them
lsblk -ipo NAME,TYPE,FSTYPE,LABEL,SIZE,MOUNTPOINT > "$O/guest/lsblk-active.txt"

# The saved layout as it would be on the source machine itself: only the source disks' components,
# mountpoints without the /target prefix.
as_on_source() { # file, mount root
  local f=$1 root=$2
  awk -v others="$OTHERS" '
    BEGIN { n = split(others, o, "\n") }
    /^#/ || /^[ \t]*$/ { print; next }
    { for (i = 1; i <= n; i++) if (o[i] != "" && $0 ~ (o[i] "(p?[0-9]+)?([ \t,]|$)")) { print "#" $0; next } print }
  ' "$f" | sed -E "s# $root/# /#g; s# $root( |\$)# /\1#g" > "$f.new" && cat "$f.new" > "$f" && rm -f "$f.new"
}
as_on_source "$SAVED/lib/rear/layout/disklayout.conf" /target
cp "$SAVED/lib/rear/layout/disklayout.conf" "$O/ours/source-edited.conf"
fresh_var() { rm -rf "$1" && cp -a "$SAVED" "$1"; }
# the plan's files, the log and what was mounted, of a var dir into $O/<dir>
keep_results() { # var dir, out dir
  local v=$1 d=$O/$2
  cp "$v/lib/rear/layout/plan.json" "$v/lib/rear/layout/diskrestore.sh" "$d/" 2>/dev/null
  cp "$v/lib/rear/layout/recreate/fs_uuid_mapping" "$v/lib/rear/layout/recreate/disk_mappings" "$d/" 2>/dev/null
  ls "$v/lib/rear/layout/recreate/done" > "$d/done.txt" 2>/dev/null
  mkdir -p "$d/logs" && cp -a "$v/log/rear/." "$d/logs/" 2>/dev/null
  findmnt -R -n -r -o TARGET,SOURCE,FSTYPE /mnt/local > "$d/findmnt.txt" 2>&1
  lsblk -ipo NAME,TYPE,FSTYPE,LABEL,SIZE,MOUNTPOINT,UUID > "$d/lsblk.txt"
}
# the layout now mounted at /mnt/local, saved by our binary into $O/<name>.conf (its swap switched on
# for it, as only active swap is saved)
save_result() { # name, disks…
  local name=$1; shift
  swaps_on "$@"
  timed "$name-save" ours "/var/tmp/check-${name//\//-}" savelayout
  cp "/var/tmp/check-${name//\//-}/lib/rear/layout/disklayout.conf" "$O/$name.conf"
  swapoff -a
}
release_all() {
  swapoff -a
  umount -R /mnt/local 2>/dev/null
  vgchange -an > /dev/null 2>&1
  for m in /dev/mapper/*; do [ "$m" = /dev/mapper/control ] || cryptsetup close "$m" 2>/dev/null || dmsetup remove "$m" 2>/dev/null; done
  mdadm --stop --scan 2>/dev/null
  udevadm settle --timeout=30
}

# 3. ours, onto the same disks (the saved disks are there: identity mapping)
V=/var/tmp/ours-same
fresh_var "$V"
say "ours: layoutonly"
timed ours/layoutonly timeout 1800 env REAR_VAR="$V" /usr/local/sbin/rear-ours -c "$C" -p -n -v layoutonly
keep_results "$V" ours
mountpoint -q /mnt/local && save_result ours/after "${SRC[@]}"

# 4. ReaR 2.7's layoutonly on the same disks
if [ "${REAR27:-}" = 1 ] && [ -s /var/lib/rear/layout/disklayout.conf ]; then
  release_all
  # ReaR 2.7 does not stop what is active on the disks (its rescue system starts with nothing active):
  # release_all did that for it. Its layout gets the same treatment as ours.
  as_on_source /var/lib/rear/layout/disklayout.conf /target
  cp /var/lib/rear/layout/disklayout.conf "$O/rear27/source-edited.conf"
  # ReaR decides that it runs in its rescue system by /etc/rear-release alone
  # (init/default/050_check_rear_recover_mode.sh); ReaR 2.7 has no -n: its questions are answered with
  # USER_INPUT_* (each predefined answer waits USER_INPUT_INTERRUPT_TIMEOUT, at least 1 s), and
  # MIGRATION_MODE=false keeps it from asking about the disks (raid1 has two disks of one size, which
  # ReaR cannot tell apart; ours tells them apart by serial). A failing diskrestore.sh aborts (choice 6)
  # instead of being rerun for ever.
  cat >> /etc/rear/local.conf <<'EOF'
MIGRATION_MODE=false
USER_INPUT_INTERRUPT_TIMEOUT=1
USER_INPUT_TIMEOUT=5
USER_INPUT_LAYOUT_CODE_RUN=6
EOF
  touch /etc/rear-release
  say "ReaR 2.7: layoutonly"
  timed rear27/layoutonly timeout 2400 rear -v layoutonly < /dev/null
  rm -f /etc/rear-release
  cp /var/lib/rear/layout/diskrestore.sh "$O/rear27/" 2>/dev/null
  l=$(ls -t /var/log/rear/rear-*.log 2>/dev/null | head -n 1); [ -n "$l" ] && cp "$l" "$O/rear27/layoutonly.log"
  findmnt -R -n -r -o TARGET,SOURCE,FSTYPE /mnt/local > "$O/rear27/findmnt.txt" 2>&1
  mountpoint -q /mnt/local && save_result rear27/after "${SRC[@]}"
fi

# 5. migration: the source disks die, the layout goes onto the bigger disks by the mapping file
if [ "${MIGRATE:-}" = 1 ]; then
  release_all
  for d in "${SRC[@]}"; do
    for p in $(lsblk -lnpo NAME "$d" | tac); do wipefs -a -f "$p" > /dev/null 2>&1; done
    dd if=/dev/zero of="$d" bs=1M count=16 conv=fsync status=none
    blockdev --rereadpt "$d" 2>/dev/null
  done
  udevadm settle --timeout=30
  lsblk -ipo NAME,TYPE,FSTYPE,LABEL,SIZE,MOUNTPOINT > "$O/guest/lsblk-dead.txt"
  mkdir -p -m 0755 "$C/mappings"
  for i in "${!SRC[@]}"; do echo "${SRC[$i]} ${TGT[$i]}"; done > "$C/mappings/disk_mappings"
  cp "$C/mappings/disk_mappings" "$O/migrate/disk_mappings.given"
  V=/var/tmp/ours-migrate
  fresh_var "$V"
  say "ours: layoutonly onto bigger disks"
  timed migrate/layoutonly timeout 1800 env REAR_VAR="$V" /usr/local/sbin/rear-ours -c "$C" -p -n -v layoutonly
  keep_results "$V" migrate
  mountpoint -q /mnt/local && save_result migrate/after "${TGT[@]}"
  rm -f "$C/mappings/disk_mappings"
fi

# 6. the backup disk, after all of it
release_all
t0=$(date +%s%N); usb_state > "$O/usb-after.txt"; echo "usb-hash-after 0 $(( ($(date +%s%N) - t0) / 1000000 ))" >> "$O/timings.txt"
lsblk -ipo NAME,TYPE,FSTYPE,LABEL,SIZE,MOUNTPOINT > "$O/guest/lsblk-end.txt"
sync
exit 0
