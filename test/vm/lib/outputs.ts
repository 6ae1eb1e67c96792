// The rescue outputs side by side (`run.ts outputs [--record]`, bench/outputs.sh): in one BIOS guest, our
// mkrescue and ReaR 2.7's (the Debian package) write each output — ISO, USB (a disk each tool formats
// with its own `rear format`), PXE (into a TFTP directory), RAWDISK and, ours only, PORTABLE — with the
// same local.conf: BACKUP=NETFS (usb:// for USB, file:// otherwise), FIRMWARE_FILES=(no) and
// MODULES=(loaded_modules), ReaR's lean settings (its defaults take ~10 min per run under TCG; their ISO
// figure is bench/mkrescue.sh's). Per run: the exit code, the wall time and the bytes of what it wrote
// (the ISO, the raw image as compressed, the PXE tree, the USB medium's files, the archive). Whether
// each output boots and recovers is the scenarios' job (bios-ext4-usb, uefi-ext4-pxe, …); this is
// the figures.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runInBuilder } from "./builder.ts";
import type { Job } from "./channel.ts";
import { pruneRuns } from "./cycle.ts";
import { buildImage, CACHE, VM_DIR } from "./image.ts";
import { chooseAccel, createDisk } from "./qemu.ts";

const DIST = join(VM_DIR, "../../dist/rear");
export const OUTPUTS = ["ISO", "USB", "PXE", "RAWDISK", "PORTABLE"] as const;
export type Output = (typeof OUTPUTS)[number];
export type OutputTool = "ours" | "rear27";

export interface OutputRun {
  exitCode?: number;
  ms?: number;
  bytes?: number;
  /** the last lines of a failed run's output */
  note?: string;
}

export interface OutputsResult {
  accel: "kvm" | "tcg";
  startedAt: string;
  versions: { ours?: string; rear27?: string };
  runs: Record<OutputTool, Partial<Record<Output, OutputRun>>>;
  workDir: string;
}

/** ReaR 2.7 has no PORTABLE output (it is ours, issue 17). */
export const runsOf = (tool: OutputTool): readonly Output[] => (tool === "ours" ? OUTPUTS : OUTPUTS.filter((o) => o !== "PORTABLE"));

/** The local.conf of one run: the same for both tools. */
export function outputConf(output: Output, tool: OutputTool): string {
  const L = [`OUTPUT=${output}`, "BACKUP=NETFS"];
  L.push(output === "USB" ? "BACKUP_URL=usb:///dev/disk/by-label/REAR-000" : "BACKUP_URL=file:///srv/backup");
  if (output === "PXE") L.push(`PXE_TFTP_PATH=/srv/tftp-${tool}`, `PXE_CONFIG_PATH=/srv/tftp-${tool}/pxelinux.cfg`, "PXE_CREATE_LINKS=MAC");
  // the builder guest boots its kernel directly: no boot loader on its disk to autodetect
  L.push("BOOTLOADER=GRUB2", "FIRMWARE_FILES=( no )", "MODULES=( loaded_modules )", "SSH_FILES=no", "");
  return L.join("\n");
}

/** Job: every run, one after the other, in the same guest; the figures in $HARNESS_OUT/<tool>-<output>-{rc,ms,bytes,out}. */
export function outputsJob(): Job {
  const files: Record<string, string | { copy: string; mode?: number }> = { "rear-ours": { copy: DIST } };
  for (const tool of ["ours", "rear27"] as const) for (const o of runsOf(tool)) files[`${tool}-${o}.conf`] = outputConf(o, tool);
  const runs = (["ours", "rear27"] as const).flatMap((t) => runsOf(t).map((o) => `${t} ${o}`)).join(" ");
  return {
    files,
    script: `set -x
step() { echo "outputs-job: $* ($(date +%T))" > /dev/ttyS0 2>/dev/null || true; }
# a host name (the builder guest has none: logs and files would say "(none)"), and no udev rule that starts a
# rear when a REAR-000 disk appears (Debian's rear package has one: 60-rear.rules ran ReaR 2.7's udev workflow
# after each rear format, and ReaR 2.7's pidof check then refused the next run)
hostname outputs
# ReaR 2.7's RAWDISK needs a loop device ("Could not create loop device"); the builder guest has no static
# /dev/loop-control that would load the module on demand (ours makes the image without one: mtools)
modprobe loop
ln -sf /dev/null /etc/udev/rules.d/60-rear.rules && udevadm control --reload
install -m 0755 ./rear-ours /usr/local/sbin/rear-ours
/usr/local/sbin/rear-ours --version > $HARNESS_OUT/ours-version 2>&1
/usr/sbin/rear --version > $HARNESS_OUT/rear27-version 2>&1
usb=$(readlink -f /dev/disk/by-id/virtio-usb)
# BACKUP_URL=file:///srv/backup on a file system of its own: ReaR 2.7 refuses a backup directory in / even for
# mkrescue ("in the '/' filesystem which is forbidden"; ours only where the backup would contain itself)
mkdir -p /srv/backup && mount -t tmpfs -o size=2g tmpfs /srv/backup
J=$(pwd)
bin() { [ $1 = ours ] && echo /usr/local/sbin/rear-ours || echo /usr/sbin/rear; }
# what a run wrote, in bytes
written() {
  case $2 in
    ISO) find /var/lib/rear/output -name '*.iso' -printf '%s\\n' | head -n 1 ;;
    RAWDISK) find /var/lib/rear/output /srv/backup -name '*.raw*' -printf '%s\\n' | head -n 1 ;; # ReaR 2.7 copies its image only to OUTPUT_URL
    PORTABLE) find /var/lib/rear/output -name '*-portable.tar.gz' -printf '%s\\n' | head -n 1 ;;
    PXE) du -sbL /srv/tftp-$1 | cut -f1 ;;
    USB) mkdir -p /mnt/usb && mount LABEL=REAR-000 /mnt/usb && du -sb --exclude=lost+found /mnt/usb | cut -f1; umount /mnt/usb ;;
  esac
}
set -- ${runs}
while [ $# -ge 2 ]; do
  tool=$1 out=$2; shift 2
  rm -rf /var/lib/rear/output/* /srv/backup/* /var/log/rear/rear-*.log
  mkdir -p /srv/tftp-$tool/pxelinux.cfg
  mkdir -p /tmp/c-$tool-$out && cp $J/$tool-$out.conf /tmp/c-$tool-$out/local.conf
  # from /, as an admin's shell: ReaR 2.7's module copy (cp --parents --preserve=all, coreutils 9.1) failed
  # from the job's directory with "cp: 'lib/modules/…/kernel/fs/ext4': No such file or directory"
  cd /
  if [ $out = USB ]; then
    # each tool's own rear format, BIOS only for both (the guest boots by BIOS; ReaR's default adds a
    # 1 GiB ESP); a virtio disk is not removable: ours wants the typed confirmation
    wipefs -a -q "$usb"; udevadm settle
    USER_INPUT_USB_DEVICE_CONFIRM_FORMAT=Yes $(bin $tool) -v -c /tmp/c-$tool-$out format -- --bios --yes "$usb" > $HARNESS_OUT/$tool-format.out 2>&1
    echo $? > $HARNESS_OUT/$tool-format-rc
    udevadm settle
  fi
  step "$tool $out"
  t0=$(date +%s%N)
  $(bin $tool) -v -c /tmp/c-$tool-$out mkrescue > $HARNESS_OUT/$tool-$out.out 2>&1
  echo $? > $HARNESS_OUT/$tool-$out-rc
  echo $(( ($(date +%s%N) - t0) / 1000000 )) > $HARNESS_OUT/$tool-$out-ms
  written $tool $out > $HARNESS_OUT/$tool-$out-bytes 2>/dev/null
  cp /var/log/rear/rear-*.log $HARNESS_OUT/$tool-$out.log 2>/dev/null
done
step "done"
`,
  };
}

export async function runOutputs(o: { say?: (m: string) => void } = {}): Promise<OutputsResult> {
  const say = o.say ?? console.log;
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `npm run build` first");
  const image = await buildImage(say);
  pruneRuns(3, "outputs");
  const dir = join(CACHE, "outputs", new Date().toISOString().replace(/[:.]/g, "-"));
  mkdirSync(dir, { recursive: true });
  const accel = await chooseAccel(image.kernel, dir, say);
  const usb = join(dir, "usb.img");
  await createDisk(usb, 2048);
  say("outputs: our mkrescue and ReaR 2.7's for each output in one BIOS guest");
  const built = await runInBuilder({
    image, dir, name: "outputs", accel, timeoutSec: 5400, say, job: outputsJob(), extraDisks: [{ file: usb, bus: "virtio", serial: "usb" }], outSizeMiB: 64,
  });
  writeFileSync(join(dir, "outputs.log"), built.job.log);
  const out = (n: string) => (existsSync(join(built.job.dir, n)) ? readFileSync(join(built.job.dir, n), "utf8").trim() : undefined);
  const num = (n: string) => {
    const v = out(n);
    return v === undefined || v === "" || !Number.isFinite(Number(v)) ? undefined : Number(v);
  };
  const r: OutputsResult = {
    accel, startedAt: new Date().toISOString(), workDir: dir, runs: { ours: {}, rear27: {} },
    versions: { ...(out("ours-version") ? { ours: out("ours-version")! } : {}), ...(out("rear27-version") ? { rear27: out("rear27-version")! } : {}) },
  };
  for (const tool of ["ours", "rear27"] as const) {
    for (const o of runsOf(tool)) {
      const k = `${tool}-${o}`;
      const run: OutputRun = {};
      const rc = num(`${k}-rc`);
      if (rc !== undefined) run.exitCode = rc;
      const ms = num(`${k}-ms`);
      if (ms !== undefined) run.ms = ms;
      const bytes = num(`${k}-bytes`);
      if (bytes !== undefined) run.bytes = bytes;
      if (rc !== 0) run.note = (out(`${k}.out`) ?? "did not run").split("\n").slice(-4).join(" / ");
      r.runs[tool][o] = run;
    }
  }
  writeFileSync(join(dir, "result.json"), JSON.stringify(r, null, 2));
  return r;
}

/** The table bench/outputs.sh and run.ts print. */
export function renderOutputs(r: OutputsResult): string {
  const s = (ms?: number) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));
  const m = (b?: number) => (b === undefined ? "-" : (b / 1048576).toFixed(1));
  const cell = (x?: OutputRun) => (x ? (x.exitCode === 0 ? `${s(x.ms)} s, ${m(x.bytes)} MiB` : `exit ${x.exitCode ?? "-"}`) : "(none)");
  const L = [`mkrescue per output (${r.accel}, ${r.startedAt}; ours ${r.versions.ours ?? "?"}, ReaR ${r.versions.rear27 ?? "?"})`, ["output", "ours", "ReaR 2.7"].join("\t")];
  for (const o of OUTPUTS) L.push([o, cell(r.runs.ours[o]), cell(r.runs.rear27[o])].join("\t"));
  for (const tool of ["ours", "rear27"] as const) for (const o of OUTPUTS) if (r.runs[tool][o]?.note) L.push(`${tool} ${o}: ${r.runs[tool][o]!.note}`);
  return L.join("\n");
}
