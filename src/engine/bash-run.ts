// Running bash with the configuration set, as ReaR's own shell has it (hook scripts, PRE/POST_BACKUP_SCRIPT,
// EXTERNAL_* commands). The configuration holds secrets, so it never goes on a command line, where any
// local user reads it in /proc/PID/cmdline: the script goes into a 0600 file in the 0700 work area that
// bash removes as its first command (bash keeps reading the open file), and that rear removes anyway
// when bash ended. The command line shows only that file's name.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bashAssignment, bashQuote } from "../config/bash-eval.ts";
import { exec, type ExecOptions, type ExecResult } from "../sys/exec.ts";
import { encodeBytes } from "../sys/bytes.ts";
import type { Context } from "./context.ts";

/** The bash text that recreates the configuration (every variable, exported ones exported). */
export function configPrelude(ctx: Pick<Context, "config">): string {
  const lines: string[] = ["shopt -s nullglob extglob"];
  for (const [k, v] of ctx.config.entries()) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || k === "PATH") continue;
    lines.push(`${ctx.config.isExported(k) ? "export " : ""}${bashAssignment(k, v)}`);
  }
  return lines.join("\n");
}

export interface BashRun extends Pick<ExecOptions, "cwd" | "interactive" | "quiet" | "what"> {
  /** what $0 is inside the script (a hook's path; "rear" by default) */
  name?: string;
  /** the bash text run after the configuration */
  body: string;
  /** the positional parameters $1 … */
  args?: string[];
  env?: Record<string, string | undefined>;
}

/** The whole script: remove itself, set $0, the configuration, then the body. */
export function renderConfigScript(ctx: Pick<Context, "config">, run: Pick<BashRun, "name" | "body">): string {
  return `rm -f -- "$0"\nBASH_ARGV0=${bashQuote(run.name ?? "rear")}\n${configPrelude(ctx)}\n${run.body}\n`;
}

export async function runBashWithConfig(ctx: Pick<Context, "config" | "workArea" | "env">, run: BashRun): Promise<ExecResult> {
  let dir = ctx.workArea?.tmpDir;
  let own: string | undefined;
  if (!dir) dir = own = mkdtempSync(join(ctx.env.TMPDIR || tmpdir(), "rear-bash."));
  const file = join(dir, `.config-${randomBytes(6).toString("hex")}.sh`);
  try {
    writeFileSync(file, encodeBytes(renderConfigScript(ctx, run)), { mode: 0o600, flag: "wx" });
    return await exec(["bash", "--noprofile", "--norc", file, ...(run.args ?? [])], {
      env: run.env ?? ctx.env,
      ...(run.cwd ? { cwd: run.cwd } : ctx.workArea ? { cwd: ctx.workArea.tmpDir } : {}),
      ...(run.interactive ? { interactive: true } : {}),
      ...(run.quiet ? { quiet: true } : {}),
      ...(run.what ? { what: run.what } : {}),
    });
  } finally {
    rmSync(file, { force: true });
    if (own) rmSync(own, { recursive: true, force: true });
  }
}
