// The real I/O behind the configuration loader (files, owners, bash).

import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, statSync, writeFileSync, rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigIo } from "./load.ts";
import { execSync } from "../sys/exec.ts";
import { decodeBytes, encodeBytes, fsPath } from "../sys/bytes.ts";
import { ConfigError } from "../engine/errors.ts";
import { CONFIG_MAX_BYTES, fileKind } from "./trust.ts";

function uidFromPasswd(user: string): number | undefined {
  try {
    for (const l of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = l.split(":");
      if (f[0] === user && f[2] !== undefined) return Number(f[2]);
    }
  } catch {}
  return undefined;
}

export const realConfigIo: ConfigIo = {
  readText(path) {
    // Opened without blocking (a FIFO would hang rear) and checked on the open file (no race with a
    // rename): only a regular file of sane size is read, byte for byte (sys/bytes.ts).
    let fd: number;
    try {
      fd = openSync(fsPath(path), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      throw new ConfigError(`cannot be read (${code === "EACCES" ? "permission denied" : code === "ENOTDIR" ? "a part of its path is not a directory" : (e as Error).message})`, path, undefined, "rear must read every configuration file it finds: fix its permissions or remove it");
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new ConfigError(`is ${fileKind(st.mode)}, not a regular file: rear does not read it`, path, undefined, "a configuration file must be a plain file; remove or replace it");
      if (st.size > CONFIG_MAX_BYTES) throw new ConfigError(`is ${st.size} bytes, more than a configuration file can be (${CONFIG_MAX_BYTES} bytes): rear does not read it`, path, undefined, "is this the right file?");
      const buf = Buffer.alloc(st.size + 1);
      let n = 0;
      for (;;) {
        const r = readSync(fd, buf, n, buf.length - n, null);
        if (r === 0) break;
        n += r;
        if (n > st.size) throw new ConfigError(`grew while rear read it (more than its ${st.size} bytes)`, path);
      }
      return decodeBytes(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  },
  stat(path) {
    try {
      const st = statSync(fsPath(path));
      return { isFile: st.isFile(), uid: st.uid, mode: st.mode, size: st.size };
    } catch {
      return undefined;
    }
  },
  runBash(script, env) {
    // The script can exceed the size of one command-line argument (it holds the embedded confs),
    // so it goes into a private temporary file.
    const dir = mkdtempSync(join(tmpdir(), "rear-config."));
    const file = join(dir, "eval.sh");
    try {
      writeFileSync(file, encodeBytes(script), { mode: 0o600 });
      const r = execSync(["bash", "--noprofile", "--norc", file], { env, quiet: true });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  uidOf: uidFromPasswd,
};
