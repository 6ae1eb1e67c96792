// The UserInput of a running workflow: answers from USER_INPUT_<ID> (configuration, then environment),
// -n/--non-interactive or the rescue kernel option `unattended` take defaults, questions go to the
// terminal with bash's `read -t` (a timeout that Bun's synchronous stdin cannot give).

import { existsSync, readFileSync } from "node:fs";
import { execSync } from "../sys/exec.ts";
import type { Context } from "./context.ts";
import { UserInput } from "./user-input.ts";

/** The rescue kernel command line asked for an unattended recovery (reference §9.8). */
export function unattendedBoot(cmdline = "/proc/cmdline"): boolean {
  try {
    return existsSync(cmdline) && /(^|\s)unattended(\s|$)/.test(readFileSync(cmdline, "utf8"));
  } catch {
    return false;
  }
}

export function isUnattended(ctx: Context): boolean {
  return ctx.cli.nonInteractive || (ctx.recoveryMode && unattendedBoot());
}

export function userInputFor(ctx: Context): UserInput {
  const timeout = Number(ctx.config.str("USER_INPUT_TIMEOUT")) || 300;
  return new UserInput({
    predefined: (id) => {
      const name = `USER_INPUT_${id}`;
      return ctx.config.has(name) ? ctx.config.str(name) : ctx.env[name];
    },
    nonInteractive: isUnattended(ctx),
    canAsk: process.stdin.isTTY === true,
    timeoutSecs: timeout,
    read: (prompt, secs, secret) => {
      const r = execSync(["bash", "-c", `read -r ${secret ? "-s " : ""}-t "$2" -p "$1" REPLY; rc=$?; ${secret ? "echo >&2; " : ""}printf '%s' "$REPLY"; exit $rc`, "rear", prompt, String(secs)], {
        ask: true,
        quiet: true,
      });
      return r.code === 0 ? r.stdout : r.code > 128 ? undefined : r.stdout;
    },
    say: (t) => ctx.log.logUserOutput(t),
    log: (t) => ctx.log.log(t),
  });
}
