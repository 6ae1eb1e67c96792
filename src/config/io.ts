// The real I/O behind the configuration loader (files, owners, bash).

import { readFileSync, statSync, writeFileSync, rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigIo } from "./load.ts";
import { execSync } from "../sys/exec.ts";
import { encodeBytes, fsPath } from "../sys/bytes.ts";
import { FileReadError, readRegularFile } from "../sys/read-file.ts";
import { ConfigError } from "../engine/errors.ts";
import { CONFIG_MAX_BYTES } from "./trust.ts";

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
    try {
      return readRegularFile(path, CONFIG_MAX_BYTES);
    } catch (e) {
      if (!(e instanceof FileReadError)) throw e;
      const hint = e.code === "ENOTREG" ? "a configuration file must be a plain file; remove or replace it" : e.code === "EFBIG" ? "is this the right file?" : "rear must read every configuration file it finds: fix its permissions or remove it";
      throw new ConfigError(e.problem, path, undefined, hint);
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
