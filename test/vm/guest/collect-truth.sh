#!/bin/bash
# Collects the "truth" of a running machine into $1 (a directory): its storage as the tools report it
# and a manifest of every file on every real mounted file system. Runs inside the guest.
set -u
T=$1
mkdir -p "$T"
# seconds per step in timing.txt: under TCG the truth is a minute or more of every run
t0=$(date +%s.%N); : > "$T/timing.txt"
lap() { local t; t=$(date +%s.%N); echo "$1 $(echo "$t - $t0" | bc 2>/dev/null || echo "?")" >> "$T/timing.txt"; t0=$t; }
lsblk -J -b -o NAME,KNAME,PKNAME,TYPE,SIZE,FSTYPE,LABEL,UUID,PARTUUID,PARTLABEL,PARTTYPE,MOUNTPOINT,SERIAL > "$T/lsblk.json" 2>"$T/lsblk.err"
blkid -o export > "$T/blkid.txt" 2>/dev/null
findmnt -J --real -o TARGET,SOURCE,FSTYPE,OPTIONS > "$T/findmnt.json" 2>/dev/null
swapon --show=NAME,TYPE,SIZE --bytes --noheadings > "$T/swaps.txt" 2>/dev/null
if command -v lvm >/dev/null; then lvm fullreport --reportformat json > "$T/lvm.json" 2>/dev/null; fi
if [ -e /proc/mdstat ]; then cat /proc/mdstat > "$T/mdstat.txt"; mdadm --detail --scan > "$T/mdadm-scan.txt" 2>/dev/null; fi
if command -v dmsetup >/dev/null; then dmsetup table > "$T/dmsetup.txt" 2>/dev/null; fi
[ -d /sys/firmware/efi ] && { efibootmgr -v > "$T/efibootmgr.txt" 2>&1; echo uefi > "$T/firmware"; } || echo bios > "$T/firmware"
cat /proc/cmdline > "$T/cmdline"
lap storage
# The manifest: one line per file system object on the real file systems mounted now.
# type mode uid gid size nlink dev:inode sparseness path -> target
mps=$(findmnt -rn --real -o TARGET | grep -vE '^/(proc|sys|dev|run)(/|$)' | sort)
: > "$T/manifest.tsv"
: > "$T/sha256.txt"
: > "$T/xattrs.txt"
for mp in $mps; do
  find "$mp" -xdev \( -path /tmp -o -path '/tmp/*' \) -prune -o -printf '%y\t%#m\t%U\t%G\t%s\t%n\t%D:%i\t%S\t%p\t%l\n' >> "$T/manifest.tsv" 2>/dev/null
  lap "manifest $mp"
  # hashing is most of the truth's time under TCG: one sha256sum per CPU, each batch into a file of its own
  find "$mp" -xdev \( -path /tmp -o -path '/tmp/*' \) -prune -o -type f -print0 2>/dev/null |
    xargs -0 -r -P "$(nproc 2>/dev/null || echo 2)" -n 256 sh -c 'sha256sum "$@" > "$(mktemp "$0.XXXXXX")"' "$T/sha256.part" 2>/dev/null
  cat "$T"/sha256.part.* >> "$T/sha256.txt" 2>/dev/null
  rm -f "$T"/sha256.part.*
  lap "sha256 $mp"
  find "$mp" -xdev \( -path /tmp -o -path '/tmp/*' \) -prune -o -print0 2>/dev/null | xargs -0 -r getfattr -h -d -m - --absolute-names -e hex >> "$T/xattrs.txt" 2>/dev/null
  lap "xattrs $mp"
done
# File attributes of every mount point (chattr +C, the nocow a btrfs subvolume for VM images has, must
# survive a recovery), and each btrfs file system's subvolumes by path and its default subvolume
: > "$T/attrs.txt"
for mp in $mps; do lsattr -d "$mp" >> "$T/attrs.txt" 2>/dev/null; done
: > "$T/btrfs.txt"
findmnt -rn -t btrfs -o UUID,TARGET | sort -u -k1,1 | while read -r uuid mp; do
  echo "fs $uuid default $(btrfs subvolume get-default "$mp" 2>/dev/null | awk '{print $NF}')"
  btrfs subvolume list "$mp" 2>/dev/null | awk -v u="$uuid" '{print "fs " u " subvolume " $NF}' | sort
done >> "$T/btrfs.txt"
lap attrs-btrfs
echo done > "$T/complete"
