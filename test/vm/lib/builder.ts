// Running a job in a builder guest: Debian's kernel and initrd from the guest image, the image itself
// (through a copy-on-write overlay, so the cache stays pristine) as the root file system, and the
// harness's own init instead of systemd. This is where device-mapper, MD and LUKS exist, which the
// host kernel lacks.

import { join } from "node:path";
import { prepareChannel, readResults, type Job, type JobResult } from "./channel.ts";
import type { GuestImage } from "./image.ts";
import { createOverlay, runVm, type VmDisk, type VmResult } from "./qemu.ts";

export interface BuilderRun {
  vm: VmResult;
  job: JobResult;
}

export async function runInBuilder(opts: {
  image: GuestImage;
  dir: string;
  name: string;
  job: Job;
  extraDisks?: VmDisk[];
  accel: "kvm" | "tcg";
  timeoutSec: number;
  outSizeMiB?: number;
  say?: (m: string) => void;
  /** UEFI: OVMF starts the kernel (a guest that sees /sys/firmware/efi); BIOS by default */
  firmware?: "bios" | "uefi";
  secureBoot?: boolean;
  nic?: boolean;
}): Promise<BuilderRun> {
  const overlay = join(opts.dir, `${opts.name}-root.qcow2`);
  await createOverlay(overlay, opts.image.rootImg);
  const ch = await prepareChannel(join(opts.dir, opts.name), opts.job, opts.outSizeMiB);
  const vm = await runVm(
    {
      name: opts.name,
      firmware: opts.firmware ?? "bios",
      ...(opts.firmware === "uefi" ? { ovmfVars: join(opts.dir, `OVMF_VARS.${opts.name}.fd`) } : {}),
      ...(opts.nic ? { nic: true } : {}),
      ...(opts.secureBoot ? { secureBoot: true } : {}),
      disks: [{ file: overlay, format: "qcow2", bus: "virtio", serial: "harness-root" }, ...ch.disks, ...(opts.extraDisks ?? [])],
      kernel: opts.image.kernel,
      initrd: opts.image.initrd,
      append: "root=LABEL=harness-root rw console=ttyS0,115200 init=/usr/local/sbin/harness-init panic=-1 quiet",
      serialLog: join(opts.dir, `${opts.name}.serial.log`),
      timeoutSec: opts.timeoutSec,
      accel: opts.accel,
      markers: [
        { text: "HARNESS: job start", timeoutSec: 180 },
        { text: "HARNESS: job done", timeoutSec: opts.timeoutSec },
      ],
    },
    opts.say,
  );
  const job = await readResults(ch, join(opts.dir, opts.name, "out"));
  return { vm, job };
}
