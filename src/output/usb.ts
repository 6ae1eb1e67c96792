// OUTPUT=USB: the rescue system onto a REAR-000 disk made by `rear format` (ReaR's output/USB/Linux-i386/):
// kernel and initramfs under rear/<host>/<timestamp>/, the older ones pruned to USB_RETAIN_BACKUP_NR,
// extlinux on the data partition with the syslinux MBR for BIOS, and when the disk has an EFI system
// partition a GRUB EFI program there that reads the menu from the data partition. What it needs is found
// first (usbBootFiles, for the preflight); writeUsbMedium is the impure edge.

import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CommandError } from "../engine/errors.ts";
import { exec, which } from "../sys/exec.ts";
import type { Need } from "./iso.ts";
import { extlinuxConfig, retention, usbGrubConfig, usbGrubEarlyConfig, USB_GRUB_EFI_MODULES, type UsbMenuInput } from "./usb-config.ts";

export interface UsbBootFiles {
  extlinux?: string;
  modulesDir?: string;
  mbrDir?: string;
  grub?: { mkimage: string; grubDir: string };
  /** Secure Boot: the distribution's shim and signed GRUB instead of our GRUB */
  secureBoot?: { shim: string; signedGrub: string };
  needs: Need[];
}

/** The syslinux modules the menu uses (menu.c32 needs libutil, chain.c32 libcom32 and libutil). */
export const USB_SYSLINUX_MODULES = ["menu.c32", "chain.c32", "libutil.c32", "libcom32.c32"];

const first = (paths: readonly string[]): string | undefined => paths.find((p) => existsSync(p));

export function usbBootFiles(o: { path: string; uefiMachine: boolean; secureBootLoader?: string; secureBoot?: boolean }): UsbBootFiles {
  const needs: Need[] = [];
  const extlinux = which("extlinux", o.path);
  needs.push({ what: "extlinux", why: "installs the BIOS boot loader on the USB disk's data partition", required: !o.uefiMachine, ...(extlinux ? { found: extlinux } : {}), hint: "install extlinux (Debian/Ubuntu) or syslinux-extlinux" });
  const modulesDir = first(["/usr/lib/syslinux/modules/bios", "/usr/share/syslinux", "/usr/lib/syslinux/bios", "/usr/lib/syslinux"].filter((d) => USB_SYSLINUX_MODULES.every((m) => existsSync(join(d, m)))));
  needs.push({ what: USB_SYSLINUX_MODULES.join(", "), why: "the USB disk's boot menu (BIOS)", required: !o.uefiMachine, ...(modulesDir ? { found: modulesDir } : {}), hint: "install syslinux-common (Debian/Ubuntu) or syslinux" });
  const mbrDir = first(["/usr/lib/syslinux/mbr", "/usr/share/syslinux", "/usr/lib/syslinux/bios", "/usr/lib/syslinux"].filter((d) => existsSync(join(d, "mbr.bin")) && existsSync(join(d, "gptmbr.bin"))));
  needs.push({ what: "mbr.bin, gptmbr.bin", why: "the syslinux MBR that starts extlinux from an msdos or GPT disk", required: !o.uefiMachine, ...(mbrDir ? { found: mbrDir } : {}), hint: "install syslinux-common (Debian/Ubuntu) or syslinux" });
  if (o.secureBoot || o.secureBootLoader) {
    // SECURE_BOOT_BOOTLOADER (the talk's laptop: /boot/efi/EFI/*/shimx64.efi) starts the distribution's signed GRUB
    const shim = o.secureBootLoader || first(["/usr/lib/shim/shimx64.efi.signed", "/boot/efi/EFI/debian/shimx64.efi", "/boot/efi/EFI/ubuntu/shimx64.efi"]);
    const signedGrub = first(["/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed", "/boot/efi/EFI/debian/grubx64.efi", "/boot/efi/EFI/ubuntu/grubx64.efi"]);
    const found = shim && existsSync(shim) && signedGrub;
    // required where Secure Boot is on; elsewhere (the talk's laptop config on a BIOS machine) plain GRUB will do
    needs.push({ what: "shim and the signed GRUB", why: "boot the USB disk with Secure Boot", required: !!o.secureBoot, ...(found ? { found: `${shim}, ${signedGrub}` } : {}), hint: "install shim-signed and grub-efi-amd64-signed, or set SECURE_BOOT_BOOTLOADER to the shim" });
    if (found) return { ...(extlinux ? { extlinux } : {}), ...(modulesDir ? { modulesDir } : {}), ...(mbrDir ? { mbrDir } : {}), secureBoot: { shim, signedGrub }, needs };
  }
  const mkimage = which("grub-mkimage", o.path) ?? which("grub2-mkimage", o.path);
  const grubDir = first(["/usr/lib/grub/x86_64-efi", "/usr/lib/grub2/x86_64-efi"].filter((d) => existsSync(join(d, "kernel.img"))));
  needs.push({ what: "grub-mkimage and GRUB for x86_64-efi", why: "the EFI program on the USB disk's EFI system partition (UEFI)", required: o.uefiMachine, ...(mkimage && grubDir ? { found: `${mkimage}, ${grubDir}` } : {}), hint: "install grub-common and grub-efi-amd64-bin (Debian/Ubuntu) or grub2-tools and grub2-efi-x64-modules" });
  return { ...(extlinux ? { extlinux } : {}), ...(modulesDir ? { modulesDir } : {}), ...(mbrDir ? { mbrDir } : {}), ...(mkimage && grubDir ? { grub: { mkimage, grubDir } } : {}), needs };
}

async function must(argv: string[], what: string): Promise<string> {
  const r = await exec(argv, { what });
  if (r.code !== 0) throw new CommandError(argv, r.code, r.stderr, what);
  return r.stdout;
}

export interface UsbMediumInput {
  files: UsbBootFiles;
  /** where the data partition is mounted (read-write) */
  mnt: string;
  /** the data partition and its disk */
  partition: string;
  disk: string;
  /** msdos ("dos") or gpt: which syslinux MBR */
  pttype: string;
  /** the disk's EFI system partition, when it has one */
  esp?: string;
  espMnt: string;
  workDir: string;
  kernel: string;
  initrd: string;
  initrdName: string;
  /** rear/<host>/<timestamp> */
  prefix: string;
  keep: number;
  menu: Omit<UsbMenuInput, "systems">;
  log: (line: string) => void;
}

/** Writes the rescue system onto the mounted data partition, prunes, and installs the boot loaders; returns what it did. */
export async function writeUsbMedium(x: UsbMediumInput): Promise<{ systems: string[]; removed: string[]; bios: boolean; uefi: boolean }> {
  const dir = join(x.mnt, x.prefix);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  copyFileSync(x.kernel, join(dir, "kernel"));
  copyFileSync(x.initrd, join(dir, x.initrdName));
  // the other rescue systems of this host: kept or pruned (USB_RETAIN_BACKUP_NR), newest first in the menu
  const hostDir = join(x.mnt, x.prefix.split("/").slice(0, 2).join("/"));
  const current = x.prefix.split("/")[2]!;
  const present = readdirSync(hostDir).filter((n) => existsSync(join(hostDir, n, "kernel")));
  const r = retention(present, current, x.keep);
  for (const n of r.remove) {
    rmSync(join(hostDir, n), { recursive: true, force: true });
    x.log(`Removed the older rescue system ${join(hostDir, n)} (USB_RETAIN_BACKUP_NR=${x.keep})`);
  }
  const base = x.prefix.split("/").slice(0, 2).join("/");
  const systems = r.keep.map((n) => ({ dir: `${base}/${n}`, kernel: "kernel", initrd: readdirSync(join(hostDir, n)).find((f) => /^initrd/.test(f)) ?? x.initrdName }));
  const menu: UsbMenuInput = { ...x.menu, systems };
  let bios = false;
  if (x.files.extlinux && x.files.modulesDir && x.files.mbrDir) {
    const sys = join(x.mnt, "boot", "syslinux");
    mkdirSync(sys, { recursive: true });
    for (const m of ["menu.c32", "chain.c32", "libutil.c32", "libcom32.c32"]) copyFileSync(join(x.files.modulesDir, m), join(sys, m));
    writeFileSync(join(sys, "extlinux.conf"), extlinuxConfig(menu));
    // extlinux writes ldlinux.sys (and ldlinux.c32) into the directory and patches their sectors in
    await must([x.files.extlinux, "--install", sys], "installing extlinux on the USB disk");
    const mbr = join(x.files.mbrDir, x.pttype === "gpt" ? "gptmbr.bin" : "mbr.bin");
    await must(["dd", `if=${mbr}`, `of=${x.disk}`, "bs=440", "count=1", "conv=notrunc,fsync", "status=none"], "writing the syslinux MBR");
    bios = true;
  }
  let uefi = false;
  if (x.esp && (x.files.grub || x.files.secureBoot)) {
    mkdirSync(join(x.mnt, "boot", "grub"), { recursive: true });
    writeFileSync(join(x.mnt, "boot", "grub", "grub.cfg"), usbGrubConfig(menu));
    mkdirSync(x.workDir, { recursive: true });
    const early = join(x.workDir, "usb-early.cfg");
    writeFileSync(early, usbGrubEarlyConfig(x.menu.label));
    const efiBin = join(x.workDir, "BOOTX64.EFI");
    if (x.files.grub) await must([x.files.grub.mkimage, "-O", "x86_64-efi", "-d", x.files.grub.grubDir, "-o", efiBin, "-p", "/boot/grub", "-c", early, ...USB_GRUB_EFI_MODULES], "making the GRUB EFI program");
    mkdirSync(x.espMnt, { recursive: true });
    await must(["mount", x.esp, x.espMnt], "mounting the USB disk's EFI system partition");
    try {
      mkdirSync(join(x.espMnt, "EFI", "BOOT"), { recursive: true });
      if (x.files.secureBoot) {
        // shim starts grubx64.efi beside it; the signed GRUB reads $prefix/grub.cfg, prefix /EFI/debian of its partition
        copyFileSync(x.files.secureBoot.shim, join(x.espMnt, "EFI", "BOOT", "BOOTX64.EFI"));
        copyFileSync(x.files.secureBoot.signedGrub, join(x.espMnt, "EFI", "BOOT", "grubx64.efi"));
        mkdirSync(join(x.espMnt, "EFI", "debian"), { recursive: true });
        writeFileSync(join(x.espMnt, "EFI", "debian", "grub.cfg"), usbGrubEarlyConfig(x.menu.label));
      } else copyFileSync(efiBin, join(x.espMnt, "EFI", "BOOT", "BOOTX64.EFI"));
    } finally {
      await exec(["umount", x.espMnt]);
    }
    uefi = true;
  }
  await exec(["sync"]);
  return { systems: systems.map((s) => s.dir), removed: r.remove, bios, uefi };
}
