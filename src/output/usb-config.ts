// The boot menus of an OUTPUT=USB medium (ReaR's output/USB/Linux-i386/300_create_extlinux.sh,
// 300_create_grub.sh, 100_create_efiboot.sh): every kept rescue system under rear/<host>/<timestamp>/,
// newest first. Better than ReaR 2.7, whose default entry on Debian 12 is a hidden label that extlinux
// cannot load ("failed: No such file or directory", bench/results/findings.md): every label here names its
// kernel and initrd itself, and ISO_DEFAULT / ISO_RECOVER_MODE choose the newest system's entry, so an
// unattended recovery starts from the stick without anyone editing the menu. Pure.

import { GRUB_EFI_MODULES, defaultLabel, type MenuInput } from "./iso-config.ts";

export interface UsbSystem {
  /** on the data partition, without a leading slash: rear/<host>/<timestamp> */
  dir: string;
  /** the file names in it */
  kernel: string;
  initrd: string;
}

/** The ISO's menu settings (host, cmdline, ISO_DEFAULT, recover mode, timeout, serial, version) for every
 *  kept rescue system, and the data partition's label (GRUB finds it by that). */
export type UsbMenuInput = Omit<MenuInput, "kernel" | "initrd"> & {
  /** newest first */
  systems: UsbSystem[];
  label: string;
};

/** rear/<host>/<YYYYmmdd.HHMM> (ReaR's USB_PREFIX), or rear/<host>/<USB_SUFFIX>. */
export function usbPrefix(host: string, suffix: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}.${p(now.getHours())}${p(now.getMinutes())}`;
  return `rear/${host}/${suffix || stamp}`;
}

/**
 * The menu's default entry. USB_RECOVER_MODE (new) or ISO_RECOVER_MODE set means the stick is meant to
 * recover by itself: its automatic entry is the default even though ISO_DEFAULT keeps ReaR's default
 * "boothd" (ReaR 2.7 would boot the local disk after 30 s, and the blank disk of a machine to recover
 * boots nothing). Any other ISO_DEFAULT (manual, automatic, boothd0, boothd1) is the user's choice.
 */
export function usbMenuDefault(isoDefault: string, recoverMode: string): string {
  if (!isoDefault) return recoverMode ? "automatic" : "boothd";
  return isoDefault === "boothd" && recoverMode ? "automatic" : isoDefault;
}

/** USB_RETAIN_BACKUP_NR: which of the rescue systems (their directory names) stay; the one just written always does. */
export function retention(names: readonly string[], current: string, keep: number): { keep: string[]; remove: string[] } {
  const others = names.filter((n) => n !== current).sort().reverse();
  const n = Math.max(0, keep - 1);
  return { keep: [current, ...others.slice(0, n)], remove: others.slice(n) };
}

const words = (...parts: string[]): string => parts.map((p) => p.trim()).filter(Boolean).join(" ");
const when = (dir: string) => dir.split("/").pop() ?? dir;

export function extlinuxConfig(m: UsbMenuInput): string {
  const def = defaultLabel(m.isoDefault);
  const auto = words("auto_recover", m.recoverMode);
  const L = [
    `# Relax-and-Recover ${m.version} rescue systems for ${m.host} (written by rear: edits are lost at the next run)`,
    ...(m.serial ? [`serial ${m.serial.unit} ${m.serial.speed}`] : []),
    "ui menu.c32",
    `menu title Relax-and-Recover (${m.host})`,
    "prompt 0",
    `timeout ${Math.round(m.timeoutSec * 10)}`,
    `default ${def === "boothd0" ? "boothd" : def === "rear" ? "rear-0" : "rear-automatic-0"}`,
    "",
  ];
  m.systems.forEach((s, i) => {
    const k = `/${s.dir}/${s.kernel}`;
    const r = `/${s.dir}/${s.initrd}`;
    L.push(`label rear-${i}`, `  menu label ${i === 0 ? "^Recover" : "Recover"} ${m.host} (${when(s.dir)}${i === 0 ? ", newest" : ""})`, `  kernel ${k}`, `  append ${words(`initrd=${r}`, m.cmdline)}`, "");
    if (i === 0) L.push("label rear-automatic-0", `  menu label ^Automatic Recover ${m.host} (${when(s.dir)})`, `  kernel ${k}`, `  append ${words(`initrd=${r}`, m.cmdline, auto)}`, "");
  });
  // from a USB stick the machine's own disk is the BIOS's second one
  L.push("label boothd", "  menu label Boot the ^local disk (hd1)", "  com32 chain.c32", "  append hd1", "");
  return `${L.join("\n")}\n`;
}

/** GRUB's config on the data partition (UEFI): the same entries; the EFI program on the ESP finds it by label. */
export function usbGrubConfig(m: UsbMenuInput): string {
  const def = defaultLabel(m.isoDefault);
  const auto = words("auto_recover", m.recoverMode);
  const L = [
    `# Relax-and-Recover ${m.version} rescue systems for ${m.host} (written by rear)`,
    ...(m.serial ? [`serial --unit=${m.serial.unit} --speed=${m.serial.speed}`, "terminal_input serial console", "terminal_output serial console"] : []),
    `search --no-floppy --label --set=root ${m.label}`,
    `set default=${def === "boothd0" ? "boothd" : def === "rear" ? "rear-0" : "rear-automatic-0"}`,
    `set timeout=${m.timeoutSec}`,
    "",
  ];
  m.systems.forEach((s, i) => {
    const entry = (id: string, title: string, extra: string) => [
      `menuentry "${title}" --id ${id} {`,
      `  echo "Loading the Relax-and-Recover rescue system ${when(s.dir)} ..."`,
      `  linux /${s.dir}/${s.kernel} ${words(m.cmdline, extra)}`.trimEnd(),
      `  initrd /${s.dir}/${s.initrd}`,
      "}",
    ];
    L.push(...entry(`rear-${i}`, `Recover ${m.host} (${when(s.dir)}${i === 0 ? ", newest" : ""})`, ""));
    if (i === 0) L.push(...entry("rear-automatic-0", `Automatic Recover ${m.host} (${when(s.dir)})`, auto));
  });
  L.push(`menuentry "Boot from the local disk (next UEFI boot entry)" --id boothd {`, "  exit", "}", `menuentry "Reboot" --id reboot {`, "  reboot", "}", "");
  return `${L.join("\n")}\n`;
}

/** The config inside BOOTX64.EFI on the ESP: the data partition by its label, its grub.cfg. */
export function usbGrubEarlyConfig(label: string): string {
  return `search --no-floppy --label --set=root ${label}\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n`;
}

/** GRUB modules for the USB medium's EFI program: the ISO's, and ext2 (the data partition), btrfs and xfs. */
export const USB_GRUB_EFI_MODULES = [...GRUB_EFI_MODULES.filter((m) => m !== "iso9660"), "ext2", "btrfs", "xfs"];
