// Facts about the recovery both layout/prepare (recover --dry-run) and finalize need: the firmware of the
// machine being recovered and the boot loader mkrescue saved.

import { existsSync, readFileSync } from "node:fs";
import type { Context } from "../../engine/context.ts";

/** UEFI: USING_UEFI_BOOTLOADER from rescue.conf (mkrescue wrote it), else whether this system booted with UEFI. */
export function recoveringUefi(ctx: Pick<Context, "config">): boolean {
  const c = ctx.config;
  return c.isTrue("USING_UEFI_BOOTLOADER") || (!c.isFalse("USING_UEFI_BOOTLOADER") && existsSync("/sys/firmware/efi"));
}

/** recovery/bootloader as savelayout wrote it (GRUB2, EFI, …), or "". */
export function savedBootloader(ctx: Pick<Context, "paths">): string {
  const f = `${ctx.paths.varDir}/recovery/bootloader`;
  return existsSync(f) ? readFileSync(f, "utf8").trim() : "";
}

/** GRUB2_INSTALL_DEVICES through the disk mapping. */
export function grubInstallDevices(ctx: Pick<Context, "config">, mapping: Readonly<Record<string, string>>): string[] {
  return ctx.config.arr("GRUB2_INSTALL_DEVICES").flatMap((d) => d.split(/\s+/)).filter(Boolean).map((d) => mapping[d] ?? d);
}
