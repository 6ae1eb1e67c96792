// Which BACKUP methods this version can back up with and restore from. A method it cannot serve stops
// the workflow with exit 3 (never a run that "succeeds" without a backup); the methods whose backups
// the backup software makes by itself (ReaR's external methods: REQUESTRESTORE, TSM, NBU, …) make
// nothing in mkbackup, as in ReaR — and say so at default verbosity, so that nobody takes a silent
// exit 0 for a backup.
//
// Exit codes: an empty BACKUP is a mistake the configuration alone shows, found here before any stage
// has done anything: exit 1, as the configuration checks give for an unknown BACKUP. What is found
// while the backup stage runs (an include that does not exist, a program that fails, an archive that
// holds nothing, a target that cannot be written) is a failed run: exit 2 (WorkflowError).

import type { Context } from "../../engine/context.ts";
import { NotImplementedError, UserError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";

/** ReaR's internal methods: mkbackup makes their backup (reference §8). */
const INTERNAL = new Set(["NETFS", "RSYNC", "BORG", "DUPLICITY", "DUPLY", "RBME", "BLOCKCLONE", "YUM", "ZYPPER", "OBDR", "EXTERNAL"]);

/** Who makes the backup when rear does not (the methods that are not INTERNAL). */
function whoBacksUp(method: string): string {
  if (method === "REQUESTRESTORE") return "you restore one yourself at recover (REQUESTRESTORE)";
  if (method === "NFS4SERVER") return "at recover the rescue system exports /mnt/local by NFS for a restore pushed from elsewhere";
  if (method === "COVE") return "the Cove Backup Manager does (it runs rear mkrescue and backs up the ISO with the files)";
  if (method === "OPALPBA") return "it is the method of mkopalpba (a pre-boot image), not of backups";
  // ReaR 2.7's mkbackup runs `dsmc incremental` of the include list for TSM (backup/TSM/default/500_make_TSM_backup.sh)
  if (method === "TSM") return "your backup software does (ReaR 2.7's mkbackup runs 'dsmc incremental' here; this version does not yet: let your TSM schedule or 'dsmc incremental' make it)";
  return "your backup software does";
}
const BACKS_UP = new Set(["NETFS", "RSYNC", "EXTERNAL"]);
const RESTORES = new Set(["NETFS", "RSYNC", "EXTERNAL", "REQUESTRESTORE", "COVE"]);

export interface BackupSupport {
  ok: boolean;
  why: string;
  /** a line for the user at default verbosity (a method whose backups rear does not make) */
  say?: string;
}

export function backupSupport(method: string, workflow: string): BackupSupport {
  if (workflow === "mkbackup" || workflow === "mkbackuponly") {
    if (BACKS_UP.has(method)) return { ok: true, why: `BACKUP=${method}` };
    if (!INTERNAL.has(method)) {
      const who = whoBacksUp(method);
      const then = workflow === "mkbackuponly" ? "mkbackuponly has nothing to do" : "mkbackup makes the rescue system only";
      const say = `BACKUP=${method}: rear makes no backup; ${who} (${then})`;
      return { ok: true, why: say, say };
    }
    return { ok: false, why: `making BACKUP=${method} backups (this version makes NETFS, RSYNC and EXTERNAL ones)` };
  }
  if (workflow === "recover" || workflow === "restoreonly") {
    if (RESTORES.has(method)) return { ok: true, why: `BACKUP=${method}` };
    return { ok: false, why: `restoring BACKUP=${method} backups (this version restores NETFS, RSYNC, EXTERNAL and COVE ones, and waits for REQUESTRESTORE)` };
  }
  return { ok: true, why: "" };
}

/** BACKUP unset or empty (`unset BACKUP`, `BACKUP=`): a configuration mistake, exit 1. */
export function emptyBackupError(ctx: Pick<Context, "config" | "paths">): UserError | undefined {
  if (ctx.config.str("BACKUP").trim() !== "") return undefined;
  return new UserError(
    "BACKUP is empty: rear does not know how the backup is made or restored",
    `set BACKUP in ${ctx.paths.configDir}/local.conf: NETFS (with BACKUP_URL), RSYNC, EXTERNAL, or your backup product's (TSM, NBU, …); without a line of its own it is REQUESTRESTORE`,
  );
}

export const checkBackupMethod: Module = {
  stage: "prep",
  order: 35,
  name: "valid_backup_methods",
  what: "prep/default/035_valid_backup_methods.sh (and what this version implements)",
  when: (ctx: Context) => ["mkbackup", "mkbackuponly"].includes(ctx.workflow.name),
  run(ctx) {
    const empty = emptyBackupError(ctx);
    if (empty) throw empty;
    const s = backupSupport(ctx.config.str("BACKUP"), ctx.workflow.name);
    if (!s.ok) throw new NotImplementedError(s.why);
    if (s.say) ctx.log.logUserOutput(s.say);
  },
};

export const checkRestoreMethod: Module = {
  stage: "verify",
  order: 35,
  name: "valid_restore_method",
  what: "what this version restores",
  when: (ctx: Context) => ["recover", "restoreonly"].includes(ctx.workflow.name),
  run(ctx) {
    const empty = emptyBackupError(ctx);
    if (empty) throw empty;
    const s = backupSupport(ctx.config.str("BACKUP"), ctx.workflow.name);
    if (!s.ok) throw new NotImplementedError(s.why);
  },
};
