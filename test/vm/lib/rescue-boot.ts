// The rescue system as kernel + initrd (PXE-like, the fastest boot): taken out of the rescue ISO with
// xorriso, with the kernel command line of the ISO's default isolinux entry (plus "unattended" when
// that entry lacks it), so the same rescue system boots without the boot loader's menu.

import { join } from "node:path";
import { readFileSync } from "node:fs";
import { sh } from "./sh.ts";

/**
 * The `kernel` and `append` lines of the default entry of an isolinux.cfg. With the menu modules
 * (`default menu.c32` / `ui menu.c32`) the default entry is the label marked `MENU DEFAULT`; otherwise
 * `default LABEL` names it.
 */
export function defaultEntry(cfg: string): { kernel: string; append: string } | undefined {
  const labels = new Map<string, { kernel?: string; append?: string; menuDefault?: boolean }>();
  let cur: { kernel?: string; append?: string; menuDefault?: boolean } | undefined;
  let def: string | undefined;
  for (const raw of cfg.split("\n")) {
    const m = /^(\S+)\s*(.*)$/.exec(raw.trim());
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const rest = m[2]!.trim();
    if (key === "label") labels.set(rest, (cur = {}));
    else if (key === "default" && !/\.c32$/i.test(rest)) def = rest;
    else if (key === "menu" && /^default$/i.test(rest) && cur) cur.menuDefault = true;
    else if (cur && (key === "kernel" || key === "linux")) cur.kernel = rest;
    else if (cur && key === "append") cur.append = rest;
  }
  const e = [...labels.values()].find((l) => l.menuDefault) ?? (def ? labels.get(def) : undefined);
  return e?.kernel && e.append !== undefined ? { kernel: e.kernel, append: e.append } : undefined;
}

export async function extractRescueKernel(iso: string, dir: string): Promise<{ kernel: string; initrd: string; append: string }> {
  const cfgFile = join(dir, "isolinux.cfg");
  await sh(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/isolinux/isolinux.cfg", cfgFile]);
  const entry = defaultEntry(readFileSync(cfgFile, "utf8"));
  if (!entry) throw new Error(`${iso}: no default entry with kernel and append in isolinux/isolinux.cfg`);
  const initrdName = /(?:^|\s)initrd=(\S+)/.exec(entry.append)?.[1];
  if (!initrdName) throw new Error(`${iso}: the default entry names no initrd`);
  const kernel = join(dir, "rescue-kernel");
  const initrd = join(dir, "rescue-initrd");
  await sh(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", `/isolinux/${entry.kernel}`, kernel, "-extract", `/isolinux/${initrdName}`, initrd]);
  let append = entry.append.replace(/(?:^|\s)initrd=\S+/, " ").replace(/\s+/g, " ").trim();
  if (!/\bunattended\b/.test(append)) append += " unattended";
  return { kernel, initrd, append };
}
