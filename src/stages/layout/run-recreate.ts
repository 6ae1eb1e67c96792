// layout/recreate (reference §5.8–§5.9): every safety check before the first step that writes, one
// confirmation (unless unattended), the plan's steps — or the edited diskrestore.sh —, then a probe of
// what was made compared with the plan, and the check that the root filesystem is mounted.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { userInputFor } from "../../engine/ask.ts";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { compareLayouts, madeByPlan, VERIFIED_KEYWORDS, withoutRounded } from "../../layout/compare.ts";
import { parseBlkidExport } from "../../layout/parse/blkid.ts";
import { extractLayout } from "../../layout/extract/index.ts";
import { activeEntries, type Entry } from "../../layout/model.ts";
import { collectProbes } from "../../layout/probe/collect.ts";
import { checkPlanSafety } from "../../layout/safety.ts";
import { humanSize } from "../../layout/show.ts";
import type { Plan } from "../../layout/plan/types.ts";
import { applyPlan, type ApplyDeps } from "../../recreate/apply.ts";
import { addExecSecret, exec } from "../../sys/exec.ts";
import { describePlan, recreatePaths, recreateState } from "./prepare-recreate.ts";
import { privateDir, writePrivateFile } from "./private-files.ts";
import { requirePrograms } from "../rescue/preflight.ts";
import { programsNeeded } from "./programs.ts";

const checkSafety: Module = {
  stage: "layout/recreate",
  order: 100,
  name: "check_safety",
  what: "(new) write protection, disks in use; ReaR checks these piecemeal in 120_confirm_wipedisk_disks.sh",
  run(ctx) {
    const s = recreateState(ctx);
    const errors = checkPlanSafety(s.plan!, s.targets!, s.protected!, { targetRoot: s.plan!.targetRoot, resuming: s.resuming === true });
    if (errors.length) {
      throw new WorkflowError(`The plan cannot run safely, nothing was changed:\n  ${errors.join("\n  ")}`, "map the saved disks onto other disks (/etc/rear/mappings/disk_mappings), or free the disks and run again");
    }
  },
};

/**
 * Every program the plan runs is in this rescue system — checked before the first write (ReaR finds a
 * missing mkfs.xfs when its diskrestore.sh gets there, with the disk already half made). The restore's
 * programs are checked by the verify stage, the boot loader's are the restored system's own.
 */
export const checkTools: Module = {
  stage: "layout/recreate",
  order: 110,
  name: "check_tools",
  what: "(new) every program of the plan is present before anything is written",
  run(ctx) {
    const plan = recreateState(ctx).plan!;
    requirePrograms(ctx, programsNeeded(ctx, plan), ctx.workflow.name === "recover" ? "The recovery" : "The plan", { portable: ctx.cli.portable });
  },
};

const confirm: Module = {
  stage: "layout/recreate",
  order: 120,
  name: "confirm_plan",
  what: "layout/recreate/default/100_confirm_layout_code.sh, 120_confirm_wipedisk_disks.sh",
  run(ctx) {
    const s = recreateState(ctx);
    const plan = s.plan!;
    const p = recreatePaths(ctx);
    const disks = plan.wipe.map((d) => {
      const t = s.targets!.disks.find((x) => x.device === d);
      return `  ${d}${t ? ` (${humanSize(t.sizeBytes)}${t.model ? `, ${t.model}` : ""}${t.serial ? `, serial ${t.serial}` : ""})` : ""}`;
    });
    const ui = userInputFor(ctx);
    for (;;) {
      const a = ui.ask({
        id: "WIPE_DISKS_CONFIRMATION",
        prompt: `${s.resuming ? "Go on with the plan" : "Recreate the disk layout"}: ${plan.steps.length} steps (${p.script}).\nDisks to be completely overwritten:\n${disks.join("\n") || "  (none)"}`,
        choices: ["Confirm and recreate the disk layout", "View the plan", "Abort"],
        default: 0,
        destructive: true,
      });
      if (a.choice === 0) return;
      if (a.choice === 1) {
        ctx.log.userOutput(describePlan(plan));
        continue;
      }
      throw new WorkflowError("Aborted before the disk layout was recreated: nothing was changed");
    }
  },
};

function scriptEdited(ctx: Context): boolean {
  const p = recreatePaths(ctx);
  if (!existsSync(p.script) || !existsSync(p.scriptSha)) return false;
  return createHash("sha256").update(readFileSync(p.script)).digest("hex") !== readFileSync(p.scriptSha, "utf8").trim();
}

const runPlan: Module = {
  stage: "layout/recreate",
  order: 200,
  name: "run_plan",
  what: "layout/recreate/default/200_run_layout_code.sh",
  async run(ctx) {
    const s = recreateState(ctx);
    const plan = s.plan!;
    const p = recreatePaths(ctx);
    const hint = `fix the cause and run 'rear ${ctx.workflow.name}' again: the steps done are skipped (or edit ${p.script} and run 'bash ${p.script}'; '--restart' starts over)`;
    if (scriptEdited(ctx)) {
      ctx.log.logUserOutput(`${p.script} was edited: running it instead of the plan`);
      const r = await exec(["bash", p.script], { interactive: true, env: { ...ctx.env, DONE_DIR: plan.doneDir } });
      if (r.code !== 0) throw new WorkflowError(`${p.script} failed with exit code ${r.code}`, hint);
      ctx.log.logUserOutput("Disk layout created.");
      return;
    }
    privateDir(plan.doneDir, [`${ctx.paths.varDir}/layout`]);
    const deps = applyDepsFor(ctx, plan, activeEntries(s.saved.doc), true);
    const r = await applyPlan(plan, deps, (i) => `${i} of ${plan.steps.length} steps are done; ${hint}`);
    ctx.log.logUserOutput(`Disk layout created (${r.ran} steps run${r.skipped ? `, ${r.skipped} done before` : ""}${r.found ? `, ${r.found} found already done` : ""}).`);
  },
};

/** `NAME=value` from the running kernel's command line (the rescue system's boot options), or undefined. */
function bootOption(name: string, cmdline = "/proc/cmdline"): string | undefined {
  try {
    for (const w of readFileSync(cmdline, "utf8").trim().split(/\s+/)) if (w.startsWith(`${name}=`)) return w.slice(name.length + 1);
  } catch {}
  return undefined;
}

/** The side effects of applying a plan in a workflow: commands, done markers (or none: mountonly), passphrases. */
export function applyDepsFor(ctx: Context, plan: Plan, entries: Entry[], markers: boolean): ApplyDeps {
  const secrets = new Map<string, string>();
  const ui = userInputFor(ctx);
  return {
    run: (argv, stdin) => exec(argv, { env: { ...ctx.env, LC_ALL: "C", LVM_SUPPRESS_FD_WARNINGS: "1" }, ...(stdin !== undefined ? { stdin } : {}) }),
    isDone: (id) => markers && existsSync(`${plan.doneDir}/${id}`),
    markDone: (id) => {
      if (markers) writeFileSync(`${plan.doneDir}/${id}`, "", { mode: 0o600 });
    },
    exists: (d) => existsSync(d),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    passphrase: (name, device) => {
      if (!secrets.has(name)) secrets.set(name, luksPassphrase(ctx, ui, name, device, entries));
      return secrets.get(name)!;
    },
    progress: (t) => ctx.log.logPrint(t),
    log: (t) => ctx.log.log(t),
  };
}

/**
 * The passphrase of a LUKS volume given for an unattended recover, or undefined. ReaR: a `password=`
 * option of the crypt entry. Here also LUKS_PASSPHRASE_<name> (or _<NAME>) in the configuration or the
 * environment, or `luks_passphrase_<name>=` on the rescue kernel's command line. Each is a secret: never
 * logged, never on a command line (cryptsetup reads it on stdin), not written anywhere.
 */
export function knownLuksPassphrase(ctx: Context, name: string, entries: readonly Entry[]): string | undefined {
  const e = entries.find((x) => x.kw === "crypt" && x.device === `/dev/mapper/${name}`);
  if (e && e.kw === "crypt" && e.opts.password) return e.opts.password;
  const safe = name.replace(/[^A-Za-z0-9_]/g, "_");
  for (const v of [`LUKS_PASSPHRASE_${safe}`, `LUKS_PASSPHRASE_${safe.toUpperCase()}`]) {
    if (ctx.config.str(v)) return ctx.config.str(v);
    if (ctx.env[v]) return ctx.env[v]!;
  }
  const boot = ctx.recoveryMode ? bootOption(`luks_passphrase_${safe}`) : undefined;
  if (boot) {
    addExecSecret(boot);
    if (!ctx.cli.exposeSecrets) ctx.log.addSecret(boot);
  }
  return boot;
}

/** The passphrase of a LUKS volume: given (knownLuksPassphrase), else asked, twice. */
function luksPassphrase(ctx: Context, ui: ReturnType<typeof userInputFor>, name: string, device: string, entries: Entry[]): string {
  const known = knownLuksPassphrase(ctx, name, entries);
  if (known) return known;
  const safe = name.replace(/[^A-Za-z0-9_]/g, "_");
  const id = `LUKS_PASSPHRASE_${safe.toUpperCase()}`;
  for (;;) {
    const a = ui.ask({ id, prompt: `Passphrase for the LUKS volume ${name} on ${device}`, secret: true });
    if (a.how !== "user") return a.text;
    const b = ui.ask({ id: `${id}_REPEAT`, prompt: "Repeat the passphrase", secret: true });
    if (a.text && a.text === b.text) return a.text;
    ctx.log.userOutput("Empty or not the same, once more.");
  }
}

const verifyLayout: Module = {
  stage: "layout/recreate",
  order: 250,
  name: "verify_layout",
  what: "(new) probe what was made and compare it with the plan; layout/recreate/default/220_verify_layout.sh",
  async run(ctx) {
    const s = recreateState(ctx);
    const plan = s.plan!;
    const probe = await collectProbes({ note: (m) => ctx.log.log(m) });
    const now = extractLayout(probe, { dated: "0", includeLoop: ctx.env.REAR_LAYOUT_INCLUDE_LOOP === "1" });
    const planned = plan.layout.flatMap((l) => (l.t === "entry" && VERIFIED_KEYWORDS.has(l.entry.kw) ? [l.entry] : []));
    const mine = madeByPlan(planned, activeEntries(now.doc), plan.targetRoot);
    const doc = (list: Entry[]) => ({ lines: list.map((entry) => ({ t: "entry" as const, disabled: false, entry: withoutRounded(entry) })) });
    const d = compareLayouts(doc(planned), doc(mine));
    if (d.same) ctx.log.logPrint("The recreated layout is the planned one");
    else {
      ctx.log.logPrint("The recreated layout differs from the plan in these lines (often only sizes LVM or mkfs rounded):");
      for (const l of d.removed) ctx.log.logPrint(`  planned: ${l}`);
      for (const l of d.added) ctx.log.logPrint(`  made:    ${l}`);
    }
    // 280_migrate_uuid_tags.sh reads old→new UUIDs from fs_uuid_mapping: every filesystem (and swap)
    // whose UUID could not be kept; blkid sees them mounted or not
    const blkid = parseBlkidExport(probe["blkid.txt"] ?? "");
    const changes: string[] = [];
    for (const l of plan.layout) {
      if (l.t !== "entry" || (l.entry.kw !== "fs" && l.entry.kw !== "swap") || !l.entry.opts.uuid) continue;
      const dev = l.entry.device;
      const now = blkid.find((b) => b.DEVNAME === dev)?.UUID;
      if (now && now.toLowerCase() !== l.entry.opts.uuid.toLowerCase()) changes.push(`${l.entry.opts.uuid} ${now} ${dev}\n`);
      if (!now) ctx.log.warn(`blkid finds no UUID on ${dev} (planned ${l.entry.opts.uuid})`);
    }
    if (changes.length) {
      const p = recreatePaths(ctx);
      writePrivateFile(p.uuidMapping, changes.join(""), [`${ctx.paths.varDir}/layout`]);
      ctx.log.logUserOutput(`${changes.length} filesystem UUID(s) could not be kept: old → new in ${p.uuidMapping}`);
    }
  },
};

const verifyMount: Module = {
  stage: "layout/recreate",
  order: 260,
  name: "verify_mount",
  what: "layout/recreate/default/250_verify_mount.sh",
  async run(ctx) {
    const root = recreateState(ctx).plan!.targetRoot;
    if ((await exec(["mountpoint", "-q", root])).code !== 0) {
      throw new WorkflowError(`No filesystem mounted on '${root}'`, "the layout has no root filesystem, or it was excluded: check disklayout.conf");
    }
    ctx.log.logPrint(`The recreated filesystems are mounted at ${root}`);
  },
};

export const RUN_RECREATE_MODULES: readonly Module[] = [checkSafety, checkTools, confirm, runPlan, verifyLayout, verifyMount];
