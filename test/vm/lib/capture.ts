// Layout fixtures from real (virtual) machines: build a source machine with a storage layout, boot it
// on its own firmware and buses, and capture in it ReaR 2.7's savelayout/checklayout results (the
// reference) and our binary's raw probe output, into test/fixtures/machines/<name>/:
//   rear27/        ReaR 2.7's /var/lib/rear/layout and /recovery, its logs and console output
//   probe/         `rear capturelayout DIR` of our binary (when it has that workflow)
//   guest/         lsblk, findmnt, blkid, fstab, … of the machine, for humans
//   ours-disklayout.conf   our savelayout's result (when it has that workflow)
//   capture.json   the machine, versions, exit codes and timings
// The harness's own channel disks are taken off the machine's PCI bus during the capture (and put back
// for the results), so the fixtures hold the machine's disks only.

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { prepareChannel, readResults, type Job } from "./channel.ts";
import { buildSourceMachine, pruneRuns } from "./cycle.ts";
import { buildImage, CACHE, OURS_BIN, VM_DIR } from "./image.ts";
import type { Layout } from "./layouts.ts";
import { chooseAccel, runVm } from "./qemu.ts";

export const FIXTURE_DIR = join(VM_DIR, "../fixtures/machines");
const DIST = OURS_BIN;
/** the rear log is dropped from a fixture above this size */
export const MAX_LOG_BYTES = 200 * 1024;
/** where our binary keeps its state in the guest, apart from ReaR 2.7's /var/lib/rear */
const OURS_VAR = "/var/tmp/rear-ours-var";

const LOCAL_CONF = `# written by the VM harness for a layout capture: savelayout and checklayout need nothing more
`;

/** Job in the booted machine: ReaR 2.7's savelayout and checklayout, our probes, the machine's listings. */
export function captureJob(withOurs: boolean): Job {
  return {
    files: { "local.conf": LOCAL_CONF, ...(withOurs ? { "rear-ours": { copy: DIST } } : {}) },
    script: `set -x
export LC_ALL=C
O=$HARNESS_OUT
mkdir -p $O/rear27 $O/guest $O/ours
# The harness's channel disks leave the PCI bus for the capture (they are not the machine's) and come
# back at the end, for harness-run to write the results.
restore() {
  echo 1 > /sys/bus/pci/rescan
  for _ in $(seq 60); do udevadm settle; [ -e /dev/disk/by-id/virtio-harness-out ] && return 0; sleep 1; done
  echo "the output disk did not come back" > /dev/ttyS0
}
trap restore EXIT
for s in harness-in harness-out; do
  d=$(readlink -f /dev/disk/by-id/virtio-$s) || continue
  pci=$(readlink -f /sys/block/\${d#/dev/}/device/..)
  echo "$s: $d at $pci" >> $O/harness-disks.txt
  echo 1 > "$pci/remove"
done
udevadm settle
# name, command…: its output in $O/<name>.out, a line "name exit-code milliseconds" in timings.txt
timed() {
  local name=$1; shift
  local t0; t0=$(date +%s%N)
  "$@" > "$O/$name.out" 2>&1
  local rc=$?
  echo "\${name//\\//-} $rc $(( ($(date +%s%N) - t0) / 1000000 ))" >> $O/timings.txt
}
newest_log() { ls -t "$1"/rear-*.log 2>/dev/null | head -n 1; }
uname -r > $O/kernel
G=$O/guest
uname -r > $G/uname-r.txt
lsblk -J -b -O > $G/lsblk.json 2>&1
lsblk -ipo NAME,KNAME,PKNAME,TRAN,TYPE,FSTYPE,LABEL,SIZE,MOUNTPOINT,UUID,WWN > $G/lsblk.txt 2>&1
findmnt -J > $G/findmnt.json 2>&1
blkid -o export > $G/blkid.txt 2>&1
cat /proc/swaps > $G/swaps.txt
cat /proc/mdstat > $G/mdstat.txt 2>&1
ls -l /dev/disk/by-id/ > $G/disk-by-id.txt 2>&1
cp /etc/fstab $G/fstab
[ -e /etc/crypttab ] && cp /etc/crypttab $G/crypttab
lvs -a -o +devices,segtype,stripes > $G/lvs.txt 2>&1; [ -s $G/lvs.txt ] || rm -f $G/lvs.txt
[ "$(findmnt -n -o FSTYPE /)" = btrfs ] && btrfs subvolume list -a / > $G/btrfs-subvolumes.txt 2>&1
# ReaR 2.7, the reference
mkdir -p /etc/rear
cp local.conf /etc/rear/local.conf
rear --version > $O/rear-version 2>&1
timed rear27/savelayout rear -v savelayout
cp -a /var/lib/rear/layout $O/rear27/layout
cp -a /var/lib/rear/recovery $O/rear27/recovery
l=$(newest_log /var/log/rear); [ -n "$l" ] && cp "$l" $O/rear27/rear-savelayout.log
for i in 1 2 3; do timed rear27/checklayout-$i rear -v checklayout; done
l=$(newest_log /var/log/rear); [ -n "$l" ] && cp "$l" $O/rear27/rear-checklayout.log
# ours, with its own var directory
if [ -f ./rear-ours ]; then
  install -m 0755 ./rear-ours /usr/local/sbin/rear-ours
  hash -r
  rear-ours --version > $O/ours-version 2>&1
  timed ours/capturelayout env REAR_VAR=${OURS_VAR} rear-ours capturelayout $O/probe
  timed ours/savelayout env REAR_VAR=${OURS_VAR} rear-ours -v savelayout
  rc=$(awk '$1 == "ours-savelayout" { print $2 }' $O/timings.txt)
  # 3: not implemented yet; 128 and more: killed by a signal
  if [ "$rc" != 3 ]; then
    cp ${OURS_VAR}/lib/rear/layout/disklayout.conf $O/ours/disklayout.conf
    if [ "$rc" -lt 128 ]; then
      for i in 1 2 3; do timed ours/checklayout-$i env REAR_VAR=${OURS_VAR} rear-ours -v checklayout; done
    fi
  fi
  cp -a ${OURS_VAR}/log/rear/. $O/ours/ 2>/dev/null
fi
# No LUKS key file may leave the machine: a result that holds one (as it is, in hex or in base64) goes.
set +x
for kf in $(awk '!/^[[:space:]]*(#|$)/ && $3 != "none" && $3 != "-" { print $3 }' /etc/crypttab 2>/dev/null); do
  [ -f "$kf" ] || continue
  sum=$(sha256sum < "$kf" | cut -d' ' -f1)
  hex=$(od -An -v -tx1 "$kf" | tr -d ' \\n')
  b64=$(base64 -w0 "$kf")
  find $O -type f ! -name job.log | while read -r f; do
    if [ "$(sha256sum < "$f" | cut -d' ' -f1)" = "$sum" ] || grep -qiF -e "$hex" -e "$b64" "$f"; then
      echo "removed $f: it holds the key file $kf" >> $O/secrets-removed.txt
      rm -f "$f"
    fi
  done
done
set -x
sync
true
`,
  };
}

export interface Timing {
  exitCode: number;
  ms: number;
}

/** timings.txt: "name exit-code milliseconds" lines */
export function parseTimings(text: string): Record<string, Timing> {
  const t: Record<string, Timing> = {};
  for (const line of text.split("\n")) {
    const m = /^(\S+) (\d+) (\d+)$/.exec(line.trim());
    if (m) t[m[1]!] = { exitCode: Number(m[2]), ms: Number(m[3]) };
  }
  return t;
}

export interface ToolFigures {
  savelayoutMs?: number;
  checklayoutMs: number[];
  capturelayoutMs?: number;
}

export interface ToolExits {
  savelayout?: number;
  checklayout: number[];
  capturelayout?: number;
}

function figuresOf(t: Record<string, Timing>, tool: string): { timings: ToolFigures; exitCodes: ToolExits } {
  const checks = [1, 2, 3].map((i) => t[`${tool}-checklayout-${i}`]).filter((x): x is Timing => x !== undefined);
  const save = t[`${tool}-savelayout`];
  const cap = t[`${tool}-capturelayout`];
  return {
    timings: { ...(save ? { savelayoutMs: save.ms } : {}), checklayoutMs: checks.map((c) => c.ms), ...(cap ? { capturelayoutMs: cap.ms } : {}) },
    exitCodes: { ...(save ? { savelayout: save.exitCode } : {}), checklayout: checks.map((c) => c.exitCode), ...(cap ? { capturelayout: cap.exitCode } : {}) },
  };
}

export interface CaptureRecord {
  layout: string;
  description: string;
  firmware: "bios" | "uefi";
  disks: { sizeMiB: number; bus: string }[];
  buses: string[];
  kernel?: string;
  rearVersion?: string;
  oursVersion?: string;
  date: string;
  accel: string;
  /** whether probe/ holds our binary's capturelayout output */
  probe: boolean;
  timings: { rear27: ToolFigures; ours?: ToolFigures };
  exitCodes: { rear27: ToolExits; ours?: ToolExits };
  notes: string[];
}

export interface CaptureResult {
  name: string;
  ok: boolean;
  note?: string;
  record?: CaptureRecord;
  fixtureDir?: string;
  workDir: string;
}

const read = (dir: string, n: string): string | undefined => (existsSync(join(dir, n)) ? readFileSync(join(dir, n), "utf8").trim() : undefined);

/** Writes the fixture from the capture job's results; replaces only what a capture writes (expected* files stay). */
export function writeFixture(l: Layout, out: string, accel: string, fixtureDir: string): CaptureRecord {
  mkdirSync(fixtureDir, { recursive: true });
  for (const n of ["rear27", "probe", "guest", "capture.json", "ours-disklayout.conf"]) rmSync(join(fixtureDir, n), { recursive: true, force: true });
  const notes: string[] = [];
  for (const d of ["rear27", "guest"]) if (existsSync(join(out, d))) cpSync(join(out, d), join(fixtureDir, d), { recursive: true });
  for (const f of readdirSync(join(fixtureDir, "rear27")).filter((f) => f.endsWith(".log"))) {
    const size = statSync(join(fixtureDir, "rear27", f)).size;
    if (size > MAX_LOG_BYTES) {
      rmSync(join(fixtureDir, "rear27", f));
      notes.push(`rear27/${f} dropped: ${size} bytes`);
    }
  }
  const probeDir = join(out, "probe");
  const probe = existsSync(probeDir) && readdirSync(probeDir).length > 0;
  if (probe) cpSync(probeDir, join(fixtureDir, "probe"), { recursive: true });
  if (existsSync(join(out, "ours", "disklayout.conf"))) cpSync(join(out, "ours", "disklayout.conf"), join(fixtureDir, "ours-disklayout.conf"));
  const removed = read(out, "secrets-removed.txt");
  if (removed) notes.push(...removed.split("\n"));
  const t = parseTimings(read(out, "timings.txt") ?? "");
  const rear27 = figuresOf(t, "rear27");
  const ours = t["ours-capturelayout"] || t["ours-savelayout"] ? figuresOf(t, "ours") : undefined;
  if (!ours) notes.push(existsSync(DIST) ? "our binary was not run" : "dist/rear was missing: our binary was not run");
  else {
    if (ours.exitCodes.capturelayout === 3) notes.push("ours: capturelayout is not implemented yet (exit 3)");
    else if (ours.exitCodes.capturelayout !== 0) notes.push(`ours: capturelayout exited ${ours.exitCodes.capturelayout}: ${(read(out, "ours/capturelayout.out") ?? "").split("\n").slice(-2).join(" / ")}`);
    if (ours.exitCodes.savelayout === 3) notes.push("ours: savelayout is not implemented yet (exit 3)");
  }
  const record: CaptureRecord = {
    layout: l.name,
    description: l.description,
    firmware: l.firmware,
    disks: l.sourceDisks,
    buses: l.sourceDisks.map((d) => d.bus),
    ...(read(out, "kernel") ? { kernel: read(out, "kernel") } : {}),
    ...(read(out, "rear-version") ? { rearVersion: read(out, "rear-version") } : {}),
    ...(ours && read(out, "ours-version") ? { oursVersion: read(out, "ours-version") } : {}),
    date: new Date().toISOString(),
    accel,
    probe,
    timings: { rear27: rear27.timings, ...(ours ? { ours: ours.timings } : {}) },
    exitCodes: { rear27: rear27.exitCodes, ...(ours ? { ours: ours.exitCodes } : {}) },
    notes,
  };
  writeFileSync(join(fixtureDir, "capture.json"), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

export async function runCapture(l: Layout, opts: { say?: (m: string) => void; keep?: boolean } = {}): Promise<CaptureResult> {
  const say = opts.say ?? console.log;
  const image = await buildImage(say);
  pruneRuns(4, "captures");
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = join(CACHE, "captures", `${l.name}-${stamp}`);
  mkdirSync(dir, { recursive: true });
  const accel = await chooseAccel(image.kernel, dir, say);
  const result: CaptureResult = { name: l.name, ok: false, workDir: dir };
  const fail = (note: string): CaptureResult => {
    say(`${l.name}: capture FAILED: ${note}`);
    return { ...result, note };
  };
  const cleanup = () => {
    if (opts.keep) return;
    for (const f of readdirSync(dir).filter((f) => /^source\d+\.img$|-root\.qcow2$|^OVMF_VARS\.fd$/.test(f))) rmSync(join(dir, f), { force: true });
    // the capture job's input holds our binary twice (staged and in the tar)
    for (const f of ["capture/in", "capture/harness-in.img"]) rmSync(join(dir, f), { recursive: true, force: true });
  };

  say(`${l.name}: building the machine (${l.firmware}, ${l.sourceDisks.map((d) => `${d.sizeMiB} MiB ${d.bus}`).join(", ")})`);
  const built = await buildSourceMachine(l, { image, dir, accel, timeoutSec: l.timeouts.build ?? 900, say });
  if (built.failure) {
    cleanup();
    return fail(built.failure);
  }
  const src = built.disks;

  const withOurs = existsSync(DIST);
  if (!withOurs) say(`${l.name}: dist/rear is missing: capturing with ReaR 2.7 only (npm run build makes it)`);
  const ch = await prepareChannel(join(dir, "capture"), captureJob(withOurs), 256);
  say(`${l.name}: booting the machine and capturing its layout`);
  const timeout = l.timeouts.capture ?? 1800;
  const vm = await runVm(
    {
      name: "capture", firmware: l.firmware, ovmfVars: join(dir, "OVMF_VARS.fd"), accel, serialLog: join(dir, "capture.serial.log"), timeoutSec: timeout,
      disks: [...src, ...ch.disks], boot: "c",
      markers: [
        { text: "HARNESS: job start", timeoutSec: 600 },
        { text: "HARNESS: job done", timeoutSec: timeout },
      ],
      failMarkers: ["You are in emergency mode", "Kernel panic"],
    },
    say,
  );
  const res = await readResults(ch, join(dir, "capture", "out"));
  writeFileSync(join(dir, "capture.log"), res.log);
  cleanup();
  if (res.exitCode === undefined) {
    if (vm.failedOn) return fail(`the machine did not come up: saw '${vm.failedOn}' (see ${dir}/capture.serial.log)`);
    return fail(vm.timedOut ? `the machine did not ${vm.missedMarker === "HARNESS: job start" ? "boot to the harness job" : "finish the capture"} in time (see ${dir}/capture.serial.log)` : `no results from the capture job (see ${dir}/capture.serial.log)`);
  }
  if (!parseTimings(read(res.dir, "timings.txt") ?? "")["rear27-savelayout"]) return fail(`ReaR 2.7's savelayout did not run (see ${dir}/capture.log)`);
  const fixtureDir = join(FIXTURE_DIR, l.name);
  const record = writeFixture(l, res.dir, accel, fixtureDir);
  return { ...result, ok: true, record, fixtureDir };
}
