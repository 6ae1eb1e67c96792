// The real I/O behind the configuration loader (files, owners, bash).

import { readFileSync, statSync, writeFileSync, rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigIo } from "./load.ts";
import { execSync } from "../sys/exec.ts";

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
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
  stat(path) {
    try {
      const st = statSync(path);
      return { isFile: st.isFile(), uid: st.uid, mode: st.mode };
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
      writeFileSync(file, script, { mode: 0o600 });
      const r = execSync(["bash", "--noprofile", "--norc", file], { env, quiet: true });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  uidOf: uidFromPasswd,
};
