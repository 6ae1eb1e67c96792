// OUTPUT=RAWDISK: a disk image to dd onto any stick or attach to any VM (ReaR's
// output/RAWDISK/Linux-i386/260_create_syslinux_efi_bootloader, 270_create_grub2_efi_bootloader,
// 280_create_bootable_disk_image): GPT with one FAT partition that is the EFI system partition (GRUB, or
// the distribution's shim and signed GRUB for Secure Boot) and BIOS-bootable (syslinux, the "legacy BIOS
// bootable" attribute and gptmbr.bin). Made without mounting anything (mtools and syslinux's mtools
// installer write into the FAT image), so it also works where the kernel lacks FAT (a container).
// What it needs: rawdiskBootFiles (the preflight); buildRawDisk is the impure edge.

import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CommandError } from "../engine/errors.ts";
import { exec, which } from "../sys/exec.ts";
import { GRUB_EFI_MODULES, grubConfig, isolinuxConfig, type MenuInput } from "./iso-config.ts";
import type { Need } from "./iso.ts";

export interface RawDiskBootFiles {
  mkfsVfat?: string;
  mcopy?: string;
  mmd?: string;
  parted?: string;
  syslinux?: { installer: string; modulesDir: string; gptmbr: string };
  grub?: { mkimage: string; grubDir: string };
  secureBoot?: { shim: string; signedGrub: string };
  needs: Need[];
}

const first = (paths: readonly string[]): string | undefined => paths.find((p) => existsSync(p));
const SYSLINUX_MODULES = ["menu.c32", "libutil.c32", "libcom32.c32"];

export function rawdiskBootFiles(o: { path: string; bios: boolean; uefi: boolean; secureBootLoader: string; secureBoot: boolean }): RawDiskBootFiles {
  const needs: Need[] = [];
  const w = (n: string) => which(n, o.path);
  const mkfsVfat = w("mkfs.vfat");
  const mcopy = w("mcopy");
  const mmd = w("mmd");
  const parted = w("parted");
  needs.push({ what: "mkfs.vfat", why: "makes the image's FAT partition", required: true, ...(mkfsVfat ? { found: mkfsVfat } : {}), hint: "install dosfstools" });
  needs.push({ what: "mcopy, mmd", why: "fill the FAT partition without mounting it", required: true, ...(mcopy && mmd ? { found: mcopy } : {}), hint: "install mtools" });
  needs.push({ what: "parted", why: "writes the image's GPT", required: true, ...(parted ? { found: parted } : {}), hint: "install parted" });
  const r: RawDiskBootFiles = { needs, ...(mkfsVfat ? { mkfsVfat } : {}), ...(mcopy ? { mcopy } : {}), ...(mmd ? { mmd } : {}), ...(parted ? { parted } : {}) };
  if (o.bios) {
    const installer = w("syslinux");
    const modulesDir = first(["/usr/lib/syslinux/modules/bios", "/usr/share/syslinux", "/usr/lib/syslinux/bios", "/usr/lib/syslinux"].filter((d) => SYSLINUX_MODULES.every((m) => existsSync(join(d, m)))));
    const gptmbr = first(["/usr/lib/syslinux/mbr/gptmbr.bin", "/usr/share/syslinux/gptmbr.bin", "/usr/lib/syslinux/bios/gptmbr.bin", "/usr/lib/syslinux/gptmbr.bin"]);
    needs.push({ what: "syslinux, its modules and gptmbr.bin", why: "boot the image by BIOS (RAWDISK_BOOT_EXCLUDE_SYSLINUX_LEGACY=yes leaves it out)", required: true, ...(installer && modulesDir && gptmbr ? { found: installer } : {}), hint: "install syslinux and syslinux-common (Debian/Ubuntu) or syslinux" });
    if (installer && modulesDir && gptmbr) r.syslinux = { installer, modulesDir, gptmbr };
  }
  if (o.uefi) {
    if (o.secureBoot || o.secureBootLoader) {
      const shim = o.secureBootLoader || first(["/usr/lib/shim/shimx64.efi.signed", "/boot/efi/EFI/debian/shimx64.efi", "/boot/efi/EFI/ubuntu/shimx64.efi"]);
      // Debian's signed GRUB for disks reads $prefix/grub.cfg with prefix /EFI/debian of its own partition
      const signedGrub = first(["/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"]);
      needs.push({ what: "shim and the signed GRUB", why: "boot the image with Secure Boot", required: true, ...(shim && signedGrub ? { found: shim } : {}), hint: "install shim-signed and grub-efi-amd64-signed, or set SECURE_BOOT_BOOTLOADER" });
      if (shim && signedGrub) r.secureBoot = { shim, signedGrub };
    } else {
      const mkimage = w("grub-mkimage") ?? w("grub2-mkimage");
      const grubDir = first(["/usr/lib/grub/x86_64-efi", "/usr/lib/grub2/x86_64-efi"].filter((d) => existsSync(join(d, "kernel.img"))));
      needs.push({ what: "grub-mkimage and GRUB for x86_64-efi", why: "boot the image by UEFI (RAWDISK_BOOT_EXCLUDE_GRUB2_EFI=yes leaves it out)", required: true, ...(mkimage && grubDir ? { found: `${mkimage}, ${grubDir}` } : {}), hint: "install grub-common and grub-efi-amd64-bin (Debian/Ubuntu) or grub2-tools and grub2-efi-x64-modules" });
      if (mkimage && grubDir) r.grub = { mkimage, grubDir };
    }
  }
  return r;
}

/** The FAT partition's size: ReaR's du × 1.07 + 1 MiB, then room for FAT's own tables: at least 33 MiB (FAT32's smallest). */
export function fatSizeMiB(contentBytes: number): number {
  return Math.max(33, Math.ceil((contentBytes * 1.1) / 1048576) + 4);
}

async function must(argv: string[], what: string): Promise<string> {
  const r = await exec(argv, { what });
  if (r.code !== 0) throw new CommandError(argv, r.code, r.stderr, what);
  return r.stdout;
}

export interface RawDiskInput {
  files: RawDiskBootFiles;
  workDir: string;
  kernel: string;
  initrd: string;
  initrdName: string;
  menu: Omit<MenuInput, "kernel" | "initrd">;
  /** RAWDISK_FAT_VOLUME_LABEL, RAWDISK_GPT_PARTITION_NAME */
  fatLabel: string;
  partName: string;
  /** the image, without compression suffix (…/rear-host.raw) */
  out: string;
  /** RAWDISK_IMAGE_COMPRESSION_COMMAND split ("" → none) */
  compress: string[];
  /** given the finished FAT partition (a file) before it is deleted: RAWDISK_INSTALL_GPT_PARTITION_NAME */
  onFat?: (fat: string, modes: { bios: boolean; uefi: boolean }) => Promise<void>;
}

/** Builds the image; returns the written file (0600), its size and the boot modes it has. */
export async function buildRawDisk(x: RawDiskInput): Promise<{ file: string; bytes: number; bios: boolean; uefi: boolean }> {
  const f = x.files;
  const stage = join(x.workDir, "rawdisk");
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, "boot"), { recursive: true });
  copyFileSync(x.kernel, join(stage, "kernel"));
  copyFileSync(x.initrd, join(stage, x.initrdName));
  const menu: MenuInput = { ...x.menu, kernel: "/kernel", initrd: `/${x.initrdName}` };
  let bios = false;
  if (f.syslinux) {
    mkdirSync(join(stage, "boot", "syslinux"), { recursive: true });
    for (const m of SYSLINUX_MODULES) copyFileSync(join(f.syslinux.modulesDir, m), join(stage, "boot", "syslinux", m));
    writeFileSync(join(stage, "boot", "syslinux", "syslinux.cfg"), isolinuxConfig(menu));
    bios = true;
  }
  let uefi = false;
  if (f.grub || f.secureBoot) {
    mkdirSync(join(stage, "EFI", "BOOT"), { recursive: true });
    mkdirSync(join(stage, "boot", "grub"), { recursive: true });
    const cfg = grubConfig(menu);
    writeFileSync(join(stage, "boot", "grub", "grub.cfg"), cfg);
    if (f.secureBoot) {
      copyFileSync(f.secureBoot.shim, join(stage, "EFI", "BOOT", "BOOTX64.EFI"));
      copyFileSync(f.secureBoot.signedGrub, join(stage, "EFI", "BOOT", "grubx64.efi"));
      // the signed GRUB's prefix is /EFI/debian on the partition it was started from
      mkdirSync(join(stage, "EFI", "debian"), { recursive: true });
      writeFileSync(join(stage, "EFI", "debian", "grub.cfg"), cfg);
    } else {
      // this image's partition, found by a file only it has (another rear medium may be attached too)
      const id = `rawdisk-${crypto.randomUUID()}.id`;
      writeFileSync(join(stage, "boot", "grub", id), "");
      const early = join(x.workDir, "rawdisk-early.cfg");
      writeFileSync(early, `search --no-floppy --file --set=root /boot/grub/${id}\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n`);
      await must([f.grub!.mkimage, "-O", "x86_64-efi", "-d", f.grub!.grubDir, "-o", join(stage, "EFI", "BOOT", "BOOTX64.EFI"), "-p", "/boot/grub", "-c", early, ...GRUB_EFI_MODULES], "making the GRUB EFI program");
    }
    uefi = true;
  }
  // the FAT partition as an image of its own, filled by mtools, then syslinux installed into it
  const du = Number((await must(["du", "-sb", stage], "measuring the rescue system")).split(/\s/)[0]);
  const fatMiB = fatSizeMiB(du);
  const fat = join(x.workDir, "rawdisk-fat.img");
  rmSync(fat, { force: true });
  await must([f.mkfsVfat!, "-C", "-F", "32", "-n", x.fatLabel.slice(0, 11), fat, String(fatMiB * 1024)], "making the FAT partition");
  await must(["sh", "-c", 'cd "$1" && exec "$2" -s -Q -i "$3" ./* ::/', "sh", stage, f.mcopy!, fat], "copying the rescue system into the FAT partition");
  if (f.syslinux) await must([f.syslinux.installer, "--install", "--directory", "/boot/syslinux", fat], "installing syslinux");
  // the disk: 1 MiB for the GPT, the partition, 1 MiB for the backup GPT
  const raw = `${x.out}.tmp-${process.pid}`;
  rmSync(raw, { force: true });
  writeFileSync(raw, "", { mode: 0o600 });
  try {
    return await assemble(x, raw, fat, fatMiB, { bios, uefi });
  } catch (e) {
    rmSync(raw, { force: true });
    rmSync(`${raw}.z`, { force: true });
    rmSync(fat, { force: true });
    throw e;
  }
}

async function assemble(x: RawDiskInput, raw: string, fat: string, fatMiB: number, modes: { bios: boolean; uefi: boolean }): Promise<{ file: string; bytes: number; bios: boolean; uefi: boolean }> {
  const f = x.files;
  await must(["truncate", "-s", `${fatMiB + 2}M`, raw], "making the disk image");
  // parted splits its arguments again: a name with blanks goes in double quotes (ReaR's "Rescue System")
  await must([f.parted!, "-s", raw, "mklabel", "gpt", "mkpart", `"${x.partName.replace(/"/g, "")}"`, "fat32", "1MiB", `${fatMiB + 1}MiB`, "set", "1", "esp", "on", "set", "1", "legacy_boot", "on"], "writing the image's GPT");
  await must(["dd", `if=${fat}`, `of=${raw}`, "bs=1M", "seek=1", "conv=notrunc", "status=none"], "writing the FAT partition into the image");
  if (f.syslinux) await must(["dd", `if=${f.syslinux.gptmbr}`, `of=${raw}`, "bs=440", "count=1", "conv=notrunc", "status=none"], "writing the syslinux GPT MBR");
  if (x.onFat) await x.onFat(fat, modes);
  rmSync(fat, { force: true });
  let file = x.out;
  if (x.compress.length) {
    const suffix = { gzip: ".gz", pigz: ".gz", xz: ".xz", zstd: ".zst", bzip2: ".bz2", lz4: ".lz4" }[x.compress[0]!.replace(/^.*\//, "")] ?? `.${x.compress[0]!.replace(/^.*\//, "")}`;
    file = `${x.out}${suffix}`;
    const tmp = `${raw}.z`;
    writeFileSync(tmp, "", { mode: 0o600 });
    // RAWDISK_IMAGE_COMPRESSION_COMMAND as ReaR runs it: the command, -c, the image on stdin
    await must(["sh", "-c", 'in="$1"; out="$2"; shift 2; "$@" -c < "$in" > "$out"', "sh", raw, tmp, ...x.compress], "compressing the disk image");
    rmSync(raw, { force: true });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } else {
    chmodSync(raw, 0o600);
    renameSync(raw, file);
  }
  return { file, bytes: statSync(file).size, ...modes };
}

