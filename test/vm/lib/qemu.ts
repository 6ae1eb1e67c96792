// Driving QEMU guests: no network, serial console to a log file, disks on virtio/SCSI/NVMe, BIOS
// (SeaBIOS) or UEFI (OVMF with its own VARS file), markers watched in the serial log with per-phase
// timeouts, and the QEMU process always killed by its PID at the end.

import { closeSync, copyFileSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { sh } from "./sh.ts";

export type Bus = "virtio" | "scsi" | "nvme";

export interface VmDisk {
  file: string;
  format?: "raw" | "qcow2";
  bus?: Bus;
  serial?: string;
  readonly?: boolean;
  /** firmware boot order (the USB rescue disk boots first although the blank target disks come first) */
  bootindex?: number;
}

export interface VmSpec {
  name: string;
  firmware: "bios" | "uefi";
  /** the OVMF VARS file of this machine (UEFI); created from the template when missing */
  ovmfVars?: string;
  memMiB?: number;
  cpus?: number;
  disks: VmDisk[];
  cdrom?: string;
  /** further CD drives (the further ISOs of a backup split by ISO_MAX_SIZE) */
  extraCdroms?: string[];
  kernel?: string;
  initrd?: string;
  append?: string;
  /** boot order: "c" disk, "d" cdrom, "n" network (PXE) */
  boot?: "c" | "d" | "n";
  serialLog: string;
  timeoutSec: number;
  accel: "kvm" | "tcg";
  /** markers that must appear in order in the serial log, each within its timeout (seconds from the previous) */
  markers?: { text: string; timeoutSec: number }[];
  /** texts that end the run at once as failed (e.g. a recover that stopped with an error) */
  failMarkers?: string[];
  /** UEFI with Secure Boot enforced: OVMF's SMM build with Microsoft's keys enrolled (Debian's shim is signed by them) */
  secureBoot?: boolean;
  /** a virtio NIC on QEMU's user network with restrict=on: the guest reaches nothing outside (DHCP from QEMU only) */
  nic?: boolean;
  /** with nic: connections of the guest to ip:port go to a port on the host's loopback (QEMU's guestfwd;
   *  nothing else leaves the guest) */
  guestfwd?: { ip: string; port: number; hostPort: number }[];
  /** with nic: QEMU's TFTP server on the user network serves `dir`, and DHCP names `bootfile` (PXE boot) */
  tftp?: { dir: string; bootfile: string };
  /** the machine's SMBIOS UUID (/sys/class/dmi/id/product_uuid in the guest) */
  uuid?: string;
  /** a power cut: QEMU is killed (SIGKILL, nothing flushed by the guest after that) `afterSec` after `text` appeared */
  powerCut?: { text: string; afterSec: number };
  /** typed into the serial console: each `send` once its `waitFor` text has appeared (after the previous one) */
  interact?: { waitFor: string; send: string }[];
  /** a disk that is not attached at the start (a USB stick on an xHCI controller), and QEMU monitor commands
   *  sent each once its `waitFor` text has appeared on the serial console (in order): `device_add`,
   *  `device_del`; the disk's drive is `hot0` */
  hotplug?: { disk: VmDisk; steps: { waitFor: string; command: string }[] };
}

/** The MAC of the harness NIC, fixed so that a rescue system finds "its" interface again. */
export const HARNESS_MAC = "52:54:00:12:34:56";
/** The guest's address on the harness NIC (QEMU's user network: 10.0.2.0/24, gateway 10.0.2.2). */
export const GUEST_ADDRESS = "10.0.2.15";

export interface VmResult {
  exitCode: number | null;
  timedOut: boolean;
  /** the marker that did not come in time */
  missedMarker?: string;
  /** the fail marker that was seen */
  failedOn?: string;
  /** the power was cut (spec.powerCut), ms after the start */
  cutAtMs?: number;
  durationMs: number;
  markerTimesMs: Record<string, number>;
}

export const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd";
export const OVMF_VARS_TEMPLATE = "/usr/share/OVMF/OVMF_VARS_4M.fd";
export const OVMF_CODE_SECBOOT = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
export const OVMF_VARS_MS = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";

export function qemuArgs(s: VmSpec): string[] {
  // TCG: one host thread per vCPU (MTTCG); x86 guests on x86 hosts support it
  const a = ["qemu-system-x86_64", "-machine", s.secureBoot ? "q35,smm=on" : "q35", "-accel", s.accel === "tcg" ? "tcg,thread=multi" : "kvm", "-m", String(s.memMiB ?? 2048), "-smp", String(s.cpus ?? 2)];
  // TCG's default CPU (qemu64) has no AVX2, and our binary (Bun's x64 runtime) dies on it with SIGILL
  // (exit 132); "max" has every feature TCG emulates (AVX2, BMI2, FMA since QEMU 7.2)
  if (s.accel === "tcg") a.push("-cpu", "max");
  a.push("-display", "none", "-monitor", s.hotplug ? `unix:${s.serialLog}.mon,server=on,wait=off` : "none");
  if (s.hotplug) a.push("-device", "qemu-xhci,id=xhci0", "-drive", `file=${s.hotplug.disk.file},format=${s.hotplug.disk.format ?? "raw"},if=none,id=hot0`);
  // an interactive console is a socket QEMU serves (and logs to the same file)
  if (s.interact?.length) a.push("-chardev", `socket,id=ser0,path=${s.serialLog}.sock,server=on,wait=off,logfile=${s.serialLog}`, "-serial", "chardev:ser0");
  else a.push("-serial", `file:${s.serialLog}`);
  // guestfwd's "-tcp:HOST:PORT" form opens one connection when QEMU starts (a web server closes it as idle
  // long before the guest connects: nothing got through); "-cmd:" runs a relay for each guest connection
  const relay = (port: number) => `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}; cat <&3 & exec cat >&3'`;
  const fwd = (s.guestfwd ?? []).map((f) => `,guestfwd=tcp:${f.ip}:${f.port}-cmd:${relay(f.hostPort)}`).join("");
  const tftp = s.tftp ? `,tftp=${s.tftp.dir},bootfile=${s.tftp.bootfile}` : "";
  a.push("-no-reboot", "-nic", s.nic ? `user,restrict=on,model=virtio-net-pci,mac=${HARNESS_MAC}${fwd}${tftp}` : "none");
  if (s.uuid) a.push("-uuid", s.uuid);
  if (s.firmware === "uefi") {
    if (!s.ovmfVars) throw new Error(`${s.name}: UEFI needs an OVMF VARS file`);
    // the Secure Boot build keeps its variables in SMM-protected flash
    if (s.secureBoot) a.push("-global", "driver=cfi.pflash01,property=secure,value=on");
    a.push("-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${s.secureBoot ? OVMF_CODE_SECBOOT : OVMF_CODE}`);
    a.push("-drive", `if=pflash,format=raw,unit=1,file=${s.ovmfVars}`);
  }
  let scsi = false;
  s.disks.forEach((d, i) => {
    const id = `d${i}`;
    a.push("-drive", `file=${d.file},format=${d.format ?? "raw"},if=none,id=${id}${d.readonly ? ",readonly=on" : ""}`);
    const serial = (d.serial ? `,serial=${d.serial}` : "") + (d.bootindex !== undefined ? `,bootindex=${d.bootindex}` : "");
    const bus = d.bus ?? "virtio";
    if (bus === "virtio") a.push("-device", `virtio-blk-pci,drive=${id}${serial}`);
    else if (bus === "nvme") a.push("-device", `nvme,drive=${id}${serial || `,serial=nvme${i}`}`);
    else {
      if (!scsi) a.push("-device", "virtio-scsi-pci,id=scsi0");
      scsi = true;
      a.push("-device", `scsi-hd,drive=${id},bus=scsi0.0${serial}`);
    }
  });
  if (s.cdrom) a.push("-drive", `file=${s.cdrom},format=raw,media=cdrom,readonly=on`);
  for (const c of s.extraCdroms ?? []) a.push("-drive", `file=${c},format=raw,media=cdrom,readonly=on`);
  if (s.kernel) a.push("-kernel", s.kernel);
  if (s.initrd) a.push("-initrd", s.initrd);
  if (s.append) a.push("-append", s.append);
  if (s.boot) a.push("-boot", s.boot);
  return a;
}

function readFrom(file: string, offset: number): string {
  if (!existsSync(file)) return "";
  const size = statSync(file).size;
  if (size <= offset) return "";
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString("latin1");
  } finally {
    closeSync(fd);
  }
}

/** Runs a guest until it powers off, a marker is late, or the overall timeout passes. */
export async function runVm(s: VmSpec, say: (m: string) => void = () => {}): Promise<VmResult> {
  if (s.firmware === "uefi" && s.ovmfVars && !existsSync(s.ovmfVars)) copyFileSync(s.secureBoot ? OVMF_VARS_MS : OVMF_VARS_TEMPLATE, s.ovmfVars);
  const args = qemuArgs(s);
  const t0 = Date.now();
  const p = Bun.spawn(args, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  say(`${s.name}: qemu PID ${p.pid} (${s.accel}), serial log ${s.serialLog}`);
  let exited = false;
  const exitP = p.exited.then((c) => {
    exited = true;
    return c;
  });
  const markers = [...(s.markers ?? [])];
  const markerTimesMs: Record<string, number> = {};
  let seen = "";
  let offset = 0;
  let lastAt = t0;
  let missed: string | undefined;
  let failedOn: string | undefined;
  let timedOut = false;
  let tail = "";
  const interact = [...(s.interact ?? [])];
  let iseen = "";
  const hot = [...(s.hotplug?.steps ?? [])];
  let hseen = "";
  let sock: Awaited<ReturnType<typeof Bun.connect>> | undefined;
  let cutSeen = "";
  let cutTextAt: number | undefined;
  let cutAtMs: number | undefined;
  while (!exited) {
    await Promise.race([exitP, Bun.sleep(250)]);
    const more = readFrom(s.serialLog, offset);
    offset += more.length;
    seen = (seen + more).slice(-65536);
    tail = (tail + more).slice(-4096);
    failedOn = (s.failMarkers ?? []).find((f) => tail.includes(f));
    if (failedOn) break;
    if (s.powerCut && cutTextAt === undefined) {
      cutSeen = (cutSeen + more).slice(-65536);
      if (cutSeen.includes(s.powerCut.text)) cutTextAt = Date.now();
    }
    if (cutTextAt !== undefined && Date.now() - cutTextAt >= s.powerCut!.afterSec * 1000) {
      p.kill("SIGKILL");
      await exitP;
      cutAtMs = Date.now() - t0;
      say(`${s.name}: power cut ${s.powerCut!.afterSec} s after '${s.powerCut!.text}' (qemu PID ${p.pid} killed)`);
      break;
    }
    iseen = (iseen + more).slice(-65536);
    if (interact.length && iseen.includes(interact[0]!.waitFor)) {
      sock ??= await Bun.connect({ unix: `${s.serialLog}.sock`, socket: { data() {} } }).catch(() => undefined);
      if (sock) {
        const it = interact.shift()!;
        iseen = iseen.slice(iseen.indexOf(it.waitFor) + it.waitFor.length);
        // slowly: a guest's serial line has a small buffer and TCG guests read it late
        for (const line of it.send.split(/(?<=\n)/)) {
          sock.write(line);
          await Bun.sleep(40);
        }
      }
    }
    hseen = (hseen + more).slice(-65536);
    if (hot.length && hseen.includes(hot[0]!.waitFor)) {
      const step = hot.shift()!;
      hseen = hseen.slice(hseen.indexOf(step.waitFor) + step.waitFor.length);
      let answer = "";
      const mon = await Bun.connect({ unix: `${s.serialLog}.mon`, socket: { data(_m, d) { answer += d.toString(); } } }).catch(() => undefined);
      if (mon) {
        for (const line of step.command.split("\n")) {
          mon.write(`${line}\n`);
          await Bun.sleep(500);
        }
        mon.end();
        say(`${s.name}: monitor: ${step.command.replace(/\n/g, "; ")}`);
        // HMP echoes what it reads; only its errors are worth saying (a failed device_add leaves the guest waiting)
        for (const e of answer.replace(/\r/g, "").split("\n").filter((l) => /^Error|[Ff]ailed|can't|not found/.test(l))) say(`${s.name}: monitor answered: ${e}`);
      } else say(`${s.name}: cannot reach the QEMU monitor for '${step.command}'`);
    }
    while (markers.length > 0 && seen.includes(markers[0]!.text)) {
      const m = markers.shift()!;
      markerTimesMs[m.text] = Date.now() - t0;
      lastAt = Date.now();
      seen = seen.slice(seen.indexOf(m.text) + m.text.length);
    }
    if (exited) break;
    if (markers.length > 0 && Date.now() - lastAt > markers[0]!.timeoutSec * 1000) {
      missed = markers[0]!.text;
      break;
    }
    if (Date.now() - t0 > s.timeoutSec * 1000) {
      timedOut = true;
      break;
    }
  }
  if (!exited) {
    say(`${s.name}: ${failedOn ? `saw '${failedOn}'` : missed ? `marker '${missed}' did not come in time` : `timeout after ${s.timeoutSec} s`}: killing qemu PID ${p.pid}`);
    p.kill("SIGTERM");
    const done = await Promise.race([exitP.then(() => true), Bun.sleep(5000).then(() => false)]);
    if (!done) p.kill("SIGKILL");
    await exitP;
    if (missed) timedOut = true;
  }
  sock?.end();
  const code = await exitP;
  const stderr = await new Response(p.stderr).text();
  if (code !== 0 && !timedOut && stderr.trim()) say(`${s.name}: qemu said: ${stderr.trim().split("\n").slice(-3).join(" / ")}`);
  return {
    exitCode: timedOut || failedOn || cutAtMs !== undefined ? null : code, timedOut, ...(missed ? { missedMarker: missed } : {}), ...(failedOn ? { failedOn } : {}),
    ...(cutAtMs !== undefined ? { cutAtMs } : {}), durationMs: Date.now() - t0, markerTimesMs,
  };
}

let accelCache: "kvm" | "tcg" | undefined;

/**
 * KVM only when a quick test boot succeeds under it (on this project's machines /dev/kvm exists but
 * guests hang under it), else TCG. The test: boot the kernel without a root file system with panic=-1;
 * it panics and reboots at once, so QEMU (with -no-reboot) exits within seconds when the accelerator works.
 */
export async function chooseAccel(kernel: string, workDir: string, say: (m: string) => void = console.log): Promise<"kvm" | "tcg"> {
  if (accelCache) return accelCache;
  if (process.env.REAR_VM_ACCEL === "kvm" || process.env.REAR_VM_ACCEL === "tcg") return (accelCache = process.env.REAR_VM_ACCEL);
  if (!existsSync("/dev/kvm")) {
    say("accelerator: TCG (no /dev/kvm)");
    return (accelCache = "tcg");
  }
  const r = await runVm({
    name: "kvm-probe", firmware: "bios", memMiB: 256, cpus: 1, disks: [], kernel, append: "console=ttyS0 panic=-1 root=/dev/nonexistent",
    serialLog: `${workDir}/kvm-probe.log`, timeoutSec: 10, accel: "kvm", markers: [{ text: "Kernel panic", timeoutSec: 10 }],
  });
  accelCache = !r.timedOut ? "kvm" : "tcg";
  say(`accelerator: ${accelCache === "kvm" ? "KVM (a test boot succeeded)" : "TCG (a test boot under KVM hung)"}`);
  return accelCache;
}

/** A sparse raw disk image. */
export async function createDisk(file: string, sizeMiB: number): Promise<void> {
  await sh(["qemu-img", "create", "-q", "-f", "raw", file, `${sizeMiB}M`]);
}

/** A copy-on-write overlay, so a cached image stays pristine. */
export async function createOverlay(file: string, backing: string): Promise<void> {
  await sh(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", backing, file]);
}
