// The work area: $TMPDIR/rear.XXXXXXXXXXXXXXX with rootfs/ (the rescue tree) and tmp/ (scratch), as ReaR.
// Removed at exit (without crossing into mounted file systems) unless kept (-d, -D, KEEP_BUILD_DIR).

import { existsSync, mkdirSync, rmSync, readFileSync } from "node:fs";
import { UserError } from "./errors.ts";
import { randomBytes } from "node:crypto";

export interface WorkArea {
  buildDir: string;
  rootfsDir: string;
  tmpDir: string;
}

const CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function createWorkArea(tmpdir: string): WorkArea {
  if (!existsSync(tmpdir)) throw new UserError(`The directory for rear's work area does not exist: TMPDIR=${tmpdir}`, "create it, or set TMPDIR to an existing directory");
  for (let attempt = 0; attempt < 100; attempt++) {
    const rnd = [...randomBytes(15)].map((b) => CHARS[b % CHARS.length]).join("");
    const buildDir = `${tmpdir.replace(/\/+$/, "")}/rear.${rnd}`;
    try {
      mkdirSync(buildDir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw e;
    }
    const wa = { buildDir, rootfsDir: `${buildDir}/rootfs`, tmpDir: `${buildDir}/tmp` };
    mkdirSync(wa.rootfsDir, { mode: 0o755 });
    mkdirSync(wa.tmpDir, { mode: 0o700 });
    return wa;
  }
  throw new Error(`cannot create a work area in ${tmpdir}`);
}

/** Mount points at or below `dir` (from /proc/self/mounts). */
export function mountsBelow(dir: string, mounts = readMounts()): string[] {
  return mounts.filter((m) => m === dir || m.startsWith(`${dir}/`));
}

function readMounts(): string[] {
  try {
    return readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => (l.split(" ")[1] ?? "").replace(/\\040/g, " "))
      .filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Removes the work area. Refuses while something is mounted below it: removing would descend into
 * the mounted file system (ReaR uses rm --one-file-system for the same reason).
 */
export function removeWorkArea(wa: WorkArea): string | undefined {
  const mounted = mountsBelow(wa.buildDir);
  if (mounted.length > 0) return `not removing ${wa.buildDir}: still mounted: ${mounted.join(" ")}`;
  rmSync(wa.buildDir, { recursive: true, force: true });
  return undefined;
}
