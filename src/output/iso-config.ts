// The boot menus and the xorriso command of the rescue ISO (ReaR output/ISO/Linux-i386/: isolinux for
// BIOS with ReaR's labels, GRUB for UEFI), as text and argv. Pure.
//
// Menu entries, as ReaR's make_syslinux_config / create_grub2_cfg:
//   rear            "Recover <host>"            the rescue system, `rear recover` by hand
//   rear-automatic  "Automatic Recover <host>"  adds `auto_recover` and ISO_RECOVER_MODE (e.g. unattended)
//   boothd0/1       "Boot first/second local disk"
// ISO_DEFAULT: manual → rear, automatic → rear-automatic (5 s timeout, as ReaR), boothd → boothd0.

export interface MenuInput {
  host: string;
  /** paths on the ISO */
  kernel: string;
  initrd: string;
  /** the kernel command line of every rescue entry (KERNEL_CMDLINE and console= arguments) */
  cmdline: string;
  /** ISO_DEFAULT: manual | automatic | boothd */
  isoDefault: string;
  /** ISO_RECOVER_MODE: "" | unattended | automatic */
  recoverMode: string;
  /** seconds before the default entry boots */
  timeoutSec: number;
  /** a serial console for the boot loader's menu: unit and speed, from console=ttySN,SPEED */
  serial?: { unit: number; speed: number };
  version: string;
  /** GRUB2_DEFAULT_BOOT (UEFI menu; "" follows ISO_DEFAULT): rear, rear_secure_boot, chainloader, reboot, exit */
  grubDefault?: string;
  /** GRUB2_TIMEOUT (seconds; the UEFI menu's, else timeoutSec) */
  grubTimeoutSec?: number;
}

export function defaultLabel(isoDefault: string): "rear" | "rear-automatic" | "boothd0" {
  if (/^auto/.test(isoDefault)) return "rear-automatic";
  if (/^manual/.test(isoDefault)) return "rear";
  return "boothd0";
}

/** ReaR waits 5 s for the automatic entry (it is the point of it), else ISO_SYSLINUX_TIMEOUT or USER_INPUT_TIMEOUT. */
export function menuTimeout(isoDefault: string, syslinuxTimeout: string, userInputTimeout: string): number {
  if (/^auto/.test(isoDefault)) return 5;
  const n = Number(syslinuxTimeout || userInputTimeout || 300);
  return Number.isFinite(n) && n >= 0 ? n : 300;
}

const words = (...parts: string[]): string => parts.map((p) => p.trim()).filter(Boolean).join(" ");

function automaticArgs(m: MenuInput): string {
  return ["auto_recover", m.recoverMode].filter(Boolean).join(" ");
}

/** The serial console of the first console=ttyS… of a kernel command line (the boot loader shows its menu there too). */
export function serialFromCmdline(cmdline: string): { unit: number; speed: number } | undefined {
  const m = /(?:^|\s)console=ttyS(\d+)(?:,(\d+))?/.exec(cmdline);
  return m ? { unit: Number(m[1]), speed: Number(m[2] ?? 9600) } : undefined;
}

export function isolinuxConfig(m: MenuInput): string {
  const def = defaultLabel(m.isoDefault);
  const lines = [
    `# Relax-and-Recover ${m.version} rescue system for ${m.host}`,
    ...(m.serial ? [`serial ${m.serial.unit} ${m.serial.speed}`] : []),
    "ui menu.c32",
    `menu title Relax-and-Recover rescue system (${m.host})`,
    "prompt 0",
    `timeout ${Math.round(m.timeoutSec * 10)}`,
    `default ${def}`,
    "",
    "label rear",
    `  menu label ^Recover ${m.host}`,
    ...(def === "rear" ? ["  menu default"] : []),
    `  kernel ${m.kernel}`,
    `  append ${words(`initrd=${m.initrd}`, m.cmdline)}`,
    "",
    "label rear-automatic",
    `  menu label ^Automatic Recover ${m.host}`,
    ...(def === "rear-automatic" ? ["  menu default"] : []),
    `  kernel ${m.kernel}`,
    `  append ${words(`initrd=${m.initrd}`, m.cmdline, automaticArgs(m))}`,
    "",
    "label boothd0",
    "  menu label Boot First ^Local disk (hd0)",
    ...(def === "boothd0" ? ["  menu default"] : []),
    "  localboot 0x80",
    "",
    "label boothd1",
    "  menu label Boot ^Second Local disk (hd1)",
    "  localboot 0x81",
    "",
  ];
  return `${lines.join("\n")}\n`;
}

/** grub.cfg on the ISO (UEFI; the early config embedded in the EFI image finds the ISO and loads it). */
export function grubConfig(m: MenuInput): string {
  const def = defaultLabel(m.isoDefault);
  // GRUB2_DEFAULT_BOOT as ReaR names its entries: "rear" is ours that ISO_DEFAULT picks among the two rescue ones
  const rescue = def === "rear-automatic" ? 1 : 0;
  const index = m.grubDefault ? ({ rear: rescue, rear_secure_boot: rescue, chainloader: 2, exit: 2, reboot: 3 } as Record<string, number>)[m.grubDefault] ?? 2 : def === "rear" ? 0 : def === "rear-automatic" ? 1 : 2;
  const lines = [
    `# Relax-and-Recover ${m.version} rescue system for ${m.host}`,
    ...(m.serial ? [`serial --unit=${m.serial.unit} --speed=${m.serial.speed}`, "terminal_input serial console", "terminal_output serial console"] : []),
    `set default=${index}`,
    `set timeout=${m.grubTimeoutSec ?? m.timeoutSec}`,
    "",
    `menuentry "Recover ${m.host}" --id rear {`,
    `  echo "Loading the Relax-and-Recover rescue system ..."`,
    `  linux ${words(m.kernel, m.cmdline)}`,
    `  initrd ${m.initrd}`,
    "}",
    `menuentry "Automatic Recover ${m.host}" --id rear-automatic {`,
    `  echo "Loading the Relax-and-Recover rescue system ..."`,
    `  linux ${words(m.kernel, m.cmdline, automaticArgs(m))}`,
    `  initrd ${m.initrd}`,
    "}",
    // on UEFI "the local disk" is the firmware's next boot entry: leave GRUB and let it go on
    `menuentry "Boot from the local disk (next UEFI boot entry)" --id boothd0 {`,
    "  exit",
    "}",
    `menuentry "Reboot" --id reboot {`,
    "  reboot",
    "}",
    `menuentry "Power off" --id poweroff {`,
    "  halt",
    "}",
    "",
  ];
  return `${lines.join("\n")}\n`;
}

/** The config embedded in the EFI image: find this ISO by its volume UUID (the modification date we gave xorriso), load its grub.cfg. */
export function grubEarlyConfig(isoUuid: string): string {
  return `search --no-floppy --set=root --fs-uuid ${isoUuid}\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n`;
}

/** GRUB modules of the EFI image: ISO and FAT access, the search, the Linux loader, menus, serial. */
export const GRUB_EFI_MODULES = [
  "part_gpt", "part_msdos", "fat", "iso9660", "search", "search_fs_uuid", "search_fs_file", "search_label", "normal", "configfile",
  "linux", "echo", "test", "all_video", "gfxterm", "font", "serial", "terminal", "boot", "ls", "cat", "reboot", "halt", "chain",
] as const;

/**
 * xorriso's date-based volume "UUID": `--modification-date=YYYYMMDDhhmmsscc` makes GRUB see
 * YYYY-MM-DD-hh-mm-ss-cc (grub-mkrescue does the same).
 */
export function isoDateStamp(d: Date): { modificationDate: string; uuid: string } {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const parts = [p(d.getUTCFullYear(), 4), p(d.getUTCMonth() + 1), p(d.getUTCDate()), p(d.getUTCHours()), p(d.getUTCMinutes()), p(d.getUTCSeconds()), p(Math.floor(d.getUTCMilliseconds() / 10))];
  return { modificationDate: parts.join(""), uuid: parts.join("-") };
}

export interface XorrisoInput {
  xorriso: string;
  out: string;
  volid: string;
  dir: string;
  modificationDate: string;
  /** BIOS: isolinux.bin path on the ISO and the hybrid MBR template on the host */
  bios?: { isolinuxBin: string; bootCat: string; hybridMbr: string };
  /** UEFI: the FAT image path on the ISO */
  efiImage?: string;
  extraOpts: readonly string[];
}

/** ReaR's 820_create_iso_image.sh with xorriso's mkisofs emulation, plus a hybrid MBR/GPT so the ISO also boots from a USB stick. */
export function xorrisoArgs(x: XorrisoInput): string[] {
  const a = [x.xorriso, "-as", "mkisofs", "-o", x.out, "-V", x.volid, "-R", "-J", "-joliet-long", "-iso-level", "3", `--modification-date=${x.modificationDate}`];
  if (x.bios) a.push("-b", x.bios.isolinuxBin, "-c", x.bios.bootCat, "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-isohybrid-mbr", x.bios.hybridMbr);
  if (x.efiImage) a.push(...(x.bios ? ["-eltorito-alt-boot"] : []), "-e", x.efiImage, "-no-emul-boot", ...(x.bios ? ["-isohybrid-gpt-basdat"] : []));
  a.push(...x.extraOpts, x.dir);
  return a;
}
