// The VM tier of the rescue image (`run.ts rescue [--firmware bios|uefi|all] [--rear27]`): in a guest
// booted by that firmware, a layout with every stack the rescue system must serve (MD RAID 1 → LUKS →
// LVM → XFS, btrfs, vfat, swap) is made on small extra disks and a static address is set on the NIC;
// `rear mkbackup` (ours) builds the ISO with a small encrypted backup inside it (BACKUP_URL=iso:///backup).
// The harness then boots that ISO on a new machine with blank disks and the same NIC, and types a check
// script into the serial console: every tool recovery needs runs (lvm, mdadm, cryptsetup, sfdisk, mkfs.*,
// grub-install, efibootmgr, our binary), udev made the disks' by-id links, the network came up with the
// saved address, the backup key is not in the rescue system, and restoreonly finds the CD by its label
// and restores the backup with the key given. With --rear27, ReaR 2.7 makes its
// ISO in the same guest with its defaults and with FIRMWARE_FILES=(no) MODULES=(loaded_modules), for
// bench/mkrescue.sh.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runInBuilder } from "./builder.ts";
import type { Job } from "./channel.ts";
import { pruneRuns } from "./cycle.ts";
import { buildImage, CACHE, VM_DIR } from "./image.ts";
import { chooseAccel, createDisk, GUEST_ADDRESS, runVm, type VmDisk } from "./qemu.ts";

const DIST = join(VM_DIR, "../../dist/rear");

/** uefi-sb: the ISO made with the host's signed shim and GRUB (SECURE_BOOT_BOOTLOADER), booted with Secure Boot enforced */
export type Firmware = "bios" | "uefi" | "uefi-sb";

export interface RescueCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface RescueResult {
  firmware: Firmware;
  ok: boolean;
  accel: string;
  startedAt: string;
  ours: { exitCode?: number; ms?: number; isoBytes?: number; initrdBytes?: number; bootToReadyMs?: number; note?: string };
  rear27?: { default?: { exitCode?: number; ms?: number; isoBytes?: number }; lean?: { exitCode?: number; ms?: number; isoBytes?: number } };
  checks: RescueCheck[];
  workDir: string;
}

export { GUEST_ADDRESS };

/** The key of the small encrypted backup that goes into the ISO (BACKUP_URL=iso://): the rescue system must not hold it. */
const BACKUP_KEY = "harness-backup-key-7f3a";
const LOCAL_CONF = `OUTPUT=ISO
ISO_DEFAULT=manual
ISO_SYSLINUX_TIMEOUT=20
USER_INPUT_TIMEOUT=2
KERNEL_CMDLINE="console=tty0 console=ttyS0,115200"
BACKUP=NETFS
BACKUP_URL=iso:///backup
BACKUP_ONLY_INCLUDE=yes
BACKUP_PROG_INCLUDE=( /srv/btr )
BACKUP_PROG_CRYPT_ENABLED=yes
{ BACKUP_PROG_CRYPT_KEY='${BACKUP_KEY}' ; } 2>>/dev/$SECRET_OUTPUT_DEV
`;

/** Job: the layout with every stack, a static address, our mkbackup (rescue ISO with a small backup in it); optionally ReaR 2.7's mkrescue twice. */
export function rescueJob(firmware: Firmware, o: { rear27: boolean }): Job {
  const conf = firmware === "uefi-sb" ? `${LOCAL_CONF}SECURE_BOOT_BOOTLOADER=/usr/lib/shim/shimx64.efi.signed\n` : LOCAL_CONF;
  return {
    files: { "rear-ours": { copy: DIST }, "local.conf": conf },
    script: `set -x
step() { echo "rescue-job: $* ($(date +%T))" > /dev/ttyS0 2>/dev/null || true; }
D() { readlink -f /dev/disk/by-id/virtio-$1; }
# every stack the rescue system has to serve, on small disks: md raid1 → LUKS → LVM → xfs; btrfs; vfat; swap
mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 $(D md1) $(D md2) || exit 10
printf 'harness-passphrase' | cryptsetup luksFormat --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --batch-mode /dev/md0 - || exit 11
printf 'harness-passphrase' | cryptsetup open /dev/md0 cr_md0 - || exit 12
pvcreate -ff -y /dev/mapper/cr_md0 && vgcreate vgr /dev/mapper/cr_md0 && lvcreate -y -L 320M -n data vgr || exit 13
# not below /mnt: ReaR's AUTOEXCLUDE_PATH leaves /mnt, /media, /run, /tmp out of the layout
mkfs.xfs -q -f /dev/vgr/data && mkdir -p /data && mount /dev/vgr/data /data || exit 14
sfdisk $(D misc) <<'EOF' || exit 15
label: gpt
size=40MiB, type=uefi
size=150MiB, type=linux
type=swap
EOF
udevadm settle
mkfs.vfat $(D misc)1 && mkdir -p /boot/efi && mount $(D misc)1 /boot/efi || exit 16
mkfs.btrfs -q -f $(D misc)2 && mkdir -p /srv/btr && mount $(D misc)2 /srv/btr || exit 17
mkswap $(D misc)3 && swapon $(D misc)3 || exit 18
# the network the rescue system must bring up again
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip link set dev "$nic" up && ip addr add ${GUEST_ADDRESS}/24 dev "$nic" && ip route add default via 10.0.2.2 || exit 19
ip -j addr > $HARNESS_OUT/ip-addr.json
step "layout made"
install -m 0755 ./rear-ours /usr/local/sbin/rear
mkdir -p /etc/rear && cp local.conf /etc/rear/local.conf
/usr/local/sbin/rear --version > $HARNESS_OUT/ours-version 2>&1
t0=$(date +%s%N)
# mkbackup: the rescue system and a small encrypted backup of /srv/btr inside the ISO (BACKUP_URL=iso://)
echo rescued > /srv/btr/marker
${split(firmware, o.rear27) ? `# BIOS: also 120 MiB of random data, the backup split over two ISOs (ISO_MAX_SIZE): the first run says
# how big the first ISO must at least be (kernel + initramfs + 145 MiB), the second uses that
mkdir -p /srv/split-data && head -c 120M /dev/urandom > /srv/split-data/random
sha256sum /srv/split-data/random | cut -d' ' -f1 > $HARNESS_OUT/split-sha
printf 'BACKUP_PROG_INCLUDE+=( /srv/split-data )\nBACKUP_PROG_COMPRESS_OPTIONS=()\nBACKUP_PROG_COMPRESS_SUFFIX=\n' >> /etc/rear/local.conf
echo ISO_MAX_SIZE=1 >> /etc/rear/local.conf
/usr/local/sbin/rear mkbackup > $HARNESS_OUT/probe.out 2>&1
need=$(sed -n 's/.*set ISO_MAX_SIZE to \\([0-9]*\\) or more.*/\\1/p' $HARNESS_OUT/probe.out)
sed -i "s/^ISO_MAX_SIZE=1$/ISO_MAX_SIZE=$need/" /etc/rear/local.conf
rm -f /var/lib/rear/output/*.iso
t0=$(date +%s%N)
` : ""}/usr/local/sbin/rear -v mkbackup > $HARNESS_OUT/ours.out 2>&1
echo $? > $HARNESS_OUT/ours-rc
echo $(( ($(date +%s%N) - t0) / 1000000 )) > $HARNESS_OUT/ours-ms
cp /var/log/rear/rear-*.log $HARNESS_OUT/ours.log 2>/dev/null
for v in /var/lib/rear/output/*_[0-9][0-9].iso; do [ -e "$v" ] && mv "$v" $HARNESS_OUT/volume_\${v##*_}; done
iso=$(ls /var/lib/rear/output/*.iso 2>/dev/null | head -n 1)
[ -n "$iso" ] && mv "$iso" $HARNESS_OUT/rescue.iso && stat -c %s $HARNESS_OUT/rescue.iso > $HARNESS_OUT/ours-iso-bytes
step "ours done"
${o.rear27 ? `# ReaR 2.7 (the Debian package) in the same guest: its defaults, then lean
for run in default lean; do
  rm -rf /var/lib/rear/output/* /var/log/rear/rear-*.log
  extra=""; [ $run = lean ] && extra="FIRMWARE_FILES=( no ) MODULES=( loaded_modules )"
  printf 'OUTPUT=ISO\\n%s\\n' "$extra" > /tmp/rear27-$run.conf
  t0=$(date +%s%N)
  /usr/sbin/rear -v -c /tmp -C rear27-$run mkrescue > $HARNESS_OUT/rear27-$run.out 2>&1
  echo $? > $HARNESS_OUT/rear27-$run-rc
  echo $(( ($(date +%s%N) - t0) / 1000000 )) > $HARNESS_OUT/rear27-$run-ms
  stat -c %s /var/lib/rear/output/*.iso > $HARNESS_OUT/rear27-$run-iso-bytes 2>/dev/null
  step "rear27 $run done"
done
` : ""}swapoff -a; umount /srv/btr /boot/efi /data; vgchange -an vgr; cryptsetup close cr_md0; mdadm --stop /dev/md0
test "$(cat $HARNESS_OUT/ours-rc)" = 0
`,
  };
}

/** What is typed into the rescue system's serial console. The markers are split in the typed text so that only the output matches. */
/**
 * The firmware whose test also splits the backup over two ISOs (once is enough: it costs a second
 * mkrescue); not with --rear27, whose figures compare our mkbackup's time and ISO with ReaR's mkrescue.
 */
const split = (f: Firmware, rear27: boolean) => f === "bios" && !rear27;

export function checkScript(firmware: Firmware, splitSha?: string): string {
  const tools = [
    "rear --version", "lvm version", "mdadm --version", "cryptsetup --version", "sfdisk --version", "wipefs --version", "parted --version",
    "mkfs.ext4 -F -q /tmp/img.ext4", "mkfs.xfs -q -f /tmp/img.xfs", "mkfs.btrfs -q -f /tmp/img.btrfs", "mkfs.vfat /tmp/img.vfat", "mkswap /tmp/img.swap",
    "grub-install --version", ...(firmware !== "bios" ? ["efibootmgr --version"] : []),
    // the 5th byte of the SecureBoot variable (after 4 bytes of attributes) is 1 when the firmware enforces it
    ...(firmware === "uefi-sb" ? ["test \"$(od -An -j4 -N1 -tu1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c | tr -d \" \")\" = 1"] : []), "tar --version", "blkid --version", "modprobe -V",
    "test -e /dev/disk/by-id/virtio-tgt1", `ip -4 addr show | grep -q ${GUEST_ADDRESS}/24`, "test -e /etc/rear-release", "test -s /var/lib/rear/layout/disklayout.conf",
    // the backup inside the ISO: the key is not in the rescue system; given, restoreonly finds the CD by its label and restores
    `! grep -rq ${BACKUP_KEY} /etc/rear /var/lib/rear`,
    `mkdir -p /tmp/restored && echo TARGET_FS_ROOT=/tmp/restored >> /etc/rear/local.conf && BACKUP_PROG_CRYPT_KEY=${BACKUP_KEY} rear -v restoreonly`,
    "grep -q rescued /tmp/restored/srv/btr/marker",
    // ISO_MAX_SIZE: the second volume came from the second CD drive (labelled REAR-ISO_01), checked before the restore
    ...(splitSha ? [`test "$(sha256sum /tmp/restored/srv/split-data/random | cut -d" " -f1)" = ${splitSha}`] : []),
  ];
  const lines = [
    "stty -echo",
    "cd /tmp && for f in ext4 xfs btrfs vfat swap; do truncate -s 300M /tmp/img.$f; done",
    "fails=0",
    `t() { if eval "$1" >/tmp/t.out 2>&1; then echo "RESCUE""-CHECK ok: $1"; else echo "RESCUE""-CHECK FAIL: $1: $(tail -n 2 /tmp/t.out | tr '\\n' ' ')"; fails=$((fails+1)); fi; }`,
    ...tools.map((t) => `t '${t.replace(/'/g, `'\\''`)}'`),
    `echo "RESCUE""-CHECK done fails=$fails"`,
    "poweroff",
    "",
  ];
  return lines.join("\n");
}

export function parseChecks(serial: string): { checks: RescueCheck[]; done: boolean } {
  const checks: RescueCheck[] = [];
  let done = false;
  for (const l of serial.split(/\r?\n/)) {
    const m = /RESCUE-CHECK (ok|FAIL): (.*)$/.exec(l);
    if (m) {
      const [name, ...rest] = m[2]!.split(": ");
      checks.push({ name: name!.trim(), ok: m[1] === "ok", ...(rest.length ? { detail: rest.join(": ").trim() } : {}) });
    }
    if (/RESCUE-CHECK done/.test(l)) done = true;
  }
  return { checks, done };
}

export async function runRescue(firmware: Firmware, o: { rear27: boolean; say?: (m: string) => void }): Promise<RescueResult> {
  const say = o.say ?? console.log;
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `npm run build` first");
  const image = await buildImage(say);
  pruneRuns(4, "rescue");
  const dir = join(CACHE, "rescue", `${firmware}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(dir, { recursive: true });
  const accel = await chooseAccel(image.kernel, dir, say);
  const r: RescueResult = { firmware, ok: false, accel, startedAt: new Date().toISOString(), ours: {}, checks: [], workDir: dir };
  const save = () => writeFileSync(join(dir, "result.json"), JSON.stringify(r, null, 2));
  const disks: VmDisk[] = [];
  for (const [serial, mib] of [["md1", 420], ["md2", 420], ["misc", 512]] as const) {
    const file = join(dir, `${serial}.img`);
    await createDisk(file, mib);
    disks.push({ file, bus: "virtio", serial });
  }
  say(`rescue/${firmware}: making the layout and running mkrescue in a ${firmware} guest`);
  const built = await runInBuilder({
    image, dir, name: "mkrescue", accel, timeoutSec: o.rear27 ? 3600 : 1500, say, job: rescueJob(firmware, o), extraDisks: disks,
    outSizeMiB: o.rear27 ? 1024 : 600, firmware: firmware === "bios" ? "bios" : "uefi", nic: true,
  });
  writeFileSync(join(dir, "mkrescue.log"), built.job.log);
  const out = (n: string) => (existsSync(join(built.job.dir, n)) ? readFileSync(join(built.job.dir, n), "utf8").trim() : undefined);
  const num = (n: string) => (out(n) !== undefined ? Number(out(n)) : undefined);
  r.ours = { ...(num("ours-rc") !== undefined ? { exitCode: num("ours-rc")! } : {}), ...(num("ours-ms") !== undefined ? { ms: num("ours-ms")! } : {}), ...(num("ours-iso-bytes") !== undefined ? { isoBytes: num("ours-iso-bytes")! } : {}) };
  const initrd = /Created (\S+) with \S+ \((\d+) bytes\)/.exec(out("ours.log") ?? "");
  if (initrd) r.ours.initrdBytes = Number(initrd[2]);
  if (o.rear27) {
    const run = (k: string) => ({ ...(num(`rear27-${k}-rc`) !== undefined ? { exitCode: num(`rear27-${k}-rc`)! } : {}), ...(num(`rear27-${k}-ms`) !== undefined ? { ms: num(`rear27-${k}-ms`)! } : {}), ...(num(`rear27-${k}-iso-bytes`) !== undefined ? { isoBytes: num(`rear27-${k}-iso-bytes`)! } : {}) });
    r.rear27 = { default: run("default"), lean: run("lean") };
  }
  const iso = join(built.job.dir, "rescue.iso");
  if (r.ours.exitCode !== 0 || !existsSync(iso)) {
    r.ours.note = `mkrescue ${r.ours.exitCode === undefined ? "did not finish" : `exited ${r.ours.exitCode}`}: ${(out("ours.out") ?? built.job.log).split("\n").slice(-6).join(" / ")}`;
    say(`rescue/${firmware}: FAIL: ${r.ours.note}`);
    save();
    return r;
  }
  say(`rescue/${firmware}: booting the ISO (${Math.round(statSync(iso).size / 1048576)} MiB) on blank disks with the serial check`);
  const tgt = join(dir, "target1.img");
  await createDisk(tgt, 1024);
  const serialLog = join(dir, "rescue.serial.log");
  const vm = await runVm(
    {
      name: "rescue", firmware: firmware === "bios" ? "bios" : "uefi", ...(firmware === "uefi-sb" ? { secureBoot: true } : {}),
      ovmfVars: join(dir, "OVMF_VARS.rescue.fd"), accel, serialLog, timeoutSec: 900, cdrom: iso, boot: "d", nic: true,
      extraCdroms: readdirSync(built.job.dir).filter((f) => /^volume_\d+\.iso$/.test(f)).sort().map((f) => join(built.job.dir, f)),
      disks: [{ file: tgt, bus: "virtio", serial: "tgt1" }],
      markers: [{ text: "Relax-and-Recover rescue system is ready", timeoutSec: 600 }, { text: "RESCUE-CHECK done", timeoutSec: 300 }],
      interact: [{ waitFor: "Relax-and-Recover rescue system is ready", send: `\n${checkScript(firmware, split(firmware, o.rear27) ? out("split-sha") : undefined)}` }],
      failMarkers: ["Kernel panic"],
    },
    say,
  );
  const ready = vm.markerTimesMs["Relax-and-Recover rescue system is ready"];
  if (ready !== undefined) r.ours.bootToReadyMs = ready;
  const parsed = parseChecks(readFileSync(serialLog, "latin1"));
  r.checks = parsed.checks;
  if (ready === undefined) r.checks.push({ name: "the rescue system booted to 'ready'", ok: false, detail: vm.failedOn ?? vm.missedMarker ?? `qemu exit ${vm.exitCode}` });
  else if (!parsed.done) r.checks.push({ name: "the check script finished", ok: false, detail: vm.missedMarker ?? "no result line" });
  r.ok = parsed.done && r.checks.length > 0 && r.checks.every((c) => c.ok);
  save();
  return r;
}

export function printRescue(r: RescueResult): void {
  const mib = (b?: number) => (b === undefined ? "?" : `${Math.round(b / 1048576)} MiB`);
  const s = (ms?: number) => (ms === undefined ? "?" : `${Math.round(ms / 100) / 10} s`);
  console.log(`rescue/${r.firmware} (${r.accel}): ${r.ok ? "PASS" : "FAIL"}  ours: mkrescue ${s(r.ours.ms)}, ISO ${mib(r.ours.isoBytes)}, boot to ready ${s(r.ours.bootToReadyMs)}`);
  if (r.rear27) console.log(`  ReaR 2.7: default mkrescue ${s(r.rear27.default?.ms)} ISO ${mib(r.rear27.default?.isoBytes)} (exit ${r.rear27.default?.exitCode}); lean (FIRMWARE_FILES=(no) MODULES=(loaded_modules)) ${s(r.rear27.lean?.ms)} ISO ${mib(r.rear27.lean?.isoBytes)} (exit ${r.rear27.lean?.exitCode})`);
  for (const c of r.checks) console.log(`  ${c.ok ? "ok  " : "FAIL"} ${c.name}${c.detail ? `: ${c.detail}` : ""}`);
  console.log(`  ${r.workDir}`);
}
