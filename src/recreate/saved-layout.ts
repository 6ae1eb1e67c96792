// The saved layout as recover reads it (layout/prepare/default/010_prepare_files.sh): disklayout.conf
// (/etc/rear/disklayout.conf wins when it exists, as ReaR), the facts in layout.json beside it, the
// xfs_info files and the vgcfgbackup files. A layout that cannot be recreated (layout/validate.ts:
// overlapping partitions, a device nothing declares, a cycle, …) is refused here, before recover,
// layoutonly or mountonly look at a disk, every problem as FILE:LINE.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { FileReadError, LAYOUT_MAX_BYTES, readRegularFile } from "../sys/read-file.ts";
import { basename, dirname } from "node:path";
import { UserError, WorkflowError } from "../engine/errors.ts";
import { LayoutSyntaxError, readDisklayout } from "../layout/disklayout/read.ts";
import { MappingFileError, parseDiskMappings } from "../layout/mapping.ts";
import { activeEntries, LayoutJson, type LayoutDoc } from "../layout/model.ts";
import { checkLayout, formatProblems } from "../layout/validate.ts";

export interface SavedLayout {
  file: string;
  doc: LayoutDoc;
  sha256: string;
  facts: Record<string, Record<string, unknown>>;
  /** by device of an xfs filesystem */
  xfsInfo: Record<string, string>;
  /** by VG name */
  lvmCfg: Record<string, string>;
  warnings: string[];
}

/** A layout or mapping file's text; what is not a regular file of sane size is one clear error. */
export function readLayoutFile(file: string): string {
  let text: string | undefined;
  try {
    text = readRegularFile(file, LAYOUT_MAX_BYTES);
  } catch (e) {
    if (e instanceof FileReadError) throw new UserError(e.message, "give the layout file rear saved (a plain file), or restore it from the rescue medium");
    throw e;
  }
  if (text === undefined) throw new WorkflowError(`No disk layout file ${file}`, "the layout is saved by 'rear mkrescue', 'rear mkbackup' or 'rear savelayout' on the original system");
  return text;
}

export function readSavedLayout(configDir: string, varDir: string, configured: string): SavedLayout {
  const user = `${configDir}/disklayout.conf`;
  const file = existsSync(user) ? user : configured || `${varDir}/layout/disklayout.conf`;
  if (!existsSync(file)) {
    throw new WorkflowError(`No disk layout file ${file}`, "the layout is saved by 'rear mkrescue', 'rear mkbackup' or 'rear savelayout' on the original system");
  }
  const text = readLayoutFile(file);
  let parsed;
  try {
    parsed = readDisklayout(text, file);
  } catch (e) {
    if (e instanceof LayoutSyntaxError) throw new UserError(e.message, "correct the line (or restore the file from the rescue medium) and run again");
    throw e;
  }
  const warnings = [...parsed.warnings];
  const doc = parsed.doc;
  let facts: Record<string, Record<string, unknown>> = {};
  const json = `${dirname(file)}/layout.json`;
  const fallbackJson = `${varDir}/layout/layout.json`;
  for (const j of [json, fallbackJson]) {
    if (!existsSync(j)) continue;
    try {
      facts = LayoutJson.parse(JSON.parse(readFileSync(j, "utf8"))).facts as Record<string, Record<string, unknown>>;
    } catch (e) {
      warnings.push(`${j} is not readable (${(e as Error).message.split("\n")[0]}); going on without its facts (PARTUUIDs, partition types, disk identities)`);
    }
    break;
  }
  const problems = checkLayout(doc, { sectorSize: (d) => (typeof facts[d]?.logicalSectorSize === "number" ? (facts[d]!.logicalSectorSize as number) : undefined) });
  if (problems.length) throw new UserError(formatProblems(file, problems), "nothing was changed; correct these lines (check the file with 'rear showlayout FILE') and run again");
  const xfsInfo: Record<string, string> = {};
  const lvmCfg: Record<string, string> = {};
  for (const e of activeEntries(doc)) {
    if (e.kw === "fs" && e.fstype === "xfs") {
      const f = `${varDir}/layout/xfs/${basename(e.device)}.xfs`;
      if (existsSync(f)) xfsInfo[e.device] = readFileSync(f, "utf8");
    }
    if (e.kw === "lvmgrp") {
      const vg = e.vg.replace(/^\/dev\//, "");
      const f = `${varDir}/layout/lvm/${vg}.cfg`;
      if (existsSync(f)) lvmCfg[vg] = f;
    }
  }
  return { file, doc, sha256: createHash("sha256").update(text).digest("hex"), facts, xfsInfo, lvmCfg, warnings };
}

/** The user's disk mapping file ($CONFIG_DIR/mappings/disk_mappings): saved disk → disk now, or undefined when there is none. */
export function readMappingFile(configDir: string): { file: string; map?: Record<string, string> } {
  const file = `${configDir}/mappings/disk_mappings`;
  if (!existsSync(file)) return { file };
  try {
    return { file, map: parseDiskMappings(readLayoutFile(file), file) };
  } catch (e) {
    if (e instanceof MappingFileError) throw new UserError(e.message, "each line is '<saved disk> <disk now>', e.g. '/dev/sda /dev/nvme0n1'");
    throw e;
  }
}
