// backup (BACKUP=NETFS): the archive of the layout's filesystems at BACKUP_URL, made safely — GNU tar
// writes to rear, which stores it under a temporary name in the target directory (encrypted when
// BACKUP_PROG_CRYPT_ENABLED), computes its SHA-256 on the way and writes it beside it; only then does
// the archive take its name (a failed, killed or disk-full backup leaves the previous one as it was).
// Targets: file://, usb://, nfs://, cifs://, sshfs:// (mounted), iso:///path (into the rescue ISO that
// mkbackup makes next); full, incremental and differential backups (BACKUP_TYPE). ReaR:
// backup/NETFS/default/100_mount_NETFS_path, 400_create_include_exclude_files, 500_make_backup,
// 980_umount_NETFS_dir.
//
// Never a bad backup in place of a good one, never a "success" with nothing (issue 14): before anything
// is written, every BACKUP_PROG_INCLUDE must exist and no exclude pattern may cover an include
// (include-check.ts); the temporary file is created before tar starts (a read-only or missing target
// fails at once); tar's exit 1 is "files changed" only when tar said so (tar.ts); and what it wrote must
// be a non-empty archive of the kind BACKUP_PROG_COMPRESS_OPTIONS make (archive-check.ts) before it
// takes the previous archive's name. Errors of the target's filesystem are one line with the path and
// what to do (target-error.ts); SIGINT/SIGTERM remove the temporary file through an exit task.

import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { encodeBytes, fsPath } from "../../sys/bytes.ts";
import { hostname } from "node:os";
import { maskPasswords } from "../../config/secret-values.ts";
import { dirname, join } from "node:path";
import { archiveFiles, ArchiveWriter, TargetFullError } from "../../backup/archive-io.ts";
import { ARCHIVE_HEAD_BYTES, archiveHeadProblem, archiveKind } from "../../backup/archive-check.ts";
import { Encryptor, isRearAead } from "../../backup/crypt.ts";
import { anchoredExcludes, includeProblems } from "../../backup/include-check.ts";
import { archiveName, backupType, layoutMountpoints, datedArchiveName, fullBackupDue, includeExcludeLists, isoVolumeMiB, parseDatedArchive, stampDate, type DatedArchive } from "../../backup/netfs-plan.ts";
import { targetProblem } from "../../backup/target-error.ts";
import { tarCreateArgv, tarCreateOutcome, tarFeatures } from "../../backup/tar.ts";
import type { Context } from "../../engine/context.ts";
import { NotImplementedError, WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { progressReporter } from "../../engine/progress.ts";
import { activeEntries } from "../../layout/model.ts";
import { mountUrl, parseUrl, UrlError } from "../../output/url.ts";
import { exec, execStream, which } from "../../sys/exec.ts";
import type { SavedLayout } from "../layout/save-layout.ts";
import { programSearchPath, rescueState } from "../rescue/preflight.ts";

const NETFS_SCHEMES = new Set(["file", "usb", "nfs", "nfs4", "cifs", "sshfs"]);

/**
 * The time of this backup. REAR_TEST_NOW (an ISO date) stands in for the clock in tests: the names of
 * incremental backups have minutes only, and a test makes several in one minute.
 */
export function backupClock(ctx: Context): Date {
  const t = ctx.env.REAR_TEST_NOW;
  return t ? new Date(t) : new Date();
}

/** tar's --newer date: local "YYYY-MM-DD HH:MM" (what ReaR's names say). */
export function newerDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The nearest existing directory at or above `p`. */
function existingAncestor(p: string): string {
  let d = p;
  while (!existsSync(d) && d !== "/") d = dirname(d);
  return d;
}

/**
 * NETFS_KEEP_OLD_BACKUP_COPY: the previous archive (its file or volumes, its manifest, its backup.log)
 * moves to the sibling directory `<prefix>.old`, where `NETFS_PREFIX=<prefix>.old` restores it (ReaR
 * renames the whole prefix directory to `<prefix>.old` before the backup).
 */
function keepOldCopy(ctx: Context, dir: string, name: string): void {
  const prev = archiveFiles(dir, name);
  if (!prev.files.length) return;
  const old = `${dir}.old`;
  mkdirSync(old, { recursive: true, mode: 0o700 });
  // the copy kept before this one goes: one old copy, as ReaR
  for (const f of archiveFiles(old, name).files) rmSync(f.path, { force: true });
  for (const p of [...prev.files.map((f) => f.path), ...(prev.manifest ? [prev.manifest] : []), join(dir, "backup.log")]) {
    if (existsSync(p)) renameSync(p, join(old, p.split("/").pop()!));
  }
  ctx.log.log(`Kept the previous backup in ${old} (NETFS_KEEP_OLD_BACKUP_COPY)`);
}

export const makeNetfsBackup: Module = {
  stage: "backup",
  order: 500,
  name: "make_backup",
  what: "backup/NETFS/default/100_mount_NETFS_path, 400_create_include_exclude_files, 500_make_backup, 980_umount_NETFS_dir",
  when: (ctx) => ctx.config.str("BACKUP") === "NETFS" && (ctx.workflow.name === "mkbackup" || ctx.workflow.name === "mkbackuponly"),
  async run(ctx: Context) {
    const c = ctx.config;
    const urlText = c.str("BACKUP_URL");
    if (!urlText) throw new WorkflowError("BACKUP=NETFS needs BACKUP_URL", `set BACKUP_URL in ${ctx.paths.configDir}/local.conf, e.g. BACKUP_URL=nfs://server/export or usb:///dev/disk/by-label/REAR-000`);
    let u;
    try {
      u = parseUrl(urlText, "BACKUP_URL");
    } catch (e) {
      if (e instanceof UrlError) throw new WorkflowError(e.message);
      throw e;
    }
    if (u.scheme === "iso") {
      // ReaR's 040_check_backup_and_output_scheme: the backup goes into the ISO that mkbackup makes after it
      if (ctx.workflow.name !== "mkbackup" || c.str("OUTPUT") !== "ISO") {
        throw new WorkflowError(`BACKUP_URL=${urlText} puts the backup into the rescue ISO, which ${ctx.workflow.name} ${ctx.workflow.name === "mkbackup" ? `does not make (OUTPUT=${c.str("OUTPUT")})` : "does not make"}`, "run `rear mkbackup` with OUTPUT=ISO, or set BACKUP_URL to a place of its own (file://, nfs://, usb://)");
      }
    } else if (!NETFS_SCHEMES.has(u.scheme)) {
      if (u.scheme === "tape") throw new NotImplementedError(`BACKUP_URL=${u.scheme}:// (this version writes NETFS backups to file://, usb://, nfs://, cifs:// and sshfs://)`);
      throw new WorkflowError(`BACKUP_URL=${urlText}: the scheme ${u.scheme} is not one NETFS can write to`, "use file://, usb://, nfs://, cifs:// or sshfs://");
    }
    let type;
    try {
      type = backupType(c.str("BACKUP_TYPE"));
    } catch (e) {
      throw new WorkflowError((e as Error).message);
    }
    let crypt: string | undefined;
    if (c.isTrue("BACKUP_PROG_CRYPT_ENABLED")) {
      crypt = c.str("BACKUP_PROG_CRYPT_KEY");
      if (!crypt) throw new WorkflowError("BACKUP_PROG_CRYPT_ENABLED is set but BACKUP_PROG_CRYPT_KEY is empty", `set BACKUP_PROG_CRYPT_KEY in the environment or as { BACKUP_PROG_CRYPT_KEY='…' ; } 2>>/dev/$SECRET_OUTPUT_DEV in ${ctx.paths.configDir}/local.conf`);
    }
    let volumeBytes = 0;
    if (u.scheme === "iso" && c.str("ISO_MAX_SIZE")) {
      // a backup over several ISOs: volumes of what the first ISO has left (the rescue system is built by now)
      const st = rescueState(ctx);
      try {
        volumeBytes = isoVolumeMiB(c.str("ISO_MAX_SIZE"), statSync(st.kernelFile).size, st.initrd?.bytesOut ?? 0, !!st.iso?.uefi) * 1048576;
      } catch (e) {
        throw new WorkflowError((e as Error).message);
      }
    }
    // the archive's place must stay below the target: no '..' in NETFS_PREFIX, no '/' in the file name
    const prefix = c.str("NETFS_PREFIX");
    if (prefix.split("/").includes("..") || prefix.startsWith("/")) {
      throw new WorkflowError(`NETFS_PREFIX=${prefix} would put the backup outside ${urlText}`, "set NETFS_PREFIX to a directory name below BACKUP_URL (the default is the host name)");
    }
    for (const k of ["BACKUP_PROG_ARCHIVE", "BACKUP_PROG_SUFFIX", "BACKUP_PROG_COMPRESS_SUFFIX"]) {
      if (c.str(k).includes("/")) throw new WorkflowError(`${k}=${c.str(k)} has a '/': it is part of the archive's file name`, `set ${k} to a name without '/' (put directories into NETFS_PREFIX)`);
    }
    const path = programSearchPath(ctx.env.PATH);
    const prog = c.str("BACKUP_PROG") || "tar";
    const tar = which(prog, path);
    if (!tar) throw new WorkflowError(`BACKUP_PROG=${prog}: no such program${prog.includes("/") ? "" : " in PATH"}`, "install GNU tar, or set BACKUP_PROG to its path");
    const layout = ctx.state.layout as SavedLayout | undefined;
    if (!layout) throw new Error("backup needs the layout of layout/save");
    const mountpoints = layoutMountpoints(activeEntries(layout.doc) as { kw: string; mountpoint?: string }[]);
    if (u.scheme === "file") checkFileTarget(u.path, urlText);

    // iso://: into the work area, whose tree output/800 moves into the ISO (ReaR's $TMP_DIR/isofs<path>)
    const isoTree = join(ctx.workArea!.tmpDir, "isobackup");
    const m = u.scheme === "iso" ? { dir: isoTree, unmount: async () => {} } : await mountUrl(u, join(ctx.workArea!.buildDir, "outputfs"), c.str("BACKUP_OPTIONS"));
    const undo = ctx.exitTasks.add(`unmount ${urlText}`, () => m.unmount());
    try {
      const dir = u.scheme === "iso" ? join(isoTree, u.path) : join(m.dir, c.str("NETFS_PREFIX") || c.str("HOSTNAME") || hostname());
      if (u.scheme === "iso") ctx.state.isoBackupDir = isoTree;
      // a backup on the filesystem it backs up contains itself and fills it (ReaR's 050_check_NETFS_requirements Error)
      if (u.scheme === "file" && statSync(existingAncestor(dir)).dev === statSync("/").dev && mountpoints.includes("/")) {
        throw new WorkflowError(`BACKUP_URL=${urlText} is on the root filesystem, which is being backed up`, "use a directory on another filesystem (a second disk, a USB disk, NFS)");
      }
      onTarget(dir, urlText, () => mkdirSync(dir, { recursive: true, mode: 0o700 }));
      const configured = c.arr("BACKUP_PROG_INCLUDE").filter(Boolean);
      const lists = includeExcludeLists({
        mountpoints, excludeMountpoints: c.arr("EXCLUDE_MOUNTPOINTS").filter(Boolean), include: configured,
        exclude: c.arr("BACKUP_PROG_EXCLUDE").filter(Boolean), onlyInclude: c.isTrue("BACKUP_ONLY_INCLUDE"), onlyExclude: c.isTrue("BACKUP_ONLY_EXCLUDE"),
        manualInclude: c.isTrue("MANUAL_INCLUDE"), alwaysExclude: [ctx.workArea!.buildDir, dir],
      });
      for (const n of lists.notes) ctx.log.log(n);
      if (!lists.include.length) throw new WorkflowError(`Nothing to back up: the include list is empty${c.isTrue("BACKUP_ONLY_INCLUDE") || c.isTrue("MANUAL_INCLUDE") ? " (BACKUP_ONLY_INCLUDE/MANUAL_INCLUDE is set and BACKUP_PROG_INCLUDE is empty)" : ""}`, "check BACKUP_PROG_INCLUDE and EXCLUDE_MOUNTPOINTS");
      const options = c.arr("BACKUP_PROG_OPTIONS").filter(Boolean);
      // an include that does not exist or that an exclude pattern covers would be archived as nothing
      // (tar --ignore-failed-read says nothing): an error, before anything is written
      const problems = includeProblems({ include: lists.include, configured, exclude: lists.exclude, anchored: anchoredExcludes(options), exists: (p) => lexists(p), isDir });
      if (problems.length) {
        for (const p of problems) ctx.log.log(p);
        throw new WorkflowError(`${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more, listed in the log)` : ""}`, "fix BACKUP_PROG_INCLUDE or BACKUP_PROG_EXCLUDE; nothing was written");
      }
      // tar archives a symbolic link as a link, not what it points to (ReaR's tar too): say so
      for (const p of configured) if (isSymlink(p)) ctx.log.warn(`BACKUP_PROG_INCLUDE has ${p}, a symbolic link: the backup holds the link, not what it points to (include the target instead)`);
      if (!lists.include.includes("/") && ctx.workflow.name === "mkbackup") ctx.log.warn("/ is not in the backup: a recovery from it will not boot");
      const excludeFile = join(ctx.workArea!.tmpDir, "backup-exclude.txt");
      // byte for byte: a Latin-1 path in an include or exclude must reach tar as it is (sys/bytes.ts)
      writeFileSync(join(ctx.workArea!.tmpDir, "backup-include.txt"), encodeBytes(`${lists.include.join("\n")}\n`));
      writeFileSync(excludeFile, encodeBytes(lists.exclude.length ? `${lists.exclude.join("\n")}\n` : ""));
      const suffix = c.str("BACKUP_PROG_SUFFIX") || ".tar";
      const compressSuffix = c.str("BACKUP_PROG_COMPRESS_SUFFIX");
      let name = archiveName(c.str("BACKUP_PROG_ARCHIVE"), suffix, compressSuffix);
      let newer: string | undefined;
      if (type) {
        // ReaR's incremental/differential backups: dated names, a new full one when due, else the files
        // changed since the latest backup (incremental) or the latest full one (differential)
        const now = backupClock(ctx);
        const dated = readdirSync(dir).map(parseDatedArchive).filter((a): a is DatedArchive => !!a).sort((a, b) => (a.stamp < b.stamp ? -1 : 1));
        const full = dated.filter((a) => a.kind === "F").at(-1);
        const due = fullBackupDue({ now, ...(full ? { latestFull: stampDate(full.stamp) } : {}), fullBackupDays: c.arr("FULLBACKUPDAY").filter(Boolean), outdatedDays: Number(c.str("FULLBACKUP_OUTDATED_DAYS") || 7) });
        if (due.due || !full) {
          name = datedArchiveName(now, "F", suffix, compressSuffix);
          ctx.log.logPrint(`Making a full backup: ${due.why}`);
        } else {
          const since = type === "incremental" ? dated.filter((a) => a.stamp >= full.stamp && a.kind !== "D").at(-1)! : full;
          newer = newerDate(stampDate(since.stamp));
          name = datedArchiveName(now, type === "incremental" ? "I" : "D", suffix, compressSuffix);
          ctx.log.logPrint(`Making ${type === "incremental" ? "an incremental" : "a differential"} backup: the files changed since ${since.name} (${due.why})`);
        }
        if (existsSync(join(dir, name))) throw new WorkflowError(`${join(dir, name)} exists already: ReaR's names of ${type} backups have minutes, not seconds`, "run it again in a minute");
      }
      const archive = join(dir, name);
      // what a killed run left behind (its process is gone): never an archive, only in the way
      for (const f of readdirSync(dir)) {
        const m = /^\..*\.partial-(\d+)$/.exec(f);
        if (m && !existsSync(`/proc/${m[1]}`)) {
          try {
            rmSync(join(dir, f), { force: true });
            ctx.log.log(`Removed ${f}, left by a backup run that was stopped`);
          } catch (e) {
            ctx.log.log(`Could not remove ${f}, left by a backup run that was stopped: ${(e as Error).message}`);
          }
        }
      }
      const usage = await exec([tar, "--usage"], { quiet: true });
      const compress = c.arr("BACKUP_PROG_COMPRESS_OPTIONS").filter(Boolean);
      const argv = tarCreateArgv({ tar, features: tarFeatures(usage.stdout), options, compress, excludeFile, include: lists.include, archive: "-", ...(newer ? { newer } : {}) });
      const enc = crypt ? new Encryptor(crypt) : undefined;
      const writer = new ArchiveWriter(dir, name, volumeBytes);
      // SIGINT/SIGTERM: the exit tasks remove the unfinished archive (and a late chunk cannot recreate it)
      const dropPartial = ctx.exitTasks.add(`remove the unfinished ${name}`, () => writer.abort());
      try {
        ctx.log.logPrint(`Creating ${prog} archive '${archive}'${enc ? " (encrypted: AES-256-GCM, key from BACKUP_PROG_CRYPT_KEY)" : ""}${volumeBytes ? ` in volumes of ${Math.round(volumeBytes / 1048576)} MiB` : ""}`);
        writer.start();
        const progress = progressReporter("Archived", (l) => ctx.log.print(l));
        // the first bytes tar wrote, before encryption: archive-check.ts looks at them
        let head = new Uint8Array(0);
        let total = 0;
        const r = await execStream(argv, {
          what: "making the backup archive",
          output: (chunk) => {
            if (head.length < ARCHIVE_HEAD_BYTES) head = Buffer.concat([head, chunk.subarray(0, ARCHIVE_HEAD_BYTES - head.length)]);
            total += chunk.length;
            for (const b of enc ? enc.push(chunk) : [chunk]) writer.write(b);
            progress.update(writer.bytes);
          },
        });
        const secs = progress.elapsed();
        const outcome = tarCreateOutcome(r.code, r.stderr, options);
        if (outcome.kind === "failed") {
          throw new WorkflowError(`${prog === "tar" ? "tar" : `BACKUP_PROG=${prog}`} ${outcome.why}; no new archive was made in ${dir}`, `the previous backup there is unchanged; the messages are in ${ctx.log.path ?? "rear's log"}`);
        }
        const problem = archiveHeadProblem({ head, total, kind: archiveKind(compress), mayBeEmpty: !!newer });
        if (problem) {
          throw new WorkflowError(
            `What ${prog === "tar" ? "tar" : `BACKUP_PROG=${prog}`} wrote ${problem} (exit ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split("\n").slice(-2).join(" / ")}` : ""}); it did not replace the backup in ${dir}`,
            "check BACKUP_PROG, BACKUP_PROG_COMPRESS_OPTIONS and BACKUP_PROG_INCLUDE; the previous backup there is unchanged",
          );
        }
        if (enc) {
          for (const b of enc.end()) writer.write(b);
          if (!isRearAead(writer.head)) throw new WorkflowError(`The encrypted archive for ${archive} has no header of rear's format: not replacing the backup there`, "report this as a bug; the previous backup is unchanged");
        }
        if (outcome.kind === "changed") ctx.log.warn(`Some files changed while they were archived (tar exit 1${outcome.files.length ? `: ${outcome.files.slice(0, 3).join(", ")}${outcome.files.length > 3 ? ", …" : ""}` : ""}): the backup holds them as they were read`);
        // the previous archive: kept in <prefix>.old when asked (NETFS_KEEP_OLD_BACKUP_COPY; ReaR moves the
        // whole prefix directory there before it starts, we only once the new one is complete)
        if (!type && c.isTrue("NETFS_KEEP_OLD_BACKUP_COPY")) keepOldCopy(ctx, dir, name);
        const stored = writer.commit();
        ctx.exitTasks.remove(dropPartial);
        try {
          writeFileSync(join(dir, "backup.log"), r.stderr, { mode: 0o600 });
        } catch (e) {
          ctx.log.warn(`Could not write ${join(dir, "backup.log")}: ${(e as Error).message} (tar's messages are in ${ctx.log.path ?? "rear's log"})`);
        }
        const bytes = stored.reduce((n, f) => n + f.bytes, 0);
        // for `mkbackup --json`: where the archive is, as the URL names it (the target is unmounted afterwards)
        const where = `${maskPasswords(urlText).replace(/\/$/, "")}/${c.str("NETFS_PREFIX") || c.str("HOSTNAME") || hostname()}`;
        ctx.state.backupFiles = stored.map((f) => ({ path: `${where}/${f.name}`, bytes: f.bytes, sha256: f.sha256 }));
        // iso:// over several ISOs: output/800 moves the volumes after the first into ISOs of their own
        if (u.scheme === "iso" && stored.length > 1) ctx.state.isoExtraVolumes = stored.slice(1).map((f) => join(u.path, f.name));
        ctx.log.logPrint(`Archived ${Math.round(bytes / 1048576)} MiB in ${secs.toFixed(1)} s [avg ${Math.round(bytes / 1024 / Math.max(secs, 0.001))} KiB/sec]; SHA-256 of ${stored.length === 1 ? "it" : `its ${stored.length} volumes`} in ${name}.sha256`);
      } catch (e) {
        writer.abort();
        ctx.exitTasks.remove(dropPartial);
        throw asTargetError(e, dir, urlText);
      }
    } catch (e) {
      throw asTargetError(e, u.scheme === "iso" ? isoTree : m.dir, urlText);
    } finally {
      ctx.exitTasks.remove(undo);
      await m.unmount();
    }
  },
};

/** lstat without throwing: a dangling symlink in BACKUP_PROG_INCLUDE exists (tar archives the link). */
function lexists(p: string): boolean {
  try {
    lstatSync(fsPath(p));
    return true;
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(fsPath(p)).isDirectory();
  } catch {
    return false;
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(fsPath(p.length > 1 ? p.replace(/\/+$/, "") : p)).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * A file:// target: its directory, or at least the one above it, must exist (ReaR's mkdir -p would
 * create a mistyped path, or the mountpoint of an unmounted disk, on the wrong filesystem). rear creates
 * the last level only.
 */
function checkFileTarget(p: string, url: string): void {
  const target = p.replace(/\/+$/, "") || "/";
  let st;
  try {
    st = statSync(target);
  } catch {
    const parent = dirname(target);
    let pst;
    try {
      pst = statSync(parent);
    } catch {
      const up = existingAncestor(parent);
      if (!statSync(up).isDirectory()) throw new WorkflowError(`BACKUP_URL=${url}: ${up} is a file, not a directory`, "point BACKUP_URL at a directory");
      throw new WorkflowError(`BACKUP_URL=${url}: ${parent} does not exist`, `create it (mkdir -p ${target}) or mount the backup filesystem there: rear creates only the last directory of a file:// URL`);
    }
    if (!pst.isDirectory()) throw new WorkflowError(`BACKUP_URL=${url}: ${parent} is a file, not a directory`, "point BACKUP_URL at a directory");
    return;
  }
  if (!st.isDirectory()) throw new WorkflowError(`BACKUP_URL=${url}: ${target} is a file, not a directory`, "point BACKUP_URL at a directory");
}

/** Runs a file operation on the target; a failure becomes one line naming the path and the remedy. */
function onTarget<T>(path: string, url: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asTargetError(e, path, url);
  }
}

/** An error of the target's filesystem (EROFS, EACCES, ENOSPC, …) as a WorkflowError; others unchanged. */
function asTargetError(e: unknown, path: string, url: string): unknown {
  if (e instanceof WorkflowError || !(e instanceof Error)) return e;
  const code = e instanceof TargetFullError ? "ENOSPC" : (e as NodeJS.ErrnoException).code;
  const p = targetProblem(code, path, url);
  return p ? new WorkflowError(p.message, p.hint) : e;
}
