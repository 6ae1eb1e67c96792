// Mountpoint and FHS directories with their modes and owners: saved when a backup or rescue system is
// made, recreated after any restore when the backup did not bring them (ReaR's
// prep/default/400_save_directories.sh, restore/default/900_create_missing_directories.sh). See
// src/backup/directories.ts.

import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { FHS, inCreationOrder, mountpointsToKeep, parseDirectories, renderDirectories, type DirEntry } from "../../backup/directories.ts";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";

const FILE = "recovery/directories_permissions_owner_group";

/** The mountpoints of this machine (/proc/self/mountinfo; octal escapes as the kernel writes them). */
function mountpoints(mountinfo = "/proc/self/mountinfo"): string[] {
  return readFileSync(mountinfo, "utf8").split("\n").filter(Boolean).map((l) => l.split(" ")[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

function describe(path: string): DirEntry | undefined {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return { path, kind: "link", target: readlinkSync(path) };
    if (st.isDirectory()) return { path, kind: "dir", mode: st.mode & 0o7777, uid: String(st.uid), gid: String(st.gid) };
  } catch {}
  return undefined;
}

export const saveDirectories: Module = {
  stage: "prep",
  order: 400,
  name: "save_directories",
  what: "prep/default/400_save_directories.sh",
  when: (ctx) => ["mkrescue", "mkbackup", "mkbackuponly"].includes(ctx.workflow.name),
  run(ctx) {
    const skip = [ctx.workArea?.buildDir ?? "", ctx.paths.varDir];
    const paths = [...new Set([...FHS, ...mountpointsToKeep(mountpoints(), skip)])];
    const entries = paths.map((p) => describe(p)).filter((e): e is DirEntry => !!e);
    const file = join(ctx.paths.varDir, FILE);
    // recovery/ is private (0700, files 0600) as the rest of VAR_DIR/layout and recovery
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    chmodSync(dirname(file), 0o700);
    // a run beside this one (mkbackuponly) reads a whole file or the previous one
    writeFileSync(`${file}.${process.pid}`, renderDirectories(entries), { mode: 0o600 });
    renameSync(`${file}.${process.pid}`, file);
    ctx.log.log(`Saved ${entries.length} mountpoint and FHS directories with their modes and owners in ${file}`);
  },
};

/** A numeric id, or the name looked up in the restored system's passwd/group (ReaR chowns in a chroot). */
function idOf(name: string, table: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  try {
    for (const l of readFileSync(table, "utf8").split("\n")) {
      const f = l.split(":");
      if (f[0] === name && /^\d+$/.test(f[2] ?? "")) return Number(f[2]);
    }
  } catch {}
  return undefined;
}

/** Whether a component of `rel` below `root` (not the last) is a symbolic link: creating through it could leave the target tree. */
function throughLink(root: string, rel: string): boolean {
  const parts = rel.split("/").filter(Boolean);
  let p = root;
  for (const part of parts.slice(0, -1)) {
    p = join(p, part);
    try {
      if (lstatSync(p).isSymbolicLink()) return true;
    } catch {
      return false;
    }
  }
  return false;
}

export const createMissingDirectories: Module = {
  stage: "restore",
  order: 900,
  name: "create_missing_directories",
  what: "restore/default/900_create_missing_directories.sh",
  when: (ctx) => ["recover", "restoreonly"].includes(ctx.workflow.name),
  run(ctx) {
    const file = join(ctx.paths.varDir, FILE);
    const target = ctx.config.str("TARGET_FS_ROOT") || "/mnt/local";
    let entries: DirEntry[] = [];
    try {
      if (existsSync(file)) entries = parseDirectories(readFileSync(file, "utf8"), file);
      entries.push(...parseDirectories(ctx.config.arr("DIRECTORY_ENTRIES_TO_RECOVER").filter(Boolean).join("\n"), "DIRECTORY_ENTRIES_TO_RECOVER"));
    } catch (e) {
      throw new WorkflowError((e as Error).message, "fix or remove that entry");
    }
    if (!entries.length) {
      ctx.log.log(`No ${file}: no mountpoint directories to recreate`);
      return;
    }
    const made: string[] = [];
    for (const e of inCreationOrder(entries)) {
      if (e.path.split("/").includes("..")) {
        ctx.log.warn(`Skipping ${e.path}: a path with '..' is not recreated`);
        continue;
      }
      const p = join(target, e.path);
      if (existsSync(p) || describe(p)) continue; // the backup brought it (a dangling link counts as there)
      if (throughLink(target, e.path)) continue; // below a restored link (/lib64 -> usr/lib64): the link decides
      if (e.kind === "link") {
        symlinkSync(e.target, p);
      } else {
        mkdirSync(p, { recursive: true });
        chmodSync(p, e.mode);
        const uid = idOf(e.uid, join(target, "etc/passwd"));
        const gid = idOf(e.gid, join(target, "etc/group"));
        if (uid !== undefined && gid !== undefined) lchownSync(p, uid, gid);
      }
      made.push(e.path);
    }
    ctx.log.log(made.length ? `Recreated ${made.length} directories and links the backup did not hold: ${made.join(" ")}` : "Every saved mountpoint and FHS directory is there");
  },
};
