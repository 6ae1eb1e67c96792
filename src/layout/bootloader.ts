// Which boot loader the machine uses (ReaR layout/save/default/445_guess_bootloader.sh), written to
// recovery/bootloader for recover: BOOTLOADER when set; LOADER_TYPE of /etc/sysconfig/bootloader; else
// the first known name in the printable strings of the first 4 sectors of each disk (a GPT disk with a
// BIOS boot partition shows "Hah!IdontNeedEFI"; a LUKS header is skipped).
// Pure.

export interface BootSector {
  device: string;
  bytes: Uint8Array;
}

/** `strings`: runs of at least 4 printable characters. */
export function printableStrings(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let cur = "";
  for (const b of bytes) {
    if ((b >= 0x20 && b < 0x7f) || b === 0x09) cur += String.fromCharCode(b);
    else {
      if (cur.length >= 4) out.push(cur);
      cur = "";
    }
  }
  if (cur.length >= 4) out.push(cur);
  return out;
}

export interface BootloaderGuess {
  bootloader?: string;
  why: string;
}

export function guessBootloader(setting: string, sysconfig: string | undefined, sectors: readonly BootSector[]): BootloaderGuess {
  if (setting) return { bootloader: setting.toUpperCase(), why: `Using specified bootloader '${setting}' for 'rear recover'` };
  const loaderType = (sysconfig ?? "").split("\n").filter((l) => l.startsWith("LOADER_TYPE")).map((l) => l.split("=")[1]?.replace(/"/g, "") ?? "").pop();
  if (loaderType) return { bootloader: loaderType.toUpperCase(), why: `Using sysconfig bootloader '${loaderType}' for 'rear recover'` };
  for (const s of sectors) {
    const text = printableStrings(s.bytes).join("\n");
    const has = (w: string) => text.toLowerCase().includes(w.toLowerCase());
    if (text.includes("LUKS")) continue;
    if (text.includes("Hah!IdontNeedEFI")) {
      for (const b of ["GRUB2", "GRUB", "ELILO", "LILO", "ZIPL"]) if (has(b)) return { bootloader: b, why: `Using guessed bootloader '${b}' for 'rear recover' (found in first bytes on ${s.device} with GPT BIOS boot partition)` };
      continue;
    }
    for (const b of ["GRUB2-EFI", "EFI", "GRUB2", "GRUB", "ELILO", "LILO", "ZIPL"]) if (has(b)) return { bootloader: b, why: `Using guessed bootloader '${b}' for 'rear recover' (found in first bytes on ${s.device})` };
  }
  return { why: "Cannot autodetect what is used as bootloader, see default.conf about 'BOOTLOADER'" };
}

/**
 * What layout.json says beside ReaR's word: on UEFI, which EFI programs the ESP holds (ReaR 2.7 writes
 * "EFI" for any GPT disk it cannot place; recover then has to find GRUB or shim itself).
 */
export function describeUefiLoader(espFiles: readonly string[]): string | undefined {
  const has = (re: RegExp) => espFiles.some((f) => re.test(f));
  if (has(/\/shim(x64|aa64|ia32)?\.efi$/i)) return "GRUB2-EFI with shim (Secure Boot)";
  if (has(/\/grub(x64|aa64|ia32)?\.efi$/i)) return "GRUB2-EFI";
  if (has(/\/systemd-boot(x64|aa64|ia32)\.efi$/i)) return "systemd-boot";
  return espFiles.length ? "EFI (unknown loader)" : undefined;
}
