// The file-system edge of the module and firmware choice: reads what depmod wrote for one kernel
// (/lib/modules/<kv>/modules.{dep,builtin,builtin.modinfo,alias,softdep}), the modprobe.d soft
// dependencies, /proc/modules and the list of /lib/firmware, under a root directory ("/" normally; a
// kernel package unpacked elsewhere for tests), and reads the firmware names out of module files.
// The choice itself is pure: modules.ts and firmware.ts.

import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { release } from "node:os";
import { join, relative } from "node:path";
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { exec, which } from "../sys/exec.ts";
import { parseModinfo } from "./elf.ts";
import { buildModuleIndex, type ModuleIndex, parseModinfoListing, parseProcModules } from "./modules.ts";

/** A file under /lib/firmware. */
export interface FirmwareFile {
  /** relative to the firmware directory */
  path: string;
  /** bytes of the file (of its target for a link) */
  size: number;
  /** a symbolic link: what it resolves to, relative to the firmware directory ("" when it leaves it or dangles) */
  link?: string;
}

export interface ModuleProbe {
  root: string;
  kernelVersion: string;
  /** the kernel is the one running: /proc/modules describes it */
  running: boolean;
  /** /lib/modules/<kv> under root */
  moduleDir: string;
  index: ModuleIndex;
  /** loaded modules (/proc/modules), empty when the kernel is not the running one */
  loaded: string[];
  /**
   * Files of moduleDir to copy besides the modules so that `depmod -b <rescue tree> <kv>` can write the
   * rest: modules.order (load order among equals), modules.builtin and modules.builtin.modinfo (built-in
   * modules and their aliases; depmod cannot learn them from the .ko files).
   */
  metaFiles: string[];
  /** /lib/firmware under root ("" when there is none) */
  firmwareDir: string;
  firmware: FirmwareFile[];
}

export interface ProbeModulesOptions {
  /** "/" by default */
  root?: string;
  /** `uname -r` by default */
  kernelVersion?: string;
  /** where to read the loaded modules from; default /proc/modules when the kernel is the running one */
  procModules?: string;
}

const read = (p: string) => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
};

/** The module directory of a kernel: /lib/modules/<kv>, or /usr/lib/modules/<kv> where /lib is not merged into /usr. */
function moduleDirOf(root: string, kv: string): string | undefined {
  return [join(root, "lib/modules", kv), join(root, "usr/lib/modules", kv)].find((d) => existsSync(join(d, "modules.dep")));
}

/**
 * modprobe.d files with soft dependencies, as kmod reads them: *.conf of /etc, /run, /usr/local/lib,
 * /lib and /usr/lib modprobe.d, a file name in an earlier directory hiding the same name in a later one.
 */
function modprobeConfs(root: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const d of ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "lib/modprobe.d", "usr/lib/modprobe.d"]) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, d)).filter((n) => n.endsWith(".conf")).sort();
    } catch {}
    for (const n of names) {
      if (seen.has(n)) continue;
      seen.add(n);
      const t = read(join(root, d, n));
      if (t !== undefined) out.push(t);
    }
  }
  return out;
}

export function probeModules(opts: ProbeModulesOptions = {}): ModuleProbe {
  const root = opts.root ?? "/";
  const kernelVersion = opts.kernelVersion ?? release();
  const moduleDir = moduleDirOf(root, kernelVersion);
  if (!moduleDir) {
    // ReaR: "Cannot copy kernel modules because /lib/modules/$KERNEL_VERSION does not exist"
    throw new Error(`cannot choose kernel modules: ${join(root, "lib/modules", kernelVersion, "modules.dep")} does not exist (is the kernel ${kernelVersion} installed? 'depmod ${kernelVersion}' writes modules.dep)`);
  }
  const running = root === "/" && kernelVersion === release();
  const index = buildModuleIndex({
    dep: read(join(moduleDir, "modules.dep")) ?? "",
    builtin: read(join(moduleDir, "modules.builtin")) ?? "",
    builtinModinfo: read(join(moduleDir, "modules.builtin.modinfo")) ?? "",
    alias: read(join(moduleDir, "modules.alias")) ?? "",
    softdeps: [read(join(moduleDir, "modules.softdep")) ?? "", ...modprobeConfs(root)],
  });
  const procModules = opts.procModules ?? (running ? "/proc/modules" : undefined);
  const loaded = procModules ? parseProcModules(read(procModules) ?? "") : [];
  const metaFiles = ["modules.order", "modules.builtin", "modules.builtin.modinfo"].filter((f) => existsSync(join(moduleDir, f)));
  const firmwareDir = [join(root, "lib/firmware"), join(root, "usr/lib/firmware")].find((d) => existsSync(d)) ?? "";
  return { root, kernelVersion, running, moduleDir, index, loaded, metaFiles, firmwareDir, firmware: firmwareDir ? listFirmware(firmwareDir) : [] };
}

/**
 * Every file and link to a file under the firmware directory, recursively. Like ReaR's
 * `find /lib*\/firmware`, a link to a directory is listed but not descended into; links to files are
 * resolved so a chosen link can bring its target.
 */
export function listFirmware(dir: string): FirmwareFile[] {
  const out: FirmwareFile[] = [];
  const top = realpathSync(dir);
  const walk = (rel: string) => {
    let names: string[] = [];
    try {
      names = readdirSync(join(dir, rel)).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const p = join(dir, r);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) out.push({ path: r, size: st.size });
      else if (st.isSymbolicLink()) {
        let target = "";
        let size = 0;
        try {
          const real = realpathSync(p);
          const s = statSync(real);
          if (s.isDirectory()) continue;
          size = s.size;
          const t = relative(top, real);
          target = t.startsWith("..") ? "" : t;
        } catch {}
        out.push({ path: r, size, link: target });
      }
    }
  };
  walk("");
  return out;
}

/** The symbolic links among the firmware files, for selectFirmware(). */
export function firmwareLinks(files: readonly FirmwareFile[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) if (f.link) out.set(f.path, f.link);
  return out;
}

/**
 * The firmware names (`firmware=` of .modinfo) of module files, relative to moduleDir. Plain and
 * gzip- or zstd-compressed modules are read here (parseModinfo on the ELF file); xz-compressed ones (RHEL,
 * SUSE, Fedora) by `modinfo` on the files, in as few calls as the command line allows.
 */
export async function readModuleFirmware(moduleDir: string, paths: readonly string[], note: (msg: string) => void = () => {}): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const xz: string[] = [];
  for (const p of paths) {
    if (p.endsWith(".ko.xz")) {
      xz.push(p);
      continue;
    }
    try {
      out.set(p, parseModinfo(decompress(p, readFileSync(join(moduleDir, p)))).get("firmware") ?? []);
    } catch (e) {
      note(`cannot read the firmware names of ${p}: ${(e as Error).message}`);
      out.set(p, []);
    }
  }
  if (xz.length) for (const [p, fw] of await modinfoFirmware(moduleDir, xz, note)) out.set(p, fw);
  return out;
}

function decompress(path: string, buf: Uint8Array): Uint8Array {
  if (path.endsWith(".ko.gz")) return gunzipSync(buf);
  if (path.endsWith(".ko.zst")) return zstdDecompressSync(buf);
  return buf;
}

// ~100 bytes a path: far below ARG_MAX (2 MiB with the default 8 MiB stack) even with the environment.
const MODINFO_BATCH = 4000;

async function modinfoFirmware(moduleDir: string, paths: readonly string[], note: (msg: string) => void): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const bin = which("modinfo", `${process.env.PATH ?? ""}:/usr/sbin:/sbin`);
  if (!bin) {
    note(`modinfo is not installed: the firmware of ${paths.length} xz-compressed modules is not known`);
    return out;
  }
  for (let i = 0; i < paths.length; i += MODINFO_BATCH) {
    const batch = paths.slice(i, i + MODINFO_BATCH);
    const abs = new Map(batch.map((p) => [join(moduleDir, p), p]));
    const r = await exec([bin, "-0", ...abs.keys()], { quiet: true });
    for (const [file, fw] of parseModinfoListing(r.stdout)) {
      const p = abs.get(file);
      if (p) out.set(p, fw);
    }
    if (r.code !== 0) note(`modinfo exited ${r.code}: ${r.stderr.trim().split("\n").slice(-1)[0] ?? ""}`);
    for (const p of batch) if (!out.has(p)) out.set(p, []);
  }
  return out;
}

/** Sizes of files relative to a directory (the log's "N modules, M MiB"); a missing file counts 0. */
export function fileSizes(dir: string, paths: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of paths) {
    try {
      out.set(p, statSync(join(dir, p)).size);
    } catch {
      out.set(p, 0);
    }
  }
  return out;
}
