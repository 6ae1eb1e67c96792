// OUTPUT=ISO: a hybrid image that boots by BIOS (isolinux, as ReaR) and by UEFI (GRUB, or the host's
// signed shim + GRUB when the machine uses Secure Boot), from a CD or written to a USB stick.
// What it needs is found first (bootFiles: the preflight), then the image is written (buildIso).

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { CommandError } from "../engine/errors.ts";
import { exec, which } from "../sys/exec.ts";
import { GRUB_EFI_MODULES, grubConfig, grubEarlyConfig, isoDateStamp, isolinuxConfig, xorrisoArgs, type MenuInput } from "./iso-config.ts";

export interface Need {
  what: string;
  why: string;
  found?: string;
  /** a missing required item stops mkrescue; an optional one only loses a boot mode */
  required: boolean;
  hint: string;
}

export interface IsoBootFiles {
  xorriso?: string;
  bios?: { isolinuxBin: string; modulesDir: string; hybridMbr: string };
  uefi?: { mkimage?: string; grubDir?: string; shim?: string; signedGrub?: string; mkfsVfat: string; mcopy: string; mmd: string };
  needs: Need[];
}

const first = (paths: readonly string[]): string | undefined => paths.find((p) => existsSync(p));

const SYSLINUX_MODULES = ["ldlinux.c32", "libcom32.c32", "libutil.c32", "menu.c32"];

/** Secure Boot is on when the EFI variable SecureBoot holds 1 (its 5th byte; the first 4 are attributes). */
export function secureBootEnabled(): boolean {
  try {
    const b = readFileSync("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c");
    return b.length >= 5 && b[4] === 1;
  } catch {
    return false;
  }
}

/**
 * Everything the ISO needs, with the reason for each. The boot mode of this machine is required, the
 * other one optional (a BIOS machine's ISO that cannot also boot by UEFI is still its rescue medium).
 */
export function isoBootFiles(o: { path: string; uefiMachine: boolean; isolinuxBin: string; mkisofsBin: string; secureBootLoader: string; secureBoot: boolean }): IsoBootFiles {
  const needs: Need[] = [];
  const w = (n: string) => which(n, o.path);
  const xorriso = o.mkisofsBin ? (/xorriso(fs)?$/.test(o.mkisofsBin) ? w(o.mkisofsBin) : undefined) : w("xorriso");
  needs.push({
    what: o.mkisofsBin || "xorriso", why: "writes the ISO image (hybrid: CD and USB stick)", required: true, ...(xorriso ? { found: xorriso } : {}),
    hint: o.mkisofsBin && !/xorriso(fs)?$/.test(o.mkisofsBin) ? "ISO_MKISOFS_BIN must name xorriso (genisoimage/mkisofs cannot make hybrid images): unset it" : "install xorriso",
  });
  const isolinuxBin = o.isolinuxBin && existsSync(o.isolinuxBin) ? o.isolinuxBin : first(["/usr/lib/ISOLINUX/isolinux.bin", "/usr/share/syslinux/isolinux.bin", "/usr/lib/syslinux/isolinux.bin", "/usr/lib/syslinux/bios/isolinux.bin"]);
  const modulesDir = first(["/usr/lib/syslinux/modules/bios", "/usr/share/syslinux", "/usr/lib/syslinux/bios", "/usr/lib/syslinux"].filter((d) => existsSync(join(d, "ldlinux.c32"))));
  const hybridMbr = first(["/usr/lib/ISOLINUX/isohdpfx.bin", "/usr/share/syslinux/isohdpfx.bin", "/usr/lib/syslinux/isohdpfx.bin", "/usr/lib/syslinux/bios/isohdpfx.bin", "/usr/lib/syslinux/mbr/isohdpfx.bin"]);
  const biosRequired = !o.uefiMachine;
  needs.push({ what: "isolinux.bin", why: "boots the ISO by BIOS", required: biosRequired, ...(isolinuxBin ? { found: isolinuxBin } : {}), hint: "install isolinux (Debian/Ubuntu) or syslinux, or set ISO_ISOLINUX_BIN" });
  needs.push({ what: "ldlinux.c32, menu.c32", why: "isolinux's menu", required: biosRequired, ...(modulesDir ? { found: modulesDir } : {}), hint: "install syslinux-common (Debian/Ubuntu) or syslinux" });
  needs.push({ what: "isohdpfx.bin", why: "the hybrid MBR, so the ISO also boots from a USB stick by BIOS", required: biosRequired, ...(hybridMbr ? { found: hybridMbr } : {}), hint: "install isolinux (Debian/Ubuntu) or syslinux" });
  const bios = isolinuxBin && modulesDir && hybridMbr ? { isolinuxBin, modulesDir, hybridMbr } : undefined;

  const mkfsVfat = w("mkfs.vfat");
  const mcopy = w("mcopy");
  const mmd = w("mmd");
  const uefiRequired = o.uefiMachine;
  needs.push({ what: "mkfs.vfat", why: "makes the FAT image UEFI firmware boots from the ISO", required: uefiRequired, ...(mkfsVfat ? { found: mkfsVfat } : {}), hint: "install dosfstools" });
  needs.push({ what: "mcopy, mmd", why: "fill the UEFI boot image without mounting it", required: uefiRequired, ...(mcopy && mmd ? { found: mcopy } : {}), hint: "install mtools" });
  let uefi: IsoBootFiles["uefi"];
  if (o.secureBoot || o.secureBootLoader) {
    const shim = o.secureBootLoader || first(["/usr/lib/shim/shimx64.efi.signed", "/boot/efi/EFI/debian/shimx64.efi", "/boot/efi/EFI/ubuntu/shimx64.efi"]);
    // Debian's signed GRUB for CDs: finds the medium by /.disk/info and reads /boot/grub/grub.cfg
    const signedGrub = first(["/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed"]);
    needs.push({ what: "shim (signed)", why: "Secure Boot is on: the firmware only starts a signed first stage", required: uefiRequired, ...(shim ? { found: shim } : {}), hint: "install shim-signed, or set SECURE_BOOT_BOOTLOADER" });
    needs.push({ what: "gcdx64.efi.signed", why: "Secure Boot is on: GRUB signed by the distribution, for CDs", required: uefiRequired, ...(signedGrub ? { found: signedGrub } : {}), hint: "install grub-efi-amd64-signed" });
    if (shim && signedGrub && mkfsVfat && mcopy && mmd) uefi = { shim, signedGrub, mkfsVfat, mcopy, mmd };
  } else {
    const mkimage = w("grub-mkimage") ?? w("grub2-mkimage");
    const grubDir = first(["/usr/lib/grub/x86_64-efi", "/usr/lib/grub2/x86_64-efi"].filter((d) => existsSync(join(d, "kernel.img"))));
    needs.push({ what: "grub-mkimage", why: "makes the GRUB EFI program that boots the ISO by UEFI", required: uefiRequired, ...(mkimage ? { found: mkimage } : {}), hint: "install grub-common (Debian/Ubuntu) or grub2-tools" });
    needs.push({ what: "GRUB for x86_64-efi", why: "the modules of that GRUB EFI program", required: uefiRequired, ...(grubDir ? { found: grubDir } : {}), hint: "install grub-efi-amd64-bin (Debian/Ubuntu) or grub2-efi-x64-modules" });
    if (mkimage && grubDir && mkfsVfat && mcopy && mmd) uefi = { mkimage, grubDir, mkfsVfat, mcopy, mmd };
  }
  return { ...(xorriso ? { xorriso } : {}), ...(bios ? { bios } : {}), ...(uefi ? { uefi } : {}), needs };
}

export interface IsoInput {
  files: IsoBootFiles;
  /** where the ISO tree is assembled (scratch) */
  workDir: string;
  kernel: string;
  initrd: string;
  initrdName: string;
  menu: Omit<MenuInput, "kernel" | "initrd">;
  volid: string;
  out: string;
  extraFiles: readonly string[];
  extraOpts: readonly string[];
  /** directories whose contents are moved into the ISO's root (the backup of BACKUP_URL=iso://) */
  extraTrees?: readonly string[];
  now?: Date;
}

async function must(argv: string[], what: string): Promise<string> {
  const r = await exec(argv, { what });
  if (r.code !== 0) throw new CommandError(argv, r.code, r.stderr, what);
  return r.stdout;
}

/** Makes the ISO; returns its size. The file is written to a temporary name (mode 0600) and renamed. */
export async function buildIso(x: IsoInput): Promise<{ bytes: number; bios: boolean; uefi: boolean }> {
  const f = x.files;
  if (!f.xorriso) throw new Error("buildIso without xorriso");
  const iso = join(x.workDir, "isofs");
  rmSync(iso, { recursive: true, force: true });
  mkdirSync(join(iso, "isolinux"), { recursive: true });
  mkdirSync(join(iso, "boot", "grub"), { recursive: true });
  copyFileSync(x.kernel, join(iso, "isolinux", "kernel"));
  copyFileSync(x.initrd, join(iso, "isolinux", x.initrdName));
  for (const e of x.extraFiles) copyFileSync(e, join(iso, e.split("/").pop()!));
  // moved, not copied: a backup of gigabytes is not written twice (the trees are on the work area's filesystem)
  for (const t of x.extraTrees ?? []) for (const e of readdirSync(t)) renameSync(join(t, e), join(iso, e));
  const stamp = isoDateStamp(x.now ?? new Date());
  const menu: MenuInput = { ...x.menu, kernel: "/isolinux/kernel", initrd: `/isolinux/${x.initrdName}` };
  if (f.bios) {
    copyFileSync(f.bios.isolinuxBin, join(iso, "isolinux", "isolinux.bin"));
    for (const m of SYSLINUX_MODULES) if (existsSync(join(f.bios.modulesDir, m))) copyFileSync(join(f.bios.modulesDir, m), join(iso, "isolinux", m));
    // isolinux resolves relative names against its own directory; ReaR's config uses the bare names
    writeFileSync(join(iso, "isolinux", "isolinux.cfg"), isolinuxConfig({ ...menu, kernel: "kernel", initrd: x.initrdName }));
  }
  writeFileSync(join(iso, "boot", "grub", "grub.cfg"), grubConfig(menu));
  let efiImage: string | undefined;
  if (f.uefi) {
    const efiDir = join(x.workDir, "efi");
    rmSync(efiDir, { recursive: true, force: true });
    mkdirSync(efiDir, { recursive: true });
    const entries: [string, string][] = [];
    if (f.uefi.shim && f.uefi.signedGrub) {
      entries.push([f.uefi.shim, "BOOTX64.EFI"], [f.uefi.signedGrub, "grubx64.efi"]);
      // the signed CD GRUB finds its medium by this file (Debian's grub-efi-amd64-signed build config)
      mkdirSync(join(iso, ".disk"), { recursive: true });
      writeFileSync(join(iso, ".disk", "info"), `Relax-and-Recover rescue system ${x.menu.host}\n`);
    } else {
      const early = join(efiDir, "early.cfg");
      writeFileSync(early, grubEarlyConfig(stamp.uuid));
      const efiBin = join(efiDir, "BOOTX64.EFI");
      await must([f.uefi.mkimage!, "-O", "x86_64-efi", "-d", f.uefi.grubDir!, "-o", efiBin, "-p", "/boot/grub", "-c", early, ...GRUB_EFI_MODULES], "making the GRUB EFI program");
      entries.push([efiBin, "BOOTX64.EFI"]);
    }
    const size = entries.reduce((s, [p]) => s + statSync(p).size, 0);
    // FAT12/16 with room for the files, their clusters and the directories: size + 25% + 1 MiB
    const kib = Math.ceil((size * 1.25) / 1024) + 1024;
    const img = join(iso, "boot", "efiboot.img");
    await must([f.uefi.mkfsVfat, "-C", "-n", "REAR-EFI", img, String(kib)], "making the UEFI boot image");
    await must([f.uefi.mmd, "-i", img, "::/EFI", "::/EFI/BOOT"], "making directories in the UEFI boot image");
    for (const [src, name] of entries) await must([f.uefi.mcopy, "-i", img, src, `::/EFI/BOOT/${name}`], "copying into the UEFI boot image");
    efiImage = "boot/efiboot.img";
  }
  const tmp = `${x.out}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, "", { mode: 0o600 });
  const argv = xorrisoArgs({
    xorriso: f.xorriso, out: tmp, volid: x.volid, dir: iso, modificationDate: stamp.modificationDate,
    ...(f.bios ? { bios: { isolinuxBin: "isolinux/isolinux.bin", bootCat: "isolinux/boot.cat", hybridMbr: f.bios.hybridMbr } } : {}),
    ...(efiImage ? { efiImage } : {}),
    extraOpts: x.extraOpts,
  });
  try {
    await must(argv, "writing the ISO image");
    chmodSync(tmp, 0o600);
    renameSync(tmp, x.out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return { bytes: statSync(x.out).size, bios: !!f.bios, uefi: !!efiImage };
}

/**
 * An ISO that only holds files (a further volume of a backup split by ISO_MAX_SIZE, ReaR's
 * `<ISO_PREFIX>_NN.iso`): not bootable, labelled so that the restore finds it. 0600, temporary name + rename.
 */
export async function buildDataIso(x: { xorriso: string; dir: string; volid: string; out: string; now?: Date }): Promise<number> {
  const tmp = `${x.out}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, "", { mode: 0o600 });
  try {
    await must(xorrisoArgs({ xorriso: x.xorriso, out: tmp, volid: x.volid, dir: x.dir, modificationDate: isoDateStamp(x.now ?? new Date()).modificationDate, extraOpts: [] }), `writing the ISO image ${x.out}`);
    chmodSync(tmp, 0o600);
    renameSync(tmp, x.out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return statSync(x.out).size;
}

