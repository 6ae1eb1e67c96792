// verify and restore (BACKUP=NETFS): the archive at BACKUP_URL is checked against its SHA-256 before
// anything is written (a damaged archive is refused, not half restored), then extracted into
// TARGET_FS_ROOT with the same metadata options it was made with. ReaR: verify/NETFS/default/
// 050_check_NETFS_requirements, 060_mount_NETFS_path, 070_set_backup_archive; restore/NETFS/default/
// 400_restore_backup, with BACKUP_TYPE's chains. Issue 7 in progress: decryption and progress next.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { archiveName, backupType, restoreChain } from "../../backup/netfs-plan.ts";
import { tarExtractArgv, tarFeatures, tarOutcome } from "../../backup/tar.ts";
import type { Context } from "../../engine/context.ts";
import type { ExitTask } from "../../engine/exit-tasks.ts";
import { NotImplementedError, WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { mountUrl, parseUrl, UrlError, type MountedUrl } from "../../output/url.ts";
import { exec, which } from "../../sys/exec.ts";
import { programSearchPath } from "../rescue/preflight.ts";
import { sha256File } from "./netfs-backup.ts";

interface RestoreState {
  mounted: MountedUrl;
  /** the exit task that unmounts BACKUP_URL when the run ends early */
  undo: ExitTask;
  /** in restore order: one archive, or a full backup and its incremental/differential ones */
  archives: { path: string; bytes: number }[];
}

const restoring = (ctx: Context) => ctx.config.str("BACKUP") === "NETFS" && (ctx.workflow.name === "recover" || ctx.workflow.name === "restoreonly");

/** "<hex>  <name>" (sha256sum's format) → the hex, or undefined when the line is not one. */
export function parseSha256Line(text: string, name: string): string | undefined {
  for (const l of text.split("\n")) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(l.trim());
    if (m && m[2] === name) return m[1];
  }
  return undefined;
}

export const verifyNetfsBackup: Module = {
  stage: "verify",
  order: 500,
  name: "verify_backup",
  what: "verify/NETFS/default/060_mount_NETFS_path, 070_set_backup_archive (+ our SHA-256 check before any write)",
  when: restoring,
  async run(ctx) {
    const c = ctx.config;
    let u;
    try {
      u = parseUrl(c.str("BACKUP_URL"), "BACKUP_URL");
    } catch (e) {
      if (e instanceof UrlError) throw new WorkflowError(e.message);
      throw e;
    }
    let type;
    try {
      type = backupType(c.str("BACKUP_TYPE"));
    } catch (e) {
      throw new WorkflowError((e as Error).message);
    }
    if (c.isTrue("BACKUP_PROG_CRYPT_ENABLED")) throw new NotImplementedError("restoring encrypted NETFS backups");
    // read-only, as ReaR's 090_set_readonly_options: the restore must not change the backup
    const options = ["ro", ...c.str("BACKUP_OPTIONS").split(",").filter((o) => o && o !== "rw")].join(",");
    const m = await mountUrl(u, join(ctx.workArea!.buildDir, "outputfs"), u.scheme === "file" ? "" : options);
    const undo = ctx.exitTasks.add(`unmount ${c.str("BACKUP_URL")}`, () => m.unmount());
    const dir = join(m.dir, c.str("NETFS_PREFIX") || c.str("HOSTNAME") || hostname());
    let names: string[];
    if (type) {
      // ReaR's chain: the latest full backup, then every incremental after it, or the latest differential
      names = restoreChain(existsSync(dir) ? readdirSync(dir) : [], type);
      if (!names.length) throw new WorkflowError(`There is no full backup (YYYY-MM-DD-HHMM-F…) in ${dir} to start the ${type} chain from`, "check BACKUP_URL and NETFS_PREFIX");
      ctx.log.logPrint(`Restoring the ${type} chain: ${names.join(", ")}`);
    } else {
      names = [archiveName(c.str("BACKUP_PROG_ARCHIVE"), c.str("BACKUP_PROG_SUFFIX") || ".tar", c.str("BACKUP_PROG_COMPRESS_SUFFIX"))];
    }
    const archives: RestoreState["archives"] = [];
    // every archive is checked before the first one is restored
    for (const name of names) {
      const archive = join(dir, name);
      await verifyArchive(ctx, dir, archive, name);
      archives.push({ path: archive, bytes: statSync(archive).size });
    }
    ctx.state.netfsRestore = { mounted: m, undo, archives } satisfies RestoreState;
  },
};

async function verifyArchive(ctx: Context, dir: string, archive: string, name: string): Promise<void> {
  if (!existsSync(archive)) throw new WorkflowError(`The backup archive ${archive} does not exist`, `check BACKUP_URL, NETFS_PREFIX and BACKUP_PROG_COMPRESS_SUFFIX; the directory holds: ${existsSync(dir) ? readdirSync(dir).join(" ") || "nothing" : "nothing (it does not exist)"}`);
  const manifest = `${archive}.sha256`;
  const t0 = performance.now();
  if (existsSync(manifest)) {
    const want = parseSha256Line(readFileSync(manifest, "utf8"), name);
    if (!want) throw new WorkflowError(`${manifest} has no SHA-256 line for ${name}`, "the manifest is damaged: check the archive by other means, then remove the manifest to restore anyway");
    const got = await sha256File(archive);
    if (got !== want) {
      throw new WorkflowError(
        `The backup archive ${archive} is damaged: its SHA-256 is ${got}, the manifest written with it says ${want}. Nothing was restored`,
        "restore from another copy of the backup (NETFS_KEEP_OLD_BACKUP_COPY keeps the previous one as .old)",
      );
    }
    ctx.log.logPrint(`Backup archive verified: SHA-256 matches ${name}.sha256 (${Math.round(statSync(archive).size / 1048576)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } else {
    ctx.log.warn(`${archive} has no ${name}.sha256 beside it (made by ReaR or an older rear?): it cannot be checked before the restore`);
  }
}

export const restoreNetfsBackup: Module = {
  stage: "restore",
  order: 400,
  name: "restore_backup",
  what: "restore/NETFS/default/400_restore_backup.sh",
  when: restoring,
  async run(ctx) {
    const c = ctx.config;
    const st = ctx.state.netfsRestore as RestoreState | undefined;
    if (!st) throw new Error("restore without a verified archive: verify/500 did not run");
    const target = c.str("TARGET_FS_ROOT") || "/mnt/local";
    if (!existsSync(target) || !statSync(target).isDirectory()) throw new WorkflowError(`${target} (TARGET_FS_ROOT) does not exist`, "recreate and mount the layout first (rear layoutonly, or rear recover does both)");
    const tar = which(c.str("BACKUP_PROG") || "tar", programSearchPath(ctx.env.PATH));
    if (!tar) throw new WorkflowError("Cannot find tar in the rescue system");
    const usage = await exec([tar, "--usage"], { quiet: true });
    const excludes = c.arr("EXCLUDE_RESTORE").filter(Boolean);
    const excludeFile = join(ctx.workArea!.tmpDir, "restore-exclude.txt");
    writeFileSync(excludeFile, excludes.map((e) => `${e.replace(/^\//, "")}\n`).join(""));
    for (const a of st.archives) {
      const argv = tarExtractArgv({
        tar, features: tarFeatures(usage.stdout), options: c.arr("BACKUP_PROG_OPTIONS").filter(Boolean), compress: c.arr("BACKUP_PROG_COMPRESS_OPTIONS").filter(Boolean),
        ...(excludes.length ? { excludeFile } : {}), archive: a.path, target,
      });
      ctx.log.logPrint(`Restoring from '${a.path}' (${Math.round(a.bytes / 1048576)} MiB) to ${target}`);
      const t0 = performance.now();
      const r = await exec(argv, { what: "restoring the backup" });
      const secs = (performance.now() - t0) / 1000;
      const logDir = join(ctx.paths.varDir, "restore");
      mkdirSync(logDir, { recursive: true });
      const log = join(logDir, `${ctx.workflow.name}.${a.path.split("/").pop()}.${process.pid}.restore.log`);
      writeFileSync(log, r.stderr, { mode: 0o600 });
      const outcome = tarOutcome(r.code);
      if (outcome === "failed") throw new WorkflowError(`tar failed (exit ${r.code}) restoring ${a.path}: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`, `its messages are in ${log}`);
      if (outcome === "changed") ctx.log.warn(`tar reported differences while restoring (exit 1): see ${log}`);
      ctx.log.logPrint(`Restored ${Math.round(a.bytes / 1048576)} MiB in ${secs.toFixed(1)} s [avg ${Math.round(a.bytes / 1024 / Math.max(secs, 0.001))} KiB/sec]; tar's log: ${log}`);
    }
    ctx.exitTasks.remove(st.undo);
    await st.mounted.unmount();
  },
};
