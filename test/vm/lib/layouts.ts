// A storage layout for capturing layout fixtures is a data file (test/vm/layouts/NAME.json): a source
// machine as the builder makes it (firmware, disks on their buses, the layout recipe), without the
// backup and recovery parts of a scenario. `capture --layout NAME` also takes a scenario's name and
// uses its machine.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { diskSchema, listJsonNames, loadScenario, nameSchema, parseNamedJson, SCENARIO_DIR } from "./scenario.ts";

export const layoutSchema = z.strictObject({
  name: nameSchema,
  description: z.string().min(1),
  firmware: z.enum(["bios", "uefi"]),
  /** the machine's disks, in order: $DISK1, $DISK2, … in the recipe (virtio in the builder, their own bus when booted) */
  sourceDisks: z.array(diskSchema).min(1).max(8),
  /** bash, run in the builder guest: the same contract as a scenario's `layout` (see scenario.ts) */
  layout: z.string().min(1),
  /**
   * bash, run in the builder after the system is copied onto /target, the initramfs is made and the boot
   * loader installed (/target/dev, proc, sys and run are bound; $DISK1, … are set), e.g. a boot loader
   * on a second disk
   */
  postInstall: z.string().min(1).optional(),
  /** seconds: the build in the builder guest, and the capture on the booted machine (defaults suit TCG) */
  timeouts: z.strictObject({ build: z.number().optional(), capture: z.number().optional() }).default({}),
});

export type Layout = z.infer<typeof layoutSchema>;

/** What the builder needs to make a source machine: a layout, or the machine part of a scenario. */
export type Machine = Pick<Layout, "firmware" | "sourceDisks" | "layout"> & { postInstall?: string };

export const LAYOUT_DIR = join(import.meta.dir, "../layouts");

export function parseLayout(text: string, file = "layout"): Layout {
  return parseNamedJson(layoutSchema, text, file, "layout");
}

export function loadLayout(name: string): Layout {
  const file = join(LAYOUT_DIR, `${name}.json`);
  return parseLayout(readFileSync(file, "utf8"), file);
}

export function listLayouts(): string[] {
  return listJsonNames(LAYOUT_DIR);
}

/** A layout by name, else the machine of the scenario of that name (as a layout). */
export function resolveLayout(name: string): Layout {
  if (existsSync(join(LAYOUT_DIR, `${name}.json`))) return loadLayout(name);
  if (existsSync(join(SCENARIO_DIR, `${name}.json`))) {
    const s = loadScenario(name);
    return { name: s.name, description: s.description, firmware: s.firmware, sourceDisks: s.sourceDisks, layout: s.layout, timeouts: { build: s.timeouts.build } };
  }
  throw new Error(`no layout or scenario named '${name}' (layouts: ${listLayouts().join(", ")}; scenarios: ${listJsonNames(SCENARIO_DIR).join(", ")})`);
}

/** The machines `capture --layout all` captures: every layout, then the scenarios with a machine of their own. */
export const CAPTURED_SCENARIOS = ["bios-ext4-swap", "bios-lvm", "uefi-ext4"];

export function allCaptureNames(): string[] {
  return [...listLayouts(), ...CAPTURED_SCENARIOS];
}
