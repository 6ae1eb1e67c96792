// prep: what mkrescue needs, checked before any work (DESIGN.md: mkosi's preflight), each with its reason:
// the output method, the kernel, the boot loaders of the ISO, depmod. The programs of the rescue
// system itself depend on the layout and are checked at rescue/005, still before anything is copied.

import { existsSync } from "node:fs";
import { release } from "node:os";
import { ConfigError, NotImplementedError, WorkflowError } from "../../engine/errors.ts";
import type { Context } from "../../engine/context.ts";
import type { Module } from "../../engine/module.ts";
import { isoBootFiles, secureBootEnabled, type IsoBootFiles, type Need } from "../../output/iso.ts";
import { usbBootFiles, type UsbBootFiles } from "../../output/usb.ts";
import { rawdiskBootFiles, type RawDiskBootFiles } from "../../output/rawdisk.ts";
import { readHead } from "../../rescue/elf.ts";
import { findKernelFile, KernelNotFound } from "../../rescue/kernel.ts";
import { which } from "../../sys/exec.ts";
import { packageHint } from "../../sys/packages.ts";
import { BUILDS_RESCUE } from "../init/950-check-missing-programs.ts";

export const IMPLEMENTED_OUTPUTS = new Set(["ISO", "RAMDISK", "PORTABLE", "USB", "RAWDISK", "PXE"]);

/** What the rescue build carries from one stage to the next. */
export interface RescueState {
  kv: string;
  kernelFile: string;
  output: string;
  iso?: IsoBootFiles;
  /** OUTPUT=USB: the boot loaders' files and the data partition it writes to */
  usb?: { files: UsbBootFiles; device: string };
  /** OUTPUT=RAWDISK: the boot loaders' files */
  rawdisk?: RawDiskBootFiles;
  /** PATH for finding the host's programs */
  searchPath: string;
  initrd?: { file: string; name: string; compression: string; bytesIn: number; bytesOut: number; ms: number };
  /** files for OUTPUT_URL (ReaR's RESULT_FILES) */
  resultFiles: string[];
}

export function rescueState(ctx: Context): RescueState {
  const s = ctx.state.rescue as RescueState | undefined;
  if (!s) throw new Error("the rescue build has no state: prep/100 did not run");
  return s;
}

/** ReaR's PATH for finding programs: the caller's, then the usual system directories. */
export function programSearchPath(envPath: string | undefined): string {
  return [...(envPath ?? "").split(":"), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].filter((d, i, a) => d && a.indexOf(d) === i).join(":");
}

/**
 * Stops before anything is written when a program a workflow will run is missing here: one error naming
 * each with what it is for (layout/recreate's plan, recover's restore and finalize).
 */
export function requirePrograms(ctx: Pick<Context, "env" | "log">, need: readonly (readonly [string, string])[], who: string, opts: { portable?: boolean; find?: (p: string) => string | undefined } = {}): void {
  const path = programSearchPath(ctx.env.PATH);
  const find = opts.find ?? ((p: string) => which(p, path));
  const seen = new Set<string>();
  const missing = need.filter(([p]) => !seen.has(p) && (seen.add(p), !find(p)));
  if (missing.length) {
    throw new WorkflowError(
      `${who} needs programs this system does not have, nothing was changed: ${missing.map(([p, why]) => `${p} (to ${why}${packageHint(p) ? `; ${packageHint(p)}` : ""})`).join("; ")}`,
      opts.portable
        ? "install them on this live system (the packages named), then run rear -p recover again"
        : "add them to the rescue system (REQUIRED_PROGS+=( … ) in local.conf, then rear mkrescue), or run recover from a system that has them",
    );
  }
  ctx.log.log(`${who}: its programs are all here: ${need.map(([p]) => p).join(" ")}`);
}

export function formatNeeds(needs: readonly Need[]): string[] {
  return needs.map((n) => `${n.found ? "ok     " : n.required ? "MISSING" : "absent "} ${n.what}: ${n.why}${n.found ? ` (${n.found})` : ` — ${n.hint}`}`);
}

export const rescuePreflight: Module = {
  stage: "prep",
  order: 100,
  name: "rescue_preflight",
  what: "prep/default/036_valid_output_methods, prep/GNU/Linux/400_guess_kernel, prep/ISO/*, 320_include_uefi_env",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name),
  run(ctx) {
    const c = ctx.config;
    const output = c.str("OUTPUT") || "ISO";
    if (!IMPLEMENTED_OUTPUTS.has(output)) throw new NotImplementedError(`OUTPUT=${output} (this version writes OUTPUT=ISO, USB, PXE, RAWDISK, RAMDISK and PORTABLE)`);
    const kv = c.str("KERNEL_VERSION") || ctx.cli.kernelVersion || release();
    const searchPath = programSearchPath(ctx.env.PATH);
    if (output === "PORTABLE") {
      // no kernel, no boot loader: the live system it runs on has its own
      ctx.state.rescue = { kv, kernelFile: "", output, searchPath, resultFiles: [] } satisfies RescueState;
      return;
    }
    const needs: Need[] = [];
    let kernelFile = "";
    try {
      const k = findKernelFile(c.str("KERNEL_FILE"), kv, (p) => readHead(p));
      kernelFile = k.file;
      ctx.log.logPrint(k.why);
    } catch (e) {
      if (!(e instanceof KernelNotFound)) throw e;
      needs.push({ what: "the kernel", why: "the rescue system boots it", required: true, hint: `${e.message}: set KERNEL_FILE, or give the version with -r` });
    }
    const depmod = which("depmod", searchPath);
    const modules = c.arr("MODULES");
    if (!modules.includes("no_modules")) needs.push({ what: "depmod", why: "indexes the kernel modules of the rescue system (modules.dep, aliases)", required: true, ...(depmod ? { found: depmod } : {}), hint: "install kmod" });
    let iso: IsoBootFiles | undefined;
    if (output === "ISO") {
      const uefiMachine = c.isTrue("USING_UEFI_BOOTLOADER") || (!c.isFalse("USING_UEFI_BOOTLOADER") && existsEfi());
      iso = isoBootFiles({
        path: searchPath, uefiMachine, isolinuxBin: c.str("ISO_ISOLINUX_BIN"), mkisofsBin: c.str("ISO_MKISOFS_BIN"),
        secureBootLoader: c.str("SECURE_BOOT_BOOTLOADER"), secureBoot: uefiMachine && secureBootEnabled(),
      });
      needs.push(...iso.needs);
    }
    let rawdisk: RawDiskBootFiles | undefined;
    if (output === "RAWDISK") {
      rawdisk = rawdiskBootFiles({
        path: searchPath, bios: !c.isTrue("RAWDISK_BOOT_EXCLUDE_SYSLINUX_LEGACY"), uefi: !c.isTrue("RAWDISK_BOOT_EXCLUDE_GRUB2_EFI"),
        secureBootLoader: c.str("SECURE_BOOT_BOOTLOADER"), secureBoot: existsEfi() && secureBootEnabled(),
      });
      needs.push(...rawdisk.needs);
      if (c.isTrue("RAWDISK_BOOT_EXCLUDE_SYSLINUX_LEGACY") && c.isTrue("RAWDISK_BOOT_EXCLUDE_GRUB2_EFI")) {
        throw new ConfigError("OUTPUT=RAWDISK with RAWDISK_BOOT_EXCLUDE_SYSLINUX_LEGACY and RAWDISK_BOOT_EXCLUDE_GRUB2_EFI: the image would boot neither by BIOS nor by UEFI", undefined, undefined, `unset one of them in ${ctx.paths.configDir}/local.conf`);
      }
    }
    let usb: RescueState["usb"];
    if (output === "USB") {
      const uefiMachine = c.isTrue("USING_UEFI_BOOTLOADER") || (!c.isFalse("USING_UEFI_BOOTLOADER") && existsEfi());
      const files = usbBootFiles({ path: searchPath, uefiMachine, secureBootLoader: c.str("SECURE_BOOT_BOOTLOADER"), secureBoot: uefiMachine && secureBootEnabled() });
      needs.push(...files.needs);
      const device = usbDevice(c.str("USB_DEVICE"), c.str("OUTPUT_URL"), c.str("BACKUP_URL"));
      if (!device) {
        throw new ConfigError("OUTPUT=USB needs the USB disk: BACKUP_URL or OUTPUT_URL usb:///dev/disk/by-label/REAR-000, or USB_DEVICE", undefined, undefined, `set one of them in ${ctx.paths.configDir}/local.conf (rear format makes the disk)`);
      }
      needs.push({ what: device, why: "the USB disk's data partition the rescue system is written to", required: true, ...(existsSync(device) ? { found: device } : {}), hint: "plug in the disk (rear format DEVICE makes one labelled REAR-000)" });
      usb = { files, device };
    }
    for (const l of formatNeeds(needs)) ctx.log.log(`preflight: ${l}`);
    const missing = needs.filter((n) => n.required && !n.found);
    if (missing.length) {
      throw new WorkflowError(
        `Cannot make the rescue system (OUTPUT=${output}): ${missing.map((n) => `${n.what} is missing (${n.why})`).join("; ")}`,
        missing.map((n) => n.hint).join("; "),
      );
    }
    for (const n of needs.filter((x) => !x.required && !x.found)) ctx.log.logPrint(`The rescue ISO will not boot by ${/UEFI|EFI|vfat|mcopy|shim|gcdx/.test(n.why + n.what) ? "UEFI" : "BIOS"}: ${n.what} is missing (${n.hint})`);
    ctx.state.rescue = { kv, kernelFile, output, ...(iso ? { iso } : {}), ...(usb ? { usb } : {}), ...(rawdisk ? { rawdisk } : {}), searchPath, resultFiles: [] } satisfies RescueState;
  },
};

/** The USB disk's data partition: USB_DEVICE, else the path of a usb:// OUTPUT_URL or BACKUP_URL (ReaR's 060_set_usb_device). */
export function usbDevice(usbDeviceSetting: string, outputUrl: string, backupUrl: string): string | undefined {
  if (usbDeviceSetting) return usbDeviceSetting;
  for (const u of [outputUrl, backupUrl]) {
    const m = /^usb:\/\/(\/.+)$/.exec(u);
    if (m) return m[1];
  }
  return undefined;
}

function existsEfi(): boolean {
  try {
    return existsSync("/sys/firmware/efi");
  } catch {
    return false;
  }
}
