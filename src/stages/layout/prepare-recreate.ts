// layout/prepare for recover and layoutonly (reference §5.5–§5.7): read the saved layout, look at the
// disks of now, map the saved disks onto them (asking only what cannot be decided), resize the last
// partitions, and make the plan — written as plan.json and diskrestore.sh for review. Nothing here
// writes to a disk. With --dry-run the plan is printed and the workflow ends.
// A plan that was partly applied is resumed (same layout file, markers present) unless --restart.

import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { userInputFor } from "../../engine/ask.ts";
import type { Context } from "../../engine/context.ts";
import { UserError, WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { applyMapping, candidatesFor, mapDisks, mapFacts, renderDiskMappings, type SourceDisk } from "../../layout/mapping.ts";
import { activeEntries, type LayoutDoc } from "../../layout/model.ts";
import { buildPlan } from "../../layout/plan/build.ts";
import { renderDiskrestore } from "../../layout/plan/render.ts";
import { PLAN_FORMAT, type Plan } from "../../layout/plan/types.ts";
import { randomUuids } from "../../layout/plan/uuids.ts";
import { DEFAULT_RESIZE, minimumDiskBytes, resizeLayout, type ResizeSettings } from "../../layout/resize.ts";
import { checkPlanSafety, protectedDisks, REAR_LABELS } from "../../layout/safety.ts";
import type { TargetProbe } from "../../layout/targets.ts";
import { humanSize } from "../../layout/show.ts";
import { renameDevice } from "../../layout/compare.ts";
import { LayoutCheckError } from "../../layout/validate.ts";
import { backupDevices, probeTargets } from "../../recreate/probe-targets.ts";
import { readMappingFile, readSavedLayout, type SavedLayout } from "../../recreate/saved-layout.ts";
import { VERSION } from "../../version.ts";
import { previewFinalize } from "../../finalize/plan.ts";
import { grubInstallDevices, recoveringUefi, savedBootloader } from "../recover/facts.ts";
import { maskPasswords } from "../../config/secret-values.ts";
import { writePrivateFile } from "./private-files.ts";
import { programsNeeded } from "./programs.ts";
import { requirePrograms } from "../rescue/preflight.ts";

/** What the layout modules hand each other in ctx.state.recreate. */
export interface RecreateState {
  saved: SavedLayout;
  targets?: TargetProbe;
  protected?: Map<string, string>;
  mapping?: Record<string, string>;
  unmapped?: string[];
  identical?: boolean;
  doc?: LayoutDoc;
  /** a partition was resized (then vgcfgrestore cannot be used) */
  resized?: boolean;
  plan?: Plan;
  resuming?: boolean;
}

export const recreateState = (ctx: Context): RecreateState => {
  const s = ctx.state.recreate as RecreateState | undefined;
  if (!s) throw new WorkflowError("The saved layout was not loaded (a layout/prepare module did not run)");
  return s;
};

export const dryRun = (ctx: Context): boolean => ctx.args.includes("--dry-run");

export function recreatePaths(ctx: Context) {
  const layout = `${ctx.paths.varDir}/layout`;
  // a dry run keeps its files in the work area: it changes nothing, not even /var/lib/rear
  const base = dryRun(ctx) && ctx.workArea ? `${ctx.workArea.tmpDir}/layout` : layout;
  return {
    plan: `${base}/plan.json`,
    script: `${base}/diskrestore.sh`,
    scriptSha: `${base}/recreate/diskrestore.sh.sha256`,
    workDir: `${layout}/recreate`,
    mappings: `${base}/recreate/disk_mappings`,
    uuidMapping: `${layout}/recreate/fs_uuid_mapping`,
  };
}

/** The plan files: 0600 (the script 0700) in 0700 directories, each written beside and renamed. */
function write(ctx: Context, path: string, text: string, mode = 0o600): void {
  const roots = [`${ctx.paths.varDir}/layout`, ...(ctx.workArea ? [`${ctx.workArea.tmpDir}/layout`] : [])];
  writePrivateFile(path, text, roots, mode);
}

/** Reads the saved layout into ctx.state.recreate (recover, layoutonly, mountonly). */
export function loadSavedLayout(ctx: Context): RecreateState {
  const saved = readSavedLayout(ctx.paths.configDir, ctx.paths.varDir, ctx.config.str("DISKLAYOUT_FILE"));
  for (const w of saved.warnings) ctx.log.warn(w);
  ctx.log.logPrint(`Using the disk layout ${saved.file}`);
  const s: RecreateState = { saved };
  ctx.state.recreate = s;
  return s;
}

const loadLayout: Module = {
  stage: "layout/prepare",
  order: 10,
  name: "load_layout",
  what: "layout/prepare/default/010_prepare_files.sh",
  run(ctx) {
    loadSavedLayout(ctx);
  },
};

/** Resume a partly applied plan: same layout, markers present, no --restart. */
const resumePlan: Module = {
  stage: "layout/prepare",
  order: 20,
  name: "resume_plan",
  what: "(new) a failed or interrupted recreation goes on where it stopped",
  run(ctx) {
    const s = recreateState(ctx);
    const p = recreatePaths(ctx);
    const doneDir = `${p.workDir}/done`;
    if (ctx.args.includes("--restart") || dryRun(ctx)) {
      if (!dryRun(ctx) && existsSync(doneDir)) {
        rmSync(doneDir, { recursive: true, force: true });
        ctx.log.logPrint("Starting over: the done markers of the previous plan are removed");
      }
      return;
    }
    if (!existsSync(p.plan) || !existsSync(doneDir) || readdirSync(doneDir).length === 0) return;
    let plan: Plan;
    try {
      plan = JSON.parse(readFileSync(p.plan, "utf8")) as Plan;
    } catch {
      return;
    }
    if (plan.format !== PLAN_FORMAT || plan.layoutSha256 !== s.saved.sha256) {
      ctx.log.logPrint(`The previous plan ${p.plan} was made from another layout: making a new one`);
      rmSync(doneDir, { recursive: true, force: true });
      return;
    }
    // a mapping file written since the plan was made asks for another plan
    const { file: mapFile, map: userMap } = readMappingFile(ctx.paths.configDir);
    if (Object.entries(userMap ?? {}).some(([from, to]) => plan.mapping[from] !== undefined && plan.mapping[from] !== to)) {
      ctx.log.logPrint(`${mapFile} maps the disks differently than the previous plan: making a new one`);
      rmSync(doneDir, { recursive: true, force: true });
      return;
    }
    const done = plan.steps.filter((x) => existsSync(`${plan.doneDir}/${x.id}`)).length;
    ctx.log.logUserOutput(`Resuming the plan of ${p.plan}: ${done} of ${plan.steps.length} steps are done ('rear ${ctx.workflow.name} --restart' starts over)`);
    s.plan = plan;
    s.mapping = plan.mapping;
    s.resuming = true;
  },
};

const probeDisks: Module = {
  stage: "layout/prepare",
  order: 200,
  name: "probe_disks",
  what: "(new) lsblk of the disks of now; write protection as WRITE_PROTECTED_* and the BACKUP_URL device",
  async run(ctx) {
    const s = recreateState(ctx);
    s.targets = await probeTargets(ctx.env);
    s.protected = protectedDisks(s.targets, {
      // the RAWDISK image's FAT partition ("RESCUE SYS"): the disk the rescue system may have booted from
      labelPatterns: [...REAR_LABELS, ...(ctx.config.str("RAWDISK_FAT_VOLUME_LABEL") ? [ctx.config.str("RAWDISK_FAT_VOLUME_LABEL")] : []), ...ctx.config.arr("WRITE_PROTECTED_FS_LABEL_PATTERNS")],
      ids: [...ctx.config.arr("WRITE_PROTECTED_IDS")],
      idTypes: [...ctx.config.arr("WRITE_PROTECTED_ID_TYPES")],
      backupDevices: await backupDevices(ctx.config.str("BACKUP_URL"), ctx.env),
      targetRoot: ctx.config.str("TARGET_FS_ROOT") || "/mnt/local",
    });
    for (const d of s.targets.disks) ctx.log.log(`Disk now: ${d.device} ${d.sizeBytes} bytes${d.serial ? ` serial ${d.serial}` : ""}${s.protected.has(d.device) ? ` (protected: ${s.protected.get(d.device)})` : ""}`);
  },
};

/** ReaR's question id for a saved disk without a replacement: LAYOUT_MIGRATION_REPLACEMENT_SDA */
const replacementId = (disk: string) => `LAYOUT_MIGRATION_REPLACEMENT_${disk.replace(/^\/dev\//, "").replace(/[^A-Za-z0-9_]/g, "_").toUpperCase()}`;

function sourceDisks(doc: LayoutDoc, facts: Record<string, Record<string, unknown>>): SourceDisk[] {
  return activeEntries(doc).flatMap((e) => {
    if (e.kw !== "disk") return [];
    const f = facts[e.device] ?? {};
    return [{ device: e.device, sizeBytes: e.sizeBytes, ...(typeof f.serial === "string" ? { serial: f.serial } : {}), ...(typeof f.wwn === "string" ? { wwn: f.wwn } : {}), ...(Array.isArray(f.byId) ? { byId: f.byId as string[] } : {}) }];
  });
}

const mapDisksModule: Module = {
  stage: "layout/prepare",
  order: 300,
  name: "map_disks",
  what: "layout/prepare/default/250_compare_disks.sh, 300_map_disks.sh, 320_apply_mappings.sh",
  run(ctx) {
    const s = recreateState(ctx);
    if (s.resuming) return;
    const targets = s.targets!;
    const candidates = targets.disks.filter((d) => !s.protected!.has(d.device));
    const { file: mapFile, map: userMap } = readMappingFile(ctx.paths.configDir);
    if (userMap) {
      for (const [from, to] of Object.entries(userMap)) {
        if (s.protected!.has(to)) throw new UserError(`${mapFile}: ${from} is mapped to ${to}, which must not be overwritten: ${s.protected!.get(to)}`);
        if (!targets.disks.some((d) => d.device === to)) throw new UserError(`${mapFile}: ${from} is mapped to ${to}, which is not a disk here`, `the disks here: ${targets.disks.map((d) => d.device).join(" ")}`);
      }
    }
    const sources = sourceDisks(s.saved.doc, s.saved.facts);
    const resize = resizeSettings(ctx);
    const m = mapDisks(sources, targets.disks, { ...(userMap ? { userMap } : {}), protected: s.protected!, minSize: (x) => minimumDiskBytes(s.saved.doc, x.device, resize, usedBytesOf(s.saved.facts)) });
    const mode = ctx.config.str("MIGRATION_MODE");
    if (m.identical) ctx.log.logPrint("Disk configuration looks identical");
    else {
      ctx.log.logUserOutput("The disks are not the same as when the layout was saved (migration):");
      for (const d of m.differences) ctx.log.logUserOutput(`  ${d}`);
    }
    const ui = userInputFor(ctx);
    if (dryRun(ctx) && m.unmapped.length) {
      for (const src of m.unmapped) ctx.log.logUserOutput(`Dry run: a real run would ask which disk takes the place of ${src} (USER_INPUT_${replacementId(src)}); left unmapped here`);
    }
    for (const src of dryRun(ctx) ? [] : [...m.unmapped]) {
      const free = candidatesFor(m, candidates);
      const sd = sources.find((x) => x.device === src)!;
      const choices = [...free.map((t) => `${t.device} (${humanSize(t.sizeBytes)})`), `Do not map ${src} (its components are not recreated)`];
      const a = ui.ask({
        id: replacementId(src),
        prompt: `Which disk takes the place of ${src} (${humanSize(sd.sizeBytes)})?`,
        choices,
      });
      if (a.choice! < free.length) {
        m.map[src] = free[a.choice!]!.device;
        m.how[src] = "chosen";
        m.unmapped = m.unmapped.filter((x) => x !== src);
      }
    }
    const moved = Object.entries(m.map).filter(([a, b]) => a !== b || m.how[a] !== "name and size");
    if (!m.identical || mode === "true" || mode === "TRUE") {
      ctx.log.logUserOutput("Disk mapping (saved => now):");
      for (const [a, b] of Object.entries(m.map)) ctx.log.logUserOutput(`  ${a} => ${b} (${m.how[a]})`);
      for (const u of m.unmapped) ctx.log.logUserOutput(`  ${u} => not mapped: not recreated`);
      if (moved.length || m.unmapped.length || mode === "true" || mode === "TRUE") {
        const a = dryRun(ctx) ? { choice: 0 } : ui.ask({ id: "LAYOUT_MIGRATION_CONFIRM_MAPPINGS", prompt: "Confirm the disk mapping?", choices: ["Confirm disk mapping and continue", "Abort"], default: 0 });
        if (a.choice === 1) throw new WorkflowError("Aborted at the disk mapping: nothing was changed", `write the mapping you want into ${mapFile} ('<saved disk> <disk now>' per line) and run again`);
      }
    }
    const mapped = applyMapping(s.saved.doc, m.map, m.unmapped);
    s.mapping = m.map;
    s.unmapped = m.unmapped;
    s.identical = m.identical;
    s.doc = mapped.doc;
  },
};

/** layout.json's fsUsedBytes per file system device (savelayout records it from df). */
function usedBytesOf(facts: Record<string, Record<string, unknown>>): Record<string, number> {
  return Object.fromEntries(Object.entries(facts).flatMap(([dev, f]) => (typeof f.fsUsedBytes === "number" ? [[dev, f.fsUsedBytes]] : [])));
}

function resizeSettings(ctx: Context): ResizeSettings {
  const mode = ctx.config.arr("AUTORESIZE_PARTITIONS");
  const first = mode[0] ?? "";
  const num = (name: string, d: number) => {
    const v = Number(ctx.config.str(name));
    return ctx.config.str(name) !== "" && Number.isFinite(v) ? v : d;
  };
  return {
    mode: first === "" ? "last" : /^(true|yes|y|1)$/i.test(first) ? "all" : /^(false|no|n|0)$/i.test(first) ? "none" : [...mode],
    exclude: ctx.config.has("AUTORESIZE_EXCLUDE_PARTITIONS") ? [...ctx.config.arr("AUTORESIZE_EXCLUDE_PARTITIONS")] : DEFAULT_RESIZE.exclude,
    shrinkLimitPct: num("AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE", DEFAULT_RESIZE.shrinkLimitPct),
    growThresholdPct: num("AUTOINCREASE_DISK_SIZE_THRESHOLD_PERCENTAGE", DEFAULT_RESIZE.growThresholdPct),
  };
}

const autoresize: Module = {
  stage: "layout/prepare",
  order: 420,
  name: "autoresize_partitions",
  what: "layout/prepare/default/420_autoresize_last_partitions.sh, 430_autoresize_all_partitions.sh",
  run(ctx) {
    const s = recreateState(ctx);
    if (s.resuming) return;
    const sizes = Object.fromEntries(s.targets!.disks.map((d) => [d.device, { sizeBytes: d.sizeBytes, sectorSize: d.logicalSectorSize }]));
    // the usage is keyed by the saved device names, the doc by the mapped ones
    const used = Object.fromEntries(Object.entries(usedBytesOf(s.saved.facts)).map(([dev, b]) => [renameDevice(dev, s.mapping ?? {}), b]));
    const r = resizeLayout(s.doc!, sizes, resizeSettings(ctx), used);
    for (const n of r.notes) ctx.log.logPrint(n);
    if (r.errors.length) throw new WorkflowError(`The disk layout does not fit: ${r.errors.join("; ")}`, "give bigger disks, map the disks differently (/etc/rear/mappings/disk_mappings), or change AUTORESIZE_PARTITIONS / AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE");
    for (const c of r.changes) ctx.log.logUserOutput(`Resizing ${c.partition}: ${humanSize(c.fromBytes)} -> ${humanSize(c.toBytes)}${c.startTo !== undefined ? ` (moved from ${c.startFrom} to ${c.startTo})` : ""}`);
    s.doc = r.doc;
    s.resized = r.changes.length > 0;
  },
};

/** DISKS_TO_BE_WIPED: empty → the disks the plan partitions (or uses whole), "false" → none, else the list. */
function disksToWipe(ctx: Context, doc: LayoutDoc, targets: TargetProbe): string[] {
  const v = ctx.config.arr("DISKS_TO_BE_WIPED");
  if (v.length === 1 && /^(false|no|n|0)$/i.test(v[0]!)) return [];
  if (v.length && v[0] !== "") return v.filter((d) => targets.disks.some((t) => t.device === d));
  return activeEntries(doc).flatMap((e) => (e.kw === "disk" && targets.disks.some((t) => t.device === e.device) ? [e.device] : []));
}

export function describePlan(plan: Plan): string {
  const lines = [`The plan (${plan.steps.length} steps):`];
  plan.steps.forEach((s, i) => lines.push(`${String(i + 1).padStart(3)}. ${s.summary}`, `       ${s.argv.join(" ")}${s.secret ? "   (passphrase on stdin)" : ""}`));
  if (plan.unhandled.length) lines.push("Not recreated (do it by hand):", ...plan.unhandled.map((u) => `  ${u.id}: ${u.why}`));
  return lines.join("\n");
}

/** buildPlan, its refusal of an impossible layout (after mapping and resizing) as the user's error. */
function planOrRefuse(input: Parameters<typeof buildPlan>[0]): Plan {
  try {
    return buildPlan(input);
  } catch (e) {
    if (e instanceof LayoutCheckError) throw new UserError(e.message, "nothing was changed; after mapping and resizing onto the disks here the layout cannot be made: correct these lines or the disk mapping");
    throw e;
  }
}

const makePlan: Module = {
  stage: "layout/prepare",
  order: 540,
  name: "make_plan",
  what: "layout/prepare/default/540_generate_device_code.sh, 550_finalize_script.sh, 600_show_unprocessed.sh",
  run(ctx) {
    const s = recreateState(ctx);
    const p = recreatePaths(ctx);
    if (!s.resuming) {
      const xfsOpts = (dev: string) => {
        const per = `MKFS_XFS_OPTIONS_${dev.replace(/^\/dev\//, "").replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}`;
        const v = ctx.config.has(per) ? ctx.config.str(per) : ctx.config.str("MKFS_XFS_OPTIONS");
        return v ? v.split(/\s+/).filter(Boolean) : undefined;
      };
      s.plan = planOrRefuse({
        doc: s.doc!,
        facts: mapFacts(s.saved.facts, s.mapping!),
        targets: s.targets!,
        mapping: s.mapping!,
        wipe: disksToWipe(ctx, s.doc!, s.targets!),
        xfsInfo: mapFacts(s.saved.xfsInfo, s.mapping!),
        lvmCfg: s.saved.lvmCfg,
        allowVgcfgrestore: s.identical === true && s.resized !== true,
        uuids: randomUuids(),
        cryptsetupOptions: ctx.config.str("LUKS_CRYPTSETUP_OPTIONS").split(/\s+/).filter(Boolean),
        xfsOptions: xfsOpts,
        targetRoot: ctx.config.str("TARGET_FS_ROOT") || "/mnt/local",
        workDir: p.workDir,
        layoutSha256: s.saved.sha256,
        layoutFile: s.saved.file,
      });
      const script = renderDiskrestore(s.plan, { hostname: ctx.config.str("HOSTNAME"), layoutFile: s.saved.file, version: VERSION });
      write(ctx, p.plan, `${JSON.stringify(s.plan, null, 1)}\n`);
      write(ctx, p.script, script, 0o700);
      write(ctx, p.scriptSha, `${createHash("sha256").update(script).digest("hex")}\n`);
      write(ctx, p.mappings, renderDiskMappings(s.mapping!));
    }
    const plan = s.plan!;
    ctx.log.logPrint(`The plan: ${plan.steps.length} steps in ${p.script} (plan.json beside it)`);
    if (plan.wipe.length) ctx.log.logPrint(`Disks to be completely overwritten: ${plan.wipe.join(" ")}`);
    if (dryRun(ctx)) {
      ctx.log.logUserOutput(describePlan(plan));
      const problems = checkPlanSafety(plan, s.targets!, s.protected!, { targetRoot: plan.targetRoot, resuming: false });
      if (problems.length) ctx.log.logUserOutput(`A real run would refuse to start:\n  ${problems.join("\n  ")}`);
      // on a live system (-p): what to install before the real run
      try {
        requirePrograms(ctx, programsNeeded(ctx, plan), ctx.workflow.name === "recover" ? "The recovery" : "The plan", { portable: ctx.cli.portable });
      } catch (e) {
        if (!(e instanceof WorkflowError)) throw e;
        ctx.log.logUserOutput(`A real run would stop here: ${e.message.replace(", nothing was changed", "")}`);
      }
      if (ctx.workflow.name === "recover") {
        const c = ctx.config;
        ctx.log.logUserOutput(`Then the restore: BACKUP=${c.str("BACKUP")}${c.str("BACKUP_URL") ? ` from ${maskPasswords(c.str("BACKUP_URL"))}` : ""} into ${plan.targetRoot}${c.str("BACKUP") === "NETFS" ? " (every archive's SHA-256 was checked above by the verify stage)" : ""}.`);
        ctx.log.logUserOutput(`Then finalize:\n${previewFinalize({
          layout: { lines: plan.layout }, mapping: plan.mapping, bootloader: savedBootloader(ctx), uefi: recoveringUefi(ctx),
          grubInstallDevices: grubInstallDevices(ctx, plan.mapping),
          rebuildInitramfs: c.str("REBUILD_INITRAMFS"),
        })}`);
      }
      ctx.log.logUserOutput(`Dry run: nothing was changed. The plan is in ${p.plan}, the script in ${p.script} (in the work area; -d keeps it).`);
      ctx.state.stopWorkflow = "dry run";
      return;
    }
    if (plan.unhandled.length) {
      ctx.log.logUserOutput("These components are NOT recreated by the plan:");
      for (const u of plan.unhandled) ctx.log.logUserOutput(`  ${u.id}: ${u.why}`);
      const a = userInputFor(ctx).ask({
        id: "LAYOUT_CODE_INCOMPLETE",
        prompt: `Go on without them (add their commands to ${p.script} and run it yourself)?`,
        choices: ["Go on without them", "Abort"],
      });
      if (a.choice === 1) throw new WorkflowError("Aborted: the plan does not recreate every component; nothing was changed", `edit ${p.script} and run it, or exclude the components (EXCLUDE_RECREATE)`);
    }
  },
};

export const PREPARE_RECREATE_MODULES: readonly Module[] = [loadLayout, resumePlan, probeDisks, mapDisksModule, autoresize, makePlan];
