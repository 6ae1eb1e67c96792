// The VM tier of BACKUP=NETFS (`run.ts backup [--rear27]`): in one builder guest (no NIC, everything
// on 127.0.0.1) the guest serves an NFS export (nfs-kernel-server, /srv/nfs on a filesystem of its own,
// no_root_squash) and an SMB share (smbd, a user with a password from smbpasswd, /srv/smb). Our
// `rear mkbackuponly` backs up a prepared tree (every kind of file and metadata, on its own filesystem)
// to nfs:// and to cifs:// (credentials in BACKUP_OPTIONS) and `rear restoreonly` restores it into a
// blank filesystem; the restored tree must equal the original in a full manifest, the archive and its
// .sha256 must be on the server, nothing may stay mounted, and the SMB password must appear in no log
// (also not with -d, nor when the mount fails with a wrong password). OUTPUT=PXE writes its TFTP tree and
// pxelinux config onto the export and onto the share (PXE_TFTP_URL/PXE_CONFIG_URL nfs:// and cifs://). With --rear27, in the same guest:
// ReaR 2.7's mkbackuponly and restoreonly timed next to ours and plain tar on a ~420 MiB data set
// (bench/backup.sh --vm).

import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { runInBuilder } from "./builder.ts";
import type { Job } from "./channel.ts";
import { pruneRuns } from "./cycle.ts";
import { buildImage, CACHE, OURS_BIN, VM_DIR } from "./image.ts";
import { chooseAccel, createDisk, type VmDisk } from "./qemu.ts";

const DIST = OURS_BIN;

export interface BackupCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface BackupCase {
  name: string;
  ok: boolean;
  checks: BackupCheck[];
  /** wall times of the steps, ms */
  ms: Record<string, number>;
}

export interface BenchRun {
  ms?: number;
  exitCode?: number;
  /** archive size (backups) */
  bytes?: number;
  /** the last lines of its output when it failed */
  note?: string;
}

export interface BackupBench {
  dataBytes: number;
  dataFiles: number;
  plainTarCreate: BenchRun;
  plainTarExtract: BenchRun;
  oursMkbackuponly: BenchRun;
  oursRestoreonly: BenchRun;
  rear27Mkbackuponly: BenchRun;
  /** outside its rescue system (it refuses: the message is in note) */
  rear27Restoreonly: BenchRun;
  /** the same with /etc/rear-release and /etc/scripts/system-setup, by which ReaR 2.7 knows its rescue system */
  rear27RescueRestoreonly: BenchRun;
}

export interface BackupResult {
  ok: boolean;
  accel: string;
  startedAt: string;
  /** the whole test on the host (image check, disks, guest boot, job) */
  totalMs: number;
  guestMs?: number;
  jobMs?: number;
  cases: BackupCase[];
  bench?: BackupBench;
  workDir: string;
}

/** The bash function that prints everything that must survive a backup and restore, per path below a directory. */
const MANIFEST = String.raw`
manifest() { # DIR
  ( cd "$1" || exit 1
    # type, mode (setuid/setgid/sticky too), numeric owner, size (not of directories: filesystem-specific),
    # symlink target, sparseness (no blocks at all / holes / dense), mtime of regular files
    find . -printf '%p|%y|%m|%U:%G|%s|%l|%b|%Ts\n' | LC_ALL=C sort | awk -F'|' 'BEGIN { OFS = "|" } {
      if ($2 == "d") $5 = "-"
      $7 = ($7 == 0) ? "no-blocks" : ($7 * 512 < $5 ? "holes" : "blocks")
      if ($2 != "f") $8 = "-"
      print }'
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    # xattrs (user, trusted, security.capability, and the ACLs as system.posix_acl_*) and ACLs, per path
    find . ! -type l -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' p; do
      x=$(getfattr -h -d -m - -e hex --absolute-names "$p" 2>/dev/null | grep -v -e '^#' -e '^$' | LC_ALL=C sort | tr '\n' ' ')
      a=$(getfacl -n -p -s "$p" 2>/dev/null | grep -v -e '^#' -e '^$' | tr '\n' ' ')
      [ -n "$x$a" ] && echo "meta $p: $x| $a"
    done
    # hard-link groups, by path
    find . -type f -links +1 -printf '%i %p\n' | LC_ALL=C sort | awk '{ g[$1] = g[$1] " " $2 } END { for (i in g) print "links" g[i] }' | LC_ALL=C sort
    # device numbers
    find . \( -type c -o -type b \) -printf '%p %y ' -exec stat -c '%t:%T' {} \; | LC_ALL=C sort
  )
}
`;

/** The tree that is backed up: every kind of file and metadata. */
const TREE = String.raw`
D0=/srv/data
mkdir -p $D0/dir/sub $D0/setgid $D0/sticky $D0/acldir
echo hello > $D0/text
ln $D0/text $D0/hardlink
ln $D0/text $D0/dir/hardlink2
ln -s text $D0/symlink
ln -s /nonexistent/target $D0/dangling
echo x > $D0/owned && chown 1234:5678 $D0/owned && chmod 4755 $D0/owned
echo y > $D0/sgid-file && chown 0:5678 $D0/sgid-file && chmod 2750 $D0/sgid-file
chmod 2775 $D0/setgid && chmod 1777 $D0/sticky && chown 1234:1234 $D0/dir/sub
setfattr -n user.harness -v kept $D0/text
setfattr -n trusted.harness -v root-only $D0/dir/sub
truncate -s 64M $D0/sparse
dd if=/dev/urandom of=$D0/sparse-data bs=1M count=1 seek=32 status=none
mkfifo $D0/fifo
mknod $D0/null c 1 3
mknod $D0/loopdev b 7 200
head -c 8M /dev/urandom > $D0/dir/random.bin
seq 1 200000 > $D0/dir/numbers.txt
echo spaces > "$D0/name with spaces"
: > $D0/empty
setfacl -m u:1234:rw-,g:5678:r-- $D0/dir/numbers.txt
setfacl -m u:1234:rwx $D0/acldir && setfacl -d -m u:1234:rwx,g::r-x $D0/acldir
echo cap > $D0/capfile && chmod 0755 $D0/capfile
# cap_net_bind_service+ep (VFS_CAP_REVISION_2), set last: a chown clears it
setfattr -n security.capability -v 0sAQAAAgAEAAAAAAAAAAAAAAAAAAA= $D0/capfile
touch -d '2001-02-03 04:05:06' $D0/text $D0/dir/random.bin
`;

/** The job: servers, the cases, optionally the ReaR 2.7 comparison. */
export function backupJob(o: { rear27: boolean; password: string; oursPath: string }): Job {
  const pw = o.password;
  return {
    files: { "rear-ours": { copy: o.oursPath } },
    script: `set -u
exec < /dev/null
step() { echo "backup-job: $* ($(date +%T))" > /dev/ttyS0 2>/dev/null || true; }
O=$HARNESS_OUT
C=$O/checks.tsv
T=$O/times.tsv
: > $C; : > $T
# check CASE NAME SHELL-TEXT: one line per check; the detail is the text's output when it fails
check() {
  local out
  if out=$(eval "$3" 2>&1); then printf '%s\\tok\\t%s\\t\\n' "$1" "$2" >> $C
  else printf '%s\\tFAIL\\t%s\\t%s\\n' "$1" "$2" "$(printf '%s' "$out" | tail -n 6 | tr '\\n\\t' '  ' | cut -c1-600)" >> $C; fi
}
now() { date +%s%N; }
took() { printf '%s\\t%s\\t%s\\n' "$1" "$2" "$(( ($(now) - $3) / 1000000 ))" >> $T; }
D() { readlink -f /dev/disk/by-id/virtio-$1; }
disk() { # SERIAL MOUNTPOINT
  mkfs.ext4 -q -F "$(D $1)" && mkdir -p "$2" && mount "$(D $1)" "$2"
}
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
PW='${pw}'
OURS=/usr/local/sbin/rear
ip link set lo up
install -m 0755 ./rear-ours $OURS
$OURS --version > $O/ours-version 2>&1
/usr/sbin/rear --version > $O/rear27-version 2>&1
check setup "disks" 'disk data /srv/data && disk nfs /srv/nfs && disk smb /srv/smb && disk rst /mnt/restore'
${TREE}
${MANIFEST}
manifest /srv/data > $O/source.manifest
step "tree made: $(wc -l < $O/source.manifest) manifest lines"

# --- the NFS server (no systemd here: the daemons by hand) ---
modprobe nfsd
mount -t nfsd nfsd /proc/fs/nfsd
mkdir -p /run/rpcbind /var/lib/nfs/rpc_pipefs /var/lib/nfs/v4recovery
mount -t rpc_pipefs sunrpc /var/lib/nfs/rpc_pipefs 2>/dev/null
rpcbind -w
echo '/srv/nfs 127.0.0.1(rw,sync,no_root_squash,no_subtree_check,fsid=1)' > /etc/exports
exportfs -ra
rpc.mountd
rpc.statd 2>/dev/null
# a short NFSv4 grace period, ended at once: a fresh server refuses new opens during it
echo 10 > /proc/fs/nfsd/nfsv4gracetime 2>/dev/null; echo 10 > /proc/fs/nfsd/nfsv4leasetime 2>/dev/null
rpc.nfsd 4
echo Y > /proc/fs/nfsd/v4_end_grace 2>/dev/null
exportfs -v > $O/exportfs.txt 2>&1
check setup "NFS server serves /srv/nfs" 'mkdir -p /mnt/probe && mount -t nfs 127.0.0.1:/srv/nfs /mnt/probe && touch /mnt/probe/.probe && umount /mnt/probe && rm /srv/nfs/.probe'

# --- the SMB server ---
useradd -M -s /usr/sbin/nologin rearsmb
printf '%s\\n%s\\n' "$PW" "$PW" | smbpasswd -s -a rearsmb > /dev/null
chown rearsmb /srv/smb
mkdir -p /var/log/samba /run/samba /var/lib/samba/private
cat > /etc/samba/smb.conf <<'EOF'
[global]
  workgroup = WORKGROUP
  server role = standalone server
  interfaces = lo
  bind interfaces only = yes
  smb ports = 445
  disable netbios = yes
  map to guest = never
  log file = /var/log/samba/log.%m
  server min protocol = SMB2
[share]
  path = /srv/smb
  read only = no
  valid users = rearsmb
EOF
smbd -D
for i in $(seq 1 30); do ss -ltn | grep -q ':445 ' && break; sleep 1; done
check setup "SMB server serves //127.0.0.1/share" "mkdir -p /mnt/probe && mount -t cifs -o username=rearsmb,password=$PW //127.0.0.1/share /mnt/probe && touch /mnt/probe/.probe && umount /mnt/probe && rm /srv/smb/.probe"
step "servers up"

conf() { # NAME URL OPTIONS
  mkdir -p /etc/rear-$1
  cat > /etc/rear-$1/local.conf <<EOF
BACKUP=NETFS
BACKUP_URL=$2
BACKUP_OPTIONS="$3"
NETFS_PREFIX=$1
BOOTLOADER=GRUB2
BACKUP_ONLY_INCLUDE=yes
BACKUP_PROG_INCLUDE=( /srv/data )
BACKUP_PROG_EXCLUDE=()
TARGET_FS_ROOT=/mnt/restore
EOF
}
nothing_mounted() { ! grep -E 'outputfs|127\\.0\\.0\\.1' /proc/mounts; }
absent() { # TEXT FILE...: fails with the lines that hold TEXT
  if grep -rnF -e "$1" "\${@:2}" > /tmp/leak 2>/dev/null; then cut -c1-300 /tmp/leak; return 1; fi
}
no_password() { # the password in no log, no output and not in the backup log on the share
  absent "$PW" /var/log/rear/ $O/*.out "$@"
}
# one case: mkbackuponly to URL, the server-side copy checked, restoreonly into a blank filesystem, the manifests compared
run_case() { # NAME URL OPTIONS SERVER-DIR
  local c=$1 t0 rc
  conf $c "$2" "$3"
  rm -rf /var/log/rear/*
  step "$c: mkbackuponly"
  t0=$(now); $OURS -c /etc/rear-$c -v mkbackuponly > $O/$c-mkbackuponly.out 2>&1; rc=$?; took $c mkbackuponly $t0
  check $c "mkbackuponly exits 0" "test $rc = 0 || tail -n 5 $O/$c-mkbackuponly.out"
  check $c "nothing mounted after mkbackuponly" nothing_mounted
  check $c "backup.tar.gz and its .sha256 on the server in $4/$c" "ls -la $4/$c && test -s $4/$c/backup.tar.gz && cd $4/$c && sha256sum -c --quiet backup.tar.gz.sha256"
  cp /var/log/rear/rear-*.log $O/$c-mkbackuponly.log 2>/dev/null
  umount /mnt/restore; mkfs.ext4 -q -F "$(D rst)" && mount "$(D rst)" /mnt/restore
  step "$c: restoreonly"
  t0=$(now); $OURS -c /etc/rear-$c -p -v restoreonly > $O/$c-restoreonly.out 2>&1; rc=$?; took $c restoreonly $t0
  check $c "restoreonly exits 0" "test $rc = 0 || tail -n 5 $O/$c-restoreonly.out"
  check $c "restoreonly checked the SHA-256 first" "grep -q 'Backup archive verified: SHA-256 matches' $O/$c-restoreonly.out"
  check $c "nothing mounted after restoreonly" nothing_mounted
  cp /var/log/rear/rear-*.log $O/$c-restoreonly.log 2>/dev/null
  manifest /mnt/restore/srv/data > $O/$c-restored.manifest
  check $c "the restored tree equals the original (full manifest)" "diff $O/source.manifest $O/$c-restored.manifest"
  check $c "no password in /var/log/rear, our output or backup.log" "no_password $4/$c"
}

run_case nfs nfs://127.0.0.1/srv/nfs "" /srv/nfs
check nfs "the archive on the export is root's (no_root_squash)" "test \\"$(stat -c %u /srv/nfs/nfs/backup.tar.gz)\\" = 0"
run_case cifs cifs://127.0.0.1/share "username=rearsmb,password=$PW" /srv/smb

# -d: the mount command and the configuration go into the log in debug mode
rm -rf /var/log/rear/*
step "cifs-debug: mkbackuponly -d"
t0=$(now); $OURS -c /etc/rear-cifs -d mkbackuponly > $O/cifs-debug-mkbackuponly.out 2>&1; rc=$?; took cifs-debug mkbackuponly $t0
check cifs-debug "mkbackuponly -d exits 0" "test $rc = 0 || tail -n 5 $O/cifs-debug-mkbackuponly.out"
check cifs-debug "nothing mounted" nothing_mounted
cp /var/log/rear/rear-*.log $O/cifs-debug-mkbackuponly.log 2>/dev/null
check cifs-debug "no password in the -d log" no_password

# a wrong password: the mount fails, the error must not show the password it was given
rm -rf /var/log/rear/*
conf cifs-badpw cifs://127.0.0.1/share "username=rearsmb,password=Wrong-$PW"
step "cifs-badpw: mkbackuponly"
t0=$(now); $OURS -c /etc/rear-cifs-badpw -v mkbackuponly > $O/cifs-badpw-mkbackuponly.out 2>&1; rc=$?; took cifs-badpw mkbackuponly $t0
cp /var/log/rear/rear-*.log $O/cifs-badpw-mkbackuponly.log 2>/dev/null
check cifs-badpw "mkbackuponly fails (exit $rc)" "test $rc != 0"
check cifs-badpw "it says the mount failed" "grep -qi 'mount' $O/cifs-badpw-mkbackuponly.out"
check cifs-badpw "nothing mounted" nothing_mounted
check cifs-badpw "no password in the log or the output" no_password

# OUTPUT=PXE onto the same servers (issue 19): the TFTP tree and the pxelinux config on an NFS export, then
# on the SMB share (credentials in OUTPUT_OPTIONS, as for OUTPUT_URL); the files where a TFTP server reads them
pxe_case() { # NAME TFTP-URL CONFIG-URL OPTIONS SERVER-DIR
  local c=$1 t0 rc
  mkdir -p /etc/rear-$c $5/tftp/pxelinux.cfg && chown -R --reference=$5 $5/tftp
  cat > /etc/rear-$c/local.conf <<EOF
OUTPUT=PXE
BACKUP=REQUESTRESTORE
BOOTLOADER=GRUB2
FIRMWARE_FILES=( no )
MODULES=( loaded_modules )
SSH_FILES=no
PXE_TFTP_URL=$2
PXE_CONFIG_URL=$3
PXE_CREATE_LINKS=
OUTPUT_OPTIONS="$4"
EOF
  rm -rf /var/log/rear/*
  step "$c: mkrescue"
  t0=$(now); $OURS -c /etc/rear-$c -v mkrescue > $O/$c-mkrescue.out 2>&1; rc=$?; took $c mkrescue $t0
  cp /var/log/rear/rear-*.log $O/$c-mkrescue.log 2>/dev/null
  check $c "mkrescue exits 0" "test $rc = 0 || tail -n 5 $O/$c-mkrescue.out"
  check $c "kernel and initramfs in $5/tftp/<host>/" "ls -la $5/tftp/*/ && ls $5/tftp/*/*kernel && ls $5/tftp/*/*initrd.*"
  check $c "the pxelinux config in $5/tftp/pxelinux.cfg" "ls $5/tftp/pxelinux.cfg/rear-* && grep -qi 'kernel ' $5/tftp/pxelinux.cfg/rear-*"
  check $c "nothing mounted" nothing_mounted
  check $c "no password in the log or the output" no_password
}
pxe_case pxe-nfs nfs://127.0.0.1/srv/nfs/tftp nfs://127.0.0.1/srv/nfs/tftp/pxelinux.cfg "" /srv/nfs
pxe_case pxe-cifs cifs://127.0.0.1/share/tftp cifs://127.0.0.1/share/tftp/pxelinux.cfg "username=rearsmb,password=$PW" /srv/smb
step "cases done"
${o.rear27 ? benchScript() : ""}
umount /mnt/restore /srv/data
true
`,
  };
}

/** ReaR 2.7 next to ours and plain tar, on a ~420 MiB data set, file:// to a disk of its own. */
function benchScript(): string {
  return `
# --- the comparison: plain tar, ours, ReaR 2.7 (Debian's package) on the same data ---
B=$O/bench.tsv
: > $B
bench() { printf '%s\\t%s\\t%s\\t%s\\n' "$1" "$2" "$3" "\${4:-0}" >> $B; }   # what exit-code ms bytes
disk bsrc /srv/bench && disk btgt /srv/btgt && mkdir -p /mnt/local
step "bench: making the data set"
mkdir -p /srv/bench/data/random
cp -a /usr/share /usr/lib/x86_64-linux-gnu /usr/lib/python3 /srv/bench/data/
for i in $(seq 1 32); do head -c 4M /dev/urandom > /srv/bench/data/random/r$i.bin; done
printf '%s\\t%s\\n' "$(du -sb /srv/bench/data | cut -f1)" "$(find /srv/bench/data | wc -l)" > $O/bench-data
step "bench: $(cat $O/bench-data)"
TAR_OPTS="--sparse --one-file-system --xattrs --xattrs-include=* --acls --numeric-owner --gzip"
drop; t0=$(now)
tar --create $TAR_OPTS -C / -f /srv/btgt/plain.tar.gz srv/bench/data; rc=$?
bench plain-create $rc $(( ($(now) - t0) / 1000000 )) "$(stat -c %s /srv/btgt/plain.tar.gz)"
for who in ours rear27; do
  mkdir -p /etc/rear-bench-$who
  cat > /etc/rear-bench-$who/local.conf <<EOF
BACKUP=NETFS
BACKUP_URL=file:///srv/btgt
NETFS_PREFIX=$who
BOOTLOADER=GRUB2
BACKUP_ONLY_INCLUDE=yes
BACKUP_PROG_INCLUDE=( /srv/bench/data )
BACKUP_PROG_EXCLUDE=()
TARGET_FS_ROOT=/mnt/brst
EOF
done
sed -i '/^TARGET_FS_ROOT/d' /etc/rear-bench-rear27/local.conf
step "bench: ours mkbackuponly"
drop; t0=$(now)
$OURS -c /etc/rear-bench-ours -v mkbackuponly > $O/bench-ours-mkbackuponly.out 2>&1; rc=$?
bench ours-mkbackuponly $rc $(( ($(now) - t0) / 1000000 )) "$(stat -c %s /srv/btgt/ours/backup.tar.gz 2>/dev/null || echo 0)"
step "bench: ReaR 2.7 mkbackuponly"
rm -rf /var/log/rear/*
drop; t0=$(now)
setsid -w /usr/sbin/rear -c /etc/rear-bench-rear27 -v mkbackuponly > $O/bench-rear27-mkbackuponly.out 2>&1; rc=$?
bench rear27-mkbackuponly $rc $(( ($(now) - t0) / 1000000 )) "$(stat -c %s /srv/btgt/rear27/backup.tar.gz 2>/dev/null || echo 0)"
cp /var/log/rear/rear-*.log $O/bench-rear27-mkbackuponly.log 2>/dev/null
step "bench: plain tar -x"
disk brst /mnt/brst
mkdir -p /mnt/brst/plain
drop; t0=$(now)
tar --extract --xattrs --xattrs-include='*' --acls --numeric-owner --same-permissions --gzip -C /mnt/brst/plain -f /srv/btgt/plain.tar.gz; rc=$?
bench plain-extract $rc $(( ($(now) - t0) / 1000000 )) "$(du -sb /mnt/brst/plain | cut -f1)"
umount /mnt/brst
step "bench: ours restoreonly"
disk brst /mnt/brst
drop; t0=$(now)
$OURS -c /etc/rear-bench-ours -p -v restoreonly > $O/bench-ours-restoreonly.out 2>&1; rc=$?
bench ours-restoreonly $rc $(( ($(now) - t0) / 1000000 )) "$(du -sb /mnt/brst/srv/bench/data 2>/dev/null | cut -f1)"
umount /mnt/brst
step "bench: ReaR 2.7 restoreonly"
# ReaR 2.7 restores into its fixed TARGET_FS_ROOT, /mnt/local
disk brst /mnt/local
rm -rf /var/log/rear/*
# (in a session of its own: on an error, ReaR 2.7 terminates more than its own processes)
drop; t0=$(now)
setsid -w /usr/sbin/rear -c /etc/rear-bench-rear27 -v restoreonly > $O/bench-rear27-restoreonly.out 2>&1; rc=$?
bench rear27-restoreonly $rc $(( ($(now) - t0) / 1000000 )) "$(du -sb /mnt/local/srv/bench/data 2>/dev/null | cut -f1)"
cp /var/log/rear/rear-*.log $O/bench-rear27-restoreonly.log 2>/dev/null
# it runs only in its rescue system, which it knows by /etc/rear-release and a non-empty
# /etc/scripts/system-setup: the same run as there, with both made up
step "bench: ReaR 2.7 restoreonly as in its rescue system"
umount /mnt/local; disk brst /mnt/local
rm -rf /var/log/rear/*
touch /etc/rear-release
mkdir -p /etc/scripts && echo '# made up by the harness: ReaR 2.7 checks that it is not empty' > /etc/scripts/system-setup
drop; t0=$(now)
setsid -w /usr/sbin/rear -c /etc/rear-bench-rear27 -v restoreonly > $O/bench-rear27-rescue-restoreonly.out 2>&1; rc=$?
bench rear27-rescue-restoreonly $rc $(( ($(now) - t0) / 1000000 )) "$(du -sb /mnt/local/srv/bench/data 2>/dev/null | cut -f1)"
rm -rf /etc/rear-release /etc/scripts
cp /var/log/rear/rear-*.log $O/bench-rear27-rescue-restoreonly.log 2>/dev/null
umount /mnt/local /srv/btgt /srv/bench
step "bench done"
`;
}

function parseChecks(tsv: string): Map<string, BackupCheck[]> {
  const out = new Map<string, BackupCheck[]>();
  for (const l of tsv.split("\n")) {
    if (!l.trim()) continue;
    const [c, ok, name, detail] = l.split("\t");
    const list = out.get(c!) ?? [];
    list.push({ name: name ?? "?", ok: ok === "ok", ...(detail ? { detail } : {}) });
    out.set(c!, list);
  }
  return out;
}

export async function runBackup(o: { rear27: boolean; say?: (m: string) => void }): Promise<BackupResult> {
  const say = o.say ?? console.log;
  const t0 = Date.now();
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `npm run build` first");
  const image = await buildImage(say);
  pruneRuns(4, "backup");
  const dir = join(CACHE, "backup", `${o.rear27 ? "rear27-" : ""}${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(dir, { recursive: true });
  // dist/rear may be rebuilt meanwhile by someone else: this run's own copy
  const ours = join(dir, "rear");
  copyFileSync(DIST, ours);
  const accel = await chooseAccel(image.kernel, dir, say);
  const r: BackupResult = { ok: false, accel, startedAt: new Date().toISOString(), totalMs: 0, cases: [], workDir: dir };
  const save = () => writeFileSync(join(dir, "result.json"), JSON.stringify(r, null, 2));
  const disks: VmDisk[] = [];
  const sizes: [string, number][] = [["data", 256], ["nfs", 256], ["smb", 256], ["rst", 256], ...(o.rear27 ? ([["bsrc", 1024], ["btgt", 1536], ["brst", 1024]] as [string, number][]) : [])];
  for (const [serial, mib] of sizes) {
    const file = join(dir, `${serial}.img`);
    await createDisk(file, mib);
    disks.push({ file, bus: "virtio", serial });
  }
  const password = `Smb-${randomBytes(6).toString("hex")}`;
  say(`backup: NFS and SMB servers in a guest, our mkbackuponly/restoreonly against them${o.rear27 ? ", then ReaR 2.7 vs ours vs tar" : ""}`);
  const run = await runInBuilder({ image, dir, name: "backup", accel, timeoutSec: o.rear27 ? 3600 : 900, say, job: backupJob({ rear27: o.rear27, password, oursPath: ours }), extraDisks: disks });
  writeFileSync(join(dir, "job.log"), run.job.log);
  r.guestMs = run.vm.durationMs;
  if (run.job.jobMs !== undefined) r.jobMs = run.job.jobMs;
  const read = (n: string) => (existsSync(join(run.job.dir, n)) ? readFileSync(join(run.job.dir, n), "utf8") : "");
  const checks = parseChecks(read("checks.tsv"));
  const times = new Map<string, Record<string, number>>();
  for (const l of read("times.tsv").split("\n")) {
    const [c, step, ms] = l.split("\t");
    if (!c || !step || ms === undefined) continue;
    times.set(c, { ...(times.get(c) ?? {}), [step]: Number(ms) });
  }
  const expected = ["setup", "nfs", "cifs", "cifs-debug", "cifs-badpw", "pxe-nfs", "pxe-cifs"];
  for (const name of expected) {
    const list = checks.get(name) ?? [];
    if (!list.length) list.push({ name: "ran", ok: false, detail: run.job.exitCode === undefined ? `the job did not finish (${run.vm.missedMarker ?? (run.vm.timedOut ? "timeout" : "?")})` : "no checks recorded" });
    r.cases.push({ name, ok: list.every((c) => c.ok), checks: list, ms: times.get(name) ?? {} });
  }
  if (o.rear27) {
    const rows = new Map<string, string[]>();
    for (const l of read("bench.tsv").split("\n")) {
      const f = l.split("\t");
      if (f[0]) rows.set(f[0], f);
    }
    // what it said: its ERROR line (with the lines after it when it is empty, as ReaR's BUG reports), else its last lines
    const out = (n: string) => {
      const lines = read(n).trim().split("\n");
      const e = lines.findIndex((l) => /ERROR/.test(l));
      const said = e < 0 ? lines.slice(-4) : /ERROR:\s*$/.test(lines[e]!) ? lines.slice(e, e + 6).filter((l) => !/^[=-]+$/.test(l)) : [lines[e]!];
      return said.join(" ").slice(0, 600);
    };
    const b = (key: string, outFile?: string): BenchRun => {
      const f = rows.get(key);
      if (!f) return { note: "did not run" };
      const exitCode = Number(f[1]);
      return { exitCode, ms: Number(f[2]), ...(f[3] && f[3] !== "0" ? { bytes: Number(f[3]) } : {}), ...(exitCode !== 0 && outFile ? { note: out(outFile) } : {}) };
    };
    const [bytes, files] = read("bench-data").trim().split("\t");
    r.bench = {
      dataBytes: Number(bytes ?? 0), dataFiles: Number(files ?? 0),
      plainTarCreate: b("plain-create"), plainTarExtract: b("plain-extract"),
      oursMkbackuponly: b("ours-mkbackuponly", "bench-ours-mkbackuponly.out"), oursRestoreonly: b("ours-restoreonly", "bench-ours-restoreonly.out"),
      rear27Mkbackuponly: b("rear27-mkbackuponly", "bench-rear27-mkbackuponly.out"), rear27Restoreonly: b("rear27-restoreonly", "bench-rear27-restoreonly.out"),
      rear27RescueRestoreonly: b("rear27-rescue-restoreonly", "bench-rear27-rescue-restoreonly.out"),
    };
  }
  r.ok = run.job.exitCode !== undefined && r.cases.every((c) => c.ok);
  r.totalMs = Date.now() - t0;
  save();
  return r;
}

export function printBackup(r: BackupResult): void {
  const s = (ms?: number) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);
  console.log(`backup (${r.accel}): ${r.ok ? "PASS" : "FAIL"}  total ${s(r.totalMs)}, guest ${s(r.guestMs)}, job ${s(r.jobMs)}`);
  for (const c of r.cases) {
    const t = Object.entries(c.ms).map(([k, v]) => `${k} ${s(v)}`).join(", ");
    console.log(`  ${c.ok ? "PASS" : "FAIL"} ${c.name}${t ? ` (${t})` : ""}`);
    for (const k of c.checks) if (!k.ok) console.log(`       FAIL ${k.name}${k.detail ? `: ${k.detail}` : ""}`);
  }
  if (r.bench) {
    const b = r.bench;
    const mib = b.dataBytes / 1048576;
    const row = (what: string, x: BenchRun) => {
      const rate = x.ms && x.exitCode === 0 ? `${(mib / (x.ms / 1000)).toFixed(1)} MiB/s` : "";
      const size = x.bytes !== undefined ? `${(x.bytes / 1048576).toFixed(1)} MiB` : "";
      console.log(`  ${what.padEnd(24)} ${s(x.ms).padStart(9)}  ${rate.padStart(11)}  ${size.padStart(10)}  exit ${x.exitCode ?? "-"}${x.note ? `: ${x.note}` : ""}`);
    };
    console.log(`  data set: ${mib.toFixed(0)} MiB in ${b.dataFiles} files (TCG guest, gzip, file:// to a disk of its own; size = archive or restored bytes)`);
    row("plain tar -czf", b.plainTarCreate);
    row("ours mkbackuponly", b.oursMkbackuponly);
    row("ReaR 2.7 mkbackuponly", b.rear27Mkbackuponly);
    row("plain tar -xzf", b.plainTarExtract);
    row("ours restoreonly", b.oursRestoreonly);
    row("ReaR 2.7 restoreonly", b.rear27Restoreonly);
    row("  as in its rescue system", b.rear27RescueRestoreonly);
  }
  console.log(`  ${r.workDir}`);
}
