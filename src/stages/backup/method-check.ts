// Which BACKUP methods this version can back up with and restore from. A method it cannot serve stops
// the workflow with exit 3 (never a run that "succeeds" without a backup); the methods whose backups
// the backup software makes by itself (ReaR's external methods: REQUESTRESTORE, TSM, NBU, …) make
// nothing in mkbackup, as in ReaR.

import type { Context } from "../../engine/context.ts";
import { NotImplementedError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";

/** ReaR's internal methods: mkbackup makes their backup (reference §8). */
const INTERNAL = new Set(["NETFS", "RSYNC", "BORG", "DUPLICITY", "RBME", "BLOCKCLONE", "YUM", "ZYPPER", "OBDR", "EXTERNAL"]);
const BACKS_UP = new Set(["NETFS", "RSYNC", "EXTERNAL"]);
const RESTORES = new Set(["NETFS", "RSYNC", "EXTERNAL", "REQUESTRESTORE"]);

export function backupSupport(method: string, workflow: string): { ok: boolean; why: string } {
  if (workflow === "mkbackup" || workflow === "mkbackuponly") {
    if (BACKS_UP.has(method)) return { ok: true, why: `BACKUP=${method}` };
    if (!INTERNAL.has(method)) return { ok: true, why: `BACKUP=${method} makes its backups with its own software: ${workflow} makes none` };
    return { ok: false, why: `making BACKUP=${method} backups (this version makes NETFS, RSYNC and EXTERNAL ones)` };
  }
  if (workflow === "recover" || workflow === "restoreonly") {
    if (RESTORES.has(method)) return { ok: true, why: `BACKUP=${method}` };
    return { ok: false, why: `restoring BACKUP=${method} backups (this version restores NETFS, RSYNC and EXTERNAL ones, and waits for REQUESTRESTORE)` };
  }
  return { ok: true, why: "" };
}

export const checkBackupMethod: Module = {
  stage: "prep",
  order: 35,
  name: "valid_backup_methods",
  what: "prep/default/035_valid_backup_methods.sh (and what this version implements)",
  when: (ctx: Context) => ["mkbackup", "mkbackuponly"].includes(ctx.workflow.name),
  run(ctx) {
    const s = backupSupport(ctx.config.str("BACKUP"), ctx.workflow.name);
    if (!s.ok) throw new NotImplementedError(s.why);
    if (s.why && !["NETFS", "RSYNC", "EXTERNAL"].includes(ctx.config.str("BACKUP"))) ctx.log.logPrint(s.why);
  },
};

export const checkRestoreMethod: Module = {
  stage: "verify",
  order: 35,
  name: "valid_restore_method",
  what: "what this version restores",
  when: (ctx: Context) => ["recover", "restoreonly"].includes(ctx.workflow.name),
  run(ctx) {
    const s = backupSupport(ctx.config.str("BACKUP"), ctx.workflow.name);
    if (!s.ok) throw new NotImplementedError(s.why);
  },
};
