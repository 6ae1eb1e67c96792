// Rescue media the recover machine boots that are neither a CD nor the USB disk: the OUTPUT=RAWDISK image
// (attached as the first boot disk) and OUTPUT=PXE's files (served by QEMU's TFTP server on the user
// network). What the source machine wrote comes out of its job as rescue.raw.gz or tftp.tar.

import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { sh } from "./sh.ts";

function sha256File(p: string): string {
  return createHash("sha256").update(readFileSync(p)).digest("hex");
}

/** The RAWDISK image, checked and unpacked beside the run; its compressed size is the figure. */
export async function prepareRawdisk(outDir: string, dir: string): Promise<{ image: string; bytes: number } | { failure: string }> {
  const gz = join(outDir, "rescue.raw.gz");
  if (!existsSync(gz)) return { failure: "no disk image in /var/lib/rear/output (OUTPUT=RAWDISK)" };
  const want = existsSync(`${gz}.sha256`) ? readFileSync(`${gz}.sha256`, "utf8").trim() : "";
  if (want !== sha256File(gz)) return { failure: "the disk image arrived damaged: harness bug, not the tool's" };
  const image = join(dir, "rescue.raw");
  await sh(["sh", "-c", `gzip -dc '${gz}' > '${image}'`]);
  return { image, bytes: statSync(gz).size };
}

/** The TFTP tree for QEMU: what OUTPUT=PXE wrote, pxelinux from this host when the guest had none, and for UEFI a
 *  GRUB network EFI program whose prefix is pxelinux.cfg/ (GRUB then reads grub.cfg-01-<mac> there by itself). */
export async function preparePxe(outDir: string, dir: string, firmware: "bios" | "uefi"): Promise<{ tftp: string; bootfile: string; bytes: number } | { failure: string }> {
  const tar = join(outDir, "tftp.tar");
  if (!existsSync(tar)) return { failure: "no pxelinux.cfg in /var/lib/rear/output (OUTPUT=PXE)" };
  const tftp = join(dir, "tftp");
  mkdirSync(tftp, { recursive: true });
  await sh(["tar", "-C", tftp, "-xf", tar]);
  if (firmware === "bios") {
    for (const [f, src] of [["pxelinux.0", "/usr/lib/PXELINUX/pxelinux.0"], ["ldlinux.c32", "/usr/lib/syslinux/modules/bios/ldlinux.c32"]] as const) {
      if (!existsSync(join(tftp, f))) {
        if (!existsSync(src)) return { failure: `${src} is missing on this host (apt-get install pxelinux syslinux-common)` };
        copyFileSync(src, join(tftp, f));
      }
    }
    return { tftp, bootfile: "pxelinux.0", bytes: statSync(tar).size };
  }
  const grubDir = "/usr/lib/grub/x86_64-efi";
  if (!existsSync(join(grubDir, "kernel.img"))) return { failure: `${grubDir} is missing on this host (apt-get install grub-efi-amd64-bin)` };
  await sh(["grub-mkimage", "-O", "x86_64-efi", "-d", grubDir, "-o", join(tftp, "grubnetx64.efi"), "-p", "(tftp)/pxelinux.cfg",
    "efinet", "tftp", "net", "normal", "configfile", "linux", "echo", "test", "search", "serial", "terminal", "boot", "ls", "cat", "reboot", "halt", "all_video"]);
  return { tftp, bootfile: "grubnetx64.efi", bytes: statSync(tar).size };
}
