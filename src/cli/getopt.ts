// rear's global options, parsed like ReaR's `getopt -o "c:C:dDhsSvVr:nep" -l "help,version,non-interactive,
// debugscripts:,expose-secrets,portable"`: short options may be bundled (-vd) and take their argument
// attached or as the next word (-c/etc/x, -c /etc/x), long options take `--opt=ARG` or `--opt ARG`,
// `--` ends the options. GNU getopt permutes, so a global option written after the workflow name
// still counts (`rear mkrescue -v`); anything else after the workflow goes to the workflow as ARGS
// (`rear dump --json`), and everything after a `--` that follows the workflow does too
// (`rear format -- --efi /dev/sdX`). Pure.

import { UserError } from "../engine/errors.ts";

export interface CliOptions {
  help: boolean;
  version: boolean;
  verbose: boolean;
  debug: boolean;
  /** -D or --debugscripts: the `set -…` flags for hook scripts ("x" for -D) */
  debugscripts?: string;
  simulate: boolean;
  stepByStep: boolean;
  configDir?: string;
  extraConfigs: string[];
  kernelVersion?: string;
  nonInteractive: boolean;
  exposeSecrets: boolean;
  portable: boolean;
  workflow?: string;
  args: string[];
  /** the words after a `--` that follows the workflow (also the tail of args) */
  afterDashDash: string[];
}

const SHORT_WITH_ARG = new Set(["c", "C", "r"]);
const SHORT_FLAGS = new Set(["d", "D", "h", "s", "S", "v", "V", "n", "e", "p"]);
const LONG_FLAGS = new Set(["help", "version", "non-interactive", "expose-secrets", "portable"]);
const LONG_WITH_ARG = new Set(["debugscripts"]);

export const USAGE_HINT = "Use 'rear --help' or 'man rear' for more information.";

function usage(msg: string): never {
  throw new UserError(msg, USAGE_HINT);
}

export function emptyOptions(): CliOptions {
  return {
    help: false, version: false, verbose: false, debug: false, simulate: false, stepByStep: false,
    extraConfigs: [], nonInteractive: false, exposeSecrets: false, portable: false, args: [], afterDashDash: [],
  };
}

function applyShort(o: CliOptions, c: string, arg?: string): void {
  switch (c) {
    case "c": o.configDir = arg; break;
    case "C": o.extraConfigs.push(arg!); break;
    case "r": o.kernelVersion = arg; break;
    case "d": o.debug = true; o.verbose = true; break;
    case "D": o.debug = true; o.verbose = true; o.debugscripts = "x"; break;
    case "h": o.help = true; break;
    case "s": o.simulate = true; o.verbose = true; break;
    case "S": o.stepByStep = true; break;
    case "v": o.verbose = true; break;
    case "V": o.version = true; break;
    case "n": o.nonInteractive = true; break;
    case "e": o.exposeSecrets = true; break;
    case "p": o.portable = true; break;
  }
}

function applyLong(o: CliOptions, name: string, arg?: string): void {
  switch (name) {
    case "help": o.help = true; break;
    case "version": o.version = true; break;
    case "non-interactive": o.nonInteractive = true; break;
    case "expose-secrets": o.exposeSecrets = true; break;
    case "portable": o.portable = true; break;
    case "debugscripts": o.debug = true; o.verbose = true; o.debugscripts = arg; break;
  }
}

/** An option argument must not look like an option (ReaR: "-c requires an argument."). */
function checkArg(opt: string, arg: string | undefined): string {
  if (arg === undefined || arg === "" || arg.startsWith("-")) usage(`${opt} requires an argument.`);
  return arg;
}

/** The flags bash's `set` takes as single letters (`set -x`, `set -xv`): SET of --debugscripts goes into a script. */
const SET_FLAGS = /^[abefhkmnptuvxBCEHPT]+$/;

function checkSetFlags(arg: string): string {
  if (!SET_FLAGS.test(arg)) usage(`--debugscripts '${arg}': not bash 'set' flags; give letters of abefhkmnptuvxBCEHPT, for example x or xv`);
  return arg;
}

/**
 * Tries to read argv[i] as a global option. Returns how many words it used (0: not an option).
 */
function takeOption(o: CliOptions, argv: string[], i: number): number {
  const a = argv[i]!;
  if (a.startsWith("--") && a.length > 2) {
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    // getopt accepts unambiguous abbreviations of long options
    const all = [...LONG_FLAGS, ...LONG_WITH_ARG];
    const matches = all.includes(name) ? [name] : all.filter((n) => n.startsWith(name));
    if (matches.length !== 1) return 0;
    const full = matches[0]!;
    if (LONG_WITH_ARG.has(full)) {
      if (eq >= 0) {
        applyLong(o, full, checkSetFlags(checkArg(`--${full}`, a.slice(eq + 1))));
        return 1;
      }
      applyLong(o, full, checkSetFlags(checkArg(`--${full}`, argv[i + 1])));
      return 2;
    }
    if (eq >= 0) usage(`option '--${full}' doesn't allow an argument`);
    applyLong(o, full);
    return 1;
  }
  if (a.startsWith("-") && a.length > 1 && a !== "--") {
    const chars = a.slice(1);
    // Only a word made entirely of our short options is ours (so `-x` after the workflow stays an ARG).
    for (let k = 0; k < chars.length; k++) {
      const c = chars[k]!;
      if (SHORT_WITH_ARG.has(c)) {
        const rest = chars.slice(k + 1);
        if (rest) {
          applyShort(o, c, checkArg(`-${c}`, rest));
          return 1;
        }
        applyShort(o, c, checkArg(`-${c}`, argv[i + 1]));
        return 2;
      }
      if (!SHORT_FLAGS.has(c)) return 0;
      applyShort(o, c);
    }
    return 1;
  }
  return 0;
}

/** True when every character of a "-xyz" word is a global short option (so it is safe to consume). */
function isAllOurs(a: string): boolean {
  if (a.startsWith("--")) {
    const name = a.slice(2).split("=")[0]!;
    // after the workflow only the full name counts: `rear layoutonly --p` is a typo, not --portable
    return [...LONG_FLAGS, ...LONG_WITH_ARG].includes(name);
  }
  for (let k = 1; k < a.length; k++) {
    const c = a[k]!;
    // After the workflow an option's argument must be the next word: `-dry-run` would otherwise read as
    // `-d -r y-run` (getopt does exactly that) and run the workflow for real; it stays the workflow's word.
    if (SHORT_WITH_ARG.has(c)) return k === a.length - 1;
    if (!SHORT_FLAGS.has(c)) return false;
  }
  return true;
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const o = emptyOptions();
  const list = [...argv];
  let i = 0;
  // Before the workflow: options only; an unknown one is an error, as with getopt.
  while (i < list.length) {
    const a = list[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    const n = takeOption(o, list, i);
    if (n === 0) usage(a.startsWith("--") ? `unrecognized option '${a}'` : `invalid option -- '${[...a.slice(1)].find((c) => !SHORT_FLAGS.has(c) && !SHORT_WITH_ARG.has(c)) ?? a}'`);
    i += n;
  }
  if (i < list.length) {
    o.workflow = list[i++];
    // After the workflow: our options still count (getopt permutes) until a `--`; the rest is ARGS.
    while (i < list.length) {
      const a = list[i]!;
      if (a === "--") {
        o.args.push(...list.slice(i + 1));
        o.afterDashDash.push(...list.slice(i + 1));
        break;
      }
      if (a.startsWith("-") && a !== "-" && isAllOurs(a)) {
        const n = takeOption(o, list, i);
        if (n > 0) {
          i += n;
          continue;
        }
      }
      o.args.push(a);
      i++;
    }
  }
  return o;
}
