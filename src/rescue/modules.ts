// Which kernel modules the rescue system gets: the files depmod and the running kernel describe, parsed
// into a ModuleIndex, and selectModules(), which applies ReaR's MODULES / MODULES_LOAD / EXCLUDE_MODULES
// and closes the choice over modules.dep and the soft dependencies. Pure: the texts come from
// probe-modules.ts.
//
// ReaR: rescue/GNU/Linux/230_storage_and_network_modules.sh, 240_kernel_modules.sh and
// build/GNU/Linux/400_copy_modules.sh, which resolve dependencies one module at a time with
// `modprobe --show-depends` (insmod lines only: soft dependencies are lost, rear#1355). A deliberate
// difference: ReaR's default is MODULES=( all_modules ), the whole /lib/modules/<kv> (~390 MiB on Debian
// 12, the main cause of rescue images too big to boot, rear#2386 #2869 #3324); ours, MODULES=(), is what
// is needed.

import type { DriverClass } from "./driver-classes.ts";
import { globRegExp } from "./glob-regexp.ts";

/** A loadable module: its file relative to /lib/modules/<kv> and the modules it needs (names), from modules.dep. */
export interface ModuleFile {
  name: string;
  path: string;
  deps: readonly string[];
}

export interface Softdep {
  pre: readonly string[];
  post: readonly string[];
}

interface AliasPattern {
  pattern: string;
  /** the text before the first wildcard: most patterns are ruled out by it without a regular expression */
  prefix: string;
  module: string;
  re?: RegExp;
}

export interface ModuleIndex {
  /** loadable modules by normalised name */
  modules: ReadonlyMap<string, ModuleFile>;
  /** normalised names of the modules built into the kernel */
  builtin: ReadonlySet<string>;
  /** normalised alias without wildcards → module names (loadable or built in) */
  aliases: ReadonlyMap<string, readonly string[]>;
  /** aliases with fnmatch wildcards (device ids mostly): tried only when nothing else matched */
  aliasPatterns: readonly AliasPattern[];
  /** module name → the modules modprobe loads before (pre) and after (post) it; names or aliases */
  softdeps: ReadonlyMap<string, Softdep>;
}

const MODULE_SUFFIX = /\.ko(\.(xz|zst|gz))?$/;

/**
 * A module's name as the kernel knows it: the file's basename without .ko (and a compression suffix),
 * '-' read as '_' (the kernel and kmod treat them alike: dm-crypt.ko is loaded as dm_crypt).
 * ReaR also strips a trailing ".o" (2.4 kernels' modules).
 */
export function normaliseModuleName(nameOrPath: string): string {
  const base = nameOrPath.slice(nameOrPath.lastIndexOf("/") + 1);
  return base.replace(MODULE_SUFFIX, "").replace(/\.o$/, "").replaceAll("-", "_");
}

/** kmod's alias_normalize(): '-' is '_' except inside a [...] bracket expression. */
export function normaliseAlias(alias: string): string {
  let out = "";
  let inBracket = false;
  for (const ch of alias) {
    if (ch === "[") inBracket = true;
    else if (ch === "]") inBracket = false;
    out += ch === "-" && !inBracket ? "_" : ch;
  }
  return out;
}

/**
 * modules.dep, as depmod writes it: each loadable module, then every module it needs (already the
 * whole transitive list, in load order reversed):
 *   kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
 *   kernel/fs/squashfs/squashfs.ko.xz:
 * depmod writes one line per module name (updates/ has already won over kernel/), so a repeated name
 * keeps its first line.
 */
export function parseModulesDep(text: string): Map<string, ModuleFile> {
  const out = new Map<string, ModuleFile>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0 || line.startsWith("#")) continue;
    const path = line.slice(0, colon).trim();
    const name = normaliseModuleName(path);
    if (out.has(name)) continue;
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map(normaliseModuleName);
    out.set(name, { name, path, deps });
  }
  return out;
}

/**
 * modules.builtin: what would be a module but is built into the kernel image (nothing to copy):
 *   kernel/fs/unicode/utf8data.ko
 *   kernel/drivers/input/keyboard/atkbd.ko
 */
export function parseModulesBuiltin(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t && !t.startsWith("#")) out.add(normaliseModuleName(t));
  }
  return out;
}

/**
 * modules.builtin.modinfo: the .modinfo of every built-in module, NUL-separated `module.key=value`:
 *   md5.alias=crypto-md5\0md5.alias=md5\0sha1_generic.alias=crypto-sha1\0…
 * Only the aliases matter here: a soft dependency on "crypto-md5" is satisfied by the kernel itself.
 */
export function parseBuiltinAliases(text: string): Array<[alias: string, module: string]> {
  const out: Array<[string, string]> = [];
  for (const s of text.split("\0")) {
    const m = /^([^.=]+)\.alias=(.+)$/.exec(s.trim());
    if (m) out.push([m[2]!, normaliseModuleName(m[1]!)]);
  }
  return out;
}

/**
 * modules.alias: the names a module answers to besides its own, from its MODULE_ALIAS()es and device
 * tables; fnmatch patterns for the latter:
 *   alias fs-ext4 ext4
 *   alias crypto-crc32c crc32c_intel
 *   alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e
 */
export function parseModulesAlias(text: string): Array<[alias: string, module: string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split("\n")) {
    const w = line.trim().split(/\s+/);
    if (w[0] === "alias" && w.length >= 3) out.push([w[1]!, normaliseModuleName(w[2]!)]);
  }
  return out;
}

/**
 * Soft dependencies, from modules.softdep (depmod collects the MODULE_SOFTDEP()s of the modules) or a
 * modprobe.d/*.conf file (other lines are ignored):
 *   softdep ext4 pre: crypto-crc32c
 *   softdep ipmi_msghandler post: ipmi_devintf
 *   softdep cifs gcm
 * Words before "pre:" or "post:" are ignored, as kmod's config parser does: cifs in 6.1 declares its
 * MODULE_SOFTDEP()s without "pre:", so modprobe never loads them. A backslash continues a line (modprobe.d(5)).
 */
export function parseSoftdeps(text: string): Map<string, Softdep> {
  const out = new Map<string, { pre: string[]; post: string[] }>();
  for (const line of text.replace(/\\\n/g, " ").split("\n")) {
    const w = line.replace(/#.*/, "").trim().split(/\s+/);
    if (w[0] !== "softdep" || !w[1]) continue;
    const name = normaliseModuleName(w[1]);
    const entry = out.get(name) ?? { pre: [], post: [] };
    let mode: "pre" | "post" | undefined;
    for (const word of w.slice(2)) {
      if (word === "pre:") mode = "pre";
      else if (word === "post:") mode = "post";
      else if (mode) entry[mode].push(word);
    }
    out.set(name, entry);
  }
  return out;
}

/**
 * /proc/modules, one loaded module a line: name, size, reference count, users, state, address:
 *   virtio_net 61440 0 - Live 0xffffffffc0224000
 *   jbd2 196608 1 ext4, Live 0xffffffffc02c1000
 * Returns the names in the kernel's order (most recently loaded first).
 */
export function parseProcModules(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const name = line.trim().split(/\s+/)[0];
    if (name) out.push(normaliseModuleName(name));
  }
  return out;
}

/**
 * `modinfo -0 FILE…`: for each file a "filename:" field, then its .modinfo entries, all NUL-terminated
 * (kmod 30 prints "key=value" with -0, "key:   value" lines without; both are read. Fields are also split
 * at newlines: only a parameter description could hold one, and none starts a line with "firmware"):
 *   filename:       /lib/modules/…/bnx2.ko.xz\0firmware=bnx2/bnx2-mips-09-6.2.1b.fw\0license=GPL\0…
 */
export function parseModinfoListing(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const field of text.split(/[\0\n]/)) {
    const m = /^([A-Za-z0-9_.-]+)(?:=|:\s*)(.*)$/.exec(field);
    if (!m) continue;
    const [, key, value] = m;
    if (key === "filename") {
      current = [];
      out.set(value!.trim(), current);
    } else if (key === "firmware" && current) current.push(value!.trim());
  }
  return out;
}

export interface ModuleSources {
  /** modules.dep */
  dep: string;
  /** modules.builtin */
  builtin?: string;
  /** modules.builtin.modinfo (NUL-separated) */
  builtinModinfo?: string;
  /** modules.alias */
  alias?: string;
  /** modules.softdep and modprobe.d files */
  softdeps?: readonly string[];
}

/**
 * The index of one kernel's modules. Soft dependencies of the same module from several files are
 * merged: a superset of what modprobe loads (it takes the first match), which costs a few small modules
 * at most and never misses one.
 */
export function buildModuleIndex(src: ModuleSources): ModuleIndex {
  const modules = parseModulesDep(src.dep);
  const builtin = parseModulesBuiltin(src.builtin ?? "");
  const aliases = new Map<string, string[]>();
  const aliasPatterns: AliasPattern[] = [];
  const pairs = [...parseModulesAlias(src.alias ?? ""), ...parseBuiltinAliases(src.builtinModinfo ?? "")];
  for (const [alias, module] of pairs) {
    const a = normaliseAlias(alias);
    if (/[*?[]/.test(a)) {
      aliasPatterns.push({ pattern: a, prefix: a.slice(0, a.search(/[*?[]/)), module });
      continue;
    }
    const list = aliases.get(a) ?? [];
    if (!list.includes(module)) list.push(module);
    aliases.set(a, list);
  }
  const softdeps = new Map<string, Softdep>();
  for (const text of src.softdeps ?? []) {
    for (const [name, sd] of parseSoftdeps(text)) {
      const had = softdeps.get(name);
      softdeps.set(name, had ? { pre: [...had.pre, ...sd.pre], post: [...had.post, ...sd.post] } : sd);
    }
  }
  return { modules, builtin, aliases, aliasPatterns, softdeps };
}

/** fnmatch(3) without flags, as kmod matches modules.alias patterns. */
const fnmatchRegExp = (pattern: string): RegExp => globRegExp(pattern, { slashes: true });

export interface Resolved {
  /** loadable modules the name stands for (several when an alias is shared: crypto-crc32c) */
  modules: string[];
  /** the name is (or is an alias of) a built-in module */
  builtin: boolean;
}

/**
 * What modprobe would load for a name: the module of that name, else every module the alias names
 * (modprobe loads them all), else nothing when the kernel has it built in.
 */
export function resolveModule(index: ModuleIndex, name: string): Resolved {
  const n = normaliseModuleName(name);
  if (index.modules.has(n)) return { modules: [n], builtin: false };
  if (index.builtin.has(n)) return { modules: [], builtin: true };
  const a = normaliseAlias(name);
  let targets = index.aliases.get(a) ?? [];
  if (targets.length === 0) {
    targets = index.aliasPatterns
      .filter((p) => {
        if (!a.startsWith(p.prefix)) return false;
        p.re ??= fnmatchRegExp(p.pattern);
        return p.re.test(a);
      })
      .map((p) => p.module);
  }
  const modules = [...new Set(targets.filter((t) => index.modules.has(t)))];
  return { modules, builtin: targets.some((t) => index.builtin.has(t)) };
}

/** The modules of a driver class in this index: those under its directories and those it names. */
export function classMembers(index: ModuleIndex, cls: DriverClass): string[] {
  const out = new Set<string>();
  for (const m of index.modules.values()) if (cls.dirs.some((d) => m.path.startsWith(d)) && !cls.skip?.some((d) => m.path.startsWith(d))) out.add(m.name);
  for (const n of cls.modules) for (const m of resolveModule(index, n).modules) out.add(m);
  return [...out].sort();
}

const KEYWORDS = new Set(["all_modules", "loaded_modules", "no_modules"]);

export type ModulesMode = "all" | "loaded" | "none" | "needed" | "list";

/**
 * ReaR's reading of MODULES: 'no_modules' counts only as the first element (400_copy_modules.sh tests
 * "$MODULES"), 'all_modules' and 'loaded_modules' anywhere in the array (IsInArray); blank elements are
 * nothing. Empty is our default, "what is needed"; any other list is that plus the named modules.
 */
export function modulesMode(modules: readonly string[]): ModulesMode {
  const m = modules.filter((x) => x.trim() !== "");
  if (m[0] === "no_modules") return "none";
  if (m.includes("all_modules")) return "all";
  if (m.includes("loaded_modules")) return "loaded";
  return m.length > 0 ? "list" : "needed";
}

export interface ModuleSpec {
  /** MODULES */
  modules: readonly string[];
  /** MODULES_LOAD: loaded at rescue boot, so always included (unless no_modules) */
  load?: readonly string[];
  /** EXCLUDE_MODULES */
  exclude?: readonly string[];
  /** the loaded modules (/proc/modules) */
  loaded?: readonly string[];
  /** modules what the layout and configuration use need (file systems, md levels, dm targets, NFS …): name → why */
  needed?: ReadonlyMap<string, readonly string[]> | readonly string[];
  /** driver classes taken whole (driver-classes.ts), in the needed and list modes */
  classes?: readonly DriverClass[];
}

export interface ModuleSelection {
  mode: ModulesMode;
  /** module files relative to /lib/modules/<kv>, sorted */
  files: string[];
  /** their names, sorted */
  names: string[];
  /** why each module is there: what asked for it (top level), or the first module that needs it */
  reasons: Map<string, string[]>;
  /** names asked for that the kernel has built in (nothing to copy) */
  builtin: string[];
  /** things the user should hear about: an excluded module others need, a module asked for that does not exist */
  warnings: string[];
  /** for the log only: soft dependencies that name nothing in this kernel */
  notes: string[];
}

interface Wanted {
  name: string;
  why: string;
  /** the module that needs it; undefined at the top level */
  by?: string;
  soft?: boolean;
}

/**
 * The modules of the rescue system and their closure: every module a chosen one needs through
 * modules.dep and its pre and post soft dependencies, resolved through aliases, built-ins skipped.
 * EXCLUDE_MODULES always wins (ReaR removes those files after copying), with a warning when a kept module
 * needs an excluded one.
 */
export function selectModules(index: ModuleIndex, spec: ModuleSpec): ModuleSelection {
  const mode = modulesMode(spec.modules);
  const sel: ModuleSelection = { mode, files: [], names: [], reasons: new Map(), builtin: [], warnings: [], notes: [] };
  if (mode === "none") return sel;
  const excluded = new Set((spec.exclude ?? []).filter((x) => x.trim()).map(normaliseModuleName));
  const builtin = new Set<string>();
  const queue: Wanted[] = [];
  const warn = (list: string[], msg: string) => {
    if (!list.includes(msg)) list.push(msg);
  };
  /** a name from the configuration or the machine: unknown ones are worth a warning */
  const ask = (name: string, why: string, strict: boolean) => {
    if (!name.trim()) return;
    const r = resolveModule(index, name);
    if (r.modules.length === 0) {
      if (r.builtin) builtin.add(name);
      else if (strict) warn(sel.warnings, `kernel module '${name}' (${why}) does not exist for this kernel`);
      return;
    }
    for (const m of r.modules) queue.push({ name: m, why });
  };

  if (mode === "all") {
    for (const m of index.modules.keys()) queue.push({ name: m, why: "MODULES=all_modules" });
  } else {
    for (const n of spec.load ?? []) ask(n, "MODULES_LOAD", true);
    for (const n of spec.loaded ?? []) ask(n, "loaded", true);
    if (mode === "needed" || mode === "list") {
      // a keyword out of place ('no_modules' not first) is no module name: ReaR's modinfo skips it silently
      if (mode === "list") for (const n of spec.modules) if (!KEYWORDS.has(n)) ask(n, "MODULES", true);
      const needed = spec.needed ?? [];
      const entries: Array<readonly [string, readonly string[]]> = needed instanceof Map ? [...needed] : (needed as readonly string[]).map((n) => [n, []] as const);
      for (const [n, whys] of entries) ask(n, whys.length ? `needed by ${whys.join(", ")}` : "needed", true);
      for (const cls of spec.classes ?? []) {
        for (const m of classMembers(index, cls)) queue.push({ name: m, why: `class ${cls.name}: ${cls.why}` });
        // a class naming a module this kernel lacks is normal (another architecture, another kernel configuration)
        for (const n of cls.modules) if (resolveModule(index, n).builtin) builtin.add(n);
      }
    }
  }

  const chosen = new Map<string, ModuleFile>();
  for (let i = 0; i < queue.length; i++) {
    const w = queue[i]!;
    if (excluded.has(w.name)) {
      if (w.by && !excluded.has(w.by)) {
        if (w.soft) warn(sel.notes, `${w.name} is excluded (EXCLUDE_MODULES); ${w.by} asks for it as a soft dependency`);
        else warn(sel.warnings, `${w.name} is excluded (EXCLUDE_MODULES) but ${w.by} needs it: ${w.by} will not load in the rescue system`);
      }
      continue;
    }
    const reasons = sel.reasons.get(w.name) ?? [];
    if (!w.by && !reasons.includes(w.why)) reasons.push(w.why);
    else if (w.by && reasons.length === 0) reasons.push(w.why);
    sel.reasons.set(w.name, reasons);
    if (chosen.has(w.name)) continue;
    const m = index.modules.get(w.name);
    if (!m) continue;
    chosen.set(w.name, m);
    for (const d of m.deps) queue.push({ name: d, why: `dependency of ${m.name}`, by: m.name });
    const sd = index.softdeps.get(m.name);
    for (const [kind, list] of [["pre", sd?.pre ?? []], ["post", sd?.post ?? []]] as const) {
      for (const target of list) {
        const r = resolveModule(index, target);
        if (r.modules.length === 0 && !r.builtin) warn(sel.notes, `soft dependency '${target}' of ${m.name} names no module of this kernel`);
        for (const t of r.modules) queue.push({ name: t, why: `soft dependency (${kind}) of ${m.name}`, by: m.name, soft: true });
      }
    }
  }
  // a module that never made it in (excluded at the top level) has no reason to show
  for (const n of [...sel.reasons.keys()]) if (!chosen.has(n)) sel.reasons.delete(n);
  sel.names = [...chosen.keys()].sort();
  sel.files = sel.names.map((n) => chosen.get(n)!.path).sort();
  sel.builtin = [...builtin].sort();
  return sel;
}

/** One line per chosen module for the log: "ext4 (kernel/fs/ext4/ext4.ko): needed by ext4". */
export function describeSelection(sel: ModuleSelection, index: ModuleIndex): string[] {
  return sel.names.map((n) => `${n} (${index.modules.get(n)?.path ?? "?"}): ${(sel.reasons.get(n) ?? []).join("; ")}`);
}
