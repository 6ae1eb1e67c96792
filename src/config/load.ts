// The configuration chain, as ReaR's usr/sbin/rear reads it:
//   default.conf (embedded) → os.conf → <workflow>.conf → vendor detection → conf/<ARCH|OS|vendor…>.conf
//   (embedded) → site.conf → local.conf → rescue.conf (recovery mode) → each -C file.
// Every file is checked first (trusted owner and mode, no CR line endings, arrays not assigned as
// scalars). Then the chain is evaluated by the TypeScript reader when every file is declarative, else
// by bash; both give what bash would hold. The I/O is injected (ConfigIo), so this module is testable.

import { ConfigError } from "../engine/errors.ts";
import { type BashStep, findSyntaxError, parseBashOutput, renderBashScript } from "./bash-eval.ts";
import { arrayNotices, SECRETS, SETTINGS, FRAMEWORK_VARS, settingTypo, validateSettings } from "./settings.ts";
import { unsupportedInUse, unsupportedNotice } from "./unsupported.ts";
import { NeedsBash, parseShell, type Stmt } from "./shell-parse.ts";
import { ShellEvaluator, type Value, type Var, type Vars } from "./shell-eval.ts";
import { CONFIG_MAX_BYTES, trustHint, trustProblem } from "./trust.ts";
import { unreadableProblem } from "../sys/read-file.ts";
import { detectVendor, osConfNames, vendorVars, type ReleaseFiles } from "./system.ts";

export interface FileStat {
  isFile: boolean;
  uid: number;
  mode: number;
  size?: number;
}

export interface ConfigIo {
  /** The file's text (bytes kept as sys/bytes.ts decodes them); undefined when it does not exist. Throws
   *  ConfigError, without reading, for anything but a regular file of at most CONFIG_MAX_BYTES. */
  readText(path: string): string | undefined;
  stat(path: string): FileStat | undefined;
  /** Runs bash on the script; stdout is returned as text (it holds NULs). */
  runBash(script: string, env: Record<string, string>): { code: number; stdout: string; stderr: string };
  /** uid of a user name (for TRUSTED_OWNERS), undefined when unknown */
  uidOf(user: string): number | undefined;
}

export interface LoadOptions {
  configDir: string;
  workflow: string;
  /** -C arguments as given */
  extraConfigs: string[];
  recoveryMode: boolean;
  /** variables rear sets before default.conf */
  seed: Record<string, Value>;
  env: Record<string, string | undefined>;
  release: ReleaseFiles;
  /** embedded conf files by path relative to conf/ ("default.conf", "GNU/Linux.conf") */
  embedded: ReadonlyMap<string, string>;
  /** uids always trusted: root and the owner of the rear binary */
  trustedUids: number[];
  mode?: "auto" | "ts" | "bash";
}

export interface ConfigFileEntry {
  /** how `rear dump` names it: "default.conf", "Linux-i386.conf", "local.conf", "/abs/x.conf" */
  label: string;
  path?: string;
  embedded: boolean;
  used: boolean;
}

export interface LoadedConfig {
  vars: Map<string, Var>;
  assoc: Map<string, Record<string, string>>;
  secrets: Set<string>;
  files: ConfigFileEntry[];
  evaluatedBy: "ts" | "bash";
  /** why bash was needed (first reason found) */
  bashReason?: string;
  /** bash's complaints that were not fatal ("command not found" …) */
  warnings: string[];
  /** what the configuration files printed (bash path only), for the log */
  printed: string[];
  /** where each variable was last assigned, from a lexical scan */
  origins: Map<string, { file: string; line: number }>;
  /** user files (and -C files) that were read, for COPY_AS_IS */
  userFiles: string[];
  /** said once at default verbosity: a single-value setting given as an array of several, … */
  notices: string[];
  /** settings nothing implements yet that the files set to something else than their default */
  unsupported: string[];
}

type Step =
  | { kind: "file"; label: string; path: string; text: string; embedded: false }
  | { kind: "file"; label: string; path: string; text: string; embedded: true }
  | { kind: "assign"; values: Record<string, string> };

const ASSIGN_LINE = /^\s*(?:\{\s*)?(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)(\+?)=(.?)/;
const LOCALE = { LC_ALL: "C", LANG: "C", LC_CTYPE: "C" };

function isEmpty(text: string | undefined): boolean {
  return text === undefined || text.trim() === "";
}

/** ReaR refuses DOS line endings in config files (bash would keep the CR in the values). */
function checkNoCR(path: string, text: string): void {
  const i = text.indexOf("\r");
  if (i < 0) return;
  const line = text.slice(0, i).split("\n").length;
  throw new ConfigError("contains a carriage return (DOS line endings)", path, line, `convert it with: sed -i 's/\\r$//' ${path}`);
}

/** What bash cannot read as text: a byte order mark (bash takes it as part of the first word), NUL bytes. */
function checkText(path: string, text: string): void {
  if (text.startsWith("\uFEFF")) throw new ConfigError("starts with a UTF-8 byte order mark, which bash reads as part of the first command", path, 1, `remove it: sed -i '1s/^\\xEF\\xBB\\xBF//' ${path}`);
  const nul = text.indexOf("\0");
  if (nul >= 0) throw new ConfigError("holds a NUL byte: this is not a text file", path, text.slice(0, nul).split("\n").length, "give a configuration file written in bash syntax");
}

/** ReaR's init/default/001_verify_config_arrays.sh: array settings must be assigned with ( … ). */
function checkArrays(path: string, text: string): void {
  text.split("\n").forEach((l, i) => {
    const m = ASSIGN_LINE.exec(l);
    if (!m) return;
    const name = m[1]!;
    if (SETTINGS.get(name)?.type === "array" && m[3] !== "(") {
      throw new ConfigError(
        `${name} is an array but is assigned a single value`,
        path,
        i + 1,
        `write ${name}=( … ) to replace it or ${name}+=( … ) to add to it`,
      );
    }
  });
}

export function scanOrigins(steps: Step[]): Map<string, { file: string; line: number }> {
  const o = new Map<string, { file: string; line: number }>();
  for (const st of steps) {
    if (st.kind !== "file") continue;
    st.text.split("\n").forEach((l, i) => {
      const m = ASSIGN_LINE.exec(l);
      if (m) o.set(m[1]!, { file: st.embedded ? `(built-in) conf/${st.label}` : st.path, line: i + 1 });
    });
  }
  return o;
}

/**
 * ReaR's secret idiom `{ A='x' ; B='y' ; } 2>>/dev/$SECRET_OUTPUT_DEV`: every variable assigned inside
 * the braces is secret, however the group is laid out (one line or several). A name that only looks
 * assigned (inside a quoted value) is taken as secret too: hiding too much is harmless.
 */
export function secretGroupNames(text: string): string[] {
  const names: string[] = [];
  const group = /(?:^|[\n;&|])[ \t]*\{(?=[ \t\n])((?:[^{}'"]|'[^']*'|"(?:[^"\\]|\\.)*")*)\}[ \t]*2>>?[ \t]*\/dev\/\$\{?SECRET_OUTPUT_DEV\}?/g;
  for (const g of text.matchAll(group)) {
    for (const m of g[1]!.matchAll(/(?:^|[\s;{(&|])(?:export\s+|declare\s+(?:-\w+\s+)*|readonly\s+|local\s+)?([A-Za-z_][A-Za-z0-9_]*)(?:\[[^\]]*\])?\+?=/g)) names.push(m[1]!);
  }
  return names;
}

function scanSecrets(steps: Step[]): Set<string> {
  const s = new Set<string>(SECRETS);
  for (const st of steps) {
    if (st.kind !== "file") continue;
    for (const n of secretGroupNames(st.text)) s.add(n);
  }
  return s;
}

interface Evaluated {
  vars: Vars;
  assoc: Map<string, Record<string, string>>;
  by: "ts" | "bash";
  bashReason?: string;
  warnings: string[];
  printed: string[];
}

export class ConfigLoader {
  private readonly env: Record<string, string>;
  constructor(
    private readonly opt: LoadOptions,
    private readonly io: ConfigIo,
  ) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(opt.env)) if (v !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) env[k] = v;
    this.env = { ...env, ...LOCALE };
  }

  private userStep(label: string, path: string): Step | undefined {
    // The kind and size are checked before a single byte is read: a FIFO would hang rear, /dev/zero fill its memory.
    const st = this.io.stat(path);
    const problem = st && unreadableProblem(st.isFile ? 0o100000 : st.mode, st.size, CONFIG_MAX_BYTES);
    if (problem) throw new ConfigError(problem, path, undefined, st!.isFile ? "is this the right file?" : "a configuration file must be a plain file; remove or replace it");
    const text = this.io.readText(path);
    if (isEmpty(text)) return undefined;
    return { kind: "file", label, path, text: text!, embedded: false };
  }

  private embeddedStep(rel: string): Step | undefined {
    const text = this.opt.embedded.get(rel);
    if (text === undefined) return undefined;
    return { kind: "file", label: rel, path: `conf/${rel}`, text, embedded: true };
  }

  /** -C NAME: absolute, or $CONFIG_DIR/NAME, or $CONFIG_DIR/NAME.conf (ReaR). */
  private resolveExtra(name: string): string {
    const cands = name.startsWith("/") ? [name, `${name}.conf`] : [`${this.opt.configDir}/${name}`, `${this.opt.configDir}/${name}.conf`];
    // the first that exists, whatever it is: userStep refuses what is not a regular file
    for (const c of cands) if (this.io.stat(c)) return c;
    throw new ConfigError(`additional configuration file '-C ${name}' not found (looked for ${cands.join(" and ")})`, undefined, undefined, "give an existing file, absolute or relative to the config directory");
  }

  load(): LoadedConfig {
    const { configDir, workflow } = this.opt;
    const files: ConfigFileEntry[] = [];
    const prefix: Step[] = [];
    const def = this.embeddedStep("default.conf");
    if (!def) throw new ConfigError("the built-in default.conf is missing from this binary (a broken build)");
    prefix.push(def);
    for (const label of ["os.conf", `${workflow}.conf`]) {
      const st = this.userStep(label, `${configDir}/${label}`);
      if (st) prefix.push(st);
    }
    const userFilesPrefix = prefix.filter((s) => s.kind === "file" && !s.embedded) as Extract<Step, { kind: "file" }>[];
    for (const s of userFilesPrefix) this.checkFile(s.path, s.text, prefix.slice(0, prefix.indexOf(s)));

    // Vendor detection runs between <workflow>.conf and the OS confs (os.conf may pin the vendor).
    const pre = this.evaluate(prefix);
    const vendorStep: Step = { kind: "assign", values: this.vendorValues(pre.vars) };
    const osNames = osConfNames({ ...(this.opt.seed as Record<string, string>), ...vendorStep.values });
    const steps: Step[] = [...prefix, vendorStep];
    for (const n of osNames) {
      const st = this.embeddedStep(`${n}.conf`);
      files.push({ label: `${n}.conf`, embedded: true, used: !!st });
      if (st) steps.push(st);
    }
    const userNames = ["site.conf", "local.conf", ...(this.opt.recoveryMode ? ["rescue.conf"] : [])];
    for (const label of userNames) {
      const st = this.userStep(label, `${configDir}/${label}`);
      files.push({ label, path: `${configDir}/${label}`, embedded: false, used: !!st });
      if (st) steps.push(st);
    }
    for (const name of this.opt.extraConfigs) {
      const path = this.resolveExtra(name);
      const st = this.userStep(path, path);
      files.push({ label: path, path, embedded: false, used: !!st });
      if (st) steps.push(st);
    }
    for (const s of steps.slice(prefix.length + 1)) {
      if (s.kind === "file" && !s.embedded) this.checkFile(s.path, s.text, steps.slice(0, steps.indexOf(s)));
    }
    const ev = this.evaluate(steps);
    const origins = scanOrigins(steps);
    const values = new Map([...ev.vars].map(([k, v]) => [k, v.value!]));
    const problems = validateSettings(values);
    if (problems.length > 0) {
      const p = problems[0]!;
      const o = origins.get(p.name);
      // a default of default.conf that takes the environment's value (RECOVERY_UPDATE_URL="${RECOVERY_UPDATE_URL:-}"):
      // the mistake is in the environment, not in a file
      if (o?.file.includes("conf/default.conf") && this.opt.env[p.name]) throw new ConfigError(`${p.message} (from the environment)`);
      throw new ConfigError(p.message, o?.file, o?.line);
    }
    const at = (n: string) => {
      const o = origins.get(n);
      return o ? `${o.file}:${o.line}: ` : "";
    };
    // what the built-in files alone give: the default of each setting
    const builtIn = this.evaluateTs(steps.filter((s) => s.kind === "assign" || s.embedded));
    const unsupported = unsupportedInUse(values, new Map([...builtIn.vars].map(([k, v]) => [k, v.value!])));
    // a variable a user file sets that is two edits from a setting: most likely a typo that leaves the setting at its default
    const userPaths = new Set(steps.flatMap((s) => (s.kind === "file" && !s.embedded ? [s.path] : [])));
    const typos = [...origins]
      .filter(([n, o]) => userPaths.has(o.file) && !(n in this.env))
      .flatMap(([n]) => {
        const t = settingTypo(n);
        return t ? [`${at(n)}${n} is not a setting of rear; did you mean ${t}? (${t} keeps its default)`] : [];
      });
    const notices = [...arrayNotices(values).map((p) => `${at(p.name)}${p.message}`), ...unsupported.map((n) => `${at(n)}${unsupportedNotice(n)}`), ...typos];
    return {
      vars: ev.vars,
      assoc: ev.assoc,
      secrets: scanSecrets(steps),
      files: [
        { label: "default.conf", embedded: true, used: true },
        ...prefix.slice(1).map((s) => ({ label: (s as { label: string }).label, path: (s as { path: string }).path, embedded: false, used: true })),
        ...files,
      ],
      evaluatedBy: ev.by,
      ...(ev.bashReason ? { bashReason: ev.bashReason } : {}),
      warnings: ev.warnings,
      printed: ev.printed,
      origins,
      userFiles: steps.filter((s) => s.kind === "file" && !s.embedded).map((s) => (s as { path: string }).path),
      notices,
      unsupported,
    };
  }

  private vendorValues(vars: Vars): Record<string, string> {
    const get = (n: string) => {
      const v = vars.get(n)?.value;
      return typeof v === "string" ? v : v?.[0];
    };
    let vendor = get("OS_VENDOR") ?? "generic";
    let version = get("OS_VERSION") ?? "none";
    if (vendor === "generic" || version === "none") {
      const d = detectVendor(this.opt.release);
      if (d.vendor) vendor = d.vendor;
      if (d.version !== undefined) version = d.version;
      if (vendor === "generic") {
        throw new ConfigError(
          "cannot detect the operating system (no /etc/os-release or similar file)",
          undefined,
          undefined,
          `set OS_VENDOR and OS_VERSION in ${this.opt.configDir}/os.conf`,
        );
      }
    }
    const machine = get("MACHINE") ?? "";
    return { ...vendorVars(vendor, version, machine) };
  }

  /**
   * A user file must be a regular file owned by a trusted owner and not writable by group or others,
   * as ReaR 2.9's trusted `source`. TRUSTED_OWNERS / TRUSTED_FILES set by the files read before it
   * (site.conf, say) extend the trust; they are evaluated only when a file fails the plain check.
   */
  private checkFile(path: string, text: string, before: Step[]): void {
    const st = this.io.stat(path);
    if (trustProblem(path, st, this.opt.trustedUids)) {
      // Only now evaluate what came before, for TRUSTED_OWNERS / TRUSTED_FILES (rarely needed).
      const ev = this.evaluate(before);
      const arr = (n: string): string[] => {
        const v = ev.vars.get(n)?.value;
        return v === undefined ? [] : typeof v === "string" ? [v] : v;
      };
      const owners = [...this.opt.trustedUids, ...arr("TRUSTED_OWNERS").map((u) => (/^[0-9]+$/.test(u) ? Number(u) : this.io.uidOf(u))).filter((u): u is number => u !== undefined)];
      const problem = trustProblem(path, st, owners, arr("TRUSTED_FILES"));
      if (problem) throw new ConfigError(problem, path, undefined, trustHint(path, problem));
    }
    checkNoCR(path, text);
    checkText(path, text);
    checkArrays(path, text);
  }

  /** Seed: the environment (exported) and rear's own variables. */
  private seedVars(): Vars {
    const vars: Vars = new Map();
    for (const [k, v] of Object.entries(this.env)) vars.set(k, { value: v, exported: true });
    for (const [k, v] of Object.entries(this.opt.seed)) vars.set(k, { value: v, exported: vars.get(k)?.exported ?? false });
    return vars;
  }

  private evaluate(steps: Step[]): Evaluated {
    const mode = this.opt.mode ?? "auto";
    if (mode !== "bash") {
      try {
        return this.evaluateTs(steps);
      } catch (e) {
        if (!(e instanceof NeedsBash) || mode === "ts") throw e;
        return this.evaluateBash(steps, e.message);
      }
    }
    return this.evaluateBash(steps);
  }

  private evaluateTs(steps: Step[]): Evaluated {
    const parsed: (Stmt[] | Record<string, string>)[] = steps.map((s) => {
      if (s.kind === "assign") return s.values;
      try {
        return parseShell(s.text);
      } catch (e) {
        if (e instanceof NeedsBash) throw new NeedsBash(e.reason, e.line, s.embedded ? `conf/${s.label}` : s.path);
        throw e;
      }
    });
    const vars = this.seedVars();
    const ev = new ShellEvaluator(vars);
    parsed.forEach((p, i) => {
      if (!Array.isArray(p)) {
        for (const [k, v] of Object.entries(p)) vars.set(k, { value: v, exported: vars.get(k)?.exported ?? false });
        return;
      }
      try {
        ev.run(p);
      } catch (e) {
        const s = steps[i] as Extract<Step, { kind: "file" }>;
        if (e instanceof NeedsBash) throw new NeedsBash(e.reason, e.line, s.embedded ? `conf/${s.label}` : s.path);
        throw e;
      }
    });
    return { vars: this.filterOutput(vars, new Set()), assoc: new Map(), by: "ts", warnings: [], printed: [] };
  }

  private evaluateBash(steps: Step[], reason?: string): Evaluated {
    const seed = new Map<string, Value>(Object.entries(this.opt.seed));
    const bsteps: BashStep[] = steps.map((s) =>
      s.kind === "assign" ? { kind: "assign", values: s.values } : s.embedded ? { kind: "text", name: `conf/${s.label}`, text: s.text } : { kind: "file", path: s.path },
    );
    const script = renderBashScript(seed, new Set(), bsteps);
    const r = this.io.runBash(script, this.env);
    const out = parseBashOutput(r.stdout);
    const userPaths = new Set(steps.flatMap((s) => (s.kind === "file" && !s.embedded ? [s.path] : [])));
    // A complaint of bash about a line of a user file means a setting was lost or misread (`BACKUP = NETFS`
    // runs a command BACKUP; a typo'd command): rear stops, naming the line, rather than run without it.
    for (const l of r.stderr.split("\n")) {
      const m = /^(.*?): line ([0-9]+): (.*)$/.exec(l);
      if (!m || !userPaths.has(m[1]!)) continue;
      const nf = /^(.*): command not found$/.exec(m[3]!);
      const st = steps.find((x) => x.kind === "file" && x.path === m[1]) as Extract<Step, { kind: "file" }> | undefined;
      const text = st?.text.split("\n")[Number(m[2]) - 1] ?? "";
      const hint = !nf
        ? "fix the line; rear does not run with a configuration bash cannot read cleanly"
        : /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*(?:\s+=|=\s)/.test(text)
          ? `an assignment has no blanks around '=': write ${/([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(text)?.[1] ?? "NAME"}=value`
          : /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=[^\s'"]*\s+[^\s#;]/.test(text)
            ? `quote a value that has blanks: ${/([A-Za-z_][A-Za-z0-9_]*)=/.exec(text)?.[1] ?? "NAME"}="…"`
            : `install '${nf[1]}', or remove the line`;
      throw new ConfigError(nf ? `bash reads '${nf[1]}' as a command, and there is none of that name` : m[3]!, m[1], Number(m[2]), hint);
    }
    const syn = findSyntaxError(r.stderr);
    if (syn) throw new ConfigError(syn.message, syn.file, syn.line, "fix the file; `bash -n FILE` checks it");
    if (out.failedWith !== undefined) {
      const st = steps.find((s) => s.kind === "file" && (s.embedded ? `conf/${s.label}` : s.path) === out.lastStep) as Extract<Step, { kind: "file" }> | undefined;
      const ret = st ? st.text.split("\n").findIndex((l) => /^\s*return\b/.test(l)) : -1;
      throw new ConfigError(
        ret >= 0 ? `'${st!.text.split("\n")[ret]!.trim()}' stops reading the file with status ${out.failedWith}` : `sourcing it ended with status ${out.failedWith} (its last command failed)`,
        out.lastStep || undefined,
        ret >= 0 ? ret + 1 : undefined,
        "a configuration file must only set variables and end with a command that succeeds (ReaR stops here too: 'Failed to Source')",
      );
    }
    if (!out.complete) {
      throw new ConfigError(
        `bash stopped while reading this file (exit code ${r.code})${r.stderr.trim() ? `: ${r.stderr.trim().split("\n").slice(-1)[0]}` : ""}`,
        out.lastStep || undefined,
        undefined,
        "a configuration file must only set variables; remove any 'exit' from it",
      );
    }
    const internal = new Set([...out.startNames].filter((n) => !(n in this.env)));
    for (const n of ["SHLVL", "PWD", "OLDPWD", "_"]) internal.add(n);
    // bash's own complaints name a file and line; anything else is what the configuration printed.
    const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
    const warnings = lines.filter((l) => /: line [0-9]+: /.test(l));
    const printed = lines.filter((l) => !/: line [0-9]+: /.test(l));
    const assoc = new Map([...out.assoc].filter(([k]) => !internal.has(k)));
    return { vars: this.filterOutput(out.vars, internal), assoc, by: "bash", ...(reason ? { bashReason: reason } : {}), warnings, printed };
  }

  /**
   * The variables that make up the configuration: rear's own, every known setting, and whatever the
   * files set (an environment variable that no file changed is not configuration). Same rule for both
   * paths so they can be compared.
   */
  private filterOutput(vars: Vars, internal: Set<string>): Vars {
    const out: Vars = new Map();
    const seeded = new Set(Object.keys(this.opt.seed));
    for (const [k, v] of vars) {
      if (v.value === undefined) continue;
      if (internal.has(k) && !seeded.has(k)) continue;
      const fromEnv = k in this.env && v.value === this.env[k];
      if (fromEnv && !seeded.has(k) && !SETTINGS.has(k) && !FRAMEWORK_VARS.includes(k)) continue;
      out.set(k, v);
    }
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
