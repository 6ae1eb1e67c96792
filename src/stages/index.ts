// Every built-in stage module, listed statically (a compiled binary has no directory to scan).
// The engine receives this list; it never imports stages itself.

import type { Module } from "../engine/module.ts";
import { postBackupScript, preBackupScript } from "./backup/backup-scripts.ts";
import { checkCove, prepareCoveRestore, restoreWithCove } from "./backup/cove.ts";
import { checkExternalBackup, makeExternalBackup, restoreExternalBackup } from "./backup/external.ts";
import { createMissingDirectories, saveDirectories } from "./backup/directories.ts";
import { checkBackupMethod, checkRestoreMethod } from "./backup/method-check.ts";
import { makeNetfsBackup } from "./backup/netfs-backup.ts";
import { restoreNetfsBackup, verifyNetfsBackup } from "./backup/netfs-restore.ts";
import { requestRestore } from "./backup/request-restore.ts";
import { checkRsync, copyResultFilesRsync, makeRsyncBackup } from "./backup/rsync-backup.ts";
import { restoreRsyncBackup, verifyRsyncBackup } from "./backup/rsync-restore.ts";
import { checkUsbLayout, formatUsbDisk } from "./format/usb-format.ts";
import { checkStaleNfsMounts } from "./init/100-check-stale-nfs-mounts.ts";
import { checkMissingPrograms } from "./init/950-check-missing-programs.ts";
import { dumpVariables } from "./init/998-dump-variables.ts";
import { checkLayoutFile, compareLayout } from "./layout/compare-layout.ts";
import { MOUNT_ONLY_MODULES } from "./layout/mount-only.ts";
import { PREPARE_RECREATE_MODULES } from "./layout/prepare-recreate.ts";
import { RUN_RECREATE_MODULES } from "./layout/run-recreate.ts";
import { saveLayout } from "./layout/save-layout.ts";
import { copyResultFiles, writeRawDiskImage, writeRescueMedium } from "./output/write-output.ts";
import { writePortableArchive } from "./output/portable.ts";
import { writeUsbRescue } from "./output/usb.ts";
import { writePxeFiles } from "./output/pxe.ts";
import { copyLibraries, copyModules, createInitramfs, verifyRootfs } from "./rescue/build.ts";
import { chooseRescueFeatures, populateRescueTree } from "./rescue/populate.ts";
import { FINALIZE_MODULES } from "./recover/finalize.ts";
import { FINALIZE_ONLY_MODULES } from "./recover/finalize-only.ts";
import { checkRecoverPrograms } from "./recover/verify-tools.ts";
import { RESUME_MODULES, unlessRestored } from "./recover/resume.ts";
import { SETUP_WRAPUP_MODULES } from "./recover/setup-wrapup.ts";
import { rescuePreflight } from "./rescue/preflight.ts";

/** Recreating the layout belongs to recover and layoutonly (finalizeonly also runs layout/prepare, for the mapping only). */
const recreating = (m: Module): Module => ({ ...m, when: (ctx) => ctx.workflow.name === "recover" || ctx.workflow.name === "layoutonly" });

export const MODULES: readonly Module[] = [
  checkStaleNfsMounts, checkMissingPrograms, dumpVariables, saveDirectories, createMissingDirectories, saveLayout, checkLayoutFile, compareLayout,
  ...PREPARE_RECREATE_MODULES.map(recreating), ...RUN_RECREATE_MODULES.map(recreating), ...MOUNT_ONLY_MODULES,
  rescuePreflight, chooseRescueFeatures, populateRescueTree, copyLibraries, copyModules, verifyRootfs, createInitramfs,
  writeRescueMedium, writeRawDiskImage, writeUsbRescue, writePxeFiles, writePortableArchive, copyResultFiles, makeNetfsBackup, verifyNetfsBackup, restoreNetfsBackup, makeExternalBackup, checkExternalBackup,
  restoreExternalBackup, checkBackupMethod, checkRestoreMethod, requestRestore, checkRsync, makeRsyncBackup, copyResultFilesRsync, verifyRsyncBackup, restoreRsyncBackup,
  checkCove, prepareCoveRestore, restoreWithCove, checkUsbLayout, formatUsbDisk, preBackupScript, postBackupScript, ...SETUP_WRAPUP_MODULES, ...FINALIZE_MODULES,
].map((m) => (m.stage === "restore" ? unlessRestored(m) : m)).concat(RESUME_MODULES, FINALIZE_ONLY_MODULES, [checkRecoverPrograms]);
