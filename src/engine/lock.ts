// One non-lockless rear at a time. ReaR uses `pidof`, which misses a rear under another name and
// catches unrelated processes; we take a kernel lock (flock) on a file in the state directory, which
// the kernel releases when the process ends however it ends, and write our PID into it so that the
// message can name the holder.
//
// flock(2) through bun:ffi, which needs the JIT. Where the JIT is denied — a process under systemd's
// MemoryDenyWriteExecute=yes, as every program udevd runs (systemd-udevd.service sets it), or a
// hardened unit that runs a scheduled mkbackup — the same kernel lock is taken by util-linux's flock(1):
// a child holds it for as long as its stdin, a pipe from us, stays open, so it ends with us however we
// end. Both ways take the same lock on the same file: a rear with the JIT and one without exclude each other.

import { dlopen, FFIType } from "bun:ffi";
import { ftruncateSync, mkdirSync, openSync, closeSync, readFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";

const LOCK_EX = 2;
const LOCK_NB = 4;
/** flock(1)'s exit code when the lock is held (-E) */
const BUSY = 75;

let libc: { symbols: { flock(fd: number, op: number): number } } | undefined | null;
/** flock(2), or undefined when bun:ffi cannot run here (no JIT). */
function ffiFlock(fd: number, op: number): number | undefined {
  if (libc === undefined) {
    try {
      libc = dlopen("libc.so.6", { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
    } catch {
      libc = null;
    }
  }
  return libc === null ? undefined : libc.symbols.flock(fd, op);
}

export type LockResult = { ok: true; release(): void } | { ok: false; heldBy: string };

function holder(path: string): string {
  try {
    return readFileSync(path, "utf8").trim() || "unknown";
  } catch {
    return "unknown";
  }
}

function held(fd: number, pid: number, drop: () => void): LockResult {
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
      closeSync(fd);
      drop();
    },
  };
}

export async function acquireLock(path: string, pid = process.pid): Promise<LockResult> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const fd = openSync(path, "a+", 0o600);
  const r = ffiFlock(fd, LOCK_EX | LOCK_NB);
  if (r !== undefined) {
    if (r !== 0) {
      closeSync(fd);
      return { ok: false, heldBy: holder(path) };
    }
    return held(fd, pid, () => {}); // closing the last descriptor drops the flock
  }
  return await flockChild(path, fd, pid);
}

/** The lock held by `flock -n FILE sh -c 'echo locked; exec cat'`: taken when it says so, busy when it exits 75. */
async function flockChild(path: string, fd: number, pid: number): Promise<LockResult> {
  let child: ReturnType<typeof Bun.spawn<"pipe", "pipe", "ignore">>;
  try {
    child = Bun.spawn(["flock", "-n", "-E", String(BUSY), path, "sh", "-c", "echo locked; exec cat >/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  } catch (e) {
    closeSync(fd);
    throw new Error(`cannot lock ${path}: bun:ffi is unavailable here (no JIT) and flock(1) could not run (${(e as Error).message}); install util-linux`);
  }
  const first = await child.stdout.getReader().read();
  if (!first.done && new TextDecoder().decode(first.value).startsWith("locked")) {
    return held(fd, pid, () => {
      try {
        child.stdin.end();
      } catch {}
      child.kill();
    });
  }
  const code = await child.exited;
  closeSync(fd);
  if (code === BUSY) return { ok: false, heldBy: holder(path) };
  throw new Error(`cannot lock ${path}: bun:ffi is unavailable here (no JIT) and flock(1) exited ${code}; install util-linux`);
}
