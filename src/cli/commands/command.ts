// A function workflow (dump, shell, …): citty argument definitions for the words after the workflow
// name, and what it does. Unknown options are errors, not silently ignored.

import { parseArgs, type ArgsDef } from "citty";
import type { Context } from "../../engine/context.ts";
import { UserError } from "../../engine/errors.ts";

export interface WorkflowCommand<A extends ArgsDef = ArgsDef> {
  name: string;
  args: A;
  /** returns the exit code (0 when void) */
  run(ctx: Context, args: Record<string, unknown>): void | number | Promise<void | number>;
}

export function parseWorkflowArgs(cmd: WorkflowCommand, words: string[]): Record<string, unknown> {
  const parsed = parseArgs(words, cmd.args) as Record<string, unknown> & { _: string[] };
  const known = new Set<string>(["_"]);
  for (const [k, d] of Object.entries(cmd.args)) {
    known.add(k);
    // citty also gives a dashed option under its camelCase name (--install-rule: installRule)
    known.add(k.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase()));
    const alias = (d as { alias?: string | string[] }).alias;
    for (const a of Array.isArray(alias) ? alias : alias ? [alias] : []) known.add(a);
  }
  for (const k of Object.keys(parsed)) {
    if (!known.has(k)) throw new UserError(`rear ${cmd.name}: unknown option '--${k}'`, `see 'rear help'`);
  }
  const positional = Object.values(cmd.args).filter((d) => (d as { type?: string }).type === "positional").length;
  if (parsed._.length > positional) throw new UserError(`rear ${cmd.name}: unexpected argument '${parsed._[positional]}'`, `see 'rear help'`);
  return parsed;
}
