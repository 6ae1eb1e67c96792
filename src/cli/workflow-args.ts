// What each workflow takes after its name, declared once: `rear help WORKFLOW` prints it and every run
// checks the words against it before anything else happens. A typo is an error, never something else:
// `rear -p layoutonly --dryrun` used to recreate the disks, because only the exact `--dry-run` was looked
// for. Long options are matched exactly (no abbreviations: a destructive workflow must not guess). Pure.

import { UserError } from "../engine/errors.ts";
import { didYouMean } from "../config/settings.ts";

export interface ArgSpec {
  /** --flag: description */
  flags?: Record<string, string>;
  /** --option VALUE (or --option=VALUE) */
  options?: Record<string, { value: string; description: string; choices?: readonly string[] }>;
  /** positional words in order; optional ones last */
  positional?: readonly { name: string; description: string; optional?: boolean; repeat?: boolean }[];
  /** words after a `--` are the workflow's own options (ReaR's `rear format -- --efi DEVICE`) */
  afterDashDash?: Record<string, string>;
}

export interface ParsedWords {
  flags: Set<string>;
  options: Map<string, string>;
  positional: string[];
}

/** For programs that run rear (a backup agent): they need not parse messages. */
const RESULT_JSON = "print the result as one JSON object on standard output (messages go to standard error): the exit code, each file written with its size and sha256, the error";

export const WORKFLOW_ARGS: Record<string, ArgSpec> = {
  layoutonly: {
    flags: {
      "--dry-run": "only print the plan (the disks it would wipe, every step); change nothing",
      "--restart": "forget the steps done by an earlier run and start over",
    },
  },
  recover: {
    flags: {
      "--dry-run": "only print what recover would do; change nothing",
      "--restart": "start over: forget what an earlier, interrupted recover did (also the record it left on the disks)",
    },
  },
  checklayout: { flags: { "--json": "print the differences as JSON" } },
  mkrescue: { flags: { "--json": RESULT_JSON } },
  mkbackup: { flags: { "--json": RESULT_JSON } },
  dump: { flags: { "--json": "print the whole configuration as one JSON object" } },
  showlayout: {
    flags: { "--json": "print the parsed layout as JSON" },
    options: { "--format": { value: "FORMAT", description: "tree (the default) or disklayout (the file written back)", choices: ["tree", "disklayout"] } },
    positional: [{ name: "FILE", description: "a layout file (default: the saved disklayout.conf)", optional: true }],
  },
  udev: {
    flags: { "--install-rule": "write 62-rear-usb.rules so that plugging in a REAR-000 disk runs rear udev" },
    options: { "--rules-dir": { value: "DIR", description: "where --install-rule writes the rule (default /etc/udev/rules.d)" } },
  },
  capturelayout: { positional: [{ name: "DIR", description: "an empty or new directory for the probe outputs", optional: true }] },
  help: { positional: [{ name: "WORKFLOW", description: "show the usage of this workflow", optional: true }] },
  format: {
    positional: [{ name: "DEVICE", description: "the USB disk or tape to format" }],
    afterDashDash: {
      "-b": "BIOS boot only", "--bios": "BIOS boot only", "-e": "EFI boot only", "--efi": "EFI boot only",
      "-f": "format without asking", "--force": "format without asking", "-y": "answer yes", "--yes": "answer yes",
    },
  },
  opaladmin: {
    positional: [
      { name: "ACTION", description: "info, setupERASE, changePW, uploadPBA, unlock, deactivate, reactivate, resetDEK, factoryRESET or help" },
      { name: "DEVICE", description: "a self-encrypting disk, or ALL", optional: true, repeat: true },
    ],
    afterDashDash: { "-I": "the PBA image file (with an argument)" },
  },
};

/** The one-line synopsis: `rear [OPTIONS] layoutonly [--dry-run] [--restart]`. */
export function synopsis(name: string): string {
  const s = WORKFLOW_ARGS[name] ?? {};
  const parts = [
    ...Object.keys(s.flags ?? {}).map((f) => `[${f}]`),
    ...Object.entries(s.options ?? {}).map(([o, d]) => `[${o} ${d.value}]`),
    ...(s.afterDashDash ? [`[-- ${[...new Set(Object.keys(s.afterDashDash).filter((k) => k.startsWith("--") || k === "-I"))].map((k) => (k === "-I" ? "-I FILE" : k)).join(" ")}]`] : []),
    ...(s.positional ?? []).map((p) => (p.optional ? `[${p.name}${p.repeat ? "..." : ""}]` : `${p.name}${p.repeat ? "..." : ""}`)),
  ];
  return `rear [OPTIONS] ${name}${parts.length ? ` ${parts.join(" ")}` : ""}`;
}

/** The lines that describe the arguments, for `rear help WORKFLOW`. */
export function argLines(name: string): string[] {
  const s = WORKFLOW_ARGS[name] ?? {};
  const L: string[] = [];
  for (const [f, d] of Object.entries(s.flags ?? {})) L.push(`  ${f.padEnd(18)} ${d}`);
  for (const [o, d] of Object.entries(s.options ?? {})) L.push(`  ${`${o} ${d.value}`.padEnd(18)} ${d.description}`);
  for (const p of s.positional ?? []) L.push(`  ${p.name.padEnd(18)} ${p.description}${p.optional ? " (optional)" : ""}`);
  for (const [o, d] of Object.entries(s.afterDashDash ?? {})) L.push(`  -- ${o.padEnd(15)} ${d}`);
  return L;
}

function usageError(name: string, msg: string): never {
  throw new UserError(`rear ${name}: ${msg}`, `usage: ${synopsis(name)}   (see 'rear help ${name}')`);
}

/**
 * Checks the words after the workflow name against its declaration. `words` are as getopt left them:
 * a `--` given after the workflow is kept in `afterDashDash` when the caller saw one.
 */
export function parseWorkflowWords(name: string, words: readonly string[], afterDashDash: readonly string[] = []): ParsedWords {
  const s = WORKFLOW_ARGS[name] ?? {};
  const out: ParsedWords = { flags: new Set(), options: new Map(), positional: [] };
  const flags = Object.keys(s.flags ?? {});
  const options = Object.keys(s.options ?? {});
  const known = [...flags, ...options];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith("-") && w !== "-") {
      const eq = w.indexOf("=");
      const key = eq > 0 ? w.slice(0, eq) : w;
      if (flags.includes(key)) {
        if (eq > 0) usageError(name, `option '${key}' takes no value (got '${w}')`);
        if (out.flags.has(key)) usageError(name, `option '${key}' is given twice`);
        out.flags.add(key);
        continue;
      }
      if (options.includes(key)) {
        const v = eq > 0 ? w.slice(eq + 1) : words[++i];
        if (v === undefined || v === "" || (eq < 0 && v.startsWith("-"))) usageError(name, `option '${key}' needs a value (${s.options![key]!.value})`);
        const choices = s.options![key]!.choices;
        if (choices && !choices.includes(v)) usageError(name, `'${v}' is not a valid value of ${key} (use ${choices.join(" or ")})`);
        if (out.options.has(key)) usageError(name, `option '${key}' is given twice`);
        out.options.set(key, v);
        continue;
      }
      const dym = known.length ? didYouMean(key.replace(/^-+/, ""), known.map((k) => k.replace(/^-+/, ""))) : undefined;
      usageError(
        name,
        known.length
          ? `unknown option '${w}'${dym ? ` (did you mean --${dym}?)` : ""}; it takes ${known.join(", ")}`
          : `unknown option '${w}'; it takes no options`,
      );
    }
    out.positional.push(w);
  }
  const dd = s.afterDashDash;
  for (let i = 0; i < afterDashDash.length; i++) {
    const w = afterDashDash[i]!;
    if (!w.startsWith("-")) {
      out.positional.push(w);
      continue;
    }
    if (!dd || !(w in dd)) usageError(name, dd ? `unknown option '${w}' after '--'; it takes ${Object.keys(dd).join(" ")}` : `takes no options after '--' (got '${w}')`);
    out.flags.add(w);
    if (w === "-I") {
      const v = afterDashDash[++i];
      if (v === undefined) usageError(name, "option '-I' needs a file");
      out.options.set("-I", v);
    }
  }
  // words after `--` count as positionals too (`rear mkrescue -- now` is no less a stray word); a
  // missing required word is for the workflow to say (ReaR's format asks for its DEVICE)
  const pos = s.positional ?? [];
  const max = pos.some((p) => p.repeat) ? Infinity : pos.length;
  if (out.positional.length > max) usageError(name, pos.length ? `unexpected argument '${out.positional[pos.length]}'` : `takes no arguments (got '${out.positional[0]}')`);
  return out;
}
