// The bad-input corpus (test/fixtures/bad-input/README.md): loads the cases and runs one against a rear
// binary in a private copy of its directory. Used by test/integration/bad-input.test.ts and
// bench/bad-input.sh.

import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { descendants } from "../../src/sys/exec.ts";

export const CORPUS = join(import.meta.dir, "../fixtures/bad-input");
export const FAMILIES = ["cli", "config", "layout", "backup"] as const;

export interface BadInputCase {
  family: string;
  name: string;
  dir: string;
  argv: string[];
  exit: number;
  message: string;
  why: string;
  setup?: string;
  check?: string;
  env?: Record<string, string>;
  timeout?: number;
  /** argv words are Latin-1: each character one byte (for paths that are not UTF-8) */
  bytes?: boolean;
}

export interface CaseResult {
  code: number | null;
  output: string;
  hung: boolean;
  /** exit code and message as expected, on one line, no stack trace */
  clear: boolean;
  /** why it is not clear */
  problem?: string;
  seconds: number;
}

export function loadCases(families: readonly string[] = FAMILIES): BadInputCase[] {
  const out: BadInputCase[] = [];
  for (const family of families) {
    const fdir = join(CORPUS, family);
    if (!existsSync(fdir)) continue;
    for (const name of readdirSync(fdir).sort()) {
      const dir = join(fdir, name);
      if (!statSync(dir).isDirectory()) continue;
      const c = JSON.parse(readFileSync(join(dir, "case.json"), "utf8")) as Omit<BadInputCase, "family" | "name" | "dir">;
      if (!Array.isArray(c.argv) || typeof c.exit !== "number" || typeof c.message !== "string" || !c.message) {
        throw new Error(`${dir}/case.json: needs argv (array), exit (number) and message (non-empty string)`);
      }
      out.push({ ...c, family, name, dir });
    }
  }
  return out;
}

/** root-owned, files 0644 and directories 0755 (rear trusts them), except what the case's setup changes */
function own(p: string): void {
  const st = statSync(p);
  chownSync(p, 0, 0);
  if (st.isDirectory()) {
    chmodSync(p, 0o755);
    for (const e of readdirSync(p)) own(join(p, e));
  } else if (st.isFile()) chmodSync(p, 0o644);
}

const subst = (s: string, caseDir: string) => s.replaceAll("@CASE@", caseDir).replaceAll("@VAR@", join(caseDir, "var"));

function bash(script: string, cwd: string, env: Record<string, string>): { code: number | null; out: string } {
  const p = Bun.spawnSync(["bash", "-c", script], { cwd, env, stdin: "ignore" });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

export async function runCase(c: BadInputCase, bin: string): Promise<CaseResult> {
  const base = mkdtempSync("/tmp/rear-bad-input.");
  chmodSync(base, 0o755);
  const caseDir = join(base, "case");
  cpSync(c.dir, caseDir, { recursive: true });
  rmSync(join(caseDir, "case.json"));
  own(caseDir);
  mkdirSync(join(caseDir, "tmp"), { recursive: true, mode: 0o755 });
  const env: Record<string, string> = {
    PATH: "/usr/bin:/bin:/usr/sbin:/sbin",
    REAR_VAR: join(caseDir, "var"),
    TMPDIR: join(caseDir, "tmp"),
    CASE: caseDir,
    ...Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, subst(v, caseDir)])),
  };
  const started = performance.now();
  try {
    if (c.setup) {
      const s = bash(subst(c.setup, caseDir), caseDir, env);
      if (s.code !== 0) throw new Error(`${c.family}/${c.name}: setup failed (${s.code}): ${s.out}`);
    }
    const words = [bin, ...c.argv.map((a) => subst(a, caseDir))];
    // Bun passes arguments as UTF-8: bytes that are not go through bash's $'\xNN' quoting
    const argv = c.bytes ? ["bash", "-c", `exec ${words.map((w) => `$'${[...w].map((ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`).join("")}'`).join(" ")}`] : words;
    const p = Bun.spawn(argv, { cwd: caseDir, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      // the program and everything it started (a child may hold the output pipes open)
      for (const pid of [...descendants(p.pid), p.pid]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
    }, (c.timeout ?? 30) * 1000);
    // read while it runs (a full pipe would block it); once it ended, a grandchild that escaped the
    // kill and holds the pipes open must not keep the case waiting
    const outP = new Response(p.stdout).text();
    const errP = new Response(p.stderr).text();
    const code = await p.exited;
    clearTimeout(timer);
    const text = (t: Promise<string>) => Promise.race([t, Bun.sleep(5000).then(() => "")]);
    const [stdout, stderr] = await Promise.all([text(outP), text(errP)]);
    const seconds = (performance.now() - started) / 1000;
    const output = stdout + stderr;
    const res: CaseResult = { code: hung ? null : code, output, hung, clear: false, seconds };
    const message = subst(c.message, caseDir);
    if (hung) res.problem = `hung (killed after ${c.timeout ?? 30} s)`;
    else if (code !== c.exit) res.problem = `exit code ${code}, expected ${c.exit}`;
    else if (!output.split("\n").some((l) => l.includes(message))) res.problem = `no line holds '${message}'`;
    else if (/\n\s+at .*\(|unexpected error|BUG in rear/.test(output)) res.problem = "a stack trace or an unexpected error";
    else if (c.check) {
      const k = bash(subst(c.check, caseDir), caseDir, env);
      if (k.code !== 0) res.problem = `check failed (${k.code}): ${k.out.trim().split("\n").slice(-2).join(" / ")}`;
    }
    res.clear = res.problem === undefined;
    return res;
  } finally {
    // a case may leave something mounted below its directory (read-only targets): unmount first
    bash(`grep -o " ${base}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null; true`, "/", { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" });
    rmSync(base, { recursive: true, force: true });
  }
}
