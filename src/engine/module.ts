// Stage modules. ReaR merges the scripts of a stage from several directories (default, $ARCH, $OS,
// $BACKUP, $OUTPUT, …) and sorts them by their 3-digit number, then by name. We list modules
// statically (a binary has no directory to scan); `when(ctx)` replaces the directory dispatch.
// User hook scripts in $CONFIG_DIR/stages/<stage>/NNN_name.sh join the same order and run with bash.

import type { Context } from "./context.ts";
import type { StageName } from "./workflows.ts";

export interface Module {
  stage: StageName;
  /** 0–999, ReaR's NNN */
  order: number;
  /** snake_case, as ReaR's script names */
  name: string;
  /** the ReaR script(s) this corresponds to, or a short note; shown in the log */
  what?: string;
  /** must be pure: it is also evaluated by `rear -s` */
  when?(ctx: Context): boolean;
  run(ctx: Context): void | Promise<void>;
}

export interface HookScript {
  stage: StageName;
  order: number;
  name: string;
  path: string;
}

export type StageEntry = { kind: "module"; module: Module } | { kind: "hook"; hook: HookScript };

export const pad3 = (n: number): string => String(n).padStart(3, "0");

export function entryId(e: StageEntry): string {
  if (e.kind === "hook") return e.hook.path;
  const m = e.module;
  return `${m.stage}/${pad3(m.order)}_${m.name}`;
}

function orderOf(e: StageEntry): [number, string] {
  return e.kind === "module" ? [e.module.order, e.module.name] : [e.hook.order, e.hook.name];
}

/** The entries of one stage in run order: by number, then by name (built-in before hook on a tie). */
export function mergeStage(modules: readonly Module[], hooks: readonly HookScript[]): StageEntry[] {
  const entries: StageEntry[] = [
    ...modules.map((m) => ({ kind: "module" as const, module: m })),
    ...hooks.map((h) => ({ kind: "hook" as const, hook: h })),
  ];
  return entries.sort((a, b) => {
    const [na, sa] = orderOf(a);
    const [nb, sb] = orderOf(b);
    if (na !== nb) return na - nb;
    if (sa !== sb) return sa < sb ? -1 : 1;
    return a.kind === b.kind ? 0 : a.kind === "module" ? -1 : 1;
  });
}

/** Parses a hook file name: NNN_name.sh. */
export function parseHookName(file: string): { order: number; name: string } | undefined {
  const m = /^([0-9]{3})_(.+)\.sh$/.exec(file);
  return m ? { order: Number(m[1]), name: m[2]! } : undefined;
}
