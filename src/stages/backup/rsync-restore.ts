// verify and restore (BACKUP=RSYNC): the backup host is reached and RSYNC_PREFIX/backup is found there
// before anything is written, then the copy is brought back into TARGET_FS_ROOT with the options it was
// made with (without --relative). ReaR: verify/RSYNC/default/050_prep_rsync, 100_check_rsync,
// 150_check_rsync_protocol_version, 550_check_remote_backup_archive; restore/RSYNC/default/
// 200_remove_relative_rsync_option, 400_restore_rsync_backup. Unlike ReaR, EXCLUDE_RESTORE is honoured
// (as tar's restore does) and a failed rsync stops the restore (ReaR warns and goes on unless
// BACKUP_INTEGRITY_CHECK); the restore log is kept under $VAR_DIR/restore as for NETFS.

import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { encodeBytes } from "../../sys/bytes.ts";
import { join } from "node:path";
import { parseRsyncStats, remotePath, restoreExcludeLines, rsyncDisplay, rsyncExitMeaning, rsyncOutcome, rsyncRemote, rsyncRestoreArgv, shQuote, sshArgv } from "../../backup/rsync-plan.ts";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { exec } from "../../sys/exec.ts";
import { openRsyncSession, rsyncSession, sessionOptions } from "./rsync-backup.ts";

const restoring = (ctx: Context) => ctx.config.str("BACKUP") === "RSYNC" && (ctx.workflow.name === "recover" || ctx.workflow.name === "restoreonly");

const tail = (s: string, n = 3) => s.trim().split("\n").filter(Boolean).slice(-n).join(" / ");

export const verifyRsyncBackup: Module = {
  stage: "verify",
  order: 550,
  name: "check_remote_backup_archive",
  what: "verify/RSYNC/default/050_prep_rsync, 100_check_rsync, 150_check_rsync_protocol_version, 550_check_remote_backup_archive",
  when: restoring,
  async run(ctx) {
    const s = await openRsyncSession(ctx);
    const where = `${rsyncDisplay(s.url)}, ${s.prefix}/backup`;
    const hint = `check BACKUP_URL and RSYNC_PREFIX (${s.prefix}, default the host name): the backup is PATH/RSYNC_PREFIX/backup on the backup host`;
    if (s.url.proto === "ssh") {
      const dir = remotePath(s.url, s.prefix, "backup");
      const r = await exec(sshArgv(s.ssh!, s.url, `test -d ${shQuote(dir || "/")}`), { env: ctx.env, what: "looking for the backup" });
      if (r.code === 1) throw new WorkflowError(`There is no backup at ${where}: ${dir} is not a directory on ${s.url.host}. Nothing was restored`, hint);
      if (r.code !== 0) throw new WorkflowError(`Cannot look for the backup at ${where} (ssh exit ${r.code}): ${tail(r.stderr)}`, hint);
    } else {
      const r = await exec([s.rsync, "--list-only", "--dirs", rsyncRemote(s.url, s.prefix, "backup")], { env: ctx.env, what: "looking for the backup" });
      if (r.code !== 0) throw new WorkflowError(`There is no backup at ${where} (rsync exit ${r.code}: ${rsyncExitMeaning(r.code)}): ${tail(r.stderr)}. Nothing was restored`, hint);
    }
    ctx.log.logPrint(`Found the rsync backup at ${where}`);
    ctx.state.rsync = s;
  },
};

export const restoreRsyncBackup: Module = {
  stage: "restore",
  order: 400,
  name: "restore_rsync_backup",
  what: "restore/RSYNC/default/200_remove_relative_rsync_option, 400_restore_rsync_backup (+ EXCLUDE_RESTORE)",
  when: restoring,
  async run(ctx) {
    const c = ctx.config;
    const s = rsyncSession(ctx);
    const target = c.str("TARGET_FS_ROOT") || "/mnt/local";
    if (!existsSync(target) || !statSync(target).isDirectory()) throw new WorkflowError(`${target} (TARGET_FS_ROOT) does not exist`, "recreate and mount the layout first (rear layoutonly, or rear recover does both)");
    const options = sessionOptions(ctx, s, "restore");
    const excludes = restoreExcludeLines(c.arr("EXCLUDE_RESTORE"));
    const excludeFile = join(ctx.workArea!.tmpDir, "restore-exclude.txt");
    writeFileSync(excludeFile, encodeBytes(excludes.map((e) => `${e}\n`).join("")));
    const src = rsyncRemote(s.url, s.prefix, "backup");
    const argv = rsyncRestoreArgv({ rsync: s.rsync, options, ...(s.rsh ? { rsh: s.rsh } : {}), ...(excludes.length ? { excludeFile } : {}), src, target });
    ctx.log.logPrint(`Restoring rsync backup from '${rsyncDisplay(s.url)}' (${s.prefix}/backup) to ${target}`);
    const t0 = performance.now();
    const r = await exec(argv, { env: ctx.env, what: "restoring the rsync backup" });
    const secs = (performance.now() - t0) / 1000;
    const logDir = join(ctx.paths.varDir, "restore");
    mkdirSync(logDir, { recursive: true });
    const log = join(logDir, `${ctx.workflow.name}.rsync.${process.pid}.restore.log`);
    writeFileSync(log, r.stdout + r.stderr, { mode: 0o600 });
    const outcome = rsyncOutcome(r.code);
    if (outcome === "failed") {
      throw new WorkflowError(
        `rsync failed (exit ${r.code}: ${rsyncExitMeaning(r.code)}) restoring from ${rsyncDisplay(s.url)}: ${tail(r.stderr) || tail(r.stdout)}`,
        `${target} is partly restored: fix the cause and run the restore again (rsync continues where it stopped); its messages are in ${log}`,
      );
    }
    if (outcome === "vanished") ctx.log.warn(`Some files vanished on the backup host while they were restored (rsync exit 24): see ${log}`);
    const st = parseRsyncStats(r.stdout);
    ctx.log.logPrint(`Restored ${st.files !== undefined ? `${st.files} files, ` : ""}${st.bytes !== undefined ? `${Math.round(st.bytes / 1048576)} MiB ` : ""}in ${secs.toFixed(1)} s; rsync's log: ${log}`);
  },
};
