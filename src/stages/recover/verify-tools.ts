// recover's verify stage: every program the restore and finalize run in the rescue system is there
// before the first disk is written (the layout's own are checked by layout/recreate check_tools). ReaR
// finds a missing decompressor or efibootmgr when it gets there, with the disks already recreated.
// The boot loader and initramfs tools are not checked here: they run inside the restored system.

import type { Context } from "../../engine/context.ts";
import type { Module } from "../../engine/module.ts";
import { requirePrograms } from "../rescue/preflight.ts";
import { recoveringUefi } from "./facts.ts";

/** tar's compression options → the program tar runs for them. */
const COMPRESSORS: Record<string, string> = {
  "--gzip": "gzip", "-z": "gzip", "--gunzip": "gzip", "--ungzip": "gzip", "--bzip2": "bzip2", "-j": "bzip2", "--xz": "xz", "-J": "xz",
  "--lzip": "lzip", "--lzma": "lzma", "--lzop": "lzop", "--zstd": "zstd",
};

/** The programs recover runs in the rescue system for the restore and finalize, each with what it is for. */
export function recoverPrograms(o: { backup: string; backupProg: string; compressOptions: readonly string[]; uefi: boolean }): [string, string][] {
  const out: [string, string][] = [["chroot", "run the boot loader and initramfs tools in the restored system"], ["mount", "bind-mount /proc /sys /dev /run"], ["sync", "make each finished step durable"]];
  if (o.backup === "NETFS") {
    out.push([o.backupProg || "tar", "restore the backup"]);
    for (const opt of o.compressOptions) {
      const m = /^--use-compress-program=(\S+)/.exec(opt) ?? /^-I(\S+)/.exec(opt);
      const prog = m ? m[1]! : COMPRESSORS[opt];
      if (prog) out.push([prog, `decompress the backup (${opt})`]);
    }
  }
  if (o.backup === "COVE") {
    // the Backup Manager's installer is a makeself archive (a shell script with a tar payload)
    for (const p of ["sh", "tar", "gzip", "cp", "umount"]) out.push([p, "install the Backup Manager that restores the backup"]);
  }
  if (o.uefi) out.push(["efibootmgr", "write the UEFI boot entry"]);
  return out;
}

/** recoverPrograms for this run's configuration. */
export function recoverProgramsOf(ctx: Pick<Context, "config">, restoreOnly = false): [string, string][] {
  const c = ctx.config;
  const all = recoverPrograms({ backup: c.str("BACKUP"), backupProg: c.str("BACKUP_PROG"), compressOptions: c.arr("BACKUP_PROG_COMPRESS_OPTIONS").filter(Boolean), uefi: recoveringUefi(ctx) });
  return restoreOnly ? all.filter(([, why]) => /backup/.test(why)) : all;
}

/** restoreonly: the restore's programs before anything is written. recover checks them together with the
 *  layout's in one list (layout/recreate check_tools), still before the first disk is touched. */
export const checkRecoverPrograms: Module = {
  stage: "verify",
  order: 600,
  name: "check_recover_programs",
  what: "(new) the restore's and finalize's programs are in the rescue system before a disk is written",
  when: (ctx: Context) => ctx.workflow.name === "restoreonly",
  run(ctx) {
    requirePrograms(ctx, recoverProgramsOf(ctx, true), "The restore", { portable: ctx.cli.portable });
  },
};
