// Shared by the fixture tests: the exclusion defaults of default.conf and a fixture machine's layout
// as savelayout would write it (extraction + exclusions), with its facts and the disks it had.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { applyExclusions } from "../../../src/layout/exclude.ts";
import { extractLayout } from "../../../src/layout/extract/index.ts";
import type { LayoutDoc } from "../../../src/layout/model.ts";
import { readProbeDir } from "../../../src/layout/probe/collect.ts";
import { type TargetProbe, targetsFromLsblk } from "../../../src/layout/targets.ts";

export const FIXTURES = join(import.meta.dir, "../../fixtures/machines");

export const EXCLUSION_DEFAULTS = {
  AUTOEXCLUDE_DISKS: true, AUTOEXCLUDE_MULTIPATH: true, AUTOEXCLUDE_PATH: ["/media", "/run", "/mnt", "/tmp"], AUTOEXCLUDE_USB_PATH: [],
  EXCLUDE_MOUNTPOINTS: [], EXCLUDE_MD: [], EXCLUDE_VG: [], ONLY_INCLUDE_VG: [], EXCLUDE_COMPONENTS: [], EXCLUDE_RECREATE: [], MANUAL_INCLUDE: false, BACKUP_PROG_INCLUDE: [],
};

export interface FixtureMachine {
  name: string;
  doc: LayoutDoc;
  facts: Record<string, Record<string, unknown>>;
  /** the machine's own disks, as recover would find them on identical hardware */
  targets: TargetProbe;
  xfsInfo: Record<string, string>;
}

/** Fixture machines that have raw probe output. */
export function fixtureMachines(): string[] {
  return existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((n) => existsSync(join(FIXTURES, n, "probe/lsblk.json"))).sort() : [];
}

export function loadFixtureMachine(name: string): FixtureMachine {
  const dir = join(FIXTURES, name);
  const opts = existsSync(join(dir, "options.json")) ? (JSON.parse(readFileSync(join(dir, "options.json"), "utf8")) as { includeLoop?: boolean }) : {};
  const probe = readProbeDir(join(dir, "probe"));
  const ex = extractLayout(probe, { dated: "20260101000000", includeLoop: opts.includeLoop === true });
  const doc = applyExclusions(ex.doc, EXCLUSION_DEFAULTS).doc;
  const byId = JSON.parse(probe["by-id.json"] ?? "{}") as Record<string, string>;
  const targets = targetsFromLsblk(probe["lsblk.json"]!, byId, { includeLoop: opts.includeLoop === true });
  const xfsInfo: Record<string, string> = {};
  for (const [k, v] of Object.entries(probe)) if (k.startsWith("xfs_info/")) xfsInfo[`/dev/${k.slice(9).replace(/\.txt$/, "").replace(/!/g, "/")}`] = v;
  return { name, doc, facts: ex.facts, targets, xfsInfo };
}
