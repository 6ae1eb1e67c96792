// How rear writes what it keeps under $VAR_DIR/layout and $VAR_DIR/recovery (and the plan files of a
// dry run in the work area): files 0600 and directories 0700, as the README promises — disklayout.conf
// may hold a LUKS `password=`, and the rest tells anyone who reads it how the disks are built — and
// never half: each file is written beside its final name (a temporary file in the same directory),
// synced, and renamed over the old one only when every file of the set is written. A savelayout that
// fails (a full disk, an undetectable boot loader, an interrupt) leaves the previous layout files as
// they were; ReaR 2.7 overwrites disklayout.conf first and fails afterwards.

import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, relative, sep } from "node:path";

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Makes `dir` (mkdir -p); every directory from a private root down to it gets 0700, made now or before. */
export function privateDir(dir: string, roots: readonly string[]): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  for (const root of roots) {
    const rel = relative(root, dir);
    if (rel.startsWith("..") || rel.startsWith(sep)) continue;
    let cur = root;
    chmodSync(cur, DIR_MODE);
    for (const part of rel.split(sep).filter(Boolean)) {
      cur = `${cur}/${part}`;
      chmodSync(cur, DIR_MODE);
    }
    return;
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some filesystems refuse fsync on a directory; the files themselves are synced
  }
}

/** A set of files written beside their names and renamed into place together by commit(). */
export class StagedFiles {
  private staged: { tmp: string; path: string }[] = [];
  constructor(private readonly roots: readonly string[]) {}

  add(path: string, data: string | Uint8Array, mode = FILE_MODE): void {
    const dir = dirname(path);
    privateDir(dir, this.roots);
    const tmp = `${dir}/.${basename(path)}.${process.pid}.new`;
    rmSync(tmp, { force: true });
    const fd = openSync(tmp, "wx", mode);
    try {
      const buf = typeof data === "string" ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, mode); // the umask may have taken bits away from 0700 scripts
    this.staged.push({ tmp, path });
  }

  /** Renames every staged file into place, in the order added (put the main file last). */
  commit(): void {
    const dirs = new Set<string>();
    for (const s of this.staged) {
      renameSync(s.tmp, s.path);
      dirs.add(dirname(s.path));
    }
    this.staged = [];
    for (const d of dirs) syncDir(d);
  }

  /** Removes what was staged: the files in place stay as they were. */
  abort(): void {
    for (const s of this.staged) rmSync(s.tmp, { force: true });
    this.staged = [];
  }
}

/** One file, written beside and renamed (see StagedFiles). */
export function writePrivateFile(path: string, data: string | Uint8Array, roots: readonly string[], mode = FILE_MODE): void {
  const s = new StagedFiles(roots);
  try {
    s.add(path, data, mode);
    s.commit();
  } catch (e) {
    s.abort();
    throw e;
  }
}

/**
 * Replaces directory `dir` by what `fill(tmpDir)` writes into a fresh directory beside it: the old one
 * stays until the new one is complete (layout/xfs, layout/lvm).
 */
export async function replaceDir(dir: string, roots: readonly string[], fill: (tmpDir: string) => void | Promise<void>): Promise<void> {
  const tmp = `${dirname(dir)}/.${basename(dir)}.${process.pid}.new`;
  const old = `${dirname(dir)}/.${basename(dir)}.${process.pid}.old`;
  rmSync(tmp, { recursive: true, force: true });
  privateDir(dirname(dir), roots);
  mkdirSync(tmp, { mode: DIR_MODE });
  chmodSync(tmp, DIR_MODE);
  try {
    await fill(tmp);
    for (const f of readdirSync(tmp)) chmodSync(`${tmp}/${f}`, FILE_MODE);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
  syncDir(dirname(dir));
}
