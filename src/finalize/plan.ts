// What finalize must do to make the restored tree boot (reference §9.5, ../shared/reference/finalize.md),
// decided from data only: the recreated layout, the mapping and UUID changes, what the restored system
// holds, and the firmware. Every step says why it runs or why not, so `recover --dry-run` and the log
// can show the reasoning. Pure.
//
// Differences from ReaR 2.7 on purpose:
// - the initramfs is rebuilt only when something it depends on changed (ReaR's default REBUILD_INITRAMFS
//   =yes rebuilds it on identical hardware: 551 of 777 s of a bios-lvm recovery in our baseline);
// - GRUB goes on the disks that hold /boot (or /), every member of an MD mirror included, after mapping;
//   on UEFI the NVRAM entry is created for the loader the restored ESP holds (shim first), and the
//   removable fallback path \EFI\BOOT\BOOTX64.EFI is filled unless another loader is already there.

import { buildDeps } from "../layout/deps.ts";
import { activeEntries, type Entry, type LayoutDoc } from "../layout/model.ts";

export type InitramfsTool = "update-initramfs" | "dracut" | "mkinitrd";

export interface FinalizeInput {
  /** the layout as recreated: mapped and resized (the plan's layout) */
  layout: LayoutDoc;
  /** saved disk → disk now (identity entries for unchanged disks) */
  mapping: Readonly<Record<string, string>>;
  /** filesystem/swap UUIDs that could not be kept: old → new */
  uuidChanges: Readonly<Record<string, string>>;
  /** firmware of the machine being recovered */
  uefi: boolean;
  /** recovery/bootloader: GRUB2, GRUB, EFI, GRUB2-EFI, … */
  bootloader: string;
  /** GRUB2_INSTALL_DEVICES, mapped through the disk mapping by the caller */
  grubInstallDevices: readonly string[];
  /** LUKS volumes the layout made with a temporary key because crypttab opens them with a key file that
   *  only exists after the restore (ReaR's 240_reassign_luks_keyfiles.sh) */
  luksKeyfiles?: readonly { name: string; keyfile: string }[];
  /** REBUILD_INITRAMFS: "yes"/"no" words, or "" for "when needed" */
  rebuildInitramfs: string;
  /** storage drivers the target's disks need that the source's did not (recovery/storage_drivers): its initramfs may lack them */
  newDrivers: readonly string[];
  /** what the restored system has (relative paths exist below the target root) */
  target: {
    initramfsTool?: InitramfsTool;
    /** grub-install or grub2-install, inside the target */
    grubInstall?: string;
    /** GRUB's x86_64-efi modules are in the target (/usr/lib/grub/x86_64-efi): grub-install can fill an empty ESP */
    grubEfi?: boolean;
    grubMkconfig?: string;
    /** where grub.cfg lives: boot/grub/grub.cfg or boot/grub2/grub.cfg */
    grubCfg?: string;
    /** EFI files on the restored ESP, relative to the ESP mountpoint ("EFI/debian/shimx64.efi", …) */
    espFiles: readonly string[];
    /** the source had SELinux enforcing or permissive */
    selinux: boolean;
  };
}

export interface FinalizeStep {
  id: string;
  /** what it does, one line */
  what: string;
  /** why it runs, or why it does not */
  why: string;
  run: boolean;
  /**
   * Run only if the rewrite step changed a file: disks that only moved (same UUIDs, same drivers) matter
   * to the initramfs and GRUB's configuration only when a file they are made from names a moved device.
   * Decided when the step's turn comes (finalize), after the rewrite ran.
   */
  onlyIfRewritten?: boolean;
}

export interface BootTarget {
  /** disks GRUB's boot code goes on (BIOS) */
  biosDisks: string[];
  /** the ESP (UEFI) */
  esp?: { mountpoint: string; device: string; disk: string; partNumber: number };
  /** the EFI program the NVRAM entry starts, ESP-relative with backslashes (\EFI\debian\shimx64.efi) */
  efiLoader?: string;
  /** the ESP-relative directory of that loader (EFI/debian) */
  efiDir?: string;
}

export interface FinalizePlan {
  steps: FinalizeStep[];
  boot: BootTarget;
  initramfs: { rebuild: boolean; why: string };
  /** the tools of the restored system the steps use */
  target: FinalizeInput["target"];
}

const TRUE = /^(y|yes|true|1)$/i;
const FALSE = /^(n|no|false|0)$/i;

/** The partition number of a partition device (sda2 → 2, nvme0n1p3 → 3, mmcblk0p1 → 1), from its part entry. */
function partNumber(partDevice: string, disk: string): number | undefined {
  const rest = partDevice.startsWith(disk) ? partDevice.slice(disk.length).replace(/^p/, "") : (/(\d+)$/.exec(partDevice)?.[1] ?? "");
  const n = Number(rest);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Every disk below a component (through partitions, RAID members, LUKS, LVM). */
export function disksBelow(entries: readonly Entry[], id: string): string[] {
  const g = buildDeps(entries);
  const disks: string[] = [];
  const seen = new Set<string>();
  const queue = [id];
  while (queue.length) {
    const cur = queue.shift()!;
    if (seen.has(cur)) continue;
    seen.add(cur);
    const e = g.entries.get(cur);
    if (e?.kw === "disk") disks.push(e.device);
    for (const n of g.needs.get(cur) ?? []) queue.push(n);
  }
  return disks.sort();
}

/** The fs entry a path lives on: the longest mountpoint that is a prefix of it. */
function fsFor(entries: readonly Entry[], path: string): Extract<Entry, { kw: "fs" }> | undefined {
  let best: Extract<Entry, { kw: "fs" }> | undefined;
  for (const e of entries) {
    if (e.kw !== "fs") continue;
    const mp = e.mountpoint;
    if ((path === mp || path.startsWith(mp === "/" ? "/" : `${mp}/`)) && (!best || mp.length > best.mountpoint.length)) best = e;
  }
  return best;
}

/** The loader the NVRAM entry should start: shim when the ESP holds one next to GRUB, else GRUB (ReaR's UEFI_BOOTLOADER search). */
export function chooseEfiLoader(espFiles: readonly string[]): { dir: string; file: string } | undefined {
  const byPref = [/^EFI\/(?!BOOT\/)[^/]+\/shimx64\.efi$/i, /^EFI\/(?!BOOT\/)[^/]+\/grubx64\.efi$/i, /^EFI\/BOOT\/BOOTX64\.EFI$/i];
  for (const re of byPref) {
    const f = espFiles.filter((x) => re.test(x)).sort()[0];
    if (f) return { dir: f.slice(0, f.lastIndexOf("/")), file: f.slice(f.lastIndexOf("/") + 1) };
  }
  return undefined;
}

export function bootTargets(input: Pick<FinalizeInput, "layout" | "uefi" | "grubInstallDevices" | "target">): BootTarget {
  const entries = activeEntries(input.layout);
  const out: BootTarget = { biosDisks: [] };
  if (input.uefi) {
    const esp = fsFor(entries, "/boot/efi/EFI") ?? fsFor(entries, "/efi/EFI");
    if (esp && esp.fstype === "vfat" && esp.mountpoint !== "/") {
      const part = entries.find((e) => e.kw === "part" && e.device === esp.device);
      if (part && part.kw === "part") {
        const n = partNumber(part.device, part.disk);
        if (n !== undefined) out.esp = { mountpoint: esp.mountpoint, device: esp.device, disk: part.disk, partNumber: n };
      }
    }
    const loader = chooseEfiLoader(input.target.espFiles);
    if (loader) {
      out.efiDir = loader.dir;
      out.efiLoader = `\\${loader.dir.replace(/\//g, "\\")}\\${loader.file}`;
    }
    return out;
  }
  if (input.grubInstallDevices.length) {
    out.biosDisks = [...input.grubInstallDevices];
    return out;
  }
  const boot = fsFor(entries, "/boot/grub") ?? fsFor(entries, "/");
  if (boot) out.biosDisks = disksBelow(entries, `fs:${boot.mountpoint}`);
  return out;
}

export function initramfsDecision(input: Pick<FinalizeInput, "rebuildInitramfs" | "newDrivers" | "uuidChanges" | "mapping" | "target">): { rebuild: boolean; why: string; onlyIfRewritten?: boolean } {
  if (FALSE.test(input.rebuildInitramfs)) return { rebuild: false, why: "REBUILD_INITRAMFS=no" };
  if (!input.target.initramfsTool) return { rebuild: false, why: "the restored system has none of update-initramfs, dracut or mkinitrd" };
  if (TRUE.test(input.rebuildInitramfs)) return { rebuild: true, why: "REBUILD_INITRAMFS=yes" };
  if (input.newDrivers.length) return { rebuild: true, why: `the disks of now need storage drivers the source's did not (${input.newDrivers.join(", ")}): its initramfs may not have them` };
  const uuids = Object.keys(input.uuidChanges).length;
  if (uuids) return { rebuild: true, why: `${uuids} filesystem UUID(s) changed: the initramfs may look for the old ones` };
  const moved = Object.entries(input.mapping).filter(([a, b]) => a !== b);
  if (moved.length) {
    return { rebuild: true, onlyIfRewritten: true, why: `the disks are not the source's (${moved.map(([a, b]) => `${a} → ${b}`).join(", ")}): the initramfs is made anew if a file it is built from (fstab, crypttab, mdadm.conf, …) named a moved device` };
  }
  return { rebuild: false, why: "same disks, same UUIDs, same drivers: the restored initramfs fits (REBUILD_INITRAMFS=yes forces it)" };
}

export function planFinalize(input: FinalizeInput): FinalizePlan {
  const boot = bootTargets(input);
  const initramfs = initramfsDecision(input);
  const renamed = Object.entries(input.mapping).some(([a, b]) => a !== b) || Object.keys(input.uuidChanges).length > 0;
  const steps: FinalizeStep[] = [];
  const add = (id: string, what: string, run: boolean, why: string, onlyIfRewritten = false) => steps.push({ id, what, run, why, ...(run && onlyIfRewritten ? { onlyIfRewritten } : {}) });
  add("bind-mounts", `bind-mount /proc /sys /dev /run${input.uefi ? " and efivarfs" : ""} into the target`, true, "the boot loader and initramfs tools run in the restored system (chroot)");
  if (input.luksKeyfiles?.length) {
    add(
      "luks-keyfiles",
      `give the LUKS volumes their restored key files (${input.luksKeyfiles.map((k) => `${k.name}: ${k.keyfile}`).join(", ")}) and remove the temporary keys`,
      true,
      "crypttab opens them with these key files at boot; they were created with a random key because the files only exist after the restore",
    );
  }
  add("rewrite-devices", "rewrite device names and UUIDs in fstab, crypttab, the boot loader's configuration, mdadm.conf, LVM's devices file", renamed, renamed ? "disks or UUIDs changed" : "same disk names and UUIDs as the source: nothing names a device that is gone");
  add("initramfs", `rebuild the initramfs with ${input.target.initramfsTool ?? "the distribution's tool"}`, initramfs.rebuild, initramfs.why, initramfs.onlyIfRewritten);
  const grub = /GRUB/i.test(input.bootloader) || input.bootloader === "EFI" || input.uefi;
  const mkconfig = renamed && !!input.target.grubMkconfig && !!input.target.grubCfg;
  // only disk names moved (UUIDs the same): GRUB finds its files by UUID; its configuration is made anew
  // only if a file it is made from (/etc/default/grub, fstab, …) named a moved device
  const namesOnly = Object.keys(input.uuidChanges).length === 0;
  add(
    "grub-mkconfig",
    `${input.target.grubMkconfig ?? "grub-mkconfig"} -o /${input.target.grubCfg ?? "boot/grub/grub.cfg"}`,
    mkconfig,
    mkconfig ? (namesOnly ? "disk names changed: made anew if a file GRUB's configuration is made from named a moved device" : "UUIDs GRUB's configuration uses changed") : renamed ? "the restored system has no grub-mkconfig" : "GRUB's configuration names the same devices and UUIDs as before",
    namesOnly,
  );
  if (input.uefi) {
    // an ESP restored without a loader (left out of the backup, or a new, empty one): GRUB (with shim when
    // the restored system has it: Debian's grub-install copies it) is installed into it first
    const fill = !!boot.esp && !boot.efiLoader && grub && !!input.target.grubInstall && !!input.target.grubEfi;
    add(
      "grub-install-efi",
      `${input.target.grubInstall ?? "grub-install"} --target=x86_64-efi into the ESP${boot.esp ? ` at /${boot.esp.mountpoint.replace(/^\//, "")}` : ""}`,
      fill,
      fill ? "the restored ESP holds no boot loader" : boot.efiLoader ? `the restored ESP holds ${boot.efiLoader}` : !boot.esp ? "no vfat ESP in the layout" : "the restored system has no grub-install with x86_64-efi modules",
    );
    if (fill) {
      boot.efiLoader = "(the loader grub-install puts on the ESP)";
    }
    const ok = !!boot.esp && !!boot.efiLoader;
    add("efibootmgr", boot.esp && boot.efiLoader ? `NVRAM entry for ${boot.efiLoader} on ${boot.esp.disk} partition ${boot.esp.partNumber}` : "NVRAM entry for the restored EFI loader", ok, ok ? "a new machine's NVRAM has no entry for the recovered system" : !boot.esp ? "no vfat ESP mounted at /boot/efi or /efi in the layout" : "the restored ESP holds no shimx64.efi, grubx64.efi or BOOTX64.EFI");
    add("efi-fallback", "copy the loader to \\EFI\\BOOT\\BOOTX64.EFI (the removable path firmware tries without NVRAM)", ok && boot.efiDir?.toUpperCase() !== "EFI/BOOT", ok ? (boot.efiDir?.toUpperCase() === "EFI/BOOT" ? "the loader already is the fallback" : "the disk must boot on a machine with blank NVRAM too (unless another loader is already there)") : "no loader to copy");
  } else {
    const ok = grub && !!input.target.grubInstall && boot.biosDisks.length > 0;
    add("grub-install", `${input.target.grubInstall ?? "grub-install"} on ${boot.biosDisks.join(" ") || "(no disk)"}`, ok, ok ? "the recreated disks have no boot code" : !grub ? `BOOTLOADER=${input.bootloader} is not installed by this version` : !input.target.grubInstall ? "the restored system has no grub-install or grub2-install" : "no disk holds /boot or /");
  }
  add("selinux-relabel", "relabel the restored files at the first boot (/.autorelabel)", input.target.selinux, input.target.selinux ? "the source ran SELinux: restored labels may be incomplete" : "the source did not run SELinux");
  return { steps, boot, initramfs, target: input.target };
}

/** The plan as text, for `recover --dry-run` and the log. */
export function describeFinalize(p: FinalizePlan): string {
  return p.steps.map((s) => `  ${s.run ? "[run] " : "[skip]"} ${s.what}\n         ${s.why}`).join("\n");
}

/**
 * What finalize would do, before anything was restored (`recover --dry-run`): the restored system's tools
 * are not known yet, so they are assumed present; the steps that depend on them say so.
 */
export function previewFinalize(input: Omit<FinalizeInput, "target" | "uuidChanges" | "newDrivers">): string {
  const p = planFinalize({
    ...input, uuidChanges: {}, newDrivers: [],
    target: { initramfsTool: "update-initramfs", grubInstall: "grub-install", grubMkconfig: "grub-mkconfig", grubCfg: "boot/grub/grub.cfg", espFiles: input.uefi ? ["EFI/<os>/grubx64.efi"] : [], selinux: false },
  });
  const lines = p.steps
    .filter((s) => s.id !== "selinux-relabel")
    .map((s) => `  ${s.run ? "[run] " : "[skip]"} ${s.what.replace("update-initramfs", "the restored system's tool")}\n         ${s.why}`);
  return `${lines.join("\n")}\n  (the restored system's own tools are used: what it lacks is found after the restore; UUIDs that cannot be kept are known only then)`;
}
