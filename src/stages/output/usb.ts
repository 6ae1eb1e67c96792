// output (OUTPUT=USB): the rescue system onto the REAR-000 disk (ReaR's output/USB/Linux-i386/100_create_efiboot,
// 200_make_usb_prefix_dir, 300_create_extlinux, 830_copy_kernel_initrd, 850_make_USB_bootable). The work is
// src/output/usb.ts; here: which disk, mounting it, the menu's settings.

import { existsSync, mkdirSync, realpathSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { menuTimeout, serialFromCmdline } from "../../output/iso-config.ts";
import { usbMenuDefault, usbPrefix } from "../../output/usb-config.ts";
import { writeUsbMedium } from "../../output/usb.ts";
import { blkidProbe } from "../../layout/probe/blkid-probe.ts";
import { probeTargets } from "../../recreate/probe-targets.ts";
import { exec } from "../../sys/exec.ts";
import { VERSION } from "../../version.ts";
import { BUILDS_RESCUE } from "../init/950-check-missing-programs.ts";
import { rescueState } from "../rescue/preflight.ts";
import { rescueKernelLine } from "./write-output.ts";

export const writeUsbRescue: Module = {
  stage: "output",
  order: 800,
  name: "write_usb_medium",
  what: "output/USB/Linux-i386/100_create_efiboot, 200_make_usb_prefix_dir, 300_create_extlinux, 830_copy_kernel_initrd, 850_make_USB_bootable",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name) && ctx.config.str("OUTPUT") === "USB",
  async run(ctx) {
    const c = ctx.config;
    const st = rescueState(ctx);
    if (!st.initrd || !st.usb) throw new Error("output/800 (USB) without an initramfs or the preflight's USB files");
    const partition = realpathSync(st.usb.device);
    const probe = await probeTargets({ ...ctx.env, ...(basename(partition).startsWith("loop") ? { REAR_LAYOUT_INCLUDE_LOOP: "1" } : {}) });
    const disk = probe.disks.find((d) => d.children.some((n) => n.device === partition));
    if (!disk) throw new WorkflowError(`${st.usb.device} (${partition}) is not a partition of a disk lsblk lists`, "make the USB disk with rear format DEVICE: the rescue system goes onto its data partition");
    const node = disk.children.find((n) => n.device === partition)!;
    if (node.mountpoints.includes("/")) throw new WorkflowError(`${partition} is the running system's root file system, not a USB disk`, "check USB_DEVICE / BACKUP_URL");
    // lsblk knows file systems from udev's database; without udev running (a container, a chroot) ask blkid
    for (const n of disk.children.filter((x) => !x.fstype && x.type === "part")) {
      const b = await blkidProbe(n.device);
      n.fstype = b.TYPE || undefined;
      n.label = b.LABEL || n.label;
      n.partlabel = b.PART_ENTRY_NAME || n.partlabel;
    }
    if (!disk.pttype) disk.pttype = (await exec(["blkid", "-p", "-o", "value", "-s", "PTTYPE", disk.device], { quiet: true })).stdout.trim() || undefined;
    // the ESP rear format made (REAR-EFI), or another FAT partition of the disk
    const esp = disk.children.find((n) => n.fstype === "vfat" && (n.label === "REAR-EFI" || n.partlabel === "REAR-EFI")) ?? disk.children.find((n) => n.fstype === "vfat");
    const host = c.str("HOSTNAME") || hostname();
    const prefix = usbPrefix(host, c.str("USB_SUFFIX"), new Date());
    const mnt = join(ctx.workArea!.buildDir, "usbfs");
    mkdirSync(mnt, { recursive: true });
    const m = await exec(["mount", partition, mnt], { what: "mounting the USB disk" });
    if (m.code !== 0) throw new WorkflowError(`Cannot mount ${partition}: ${m.stderr.trim()}`, "is it formatted? rear format DEVICE makes it");
    const undo = ctx.exitTasks.add(`unmount ${mnt}`, async () => void (await exec(["umount", mnt])));
    const cmdline = rescueKernelLine(c);
    const serial = serialFromCmdline(cmdline);
    const keep = Number(c.str("USB_RETAIN_BACKUP_NR") || 2);
    const recoverMode = c.str("USB_RECOVER_MODE") || c.str("ISO_RECOVER_MODE");
    const isoDefault = usbMenuDefault(c.str("ISO_DEFAULT"), recoverMode);
    try {
      const r = await writeUsbMedium({
        files: st.usb.files, mnt, partition, disk: disk.device, pttype: disk.pttype ?? "dos", ...(esp ? { esp: esp.device } : {}), espMnt: join(ctx.workArea!.buildDir, "usbesp"),
        workDir: join(ctx.workArea!.tmpDir, "usb"), kernel: st.kernelFile, initrd: st.initrd.file, initrdName: st.initrd.name, prefix, keep: keep >= 1 ? keep : 1,
        menu: {
          host, cmdline, version: VERSION, isoDefault, recoverMode, label: node.label || c.str("USB_DEVICE_FILESYSTEM_LABEL") || "REAR-000",
          timeoutSec: menuTimeout(isoDefault, c.str("ISO_SYSLINUX_TIMEOUT") ? String(Number(c.str("ISO_SYSLINUX_TIMEOUT")) / 10) : "", c.str("USER_INPUT_TIMEOUT")),
          ...(serial ? { serial } : {}),
        },
        log: (l) => ctx.log.log(l),
      });
      if (!r.bios && !r.uefi) throw new WorkflowError(`The USB disk ${disk.device} got no boot loader: neither extlinux (BIOS) nor an EFI system partition with GRUB (UEFI)`, "install extlinux and syslinux-common, or make the disk with rear format -- --efi");
      ctx.log.logPrint(`Wrote the rescue system to ${partition} (${prefix}); it boots by ${[r.bios && "BIOS (extlinux)", r.uefi && `UEFI (${st.usb.files.secureBoot ? "shim and the signed GRUB" : "GRUB"} on ${esp!.device})`].filter(Boolean).join(" and ")}; the menu lists ${r.systems.length} rescue system(s)`);
      if (!existsSync(join(mnt, prefix, "kernel"))) throw new WorkflowError(`The kernel is not on ${partition} after writing it`, "check the disk (dmesg)");
    } finally {
      ctx.exitTasks.remove(undo);
      await exec(["umount", mnt]);
    }
  },
};
