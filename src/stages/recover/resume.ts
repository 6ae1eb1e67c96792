// A recover run again continues where the last one stopped (src/recover/state.ts says what is kept).
// After a failure the record is in the rescue system; after a power cut it is on the recreated root
// filesystem, which this run finds once the plan is confirmed: it brings up and mounts the layout as
// mountonly does, reads the record, and either goes on from it or undoes what it brought up and makes
// the layout anew. `--restart` ignores and removes both records.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../../engine/context.ts";
import type { Module } from "../../engine/module.ts";
import { activeEntries } from "../../layout/model.ts";
import { buildMountPlan } from "../../layout/plan/mount.ts";
import { applyPlan } from "../../recreate/apply.ts";
import { mismatch, newState, parseState, resumePoint, TARGET_STATE_FILE, type RecoverState } from "../../recover/state.ts";
import { readRegularFile } from "../../sys/read-file.ts";
import { exec } from "../../sys/exec.ts";
import { dryRun, recreatePaths, recreateState } from "../layout/prepare-recreate.ts";
import { privateDir, writePrivateFile } from "../layout/private-files.ts";
import { applyDepsFor, knownLuksPassphrase } from "../layout/run-recreate.ts";

const recovering = (ctx: Context) => ctx.workflow.name === "recover" && !dryRun(ctx);
const localFile = (ctx: Context) => `${ctx.paths.varDir}/recover/state.json`;
const targetRoot = (ctx: Context) => recreateState(ctx).plan?.targetRoot ?? (ctx.config.str("TARGET_FS_ROOT") || "/mnt/local");

/** This run's record, when recover keeps one (finalizeonly does not: it does what it is asked, every time). */
export const currentState = (ctx: Context): RecoverState | undefined => ctx.state.recoverState as RecoverState | undefined;

function writeDurably(path: string, text: string): void {
  const fd = openSync(path, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Keeps the record: in the rescue system always, on the recreated root once the layout is made (synced: a power cut may follow). */
export function saveState(ctx: Context, s: RecoverState): void {
  ctx.state.recoverState = s;
  const text = `${JSON.stringify(s, null, 1)}\n`;
  privateDir(`${ctx.paths.varDir}/recover`, [ctx.paths.varDir]);
  writePrivateFile(localFile(ctx), text, [ctx.paths.varDir]);
  if (!s.layoutDoneAt) return;
  const root = targetRoot(ctx);
  writeDurably(join(root, TARGET_STATE_FILE), text);
  const dir = openSync(root, "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** layout/prepare: the record of an earlier run in this rescue system, when it is for the same layout. */
const loadLocalState: Module = {
  stage: "layout/prepare",
  order: 21,
  name: "load_recover_state",
  what: "(new) a recover run again continues after what finished",
  when: recovering,
  run(ctx) {
    const f = localFile(ctx);
    if (ctx.args.includes("--restart")) {
      if (existsSync(f)) {
        rmSync(f);
        ctx.log.logPrint("Starting over: the record of the previous recover is removed");
      }
      return;
    }
    if (!existsSync(f)) return;
    const s = parseState(readRegularFile(f, 1 << 20) ?? "");
    const saved = recreateState(ctx).saved;
    const why = s ? mismatch(s, saved.sha256, s.mapping) : "it cannot be read";
    if (!s || why) {
      ctx.log.logPrint(`Not continuing the previous recover (${f}): ${why}`);
      rmSync(f);
      return;
    }
    ctx.state.recoverState = s;
    const after = resumePoint(s);
    if (after) ctx.log.logUserOutput(`Resuming the recover that began ${s.startedAt}: resuming after ${after} ('rear recover --restart' starts over)`);
  },
};

/**
 * layout/recreate, after the confirmation: a recover that lost its rescue system (a power cut) left its
 * record on the recreated root. Look for it by bringing the planned layout up as mountonly does; when
 * it is there and for this layout, the layout is not made again.
 */
const findInterrupted: Module = {
  stage: "layout/recreate",
  order: 150,
  name: "find_interrupted_recover",
  what: "(new) after a power cut, the layout a recover made is found on the disks and kept",
  when: (ctx) => recovering(ctx) && !ctx.args.includes("--restart"),
  async run(ctx) {
    const rs = recreateState(ctx);
    // (when() is decided before the workflow runs: what an earlier module found is looked at here)
    if (currentState(ctx) || rs.resuming) return;
    const plan = rs.plan!;
    const mountPlan = buildMountPlan({ lines: plan.layout }, { targetRoot: plan.targetRoot, workDir: `${ctx.workArea?.tmpDir ?? "/tmp"}/peek`, layoutSha256: plan.layoutSha256 });
    const entries = activeEntries({ lines: plan.layout });
    const unknown = mountPlan.steps.flatMap((x) => (x.secret && !knownLuksPassphrase(ctx, x.secret.name, entries) ? [x.secret.name] : []));
    if (unknown.length) {
      ctx.log.log(`Not looking for an interrupted recover: no passphrase is given for ${unknown.join(", ")} (they are not asked for a look)`);
      return;
    }
    if (!plan.layout.some((l) => l.t === "entry" && l.entry.kw === "fs" && l.entry.mountpoint === "/")) return;
    // only the devices of the plan's layout are brought up (arrays assembled, volume groups activated,
    // filesystems mounted where the plan mounts them); nothing is written but what a mount replays from
    // a journal. Whatever this brought up is taken down again when no record is found.
    const ran: string[] = [];
    const deps = applyDepsFor(ctx, mountPlan, entries, false);
    const quiet = { ...deps, progress: (t: string) => ctx.log.log(t), markDone: () => {} };
    const undo = async () => {
      await exec(["umount", "--recursive", plan.targetRoot]);
      for (const st of [...mountPlan.steps].reverse()) {
        if (!ran.includes(st.id)) continue;
        if (st.action === "vgchange") await exec(["lvm", "vgchange", "-an", st.argv[st.argv.length - 1]!]);
        if (st.action === "luks-open") await exec(["cryptsetup", "close", st.argv[st.argv.length - 1]!]);
        if (st.action === "assemble") await exec(["mdadm", "--stop", st.argv[2]!]);
      }
    };
    let s: RecoverState | undefined;
    try {
      await applyPlan(mountPlan, { ...quiet, run: async (argv, stdin) => {
        const r = await deps.run(argv, stdin);
        const st = mountPlan.steps.find((x) => x.argv === argv);
        if (st && r.code === 0) ran.push(st.id);
        return r;
      } }, () => "", "always");
      const f = join(plan.targetRoot, TARGET_STATE_FILE);
      if (existsSync(f)) s = parseState(readRegularFile(f, 1 << 20) ?? "");
    } catch (e) {
      ctx.log.log(`No interrupted recover on these disks (${(e as Error).message.split("\n")[0]})`);
    }
    const why = s ? mismatch(s, plan.layoutSha256, plan.mapping) : "no record of one";
    if (!s || why || !s.layoutDoneAt) {
      if (s) ctx.log.logPrint(`A recover record is on these disks but is not continued: ${why ?? "its layout was not finished"}`);
      else ctx.log.log(`No interrupted recover on these disks: ${why}`);
      await undo();
      return;
    }
    // the layout is there and mounted: every step of the plan counts as done
    privateDir(plan.doneDir, [`${ctx.paths.varDir}/layout`]);
    for (const st of plan.steps) if (!st.always) writePrivateFile(`${plan.doneDir}/${st.id}`, "", [`${ctx.paths.varDir}/layout`]);
    if (s.uuidMapping) writePrivateFile(recreatePaths(ctx).uuidMapping, s.uuidMapping, [`${ctx.paths.varDir}/layout`]);
    rs.resuming = true;
    saveState(ctx, s);
    ctx.log.logUserOutput(`These disks hold the recover that began ${s.startedAt} and was interrupted: resuming after ${resumePoint(s)} ('rear recover --restart' starts over)`);
  },
};

/** layout/recreate, at the end: the layout is made and mounted; from now on the record is on it too. */
const layoutDone: Module = {
  stage: "layout/recreate",
  order: 280,
  name: "record_layout_done",
  what: "(new) the recover record: layout made",
  when: recovering,
  run(ctx) {
    const rs = recreateState(ctx);
    const plan = rs.plan!;
    // a layout made anew (not continued) makes whatever an earlier run restored or finalized void
    const earlier = currentState(ctx);
    const s = earlier && rs.resuming === true && !mismatch(earlier, plan.layoutSha256, plan.mapping) ? earlier : newState(plan.layoutSha256, plan.mapping, new Date(performance.timeOrigin));
    const uuidFile = recreatePaths(ctx).uuidMapping;
    const uuidMapping = existsSync(uuidFile) ? readFileSync(uuidFile, "utf8") : undefined;
    saveState(ctx, { ...s, layoutDoneAt: s.layoutDoneAt ?? new Date().toISOString(), ...(uuidMapping ? { uuidMapping } : {}) });
  },
};

/** Whether the restore of this recover finished already (restore modules are skipped then). */
export const restoreDone = (ctx: Context): boolean => !!currentState(ctx)?.restoreDoneAt;

const restoreBegins: Module = {
  stage: "restore",
  order: 1,
  name: "record_restore_start",
  what: "(new) the recover record: a restore that finished is not done again",
  when: recovering,
  run(ctx) {
    const s = currentState(ctx);
    if (!s) return;
    if (s.restoreDoneAt) return ctx.log.logUserOutput(`The backup was restored by the earlier run (finished ${s.restoreDoneAt}): not restoring it again`);
    if (s.restoreStartedAt) ctx.log.logUserOutput(`The restore that began ${s.restoreStartedAt} did not finish: restoring again into the same filesystems`);
    saveState(ctx, { ...s, restoreStartedAt: new Date().toISOString() });
  },
};

const restoreEnds: Module = {
  stage: "restore",
  order: 999,
  name: "record_restore_done",
  what: "(new) the recover record: restore finished",
  when: recovering,
  async run(ctx) {
    const s = currentState(ctx);
    if (!s || s.restoreDoneAt) return;
    // what was restored is on the disks before the record says so
    await exec(["sync"]);
    saveState(ctx, { ...s, restoreDoneAt: new Date().toISOString() });
  },
};

/** wrapup: the recover finished; the record leaves the recovered system (a copy goes to its recover logs). */
const forgetState: Module = {
  stage: "wrapup",
  order: 970,
  name: "remove_recover_record",
  what: "(new) the recover record is not left in the recovered system",
  when: recovering,
  run(ctx) {
    rmSync(join(targetRoot(ctx), TARGET_STATE_FILE), { force: true });
    const s = currentState(ctx);
    if (s) writePrivateFile(localFile(ctx), `${JSON.stringify({ ...s, finishedAt: new Date().toISOString() }, null, 1)}\n`, [ctx.paths.varDir]);
  },
};

export const RESUME_MODULES: readonly Module[] = [loadLocalState, findInterrupted, layoutDone, restoreBegins, restoreEnds, forgetState];

/** Makes a restore module skip itself in a recover whose restore finished before (decided when it is its turn). */
export const unlessRestored = (m: Module): Module => ({
  ...m,
  run: (ctx) => {
    if (ctx.workflow.name === "recover" && restoreDone(ctx)) return ctx.log.log(`${m.name}: not run, the restore finished before`);
    return m.run(ctx);
  },
});

