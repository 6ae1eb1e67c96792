// One non-lockless rear at a time. ReaR uses `pidof`, which misses a rear under another name and
// catches unrelated processes; we take a kernel lock (flock) on a file in the state directory, which
// the kernel releases when the process ends however it ends, and write our PID into it so that the
// message can name the holder.

import { dlopen, FFIType } from "bun:ffi";
import { ftruncateSync, mkdirSync, openSync, closeSync, readFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";

const LOCK_EX = 2;
const LOCK_NB = 4;

let libc: { symbols: { flock(fd: number, op: number): number } } | undefined;
function flock(fd: number, op: number): number {
  libc ??= dlopen("libc.so.6", { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
  return libc.symbols.flock(fd, op);
}

export type LockResult = { ok: true; release(): void } | { ok: false; heldBy: string };

export function acquireLock(path: string, pid = process.pid): LockResult {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const fd = openSync(path, "a+", 0o600);
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    let holder = "";
    try {
      holder = readFileSync(path, "utf8").trim();
    } catch {}
    closeSync(fd);
    return { ok: false, heldBy: holder || "unknown" };
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${pid}\n`);
  let released = false;
  return {
    ok: true,
    release() {
      if (released) return;
      released = true;
      try {
        ftruncateSync(fd, 0);
      } catch {}
      closeSync(fd); // closing the last descriptor drops the flock
    },
  };
}
