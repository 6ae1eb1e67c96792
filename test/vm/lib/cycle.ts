// The whole cycle of a scenario:
//   build the source machine (in a builder guest) → boot it, collect truth, run the backup command,
//   create a canary that must not survive → blank target disks (and fresh UEFI vars) → boot the rescue
//   image with the backup disk attached, recover unattended → boot from the recovered disks only,
//   collect truth → compare → a JSON result with pass/fail per check and timings.

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, utimesSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { runInBuilder } from "./builder.ts";
import { prepareChannel, readResults, type Job } from "./channel.ts";
import { COMPARE_CHECKS, compareTruth, parseTruth, REAR27_REWRITES, type Check } from "./compare.ts";
import { mkbackupFigures, restoreFigures } from "./figures.ts";
import { extractRescueKernel } from "./rescue-boot.ts";
import { CACHE, OURS_BIN, VM_DIR, buildImage, type GuestImage } from "./image.ts";
import { makeFleetIso, startUpdateServer, UPDATE_SERVER_IP, type UpdateServer } from "./fleet.ts";
import { prepareRawdisk, preparePxe } from "./netboot.ts";
import { plugSteps, udevPlugScript } from "./udev-plug.ts";
import { COVE_SERVER_IP, coveBackupJob, mkrescueJsonProblem, readIfAny, sessionBytes, startCove } from "./cove.ts";
import { chooseAccel, createDisk, runVm, type VmDisk } from "./qemu.ts";
import type { Machine } from "./layouts.ts";
import { machineFirmware, type Scenario } from "./scenario.ts";
import { sh } from "./sh.ts";

export type Tool = "rear27" | "ours";

export interface PhaseResult {
  ok: boolean;
  ms: number;
  note?: string;
}

export interface RunResult {
  scenario: string;
  tool: Tool;
  toolVersion?: string;
  firmware: string;
  accel: string;
  startedAt: string;
  ok: boolean;
  phases: Record<"build" | "backup" | "recover" | "verify", PhaseResult | undefined>;
  /** boots that hung before the kernel started init (a TCG stall, not the tool) and were started again */
  bootRetries?: string[];
  figures: {
    mkbackupMs?: number;
    /** rescue image build and backup, from the tool's log */
    imageBuildMs?: number;
    backupMs?: number;
    rescueImageBytes?: number;
    backupArchiveBytes?: number;
    recoverMs?: number;
    /** the archive restored and how long tar took, from the rescue console */
    restoredMiB?: number;
    restoreMs?: number;
    rescueBootToLoginMs?: number;
  };
  checks: Check[];
  /** the run had a power cut during recover and recover was run again (--power-cut) */
  powerCut?: { phase: PowerCutPhase; cutAfterMs: number; firstRunOutput: string; resumedWith: string[] };
  workDir: string;
}

export type PowerCutPhase = "layout" | "restore" | "finalize";

/** Where the power goes during recover: a little after these lines appear on the rescue system's console. */
export function powerCutAt(phase: PowerCutPhase, firmware: "bios" | "uefi"): { text: string; afterSec: number } {
  // layout: while a LUKS volume is formatted (the stack below it made, the rest not): a layout to cut must have one
  if (phase === "layout") return { text: "Create LUKS volume", afterSec: 2 };
  if (phase === "restore") return { text: "Restoring from", afterSec: 20 };
  // BIOS: while grub-install writes the boot code; UEFI: while the NVRAM entry and the ESP are written
  return firmware === "bios" ? { text: "Installing GRUB on", afterSec: 1 } : { text: "Finalizing the recovered system", afterSec: 2 };
}

const DIST = OURS_BIN;

/** Job: partition and format the source disks (the layout recipe), copy the system, make it bootable. */
export function buildJob(s: Machine): Job {
  const disks = s.sourceDisks.map((_, i) => `DISK${i + 1}=$(readlink -f /dev/disk/by-id/virtio-src${i + 1})`).join("\n");
  const grub =
    s.firmware === "uefi"
      ? `chroot /target grub-install --target=x86_64-efi --efi-directory=/boot/efi --bootloader-id=debian --no-nvram
chroot /target grub-install --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram`
      : `chroot /target grub-install --target=i386-pc "$DISK1"`;
  return {
    files: { "layout.sh": s.layout, ...(s.postInstall ? { "post-install.sh": s.postInstall } : {}) },
    script: `set -euxo pipefail
PS4='+ $(date +%T) '
${disks}
export ${s.sourceDisks.map((_, i) => `DISK${i + 1}`).join(" ")}
mkdir -p /target
step() { echo "build: $* ($(date +%T))" > /dev/ttyS0 2>/dev/null || true; }
bash -euxo pipefail ./layout.sh
step "layout made"
mountpoint -q /target || { echo "the layout recipe did not mount /target"; exit 1; }
rsync -aHAXx --numeric-ids --exclude=/target --exclude=/tmp/* --exclude=/run/* / /target/
mkdir -p /target/target.unused && rmdir /target/target.unused
step "system copied"
# fstab by UUID, from what is mounted below /target and the swap areas
{
  echo "# written by the VM harness (source machine build)"
  findmnt -R -n -r -o TARGET,SOURCE,FSTYPE,FSROOT /target | while read -r t src f root; do
    # a btrfs subvolume's SOURCE is /dev/X[/subvol]
    src=\${src%%\\[*}
    uuid=$(blkid -s UUID -o value "$src"); mp=\${t#/target}; [ -n "$mp" ] || mp=/
    pass=2; [ "$mp" = / ] && pass=1
    opts=defaults; [ "$f" = vfat ] && opts=umask=0077
    [ "$f" = btrfs ] && [ "$root" != / ] && opts="subvol=$root"
    echo "UUID=$uuid $mp $f $opts 0 $pass"
  done
  for sw in $(blkid -t TYPE=swap -o device); do echo "UUID=$(blkid -s UUID -o value "$sw") none swap sw 0 0"; done
} > /target/etc/fstab
cat /target/etc/fstab
[ -f /target.crypttab ] && cp /target.crypttab /target/etc/crypttab
for d in dev dev/pts proc sys run; do mount --bind /$d /target/$d; done
# The image's initramfs (built with MODULES=most and the lvm2, mdadm and cryptsetup hooks) boots plain,
# LVM and btrfs roots as it is; LUKS and MD need their crypttab/mdadm.conf inside it. Rebuilding it under
# TCG costs minutes, so only then, and with MODULES=dep (the drivers of the disks this build machine has,
# the source machine's): MODULES=most took 10 minutes here, a third of a CI run. The setting is not left
# in the source system, whose initramfs.conf keeps MODULES=most for the recover's own rebuilds.
if grep -Eqv '^[[:space:]]*(#|$)' /target/etc/crypttab 2>/dev/null || grep -q '^md[0-9]' /proc/mdstat 2>/dev/null; then
  mdadm --detail --scan >> /target/etc/mdadm/mdadm.conf 2>/dev/null || true
  echo MODULES=dep > /target/etc/initramfs-tools/conf.d/zz-harness-build
  # dep mode gives up on some stacks it cannot follow from a chroot ("workaround is MODULES=most"): then most
  chroot /target update-initramfs -u -k all || { rm /target/etc/initramfs-tools/conf.d/zz-harness-build; chroot /target update-initramfs -u -k all; }
  rm -f /target/etc/initramfs-tools/conf.d/zz-harness-build
  step "initramfs made"
fi
${grub}
chroot /target update-grub
step "boot loader installed"
${s.postInstall ? `bash -euxo pipefail ./post-install.sh
` : ""}# canary files with known contents, modes, owners, xattrs, a hard link, a sparse file
c=/target/root/canary
mkdir -p $c
printf 'canary content\\n' > $c/text
setfattr -n user.harness -v canary-value $c/text
ln $c/text $c/hardlink
ln -s text $c/symlink
printf 'owned\\n' > $c/owned && chown 1234:5678 $c/owned && chmod 0640 $c/owned
printf 'setuid\\n' > $c/setuid && chmod 4755 $c/setuid
mkdir -m 1777 $c/sticky-dir
truncate -s 64M $c/sparse && printf 'end' | dd of=$c/sparse bs=1 seek=$((32*1024*1024)) conv=notrunc status=none
mkfifo $c/fifo
mknod $c/null c 1 3
umount -R /target
swapoff -a || true
vgchange -an 2>/dev/null || true
for m in /dev/mapper/*; do [ "$m" = /dev/mapper/control ] || cryptsetup close "$m" 2>/dev/null || true; done
mdadm --stop --scan 2>/dev/null || true
sync
`,
  };
}

/** sha256 of a (large, sparse) disk image, streamed. */
async function sha256FileAsync(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) h.update(chunk);
  return h.digest("hex");
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Job in the booted source: truth, the tool's backup, the rescue image out, the canary. */
export function backupJob(s: Scenario, tool: Tool): Job {
  const install = tool === "ours" ? "install -m 0755 ./rear-ours /usr/local/sbin/rear\nhash -r\n" : "";
  return {
    files: {
      "local.conf": s.tool.localConf,
      "collect-truth.sh": readFileSync(join(VM_DIR, "guest/collect-truth.sh"), "utf8"),
      ...(tool === "ours" ? { "rear-ours": { copy: DIST } } : {}),
      ...(secretsOf(s).length ? { "secrets.txt": `${secretsOf(s).join("\n")}\n` } : {}),
    },
    script: `set -x
${s.udevPlug ? udevPlugScript({ install, before: `bash ./collect-truth.sh $HARNESS_OUT/truth-before\n${secretScan("secret-files.txt")}`, timeoutSec: s.timeouts.backup ?? 1800 }) : `${install}mkdir -p /etc/rear
cp local.conf /etc/rear/local.conf
rear --version > $HARNESS_OUT/tool-version 2>&1
${s.backupDisk.prepare === "rear-format" ? `# OUTPUT=USB: the tool itself makes the backup disk its REAR-000 medium
${tool === "ours" ? "# a virtio disk is not removable: ours wants the typed confirmation too\nexport USER_INPUT_USB_DEVICE_CONFIRM_FORMAT=Yes\n" : ""}rear -v format -- --yes "$(readlink -f /dev/disk/by-id/virtio-backup)" > $HARNESS_OUT/format.out 2>&1 || { echo "rear format failed"; cat $HARNESS_OUT/format.out; exit 1; }
udevadm settle
` : ""}
bash ./collect-truth.sh $HARNESS_OUT/truth-before
${secretScan("secret-files.txt")}t0=$(date +%s%N)
( ${s.tool.backupCommand} ) > $HARNESS_OUT/backup.out 2>&1
echo $? > $HARNESS_OUT/backup-rc
`}grep -HE '^(description|creation_host|creation_time)|seqno' /etc/lvm/backup/* /etc/lvm/archive/* > $HARNESS_OUT/lvm-metadata.txt 2>/dev/null
${s.udevPlug ? "" : "echo $(( ($(date +%s%N) - t0) / 1000000 )) > $HARNESS_OUT/backup-ms\n"}cp /var/log/rear/rear-*.log $HARNESS_OUT/ 2>/dev/null
${s.rescueBoot === "rawdisk" ? `raw=$(ls /var/lib/rear/output/*.raw* 2>/dev/null | head -n 1)
[ -n "$raw" ] && cp "$raw" $HARNESS_OUT/rescue.raw.gz && sha256sum < "$raw" | cut -d' ' -f1 > $HARNESS_OUT/rescue.raw.gz.sha256
` : ""}${s.rescueBoot === "pxe" ? `# what OUTPUT=PXE wrote (PXE_TFTP_PATH and PXE_CONFIG_PATH below it), for QEMU's TFTP server
[ -d /var/lib/rear/output/pxelinux.cfg ] && tar -C /var/lib/rear/output -cf $HARNESS_OUT/tftp.tar . && ls -lR /var/lib/rear/output > $HARNESS_OUT/tftp.list
` : ""}iso=$(ls /var/lib/rear/output/*.iso 2>/dev/null | head -n 1)
if [ -n "$iso" ]; then
  cp "$iso" $HARNESS_OUT/rescue.iso || echo "cannot copy the rescue ISO" >&2
  sha256sum < "$iso" | cut -d' ' -f1 > $HARNESS_OUT/rescue.iso.sha256
fi
if mkdir -p /mnt/backupdisk && mount /dev/disk/by-label/REAR-000 /mnt/backupdisk 2>/dev/null; then
  find /mnt/backupdisk -name 'backup.tar*' ! -name '*.sha256' -printf '%s\\n' | head -n 1 > $HARNESS_OUT/backup-archive-bytes
  find /mnt/backupdisk -name '*-portable.tar.gz' -printf '%s\\n' | head -n 1 > $HARNESS_OUT/rescue-portable-bytes
${s.fleetUpdate ? `  # the archive the host serves to the other machine's rescue system (RECOVERY_UPDATE_URL)
  cp "$(find /mnt/backupdisk -name '*-portable.tar.gz' | head -n 1)" $HARNESS_OUT/portable.tar.gz
` : ""}${s.rescueBoot === "usb" ? `${tool !== "ours" ? `  # ReaR's USB menu boots the local disk after 30 s; as its upstream tests do, make the newest rescue
  # entry the default so the unattended recovery starts by itself. Not its hidden label "rear": that one
  # says \`kernel <label>\` and extlinux answers "Loading <label>... failed: No such file or directory".
  # (ours is left as it wrote it: USB_RECOVER_MODE=unattended makes that entry the default)
  cfg=$(find /mnt/backupdisk -name extlinux.conf | head -n 1)
  entry=$(ls -d /mnt/backupdisk/rear/*/*/syslinux.cfg 2>/dev/null | sort | tail -n 1 | xargs -r grep -m1 '^label ' | cut -d' ' -f2)
  [ -n "$cfg" ] && [ -n "$entry" ] && sed -i -e "s/^ontimeout boothd1$/ontimeout $entry/" -e 's/^timeout 300$/timeout 50/' "$cfg" && grep -n 'ontimeout\\|^timeout' "$cfg"
` : ""}  find /mnt/backupdisk/rear -type f \\( -name 'kernel' -o -name 'initrd*' \\) -printf '%s\\n' | awk '{s+=$1} END {print s+0}' > $HARNESS_OUT/rescue-usb-bytes
` : ""}  umount /mnt/backupdisk
fi
echo "created after the backup: a recovery must not bring it back" > /root/recovery_will_remove_me
sync
test "$(cat $HARNESS_OUT/backup-rc)" = 0
`,
  };
}

/**
 * Job in the live system (rescueBoot "live"): a system rear did not make — the image's ReaR 2.7 is taken
 * away too, and the programs the scenario names — gets the PORTABLE archive from the backup disk,
 * unpacks it under /root and runs `rear -p -n recover` from there.
 */
export function liveRecoverJob(s: Pick<Scenario, "live">): Job {
  const remove = s.live?.remove ?? [];
  return {
    script: `set -x
rm -rf /usr/sbin/rear /etc/rear /usr/share/rear /var/lib/rear
${remove.map((p) => `for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do rm -f "$d/${p}"; done
`).join("")}mkdir -p /mnt/backupdisk && mount -o ro /dev/disk/by-label/REAR-000 /mnt/backupdisk || exit 1
a=$(find /mnt/backupdisk -name '*-portable.tar.gz' | head -n 1)
[ -n "$a" ] || { echo "no *-portable.tar.gz on the backup disk"; exit 1; }
mkdir -p /root/portable && tar -C /root/portable -xzf "$a" || exit 1
umount /mnt/backupdisk
cd /root/portable
t0=$(date +%s%N)
./usr/sbin/rear -p -n -v recover > $HARNESS_OUT/recover.out 2>&1
echo $? > $HARNESS_OUT/recover-rc
echo $(( ($(date +%s%N) - t0) / 1000000 )) > $HARNESS_OUT/recover-ms
cp -a /var/log/rear $HARNESS_OUT/rear-logs 2>/dev/null
# what a reboot of the live system does: the recovered file systems unmounted cleanly
umount -R /mnt/local 2>/dev/null; swapoff -a 2>/dev/null; vgchange -an >/dev/null 2>&1
sync
true
`,
  };
}

/** The scenario's secrets: what the secret scan looks for. */
export function secretsOf(s: Pick<Scenario, "secrets" | "bootPassphrase"> & { cove?: Scenario["cove"] }): string[] {
  return [...new Set([...s.secrets, ...(s.bootPassphrase ? [s.bootPassphrase] : []), ...(s.cove ? [s.cove.token] : [])])];
}

/**
 * Lists the files holding one of the secrets (secrets.txt, one per line) into $HARNESS_OUT/NAME, leaving
 * out the job's own directory; where a tool could leave them: configuration, logs, state, homes, /boot.
 */
export function secretScan(name: string): string {
  return `if [ -s secrets.txt ]; then
  grep -rlsF -f secrets.txt /etc /var /root /boot /home /srv /tmp /.rear* 2>/dev/null | grep -v "^$PWD/" | sort -u > $HARNESS_OUT/${name}
fi
`;
}

/** Files of the recovered machine that hold a secret the same file on the source did not hold. */
export function secretsLeft(sourceList: string, recoveredList: string): string[] {
  const before = new Set(sourceList.split("\n").filter(Boolean));
  return recoveredList.split("\n").filter((f) => f && !before.has(f));
}

export function verifyJob(secrets: string[] = []): Job {
  return {
    files: { "collect-truth.sh": readFileSync(join(VM_DIR, "guest/collect-truth.sh"), "utf8"), ...(secrets.length ? { "secrets.txt": `${secrets.join("\n")}\n` } : {}) },
    script: `set -x
${secretScan("secret-files.txt")}
# UEFI: which boot entry started this system (the one recover wrote, or the removable fallback path)
[ -d /sys/firmware/efi ] && efibootmgr -v > $HARNESS_OUT/efibootmgr.txt 2>&1
# Secure Boot: the SecureBoot variable's value byte (1 = enforced)
for v in /sys/firmware/efi/efivars/SecureBoot-*; do [ -e "$v" ] && od -An -tu1 "$v" | awk '{print $NF}' > $HARNESS_OUT/secureboot; done
# who wrote LVM's metadata backups and archives (their description line names the command)
grep -HE '^(description|creation_host|creation_time)|seqno' /etc/lvm/backup/* /etc/lvm/archive/* > $HARNESS_OUT/lvm-metadata.txt 2>/dev/null
bash ./collect-truth.sh $HARNESS_OUT/truth-after
mkdir -p $HARNESS_OUT/recover-logs
cp -a /var/log/rear/recover/. $HARNESS_OUT/recover-logs/ 2>/dev/null
cp -a /root/rear-*.log $HARNESS_OUT/recover-logs/ 2>/dev/null
true
`,
  };
}

/**
 * The key of a built source machine: the guest image, the build job (the layout recipe, the harness's
 * build steps, the post-install) and the disks. Equal keys build equal machines (but for fresh UUIDs).
 */
export function sourceKey(m: Machine, imageKey: string): string {
  const job = buildJob(m);
  return createHash("sha256").update(JSON.stringify({ imageKey, script: job.script, files: job.files, disks: m.sourceDisks })).digest("hex").slice(0, 16);
}

const SOURCES = () => join(CACHE, "sources");

/**
 * Makes the source disks (source1.img, … in `dir`) and builds the machine on them in a builder guest,
 * where they are virtio disks; `disks` have the machine's own buses, for booting it. A machine built
 * before with the same key is copied from $REAR_VM_CACHE/sources instead (minutes under TCG: the system
 * copied, an initramfs for LUKS or MD): the build is the harness's preparation, not what a run tests.
 */
export async function buildSourceMachine(
  m: Machine,
  o: { image: GuestImage; dir: string; accel: "kvm" | "tcg"; timeoutSec: number; say: (m: string) => void },
): Promise<{ disks: VmDisk[]; ms: number; failure?: string; cached?: string }> {
  const disks: VmDisk[] = [];
  const key = sourceKey(m, o.image.key);
  const cached = join(SOURCES(), key);
  const files = m.sourceDisks.map((_, i) => join(o.dir, `source${i + 1}.img`));
  if (existsSync(join(cached, "done")) && process.env.REAR_VM_NO_SOURCE_CACHE !== "1") {
    const t0 = Date.now();
    for (const [i, d] of m.sourceDisks.entries()) {
      await sh(["cp", "--sparse=always", join(cached, `source${i + 1}.img`), files[i]!]);
      disks.push({ file: files[i]!, bus: d.bus, serial: `src${i + 1}` });
    }
    const now = new Date();
    utimesSync(cached, now, now); // the newest used stay when the cache is pruned
    o.say(`the source machine built before (${key}) is copied from ${cached}`);
    return { disks, ms: Date.now() - t0, cached: key };
  }
  for (const [i, d] of m.sourceDisks.entries()) {
    await createDisk(files[i]!, d.sizeMiB);
    disks.push({ file: files[i]!, bus: d.bus, serial: `src${i + 1}` });
  }
  const built = await runInBuilder({
    image: o.image, dir: o.dir, name: "build", accel: o.accel, timeoutSec: o.timeoutSec, say: o.say, job: buildJob(m),
    extraDisks: disks.map((d) => ({ ...d, bus: "virtio" as const })),
  });
  writeFileSync(join(o.dir, "build.log"), built.job.log);
  const code = built.job.exitCode;
  if (code === 0) {
    // kept for the next run with the same key (a few of the newest: each is gigabytes of sparse disk)
    pruneRuns(7, "sources");
    mkdirSync(cached, { recursive: true });
    for (const [i] of m.sourceDisks.entries()) await sh(["cp", "--sparse=always", files[i]!, join(cached, `source${i + 1}.img`)]);
    writeFileSync(join(cached, "done"), `${new Date().toISOString()}\n`);
    return { disks, ms: built.vm.durationMs };
  }
  return { disks, ms: built.vm.durationMs, failure: `build job ${code === undefined ? "did not finish" : `exited ${code}`} (see ${o.dir}/build.log, build.serial.log)` };
}

/**
 * recover from a live system (rescueBoot "live"): the target disks and the backup disk on the harness's
 * own Debian guest (its kernel, initramfs and root image: a system rear did not make), the job unpacking
 * the PORTABLE archive and running `rear -p -n recover`. With live.expectRefusal the recovery must stop
 * before any disk is written: the checks say whether it named the program and left the targets blank.
 */
export async function recoverFromLiveSystem(
  s: Scenario,
  o: { image: GuestImage; dir: string; accel: "kvm" | "tcg"; say: (m: string) => void; tgt: VmDisk[]; backupDisk: string; ovmfVars: string; result: RunResult },
): Promise<{ ms: number; log: string } | { failure: string; ms: number } | { refused: Check[] }> {
  const sumsBefore = s.live?.expectRefusal ? await Promise.all(o.tgt.map((d) => sha256FileAsync(d.file))) : [];
  o.say(`${s.name}: recovering from a live system (the harness's Debian, no rear) with the portable archive (${Math.round((o.result.figures.rescueImageBytes ?? 0) / 1048576)} MiB)${s.live?.remove.length ? `, without ${s.live.remove.join(", ")}` : ""}`);
  const r = await runInBuilder({
    image: o.image, dir: o.dir, name: "recover", job: liveRecoverJob(s), accel: o.accel, timeoutSec: s.timeouts.recover ?? 2400, say: o.say, outSizeMiB: 256,
    extraDisks: [...o.tgt, { file: o.backupDisk, bus: "virtio", serial: "backup" }],
    firmware: s.firmware, ...(s.secureBoot ? { secureBoot: true } : {}),
  });
  const read = (n: string) => (existsSync(join(r.job.dir, n)) ? readFileSync(join(r.job.dir, n), "utf8") : undefined);
  const log = read("recover.out") ?? "";
  writeFileSync(join(o.dir, "recover.out"), log);
  writeFileSync(join(o.dir, "recover.log"), r.job.log);
  const ms = Number(read("recover-ms") ?? NaN) || r.vm.durationMs;
  o.result.figures.recoverMs = ms;
  Object.assign(o.result.figures, restoreFigures(log));
  // the NVRAM recover wrote is the machine's (runInBuilder keeps it beside the run as OVMF_VARS.recover.fd)
  if (s.firmware === "uefi" && existsSync(join(o.dir, "OVMF_VARS.recover.fd"))) copyFileSync(join(o.dir, "OVMF_VARS.recover.fd"), o.ovmfVars);
  const rc = read("recover-rc")?.trim();
  const tail = log.trim().split("\n").slice(-3).join(" / ");
  if (s.live?.expectRefusal) {
    const want = s.live.expectRefusal;
    const refused = rc !== undefined && rc !== "0" && log.includes(want) && /nothing was changed/.test(log);
    const sumsAfter = await Promise.all(o.tgt.map((d) => sha256FileAsync(d.file)));
    const changed = o.tgt.filter((_, i) => sumsAfter[i] !== sumsBefore[i]).map((d) => d.serial);
    o.result.phases.recover = { ok: true, ms, note: refused ? `refused as expected: ${tail}` : `expected a refusal naming ${want}` };
    return {
      refused: [
        { name: "preflight-refused", ok: refused, details: refused ? [] : [`rear -p recover exited ${rc ?? "?"} and said: ${tail} (expected a refusal naming ${want} before any write)`] },
        { name: "targets-untouched", ok: changed.length === 0, details: changed.map((d) => `target disk ${d} was written`) },
      ],
    };
  }
  if (r.job.exitCode !== 0 || rc !== "0") return { failure: `rear -p recover on the live system exited ${rc ?? "(did not finish)"}: ${tail} (see ${o.dir}/recover.out)`, ms };
  return { ms, log };
}

/** Keeps the newest `keep` directories in $REAR_VM_CACHE/`under` (each holds gigabytes of disk images). */
export function pruneRuns(keep: number, under = "runs"): void {
  const runs = join(CACHE, under);
  if (!existsSync(runs)) return;
  const dirs = readdirSync(runs)
    .map((n) => ({ p: join(runs, n), t: statSync(join(runs, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const d of dirs.slice(keep)) rmSync(d.p, { recursive: true, force: true });
}

function readTruth(dir: string) {
  const r = (n: string) => (existsSync(join(dir, n)) ? readFileSync(join(dir, n), "utf8") : "");
  return parseTruth({ manifest: r("manifest.tsv"), sha256: r("sha256.txt"), xattrs: r("xattrs.txt"), lsblk: r("lsblk.json"), findmnt: r("findmnt.json"), swaps: r("swaps.txt"), attrs: r("attrs.txt"), btrfs: r("btrfs.txt") });
}

/**
 * The comparison run again on what a finished run collected (its work directory keeps the truths), with
 * today's compare.ts: for a run whose only failures came from the comparison's own mistakes. The checks
 * that come from compareTruth are replaced, the others (boots, backup disk, secrets) kept; the result
 * says it was rejudged, when, and what changed.
 */
export function rejudge(dir: string, s: Scenario): RunResult {
  const r = JSON.parse(readFileSync(join(dir, "result.json"), "utf8")) as RunResult & { rejudged?: { at: string; changed: string[] } };
  if (!existsSync(join(dir, "backup/out/truth-before/complete")) || !existsSync(join(dir, "verify/out/truth-after/complete"))) {
    throw new Error(`${dir}: the run did not collect both truths (backup/out/truth-before, verify/out/truth-after): nothing to judge again`);
  }
  const fresh = compareTruth(readTruth(join(dir, "backup/out/truth-before")), readTruth(join(dir, "verify/out/truth-after")), [
    ...s.allowedDifferences.map((a) => a.path),
    ...(r.tool === "rear27" ? REAR27_REWRITES : []),
  ]);
  const names = new Set(fresh.map((c) => c.name));
  const old = new Map(r.checks.map((c) => [c.name, c]));
  const kept = r.checks.filter((c) => !names.has(c.name) && !COMPARE_CHECKS.has(c.name));
  const changed = fresh.filter((c) => (old.get(c.name)?.ok ?? c.ok) !== c.ok || !!old.get(c.name)?.allowed !== !!c.allowed).map((c) => `${c.name}: ${old.get(c.name)?.ok ? "ok" : "FAIL"} → ${c.ok ? "ok" : c.allowed ? "allowed" : "FAIL"}`);
  const checks = [...fresh, ...kept];
  const phasesOk = Object.values(r.phases).every((p) => p?.ok);
  // a second rejudge keeps what the first one changed
  return { ...r, checks, ok: phasesOk && checks.every((c) => c.ok || c.allowed), rejudged: { at: new Date().toISOString(), changed: [...(r.rejudged?.changed ?? []), ...changed] } } as RunResult;
}

/**
 * The recovered machine's disks with the firmware's boot order: the disk the scenario marks bootFirst
 * boots first; on BIOS without one, the first target disk — SeaBIOS's "first hard disk" is otherwise
 * its first in its own order, which puts virtio disks (the harness's channel disk) before NVMe ones.
 * UEFI boots by the NVRAM entries recover wrote, which a bootindex would override.
 */
export function bootFirstDisks<D extends { bootindex?: number }>(disks: D[], isBootFirst: (d: D) => boolean, firmware: "bios" | "uefi"): D[] {
  if (disks.some(isBootFirst)) return disks.map((d) => (isBootFirst(d) ? { ...d, bootindex: 0 } : d));
  if (firmware === "bios" && disks.length) return disks.map((d, i) => (i === 0 ? { ...d, bootindex: 0 } : d));
  return disks;
}

/** The kernel's line when it starts init: every machine the harness boots prints it on ttyS0 within a minute. */
export const BOOT_MARKER = "Run /init as init process";

/**
 * Runs a VM; when it hung before `bootMarker` (a guest stuck in early boot under TCG: seen once with the
 * host busy, the kernel spinning after "IP idents hash table entries" with no output for 14 minutes), its
 * serial log is kept as NAME.hung.serial.log and it is started once more. The result lists the retry.
 */
export async function runVmOnceMore(say: (m: string) => void, result: Pick<RunResult, "bootRetries">, bootMarker: string, spec: Parameters<typeof runVm>[0]): ReturnType<typeof runVm> {
  const first = await runVm(spec, say);
  if (first.missedMarker !== bootMarker) return first;
  const note = `${spec.name}: no '${bootMarker}' within ${spec.markers?.find((m) => m.text === bootMarker)?.timeoutSec ?? "?"} s: the guest hung in early boot; started once more`;
  say(note);
  (result.bootRetries ??= []).push(note);
  if (spec.serialLog && existsSync(spec.serialLog)) renameSync(spec.serialLog, spec.serialLog.replace(/\.serial\.log$/, ".hung.serial.log"));
  return runVm(spec, say);
}

/** A machine whose root is encrypted asks for its passphrase at every boot: the harness types it. */
export function unlock(s: Pick<Scenario, "bootPassphrase">): { interact?: { waitFor: string; send: string }[] } {
  return s.bootPassphrase ? { interact: [{ waitFor: "Please unlock disk", send: `${s.bootPassphrase}\n` }] } : {};
}

/** The entry BootCurrent names in `efibootmgr -v` output, or undefined. */
export function bootCurrentEntry(efibootmgr: string): string | undefined {
  const cur = /^BootCurrent:\s*([0-9A-Fa-f]{4})/m.exec(efibootmgr)?.[1];
  return cur ? efibootmgr.split("\n").find((l) => l.startsWith(`Boot${cur}`))?.trim() : undefined;
}

export async function runScenario(s: Scenario, tool: Tool, opts: { say?: (m: string) => void; keep?: boolean; powerCut?: PowerCutPhase } = {}): Promise<RunResult> {
  const say = opts.say ?? console.log;
  const image: GuestImage = await buildImage(say);
  pruneRuns(6);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = join(CACHE, "runs", `${s.name}-${tool}-${stamp}`);
  mkdirSync(dir, { recursive: true });
  const accel = await chooseAccel(image.kernel, dir, say);
  const result: RunResult = {
    scenario: s.name, tool, firmware: s.firmware, accel, startedAt: new Date().toISOString(), ok: false,
    phases: { build: undefined, backup: undefined, recover: undefined, verify: undefined }, figures: {}, checks: [], workDir: dir,
  };
  // BACKUP=COVE's stand-in server, stopped whatever happens
  let stopCove: (() => void) | undefined;
  const fail = (phase: keyof RunResult["phases"], ms: number, note: string): RunResult => {
    stopCove?.();
    result.phases[phase] = { ok: false, ms, note };
    say(`${s.name}/${tool}: ${phase} FAILED: ${note}`);
    writeFileSync(join(dir, "result.json"), JSON.stringify(result, null, 2));
    return result;
  };
  if (tool === "ours" && !existsSync(DIST)) throw new Error("dist/rear is missing: run `npm run build` first");

  // 1. source machine
  say(`${s.name}/${tool}: building the source machine (${s.firmware}, ${s.sourceDisks.length} disk(s))`);
  const built = await buildSourceMachine(s, { image, dir, accel, timeoutSec: s.timeouts.build ?? 900, say });
  if (built.failure) return fail("build", built.ms, built.failure);
  const src = built.disks;
  result.phases.build = { ok: true, ms: built.ms, ...(built.cached ? { note: `copied from the source cache (${built.cached})` } : {}) };

  // 2. backup on the booted source
  const backupDisk = join(dir, "backup.img");
  await createDisk(backupDisk, s.backupDisk.sizeMiB);
  if (s.backupDisk.prepare === "ext4") await sh(["mkfs.ext4", "-q", "-F", "-L", "REAR-000", backupDisk]);
  const ovmfVars = join(dir, "OVMF_VARS.fd");
  // BACKUP=COVE: the stand-in's server (installer, registration, sessions) for the source and the rescue system
  const cove = s.cove ? await startCove(dir, { token: s.cove.token, includeAgent: s.cove.includeAgent }) : undefined;
  if (cove) stopCove = () => cove.server.stop();
  // rescueBoot rawdisk / pxe: the image or the TFTP tree, once the backup job has made them
  let netboot: { image: string } | { tftp: string; bootfile: string } | undefined;
  const coveNet = cove ? { nic: true, guestfwd: [{ ip: COVE_SERVER_IP, port: 443, hostPort: cove.server.port }] } : {};
  const job = cove ? coveBackupJob(cove, s.tool.localConf, readFileSync(join(VM_DIR, "guest/collect-truth.sh"), "utf8"), secretScan("secret-files.txt"), secretsOf(s)) : backupJob(s, tool);
  const ch = await prepareChannel(join(dir, "backup"), job, 2048);
  say(`${s.name}/${tool}: booting the source machine and running: ${s.tool.backupCommand}`);
  const bvm = await runVmOnceMore(say, result, BOOT_MARKER, {
      name: "backup", ...machineFirmware(s), ovmfVars, accel, ...unlock(s), serialLog: join(dir, "backup.serial.log"), timeoutSec: s.timeouts.backup ?? 1800,
      // OUTPUT=PXE links the config to the MAC of the NIC the source machine has
      // udevPlug: the backup disk is a USB stick the job has plugged in (and out, and in again) through the monitor
      disks: [...src, ...(s.udevPlug ? [] : [{ file: backupDisk, bus: "virtio" as const, serial: "backup" }]), ...ch.disks], boot: "c", ...coveNet, ...(s.rescueBoot === "pxe" ? { nic: true } : {}),
      ...(s.udevPlug ? { hotplug: { disk: { file: backupDisk, bus: "virtio" as const }, steps: plugSteps({ file: backupDisk }) } } : {}),
      markers: [
        { text: BOOT_MARKER, timeoutSec: 300 },
        { text: "HARNESS: job start", timeoutSec: 300 },
        { text: "HARNESS: job done", timeoutSec: s.timeouts.backup ?? 1800 },
      ],
    },
  );
  const bres = await readResults(ch, join(dir, "backup", "out"));
  writeFileSync(join(dir, "backup.log"), bres.log);
  const out = (n: string) => (existsSync(join(bres.dir, n)) ? readFileSync(join(bres.dir, n), "utf8").trim() : undefined);
  result.toolVersion = out("tool-version");
  const backupMs = Number(out("backup-ms") ?? NaN);
  if (!Number.isNaN(backupMs)) result.figures.mkbackupMs = backupMs;
  const toolLog = readdirSync(bres.dir).find((f) => /^rear-.*\.log$/.test(f));
  if (toolLog) Object.assign(result.figures, mkbackupFigures(readFileSync(join(bres.dir, toolLog), "utf8")));
  const iso = join(bres.dir, "rescue.iso");
  if (existsSync(iso)) result.figures.rescueImageBytes = statSync(iso).size;
  const archive = Number(out("backup-archive-bytes") ?? NaN);
  if (!Number.isNaN(archive)) result.figures.backupArchiveBytes = archive;
  if (cove) result.figures.backupArchiveBytes = sessionBytes(cove);
  if (bres.exitCode !== 0) {
    return fail("backup", bvm.durationMs, `${bvm.timedOut ? "the source machine did not finish in time" : `backup command exited ${out("backup-rc") ?? "?"}`}: ${(out("backup.out") ?? "").split("\n").slice(-3).join(" / ")}`);
  }
  if (s.fleetUpdate) {
    if (!existsSync(join(bres.dir, "portable.tar.gz"))) return fail("backup", bvm.durationMs, "no *-portable.tar.gz on the backup disk (OUTPUT=PORTABLE) for the update server");
  } else if (s.rescueBoot === "live") {
    const bytes = Number(out("rescue-portable-bytes") ?? NaN);
    if (!(bytes > 0)) return fail("backup", bvm.durationMs, "no *-portable.tar.gz on the backup disk (OUTPUT=PORTABLE)");
    result.figures.rescueImageBytes = bytes;
  } else if (s.rescueBoot === "rawdisk" || s.rescueBoot === "pxe") {
    const r = s.rescueBoot === "rawdisk" ? await prepareRawdisk(bres.dir, dir) : await preparePxe(bres.dir, dir, s.firmware);
    if ("failure" in r) return fail("backup", bvm.durationMs, r.failure);
    netboot = r;
    result.figures.rescueImageBytes = r.bytes;
  } else if (s.rescueBoot === "usb") {
    const usbBytes = Number(out("rescue-usb-bytes") ?? NaN);
    if (!(usbBytes > 0)) return fail("backup", bvm.durationMs, "no rescue kernel and initrd on the USB disk");
    result.figures.rescueImageBytes = usbBytes;
  } else {
    if (!existsSync(iso)) return fail("backup", bvm.durationMs, "no rescue ISO was made");
    const isoSum = out("rescue.iso.sha256");
    if (isoSum !== sha256File(iso)) return fail("backup", bvm.durationMs, `the rescue ISO arrived damaged (sha256 ${sha256File(iso)} ≠ ${isoSum ?? "none"} in the guest): harness bug, not the tool's`);
  }
  result.phases.backup = { ok: true, ms: bvm.durationMs };

  // 3. recover onto blank disks, from the rescue image, unattended
  const tgt: VmDisk[] = [];
  for (const [i, d] of s.targetDisks.entries()) {
    const file = join(dir, `target${i + 1}.img`);
    await createDisk(file, d.sizeMiB);
    tgt.push({ file, bus: d.bus, serial: `tgt${i + 1}` });
  }
  rmSync(ovmfVars, { force: true }); // a new machine has empty NVRAM
  // the disk holding the backup (and, for USB, the rescue system) is never a target: its bytes must not change
  const backupSumBefore = await sha256FileAsync(backupDisk);
  let recoverMs: number;
  let recoverLog: string;
  const fleetChecks: Check[] = [];
  if (s.rescueBoot === "live") {
    const live = await recoverFromLiveSystem(s, { image, dir, accel, say, tgt, backupDisk, ovmfVars, result });
    if ("refused" in live) {
      result.checks = [...live.refused, { name: "backup-disk-untouched", ok: (await sha256FileAsync(backupDisk)) === backupSumBefore, details: [] }];
      result.ok = result.checks.every((c) => c.ok);
      writeFileSync(join(dir, "result.json"), JSON.stringify(result, null, 2));
      return result;
    }
    if ("failure" in live) return fail("recover", live.ms, live.failure);
    recoverMs = live.ms;
    recoverLog = live.log;
  } else {
    const usb = s.rescueBoot === "usb";
    const rescueIso = join(dir, "rescue.iso");
    // fleetUpdate: the rescue image is another machine's; this machine's archive comes from the update server
    let fleet: { server: UpdateServer; uuid: string } | undefined;
    if (s.fleetUpdate) {
      const archive = readFileSync(join(bres.dir, "portable.tar.gz"));
      const server = await startUpdateServer(dir, new Map([[`/${s.fleetUpdate.uuid}.tar.gz`, archive]]));
      const made = await makeFleetIso({ image, dir, accel, say, caPem: server.caPem, firmware: s.firmware });
      if ("failure" in made) {
        server.stop();
        return fail("recover", made.ms, made.failure);
      }
      copyFileSync(made.iso, rescueIso);
      result.figures.rescueImageBytes = statSync(rescueIso).size;
      fleet = { server, uuid: s.fleetUpdate.uuid };
      say(`${s.name}/${tool}: the update server on 127.0.0.1:${server.port} serves /${fleet.uuid}.tar.gz (${Math.round(archive.length / 1048576)} MiB) as https://${UPDATE_SERVER_IP}/ through guestfwd`);
    } else if (!usb && !netboot) copyFileSync(iso, rescueIso);
    say(`${s.name}/${tool}: recovering from the ${usb ? "USB disk" : "rescue image"} (${Math.round((result.figures.rescueImageBytes ?? 0) / 1048576)} MiB) onto blank disks`);
    const boot = s.rescueBoot === "kernel-initrd" ? await extractRescueKernel(rescueIso, dir) : undefined;
    // BACKUP=COVE: the token on the rescue kernel's line (never in the image); the network to the stand-in
    // unless the Backup Manager is in the image (then the recover machine has none at all)
    if (boot && s.cove) boot.append += ` cove_token=${s.cove.token}`;
    const coveRequestsBefore = cove?.server.requests.length ?? 0;
    const recoverVm = (name: string, powerCut?: { text: string; afterSec: number }) =>
      runVmOnceMore(say, result, BOOT_MARKER, (
        {
          name, ...machineFirmware(s), ovmfVars, accel, serialLog: join(dir, `${name}.serial.log`), timeoutSec: s.timeouts.recover ?? 2400,
          // the USB disk boots first but comes after the targets, so the targets keep the source's names
          disks: [
            ...(s.backupDisk.first
              ? [{ file: backupDisk, bus: "virtio" as const, serial: "backup", ...(usb ? { bootindex: 0 } : {}) }, ...tgt]
              : [...tgt, { file: backupDisk, bus: "virtio" as const, serial: "backup", ...(usb ? { bootindex: 0 } : {}) }]),
            // the RAWDISK image: the disk the machine boots, after the others (the targets keep the source's names)
            ...(netboot && "image" in netboot ? [{ file: netboot.image, bus: "virtio" as const, serial: "rescue", bootindex: 0 }] : []),
          ],
          ...(boot ? { kernel: boot.kernel, initrd: boot.initrd, append: boot.append } : usb || (netboot && "image" in netboot) ? {} : netboot ? { boot: "n" as const } : { cdrom: rescueIso, boot: "d" as const }),
          ...(netboot && "tftp" in netboot ? { nic: true, tftp: { dir: netboot.tftp, bootfile: netboot.bootfile } } : {}),
          // "failed: No such file or directory" is extlinux failing to load a kernel: a boot loop, not a recovery
          // a passphrase prompt in an unattended recover waits for a person for ever (ReaR 2.7's
          // luksFormat without a password in disklayout.conf; cryptsetup asking to open a volume);
          // ReaR 2.7 answers its own "The disk layout recreation script failed" with a rerun, for ever, unattended
          failMarkers: ["ERROR: ", "Kernel panic", "failed: No such file or directory", "Set the password for LUKS device", "Enter passphrase for", "Rerunning disk recreation script by default"],
          // the rescue kernel reaches init in under a minute; a guest that does not within 5 minutes hung
          markers: [{ text: BOOT_MARKER, timeoutSec: 300 }],
          ...(powerCut ? { powerCut } : {}),
          ...(fleet ? { nic: true, guestfwd: [{ ip: UPDATE_SERVER_IP, port: 443, hostPort: fleet.server.port }], uuid: fleet.uuid } : {}),
          ...(cove && !s.cove?.includeAgent ? coveNet : {}),
        }),
      );
    if (opts.powerCut) {
      // the power goes in the middle of the phase; the machine is started again from the rescue image,
      // which runs recover unattended again: it must continue and end as a recovery without a cut does
      const at = powerCutAt(opts.powerCut, s.firmware);
      const cut = await recoverVm("recover-cut", at);
      const first = readFileSync(join(dir, "recover-cut.serial.log"), "latin1");
      if (cut.cutAtMs === undefined) return fail("recover", cut.durationMs, `no power cut: '${at.text}' never appeared (${cut.failedOn ? `saw '${cut.failedOn}'` : cut.timedOut ? "timeout" : `qemu exited ${cut.exitCode}`}; see recover-cut.serial.log)`);
      const finishedPhase = opts.powerCut === "layout" ? /Disk layout created/.test(first) : opts.powerCut === "restore" ? /Restored \d+ MiB in/.test(first) : /Finished 'recover'/.test(first);
      if (finishedPhase) return fail("recover", cut.durationMs, `the power cut came after the ${opts.powerCut} had finished: move the cut earlier`);
      const last = first.split("\n").map((l) => l.trim()).filter((l) => /^(Restor|Install|Finaliz|Not |NVRAM|The fallback|\/dev\/)/.test(l)).slice(-1)[0] ?? "";
      result.powerCut = { phase: opts.powerCut, cutAfterMs: cut.cutAtMs, firstRunOutput: last, resumedWith: [] };
      say(`${s.name}/${tool}: the power was cut during the ${opts.powerCut} (last line: ${last}); starting the rescue image again`);
    }
    const rvm = await recoverVm("recover");
    fleet?.server.stop();
    result.figures.recoverMs = rvm.durationMs;
    const recoverLog0 = readFileSync(join(dir, "recover.serial.log"), "latin1");
    if (cove) {
      cove.server.stop();
      const asked = cove.server.requests.slice(coveRequestsBefore);
      const mkJson = mkrescueJsonProblem(readIfAny(join(bres.dir, "system-state.json")), sha256File(iso));
      fleetChecks.push({ name: "cove-mkrescue-json", ok: !mkJson, details: mkJson ? [mkJson] : [] });
      if (s.cove?.includeAgent) {
        const ok = asked.length === 0 && /Started the Backup Manager of the rescue image/.test(recoverLog0) && /The Cove restore finished/.test(recoverLog0);
        fleetChecks.push({ name: "cove-offline-from-image", ok, details: ok ? [] : [`requests during recover: ${asked.join(", ") || "none"}; the console ${/Started the Backup Manager of the rescue image/.test(recoverLog0) ? "says" : "does not say"} it started the image's Backup Manager`] });
      } else {
        const want = ["GET /installer/mxb-linux-x86_64.run", "POST /register ok"];
        const ok = want.every((w) => asked.includes(w)) && asked.some((a) => /^GET \/storage\/[^/]+\/\d+\.tar\.gz$/.test(a)) && /The Cove restore finished/.test(recoverLog0);
        fleetChecks.push({ name: "cove-installed-and-restored", ok, details: ok ? [] : [`requests during recover: ${asked.join(", ") || "none"}`] });
      }
    }
    if (fleet) {
      // the rescue system asked for this machine's archive by its UUID, took it, and read the configuration again
      const want = `GET /${fleet.uuid}.tar.gz 200`;
      const got = fleet.server.requests.includes(want) && /Updated the rescue system from https:\/\/\S+\/[0-9a-f-]{36}\.tar\.gz/.test(recoverLog0) && /Read the configuration again after the update/.test(recoverLog0);
      fleetChecks.push({ name: "fleet-update-by-uuid", ok: got, details: got ? [] : [`requests: ${fleet.server.requests.join(", ") || "none"}; the console ${/Updated the rescue system/.test(recoverLog0) ? "says the update was taken" : "does not say 'Updated the rescue system'"}`] });
    }
    Object.assign(result.figures, restoreFigures(recoverLog0));
    if (result.powerCut) {
      result.powerCut.resumedWith = recoverLog0.split("\n").map((l) => l.trim()).filter((l) => /resuming after|restoring again|not restoring it again|done before|earlier run/i.test(l)).slice(0, 8);
      // a layout cut in the middle leaves no record (the layout never finished): recover starts over then
      if (tool === "ours" && opts.powerCut !== "layout" && !result.powerCut.resumedWith.some((l) => /resuming after/.test(l))) {
        return fail("recover", rvm.durationMs, "recover run again after the power cut did not say that it resumes (see recover.serial.log)");
      }
    }
    // Success is the rescue system rebooting by itself after the recovery (the kernel says so); QEMU also
    // exits 0 when it is killed from outside, which must not pass for a recovery.
    // (our rescue system's reboot asks the kernel by magic SysRq, after syncing and unmounting: "sysrq: Resetting")
    const rebooted = /reboot: (Restarting system|Power down)|sysrq: (Resetting|Power Off)/.test(recoverLog0.slice(-20000));
    if (rvm.exitCode === 0 && !rebooted) return fail("recover", rvm.durationMs, "qemu ended without the rescue system rebooting (killed from outside?)");
    if (rvm.exitCode !== 0) {
      return fail("recover", rvm.durationMs, rvm.failedOn ? `the recovery stopped: saw '${rvm.failedOn}' on the console (see ${dir}/recover.serial.log)` : rvm.timedOut ? `no reboot within ${s.timeouts.recover ?? 2400} s (see recover.serial.log)` : `qemu exited ${rvm.exitCode}`);
    }
    recoverMs = rvm.durationMs;
    recoverLog = recoverLog0;
  }
  result.phases.recover = { ok: true, ms: recoverMs };
  const backupSumAfter = await sha256FileAsync(backupDisk);
  const backupCheck: Check = { name: "backup-disk-untouched", ok: backupSumAfter === backupSumBefore, details: backupSumAfter === backupSumBefore ? [] : [`the backup disk's sha256 changed during recover: ${backupSumBefore} → ${backupSumAfter}`] };

  // the recovered machine's firmware boots the disk the scenario says (disks in another order than the source's)
  const bootOrder = (disks: VmDisk[]) => bootFirstDisks(disks, (d) => s.targetDisks[tgt.indexOf(d)]?.bootFirst === true, s.firmware);

  // 4. boot the recovered disks only, collect truth
  const vch = await prepareChannel(join(dir, "verify"), verifyJob(secretsOf(s)), 512);
  say(`${s.name}/${tool}: booting the recovered machine`);
  const vvm = await runVmOnceMore(say, result, BOOT_MARKER, {
      name: "verify", ...machineFirmware(s), ovmfVars, accel, ...unlock(s), serialLog: join(dir, "verify.serial.log"), timeoutSec: s.timeouts.verify ?? 1200,
      disks: [...bootOrder(tgt), ...vch.disks], boot: "c",
      markers: [
        { text: BOOT_MARKER, timeoutSec: 300 },
        { text: "HARNESS: job start", timeoutSec: 300 },
        { text: "HARNESS: job done", timeoutSec: s.timeouts.verify ?? 1200 },
      ],
    },
  );
  const vres = await readResults(vch, join(dir, "verify", "out"));
  const loginMs = vvm.markerTimesMs["HARNESS: job start"];
  if (loginMs !== undefined) result.figures.rescueBootToLoginMs = recoverMs + loginMs;
  if (vres.exitCode !== 0) return fail("verify", vvm.durationMs, vvm.timedOut ? "the recovered machine did not boot to the harness job (see verify.serial.log)" : `verify job exited ${vres.exitCode}`);
  result.phases.verify = { ok: true, ms: vvm.durationMs };

  // 4b. UEFI: the boot above used the NVRAM that recover wrote; its entry must be the one that started
  // the system. Then the disk on a new machine (blank NVRAM): the firmware's removable path must boot it.
  const bootChecks: Check[] = [];
  if (s.firmware === "uefi") {
    const efi = existsSync(join(vres.dir, "efibootmgr.txt")) ? readFileSync(join(vres.dir, "efibootmgr.txt"), "utf8") : "";
    const cur = bootCurrentEntry(efi);
    const viaEntry = !!cur && /File\(\\EFI\\/i.test(cur) && !/\\EFI\\BOOT\\/i.test(cur);
    bootChecks.push({ name: "uefi-boot-nvram-entry", ok: viaEntry, details: viaEntry ? [] : [`BootCurrent is ${cur ?? "(none)"}: not an entry that names a loader on the ESP`] });
    const blankVars = join(dir, "OVMF_VARS.blank.fd");
    rmSync(blankVars, { force: true });
    const bch = await prepareChannel(join(dir, "verify-blank"), { script: `[ -d /sys/firmware/efi ] && efibootmgr -v > $HARNESS_OUT/efibootmgr.txt 2>&1\ntrue\n` }, 64);
    say(`${s.name}/${tool}: booting the recovered disk on a machine with blank NVRAM`);
    const bvm2 = await runVmOnceMore(say, result, BOOT_MARKER, {
        name: "verify-blank", ...machineFirmware(s), ovmfVars: blankVars, accel, ...unlock(s), serialLog: join(dir, "verify-blank.serial.log"), timeoutSec: 600,
        disks: [...bootOrder(tgt), ...bch.disks], boot: "c",
        markers: [
          { text: BOOT_MARKER, timeoutSec: 300 },
          { text: "HARNESS: job start", timeoutSec: 300 },
          { text: "HARNESS: job done", timeoutSec: 300 },
        ],
      },
    );
    const b2 = await readResults(bch, join(dir, "verify-blank", "out"));
    const cur2 = bootCurrentEntry(existsSync(join(b2.dir, "efibootmgr.txt")) ? readFileSync(join(b2.dir, "efibootmgr.txt"), "utf8") : "");
    const ok2 = b2.exitCode === 0;
    bootChecks.push({ name: "uefi-boot-blank-nvram", ok: ok2, details: ok2 ? [] : [bvm2.timedOut ? "the recovered disk did not boot with a blank NVRAM (see verify-blank.serial.log)" : `job exited ${b2.exitCode}`] });
    say(`${s.name}/${tool}: blank NVRAM: ${ok2 ? `booted (BootCurrent ${cur2 ?? "?"})` : "did NOT boot"}`);
  }

  // 4b'. Secure Boot: the rescue image and the recovered machine booted with it enforced
  if (s.secureBoot) {
    const rescueSb = /Secure boot enabled/.test(recoverLog);
    const sbVal = existsSync(join(vres.dir, "secureboot")) ? readFileSync(join(vres.dir, "secureboot"), "utf8").trim() : "";
    bootChecks.push({ name: "secure-boot-rescue", ok: rescueSb, details: rescueSb ? [] : ["the rescue kernel did not say 'Secure boot enabled' (see recover.serial.log)"] });
    bootChecks.push({ name: "secure-boot-recovered", ok: sbVal === "1", details: sbVal === "1" ? [] : [`SecureBoot variable on the recovered machine: '${sbVal || "(none)"}'`] });
  }

  // 4c. the recovered machine with only some of its disks (a mirror half, …): it must still boot
  for (const eb of s.extraBoots) {
    const bad = eb.disks.filter((n) => n > tgt.length);
    if (bad.length) throw new Error(`${s.name}: extraBoots names target disk ${bad.join(", ")}, but the scenario has ${tgt.length}`);
    const tag = `disks-${eb.disks.join("-")}`;
    const ch2 = await prepareChannel(join(dir, `boot-${tag}`), { script: "cat /proc/mdstat > $HARNESS_OUT/mdstat 2>/dev/null\nfindmnt -n -o SOURCE / > $HARNESS_OUT/root\ntrue\n" }, 64);
    say(`${s.name}/${tool}: booting the recovered machine with only target disk(s) ${eb.disks.join(", ")} (${eb.why})`);
    const v = await runVmOnceMore(say, result, BOOT_MARKER, {
        name: `boot-${tag}`, ...machineFirmware(s), ovmfVars, accel, ...unlock(s), serialLog: join(dir, `boot-${tag}.serial.log`), timeoutSec: 900,
        disks: [...bootOrder(eb.disks.map((n) => tgt[n - 1]!)), ...ch2.disks], boot: "c",
        markers: [
          { text: BOOT_MARKER, timeoutSec: 300 },
          { text: "HARNESS: job start", timeoutSec: 600 },
          { text: "HARNESS: job done", timeoutSec: 300 },
        ],
      },
    );
    const r2 = await readResults(ch2, join(dir, `boot-${tag}`, "out"));
    const ok = r2.exitCode === 0;
    bootChecks.push({ name: `boot-with-${tag}`, ok, details: ok ? [] : [v.timedOut ? `the machine did not boot with only disk(s) ${eb.disks.join(", ")} (see boot-${tag}.serial.log)` : `job exited ${r2.exitCode}`] });
  }

  // 5. compare
  result.checks = [
    ...compareTruth(readTruth(join(bres.dir, "truth-before")), readTruth(join(vres.dir, "truth-after")), [...s.allowedDifferences.map((a) => a.path), ...(tool === "rear27" ? REAR27_REWRITES : [])]),
    ...bootChecks,
    ...fleetChecks,
    backupCheck,
  ];
  if (secretsOf(s).length) {
    const rd = (d: string) => (existsSync(join(d, "secret-files.txt")) ? readFileSync(join(d, "secret-files.txt"), "utf8") : undefined);
    const src = rd(bres.dir);
    const rec = rd(vres.dir);
    const left = src === undefined || rec === undefined ? ["the secret scan did not run on both machines"] : secretsLeft(src, rec);
    result.checks.push({ name: "secrets-not-left", ok: left.length === 0, details: left.map((f) => `${f} holds a secret (the same file on the source did not)`) });
  }
  result.ok = result.checks.every((c) => c.ok || c.allowed);
  writeFileSync(join(dir, "result.json"), JSON.stringify(result, null, 2));
  if (!opts.keep) for (const f of ["source1.img", "source2.img", "target1.img", "target2.img", "backup.img", "rescue.iso", "build-root.qcow2"]) rmSync(join(dir, f), { force: true });
  return result;
}
