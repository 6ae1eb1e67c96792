// The shared libraries a set of programs needs, found the way glibc's ld.so finds them, without running
// anything: ReaR runs `ldd` on every binary, which is slow and misses what ld.so would find through
// DT_RUNPATH (rear#3021: systemd's private libsystemd-shared) or custom ld.so.conf directories (rear#1494).
// For each program, as ld.so does when it starts it (ld.so(8) and glibc's elf/dl-load.c, _dl_map_object):
//   - the program interpreter (PT_INTERP) is loaded first; its SONAME satisfies libc's DT_NEEDED on it;
//   - DT_NEEDED entries are loaded breadth first; a name an object already loaded answers to (its
//     DT_NEEDED name, its path or its SONAME) is not searched again, nor is a file already loaded;
//   - a name with a "/" is a path; any other is searched in: DT_RPATH of the requesting object, then of
//     the object that loaded it, up to the program (only when the requester has no DT_RUNPATH; an object
//     with DT_RUNPATH has no DT_RPATH: elf/get-dynamic-info.h), LD_LIBRARY_PATH, the requester's own
//     DT_RUNPATH, the ld.so.cache (the ld.so.conf directories), the default directories — the last two
//     skipped when the requester is linked with -z nodeflib (DF_1_NODEFLIB);
//   - a candidate of another ELF class or machine (a 32-bit library in a search directory) is skipped;
//   - $ORIGIN is the directory of the program's real path (the kernel's /proc/self/exe) and, for a
//     library, of the path it was found at.
// Everything is looked up inside `root` (see RootFs): pointed at a finished rescue tree, the same
// function checks that every program there resolves inside the tree.

import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { DF_1_NODEFLIB, readElfFile, type ElfInfo } from "./elf.ts";
import { readLdSoConf } from "./ld-so-conf.ts";
import { defaultDirsOf, hostKind, libTokenOf, platformOf, type ElfKind } from "./loader-paths.ts";
import { RootFs } from "./root-path.ts";

export interface ResolveOptions {
  /** The tree everything is looked up in, as if chrooted into it (default "/"). */
  root?: string;
  /** LD_LIBRARY_PATH: its value (":" or ";" separated, as ld.so splits it) or the directories. */
  ldLibraryPath?: string | string[];
  /** LD_LIBRARY_PATH applies only to programs below this directory: a vendor's bundle (COVE_INCLUDE_AGENT)
   *  whose own wrapper sets it; the rescue system's bash must not take the bundle's libc for its own */
  ldLibraryPathUnder?: string;
  /** The ld.so.cache directories; default: those of <root>/etc/ld.so.conf. */
  confDirs?: string[];
  /** ld.so's own directories; default: derived from the program's class and machine and the tree layout. */
  defaultDirs?: string[];
  /** What $PLATFORM expands to; default: the machine's base platform name (x86_64, i686, aarch64 …). */
  platform?: string;
}

export interface Resolution {
  /** Every path that must exist for the roots to run: roots, interpreters, libraries, each with its symlink chain. */
  files: string[];
  /** DT_NEEDED entries (or an interpreter, or a root itself) that could not be found. */
  missing: { file: string; needed: string }[];
  /** Each ELF object (as reported in files) → the paths its DT_NEEDED entries resolved to, in order. */
  needs: Map<string, string[]>;
  /** Roots that are not ELF objects (shell scripts …): listed in files, nothing resolved for them. */
  notElf: string[];
}

/** An object in one simulated process (glibc's struct link_map). */
interface Loaded {
  path: string;
  real: string;
  info: ElfInfo;
  origin: string;
  loader?: Loaded;
}

interface Candidate {
  path: string;
  real: string;
  chain: string[];
  info: ElfInfo;
}

/** A search directory as written (DT_RPATH …) with the $ORIGIN it is expanded with. */
interface SearchDir {
  dir: string;
  origin?: string;
  /** Found through the ld.so.cache: ldconfig indexes a library only by its SONAME. */
  cache?: boolean;
}

// The vDSO's names: the kernel maps it, there is no file (ld.so answers a DT_NEEDED on it from memory).
const VDSO_NAMES = new Set(["linux-vdso.so.1", "linux-gate.so.1", "linux-vdso32.so.1", "linux-vdso64.so.1"]);

/** ld.so's dynamic string tokens in one path (elf/dl-load.c _dl_dst_substitute); undefined drops the path. */
export function expandTokens(path: string, tokens: { ORIGIN?: string; LIB?: string; PLATFORM?: string }): string | undefined {
  if (!path.includes("$")) return path;
  let dropped = false;
  // "$NAME" ends where a name character could not continue it; "${NAME}" is explicit. Unknown names stay as written.
  const out = path.replace(/\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))/g, (_m, a: string | undefined, b: string | undefined) => {
    const v = tokens[(a ?? b) as "ORIGIN" | "LIB" | "PLATFORM"];
    if (v === undefined) dropped = true;
    return v ?? "";
  });
  return dropped ? undefined : out;
}

/** LD_LIBRARY_PATH is split at ':' and ';' (elf/dl-load.c _dl_init_paths); empty elements mean the current directory, unknowable here. */
function splitLibraryPath(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : v.split(/[:;]/)).filter((d) => d !== "");
}

/** ldconfig puts a file into the cache only under a DSO-like name (lib*.so*, ld-*.so*), keyed by its SONAME. */
function isCacheable(name: string, info: ElfInfo): boolean {
  return (name.startsWith("lib") || name.startsWith("ld-")) && name.includes(".so") && (info.soname === undefined || info.soname === name);
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** One pass over a tree: parses, lookups and directory listings are shared by all the programs resolved. */
class Resolver {
  readonly fs: RootFs;
  private readonly elf = new Map<string, ElfInfo | null>();
  private readonly searches = new Map<string, Candidate | null>();
  private readonly kinds = new Map<string, { defaults: string[]; lib: string; platform?: string }>();
  private confDirs?: string[];

  constructor(private readonly opts: ResolveOptions) {
    this.fs = new RootFs(opts.root ?? "/");
  }

  parse(real: string): ElfInfo | undefined {
    let info = this.elf.get(real);
    if (info === undefined) {
      info = readElfFile(this.fs.hostPath(real)) ?? null;
      this.elf.set(real, info);
    }
    return info ?? undefined;
  }

  /** What ld.so knows for a class and machine: default directories, $LIB, $PLATFORM. */
  kindOf(k: ElfKind) {
    const key = `${k.class}/${k.machine}/${k.bigEndian}`;
    let v = this.kinds.get(key);
    if (!v) {
      v = { defaults: this.opts.defaultDirs ?? defaultDirsOf(this.fs, k), lib: libTokenOf(this.fs, k), platform: this.opts.platform ?? platformOf(k) };
      this.kinds.set(key, v);
    }
    return v;
  }

  conf(): string[] {
    this.confDirs ??= this.opts.confDirs ?? readLdSoConf(this.opts.root ?? "/", "/etc/ld.so.conf", this.fs);
    return this.confDirs;
  }

  /** A file as ld.so would open it: its chain, its real path and ELF facts, if it is ELF of the wanted kind. */
  open(path: string, kind?: ElfKind): Candidate | undefined {
    const { chain, real } = this.fs.linkChain(path);
    if (real === undefined) return undefined;
    const info = this.parse(real);
    if (!info || (kind && (info.class !== kind.class || info.machine !== kind.machine || info.bigEndian !== kind.bigEndian))) return undefined;
    return { path: chain[0] as string, real, chain, info };
  }

  /** The first directory of `dirs` holding `name` as an object of the wanted kind. */
  search(name: string, dirs: SearchDir[], k: ElfKind): Candidate | undefined {
    const tokens = this.kindOf(k);
    const expanded: string[] = [];
    for (const d of dirs) {
      const dir = expandTokens(d.dir, { ORIGIN: d.origin, LIB: tokens.lib, PLATFORM: tokens.platform });
      if (dir !== undefined && dir !== "") expanded.push((d.cache ? "C" : "D") + dir);
    }
    const key = `${k.class}/${k.machine}/${k.bigEndian}\0${name}\0${expanded.join("\0")}`;
    const hit = this.searches.get(key);
    if (hit !== undefined) return hit ?? undefined;
    let found: Candidate | undefined;
    for (const e of expanded) {
      const dir = e.slice(1);
      if (!this.fs.listDir(dir)?.has(name)) continue;
      const c = this.open(joinPath(dir, name), k);
      if (c && (e[0] !== "C" || isCacheable(name, c.info))) {
        found = c;
        break;
      }
    }
    this.searches.set(key, found ?? null);
    return found;
  }
}

/** The directories ld.so searches for a DT_NEEDED of `req` (elf/dl-load.c _dl_map_object), in order. */
function searchDirsFor(r: Resolver, req: Loaded, main: Loaded, ldLibraryPath: string[], k: ElfKind): SearchDir[] {
  const dirs: SearchDir[] = [];
  if (!req.info.runpath.length) {
    let sawMain = false;
    for (let l: Loaded | undefined = req; l; l = l.loader) {
      if (!l.info.runpath.length) for (const dir of l.info.rpath) dirs.push({ dir, origin: l.origin });
      sawMain ||= l === main;
    }
    if (!sawMain && !main.info.runpath.length) for (const dir of main.info.rpath) dirs.push({ dir, origin: main.origin });
  }
  for (const dir of ldLibraryPath) dirs.push({ dir, origin: main.origin });
  for (const dir of req.info.runpath) dirs.push({ dir, origin: req.origin });
  if (!((req.info.flags1 ?? 0) & DF_1_NODEFLIB)) {
    for (const dir of r.conf()) dirs.push({ dir, cache: true });
    for (const dir of r.kindOf(k).defaults) dirs.push({ dir });
  }
  return dirs;
}

/**
 * The files that must be in the rescue system for `roots` to run (see the header), the DT_NEEDED
 * entries nothing satisfies, and which object needs which.
 */
export function resolveLibraries(roots: string[], opts: ResolveOptions = {}): Resolution {
  const r = new Resolver(opts);
  const files = new Set<string>();
  const missing: Resolution["missing"] = [];
  const missingSeen = new Set<string>();
  const needs = new Map<string, string[]>();
  const notElf: string[] = [];
  const ldLibraryPath = splitLibraryPath(opts.ldLibraryPath);
  const addMissing = (file: string, needed: string) => {
    const key = `${file}\0${needed}`;
    if (!missingSeen.has(key)) missing.push({ file, needed }), missingSeen.add(key);
  };

  for (const root of roots) {
    const { chain, real } = r.fs.linkChain(root);
    for (const f of chain) files.add(f);
    const rootPath = chain[0] as string;
    if (real === undefined) {
      addMissing(rootPath, rootPath);
      continue;
    }
    const info = r.parse(real);
    if (!info) {
      notElf.push(rootPath);
      continue;
    }
    const k: ElfKind = info;
    // The program's $ORIGIN comes from its real path (/proc/self/exe), as when it is executed.
    const main: Loaded = { path: rootPath, real, info, origin: posix.dirname(real) };
    const under = opts.ldLibraryPathUnder?.replace(/\/+$/, "");
    const llp = under === undefined || rootPath === under || rootPath.startsWith(`${under}/`) ? ldLibraryPath : [];
    const byName = new Map<string, Loaded | null>();
    const byReal = new Map<string, Loaded>([[real, main]]);
    for (const v of VDSO_NAMES) byName.set(v, null);
    // ld.so matches a DT_NEEDED against the SONAME of every loaded object, the program included.
    const nameIt = (l: Loaded, ...names: (string | undefined)[]) => {
      for (const n of names) if (n !== undefined && !byName.has(n)) byName.set(n, l);
    };

    if (info.interpreter) {
      const c = r.open(info.interpreter);
      if (c) {
        for (const f of c.chain) files.add(f);
        const interp: Loaded = { path: c.path, real: c.real, info: c.info, origin: posix.dirname(c.path) };
        byReal.set(c.real, byReal.get(c.real) ?? interp);
        nameIt(interp, info.interpreter, c.path, c.info.soname);
      } else addMissing(rootPath, info.interpreter);
    }
    nameIt(main, info.soname);

    const queue: Loaded[] = [main];
    for (let i = 0; i < queue.length; i++) {
      const obj = queue[i] as Loaded;
      const deps: string[] = [];
      for (const name of obj.info.needed) {
        if (byName.has(name)) {
          const l = byName.get(name);
          if (l) deps.push(l.path);
          continue;
        }
        let c: Candidate | undefined;
        if (name.includes("/")) {
          // A path: DSTs expanded, a relative one taken from the current directory ("/" here); no search.
          const p = expandTokens(name, { ORIGIN: obj.origin, LIB: r.kindOf(k).lib, PLATFORM: r.kindOf(k).platform });
          c = p === undefined ? undefined : r.open(p.startsWith("/") ? p : "/" + p, k);
        } else {
          c = r.search(name, searchDirsFor(r, obj, main, llp, k), k);
        }
        if (!c) {
          addMissing(obj.path, name);
          continue;
        }
        let l = byReal.get(c.real);
        if (!l) {
          l = { path: c.path, real: c.real, info: c.info, origin: posix.dirname(c.path), loader: obj };
          byReal.set(c.real, l);
          queue.push(l);
          for (const f of c.chain) files.add(f);
        }
        nameIt(l, name, c.path, c.info.soname);
        deps.push(l.path);
      }
      if (!needs.has(obj.path)) needs.set(obj.path, deps);
    }
  }
  return { files: [...files], missing, needs, notElf };
}

/**
 * The NSS service names of an nsswitch.conf, in order of appearance. Sample:
 *   passwd:   files systemd
 *   hosts:    files mdns4_minimal [NOTFOUND=return] dns
 * "[…]" are actions, not services; "#" starts a comment.
 */
export function parseNsswitchServices(text: string): string[] {
  const out = new Set<string>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "");
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    for (const w of line.slice(colon + 1).replace(/\[[^\]]*\]/g, " ").split(/\s+/)) if (/^[A-Za-z0-9_-]+$/.test(w)) out.add(w);
  }
  return [...out];
}

/**
 * Libraries programs load with dlopen(3), which no DT_NEEDED names, as paths to add to the roots: the
 * NSS modules (libnss_<service>.so.2) of the services <root>/etc/nsswitch.conf names — without them
 * user and host names do not resolve in the rescue system — and libgcc_s.so.1, which glibc loads for
 * pthread_cancel and backtrace. Looked up in `searchDirs` (default: the ld.so.conf directories, then
 * ld.so's defaults for this machine); what is not found is left out.
 */
export function runtimeLibraries(opts: { root?: string; searchDirs?: string[] } = {}): string[] {
  const r = new Resolver({ root: opts.root ?? "/" });
  const k = hostKind();
  const dirs = opts.searchDirs ?? [...r.conf(), ...(k ? r.kindOf(k).defaults : ["/lib", "/usr/lib"])];
  let services = ["files", "dns"]; // glibc's built-in defaults when nsswitch.conf is missing
  const conf = r.fs.resolvePath("/etc/nsswitch.conf");
  if (conf !== undefined) {
    try {
      services = parseNsswitchServices(readFileSync(r.fs.hostPath(conf), "utf8"));
    } catch {
      // unreadable: keep the defaults
    }
  }
  const out: string[] = [];
  for (const name of [...services.map((s) => `libnss_${s}.so.2`), "libgcc_s.so.1"]) {
    for (const dir of dirs) {
      if (!r.fs.listDir(dir)?.has(name)) continue;
      const c = r.open(joinPath(dir, name), k);
      if (c) {
        out.push(c.path);
        break;
      }
    }
  }
  return out;
}
