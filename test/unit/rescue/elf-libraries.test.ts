import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DF_1_NODEFLIB, EM_386, EM_AARCH64, EM_PPC64, EM_X86_64, ET_DYN, ET_REL, elfSection, parseElf, parseModinfo, readElfFile } from "../../../src/rescue/elf.ts";
import { globInRoot, parseLdSoConf, readLdSoConf } from "../../../src/rescue/ld-so-conf.ts";
import { expandTokens, parseNsswitchServices, resolveLibraries, runtimeLibraries } from "../../../src/rescue/libraries.ts";
import { defaultDirsOf, libTokenOf } from "../../../src/rescue/loader-paths.ts";
import { RootFs } from "../../../src/rescue/root-path.ts";

// This suite reads the programs and libraries of the machine it runs on (Debian 12, x86_64, multiarch):
// bash, systemd's busctl (DT_RUNPATH to its private libsystemd-shared), ldd (a bash script).

// ---------- a writer of small ELF objects, for what this machine has no example of ----------

interface FakeElf {
  class?: 32 | 64;
  bigEndian?: boolean;
  machine?: number;
  type?: number;
  interp?: string;
  needed?: string[];
  rpath?: string;
  runpath?: string;
  soname?: string;
  flags1?: number;
  /** extra sections by name (.modinfo …) */
  sections?: Record<string, Uint8Array>;
  /** no program headers: only the section headers lead to .dynamic (as in a relocatable object) */
  noProgramHeaders?: boolean;
  /** the PT_LOAD does not cover .dynstr, so DT_STRTAB maps nowhere */
  unmappedStrtab?: boolean;
}

const BASE = 0x10000;
const enc = new TextEncoder();

/** An ELF object laid out as: header, program headers, interpreter, .dynstr, .dynamic, extra sections, .shstrtab, section headers. */
function buildElf(o: FakeElf): Uint8Array {
  const is64 = (o.class ?? 64) === 64;
  const le = !o.bigEndian;
  const [ehsize, phentsize, shentsize, dynsize] = is64 ? [64, 56, 64, 16] : [52, 32, 40, 8];
  const strs: number[] = [0];
  const str = (s: string) => {
    const at = strs.length;
    strs.push(...enc.encode(s), 0);
    return at;
  };
  const dyn: [number, number][] = [];
  for (const n of o.needed ?? []) dyn.push([1, str(n)]);
  if (o.soname !== undefined) dyn.push([14, str(o.soname)]);
  if (o.rpath !== undefined) dyn.push([15, str(o.rpath)]);
  if (o.runpath !== undefined) dyn.push([29, str(o.runpath)]);
  if (o.flags1 !== undefined) dyn.push([0x6ffffffb, o.flags1]);
  const interp = o.interp !== undefined ? [...enc.encode(o.interp), 0] : [];
  const phnum = o.noProgramHeaders ? 0 : o.interp !== undefined ? 3 : 2;
  const align8 = (n: number) => (n + 7) & ~7;
  const interpOff = ehsize + phnum * phentsize;
  const dynstrOff = interpOff + interp.length;
  const dynOff = align8(dynstrOff + strs.length);
  dyn.push([5, BASE + dynstrOff], [10, strs.length], [0, 0]);
  let off = dynOff + dyn.length * dynsize;
  const extra = Object.entries(o.sections ?? {}).map(([name, data]) => {
    const s = { name, data, off };
    off += data.length;
    return s;
  });
  const shnames: number[] = [0];
  const shname = (s: string) => {
    const at = shnames.length;
    shnames.push(...enc.encode(s), 0);
    return at;
  };
  const secs = [
    { name: shname(".dynstr"), type: 3, off: dynstrOff, size: strs.length, link: 0 },
    { name: shname(".dynamic"), type: 6, off: dynOff, size: dyn.length * dynsize, link: 1 },
    ...extra.map((e) => ({ name: shname(e.name), type: 1, off: e.off, size: e.data.length, link: 0 })),
  ];
  const shstrName = shname(".shstrtab");
  const shstrOff = off;
  off += shnames.length;
  const shoff = align8(off);
  const shnum = secs.length + 2;
  const total = shoff + shnum * shentsize;

  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  const u16 = (at: number, x: number) => v.setUint16(at, x, le);
  const u32 = (at: number, x: number) => v.setUint32(at, x, le);
  const w = (at: number, x: number) => (is64 ? v.setBigUint64(at, BigInt(x), le) : v.setUint32(at, x, le));
  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]);
  u16(16, o.type ?? ET_DYN);
  u16(18, o.machine ?? EM_X86_64);
  u32(20, 1);
  const o12 = is64 ? 12 : 0;
  w(is64 ? 32 : 28, phnum ? ehsize : 0);
  w(is64 ? 40 : 32, shoff);
  u16(40 + o12, ehsize);
  u16(42 + o12, phentsize);
  u16(44 + o12, phnum);
  u16(46 + o12, shentsize);
  u16(48 + o12, shnum);
  u16(50 + o12, shnum - 1);
  const ph = (i: number, type: number, offset: number, size: number) => {
    const at = ehsize + i * phentsize;
    u32(at, type);
    if (is64) {
      w(at + 8, offset), w(at + 16, BASE + offset), w(at + 24, BASE + offset), w(at + 32, size), w(at + 40, size);
    } else {
      u32(at + 4, offset), u32(at + 8, BASE + offset), u32(at + 12, BASE + offset), u32(at + 16, size), u32(at + 20, size);
    }
  };
  if (phnum) {
    let i = 0;
    if (o.interp !== undefined) ph(i++, 3, interpOff, interp.length);
    ph(i++, 1, 0, o.unmappedStrtab ? dynstrOff : total);
    ph(i++, 2, dynOff, dyn.length * dynsize);
  }
  b.set(interp, interpOff);
  b.set(strs, dynstrOff);
  dyn.forEach(([tag, val], i) => {
    const at = dynOff + i * dynsize;
    if (is64) v.setBigInt64(at, BigInt(tag), le), w(at + 8, val);
    else v.setInt32(at, tag, le), u32(at + 4, val);
  });
  for (const e of extra) b.set(e.data, e.off);
  b.set(shnames, shstrOff);
  const sh = (i: number, s: { name: number; type: number; off: number; size: number; link: number }) => {
    const at = shoff + i * shentsize;
    u32(at, s.name);
    u32(at + 4, s.type);
    if (is64) w(at + 24, s.off), w(at + 32, s.size), u32(at + 40, s.link);
    else u32(at + 16, s.off), u32(at + 20, s.size), u32(at + 24, s.link);
  };
  secs.forEach((s, i) => sh(i + 1, { ...s, link: s.type === 6 ? 1 : 0 }));
  sh(shnum - 1, { name: shstrName, type: 3, off: shstrOff, size: shnames.length, link: 0 });
  return b;
}

// ---------- temporary trees ----------

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});
function tempTree(): string {
  const t = realpathSync(mkdtempSync(join(tmpdir(), "rear-elf-")));
  temps.push(t);
  return t;
}
function put(root: string, path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), data);
}
function link(root: string, path: string, target: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  symlinkSync(target, join(root, path));
}
function copyReal(root: string, path: string, from: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  copyFileSync(realpathSync(from), join(root, path));
}
const lib = (needed: string[] = [], more: FakeElf = {}) => buildElf({ needed, ...more });

// ---------- the ELF reader ----------

describe("parseElf on this machine's programs", () => {
  const bash = readFileSync("/bin/bash");

  test("/bin/bash: interpreter, DT_NEEDED, class, machine, type", () => {
    const e = parseElf(bash);
    expect(e).toMatchObject({ class: 64, bigEndian: false, machine: EM_X86_64, type: ET_DYN, interpreter: "/lib64/ld-linux-x86-64.so.2", rpath: [], runpath: [] });
    expect(e?.needed).toEqual(["libtinfo.so.6", "libc.so.6"]);
  });

  test("libc.so.6: its SONAME and its need of the loader", () => {
    const e = readElfFile("/lib/x86_64-linux-gnu/libc.so.6");
    expect(e?.soname).toBe("libc.so.6");
    expect(e?.needed).toContain("ld-linux-x86-64.so.2");
  });

  test("readElfFile (pread of the parts) reads what parseElf reads from the whole file", () => {
    for (const f of ["/bin/bash", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]) {
      expect(readElfFile(f)).toEqual(parseElf(readFileSync(f)) as NonNullable<ReturnType<typeof parseElf>>);
    }
  });

  test("not ELF: a script, text, empty, a directory, a missing file", () => {
    expect(parseElf(readFileSync("/usr/bin/ldd"))).toBeUndefined();
    expect(parseElf(enc.encode("#!/bin/sh\necho hi\n"))).toBeUndefined();
    expect(parseElf(new Uint8Array(0))).toBeUndefined();
    expect(readElfFile("/usr")).toBeUndefined();
    expect(readElfFile("/nonexistent/file")).toBeUndefined();
  });

  test("a truncated program yields what its first bytes hold, and never throws", () => {
    const full = parseElf(bash)!;
    for (let n = 0; n <= bash.length; n += n < 4096 ? 1 : 4093) {
      const e = parseElf(bash.subarray(0, n));
      if (n < 16) expect(e).toBeUndefined();
      else {
        expect(e?.class).toBe(64);
        for (const x of e!.needed) expect(full.needed).toContain(x);
      }
    }
    expect(parseElf(bash.subarray(0, bash.length - 1))?.needed).toEqual(full.needed);
  });

  test("garbage: random bytes behind an ELF magic, and a program with bytes flipped, never throw", () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
    for (let i = 0; i < 300; i++) {
      const g = new Uint8Array(64 + (i % 7) * 300).map(rnd);
      g.set([0x7f, 0x45, 0x4c, 0x46, 1 + (i % 2), 1 + ((i >> 1) % 2)]);
      const e = parseElf(g);
      expect(e?.class).toBe(i % 2 ? 64 : 32);
    }
    const head = bash.slice(0, 1 << 16);
    const tail = bash.slice(bash.length - (1 << 16));
    for (let i = 0; i < 200; i++) {
      const m = i % 2 ? head.slice() : new Uint8Array([...head.subarray(0, 4096), ...tail]);
      for (let k = 0; k < 8; k++) m[16 + (rnd() * 256 + rnd()) % 4080] = rnd();
      expect(() => parseElf(m)).not.toThrow();
      expect(() => elfSection(m, ".dynstr")).not.toThrow();
    }
    // huge counts and offsets: nothing is read outside the buffer
    const h = bash.slice(0, 4096);
    new DataView(h.buffer).setUint16(56, 0xffff, true); // e_phnum = PN_XNUM, section 0 unreadable
    new DataView(h.buffer).setBigUint64(32, 0xffffffffffffn, true); // e_phoff beyond the file
    expect(parseElf(h)).toMatchObject({ class: 64, needed: [] });
  });
});

describe("parseElf on crafted objects", () => {
  test("ELF32 and ELF64, little and big endian, read the same", () => {
    for (const cls of [32, 64] as const) {
      for (const bigEndian of [false, true]) {
        const b = buildElf({ class: cls, bigEndian, machine: EM_PPC64, interp: "/lib/ld64.so.2", needed: ["libc.so.6", "libm.so.6"], soname: "libx.so.1", rpath: "/a::/b", runpath: "$ORIGIN/../lib", flags1: DF_1_NODEFLIB });
        expect(parseElf(b)).toEqual({ class: cls, bigEndian, machine: EM_PPC64, type: ET_DYN, interpreter: "/lib/ld64.so.2", needed: ["libc.so.6", "libm.so.6"], soname: "libx.so.1", rpath: ["/a", "/b"], runpath: ["$ORIGIN/../lib"], flags1: DF_1_NODEFLIB });
      }
    }
  });

  test("through the section headers when there are no program headers, or DT_STRTAB maps to no PT_LOAD", () => {
    expect(parseElf(buildElf({ noProgramHeaders: true, type: ET_REL, needed: ["liba.so"] }))).toMatchObject({ type: ET_REL, needed: ["liba.so"] });
    expect(parseElf(buildElf({ unmappedStrtab: true, needed: ["libb.so.2"], soname: "libq.so" }))).toMatchObject({ needed: ["libb.so.2"], soname: "libq.so" });
  });

  test("elfSection and parseModinfo: repeated keys keep every value in order", () => {
    const modinfo = enc.encode("license=GPL\0firmware=iwlwifi-cc-a0-77.ucode\0\0\0firmware=iwlwifi-ty-a0-gf-a0.pnvm\0depends=cfg80211,mac80211\0softdep=pre: crc32\0alias=pci:v00008086d00002725sv*sd*bc*sc*i*\0alias=pci:v00008086d00007A70sv*sd*bc*sc*i*\0vermagic=6.1.0 SMP mod_unload\0");
    for (const cls of [32, 64] as const) {
      const ko = buildElf({ class: cls, type: ET_REL, noProgramHeaders: true, sections: { ".text": new Uint8Array(16), ".modinfo": modinfo } });
      expect(elfSection(ko, ".modinfo")).toEqual(modinfo);
      expect(elfSection(ko, ".nothing")).toBeUndefined();
      const m = parseModinfo(ko);
      expect(m.get("firmware")).toEqual(["iwlwifi-cc-a0-77.ucode", "iwlwifi-ty-a0-gf-a0.pnvm"]);
      expect(m.get("alias")).toHaveLength(2);
      expect(m.get("depends")).toEqual(["cfg80211,mac80211"]);
      expect(m.get("softdep")).toEqual(["pre: crc32"]);
      expect(m.get("license")).toEqual(["GPL"]);
    }
    expect(parseModinfo(readFileSync("/bin/bash")).size).toBe(0);
    expect(parseModinfo(enc.encode("not elf")).size).toBe(0);
  });
});

// ---------- ld.so.conf ----------

describe("ld.so.conf", () => {
  const files: Record<string, string> = {
    "/etc/ld.so.conf": "include /etc/ld.so.conf.d/*.conf\n/opt/last/\n",
    "/etc/ld.so.conf.d/a.conf": "# comment\n/usr/local/lib   # trailing comment\nhwcap 0 nosegneg\nHWCAP 1 x\n\n  /opt/a//  \ninclude sub/*.conf\n",
    "/etc/ld.so.conf.d/b.conf": "include /etc/ld.so.conf\n/opt/b\nrelative/dir\n/usr/local/lib\n",
    "/etc/ld.so.conf.d/sub/x.conf": "include ../a.conf ../b.conf\n/opt/sub\n",
  };
  const io = {
    readFile: (p: string) => files[p],
    glob: (pattern: string) => {
      const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);
      // unsorted on purpose: the reader sorts matches as glob(3) does
      return Object.keys(files).filter((f) => re.test(f)).reverse();
    },
  };

  test("includes (absolute, relative, several on a line, sorted), comments, hwcap ignored, include loops cut", () => {
    expect(parseLdSoConf("/etc/ld.so.conf", io)).toEqual(["/usr/local/lib", "/opt/a", "/opt/b", "/opt/sub", "/opt/last"]);
  });

  test("a missing file gives no directory", () => {
    expect(parseLdSoConf("/etc/none.conf", io)).toEqual([]);
  });

  test("this machine's /etc/ld.so.conf, and the same inside a tree", () => {
    const dirs = readLdSoConf();
    expect(dirs).toContain("/usr/lib/x86_64-linux-gnu");
    const t = tempTree();
    put(t, "etc/ld.so.conf", "include ld.so.conf.d/*.conf\n");
    put(t, "etc/ld.so.conf.d/z.conf", "/opt/z\n");
    put(t, "etc/ld.so.conf.d/a.conf", "/opt/a\n");
    put(t, "etc/ld.so.conf.d/.hidden.conf", "/opt/hidden\n");
    // an absolute link inside the tree; it must not read the host's /etc
    link(t, "etc/ld.so.conf.d/m.conf", "/etc/other.conf");
    put(t, "etc/other.conf", "/opt/m\n");
    expect(readLdSoConf(t)).toEqual(["/opt/a", "/opt/m", "/opt/z"]);
    expect(globInRoot(new RootFs(t), "/etc/ld.so.conf.d/[a-m].conf")).toEqual(["/etc/ld.so.conf.d/a.conf", "/etc/ld.so.conf.d/m.conf"]);
  });
});

// ---------- resolution ----------

describe("resolveLibraries on this machine", () => {
  test("/bin/bash needs the interpreter, libtinfo.so.6 and libc.so.6, with their symlink chains", () => {
    const r = resolveLibraries(["/bin/bash"]);
    expect(r.missing).toEqual([]);
    expect(r.notElf).toEqual([]);
    expect(r.files[0]).toBe("/bin/bash");
    expect(r.files).toContain("/lib64/ld-linux-x86-64.so.2");
    expect(r.files).toContain("/lib/x86_64-linux-gnu/libtinfo.so.6");
    expect(r.files).toContain("/lib/x86_64-linux-gnu/libc.so.6");
    // libtinfo.so.6 is a link; the file it names is reported too
    expect(r.files).toContain(realpathSync("/lib/x86_64-linux-gnu/libtinfo.so.6").replace(/^\/usr\/lib\//, "/lib/"));
    const reals = new Set(r.files.map((f) => realpathSync(f)));
    expect(reals).toEqual(new Set(["/usr/bin/bash", realpathSync("/lib64/ld-linux-x86-64.so.2"), realpathSync("/lib/x86_64-linux-gnu/libtinfo.so.6"), realpathSync("/lib/x86_64-linux-gnu/libc.so.6")]));
    expect(r.needs.get("/bin/bash")).toEqual(["/lib/x86_64-linux-gnu/libtinfo.so.6", "/lib/x86_64-linux-gnu/libc.so.6"]);
    // libc's DT_NEEDED on ld-linux-x86-64.so.2 is the interpreter already loaded (by its SONAME)
    expect(r.needs.get("/lib/x86_64-linux-gnu/libc.so.6")).toEqual(["/lib64/ld-linux-x86-64.so.2"]);
  });

  test.skipIf(!existsSync("/usr/bin/busctl"))("DT_RUNPATH: busctl finds systemd's private libsystemd-shared (rear#3021)", () => {
    const e = readElfFile("/usr/bin/busctl")!;
    expect(e.runpath).toEqual(["/usr/lib/x86_64-linux-gnu/systemd"]);
    const shared = e.needed.find((n) => n.startsWith("libsystemd-shared"))!;
    const r = resolveLibraries(["/usr/bin/busctl"]);
    expect(r.missing).toEqual([]);
    expect(r.files).toContain(`/usr/lib/x86_64-linux-gnu/systemd/${shared}`);
    expect(r.files).toContain("/lib/x86_64-linux-gnu/libmount.so.1"); // a need of the private library
  });

  test("a shell script is not ELF: listed, kept in files, nothing resolved; a missing root is missing", () => {
    const r = resolveLibraries(["/usr/bin/ldd", "/no/such/program"]);
    expect(r.notElf).toEqual(["/usr/bin/ldd"]);
    expect(r.files).toContain("/usr/bin/ldd");
    expect(r.missing).toEqual([{ file: "/no/such/program", needed: "/no/such/program" }]);
  });

  test("runtimeLibraries: this machine's NSS modules and libgcc_s", () => {
    const libs = runtimeLibraries();
    expect(libs).toContain("/lib/x86_64-linux-gnu/libgcc_s.so.1");
    expect(libs).toContain("/lib/x86_64-linux-gnu/libnss_files.so.2");
    for (const l of libs) expect(existsSync(l)).toBe(true);
  });
});

describe("resolveLibraries: search order and rules of ld.so(8), in crafted trees", () => {
  const X = "/lib/x86_64-linux-gnu";
  // every crafted tree: explicit directories, so no host file is involved
  const opts = (root: string, more = {}) => ({ root, confDirs: ["/conf"], defaultDirs: ["/deflib"], ...more });
  const found = (r: ReturnType<typeof resolveLibraries>, name: string) => r.files.filter((f) => f.endsWith(`/${name}`));

  test("DT_RPATH, then LD_LIBRARY_PATH, then DT_RUNPATH, then the cache directories, then the defaults", () => {
    const t = tempTree();
    for (const d of ["/rp", "/llp", "/run", "/conf", "/deflib"]) put(t, `${d}/libz.so.1`, lib([], { soname: "libz.so.1" }));
    put(t, "/bin/a", buildElf({ needed: ["libz.so.1"], rpath: "/rp" }));
    put(t, "/bin/b", buildElf({ needed: ["libz.so.1"], rpath: "/rp", runpath: "/run" }));
    put(t, "/bin/c", buildElf({ needed: ["libz.so.1"], runpath: "/run" }));
    put(t, "/bin/d", buildElf({ needed: ["libz.so.1"] }));
    put(t, "/bin/e", buildElf({ needed: ["libz.so.1"], flags1: DF_1_NODEFLIB }));
    expect(found(resolveLibraries(["/bin/a"], opts(t, { ldLibraryPath: "/llp" })), "libz.so.1")).toEqual(["/rp/libz.so.1"]);
    // DT_RUNPATH present: DT_RPATH is ignored, LD_LIBRARY_PATH comes first
    expect(found(resolveLibraries(["/bin/b"], opts(t, { ldLibraryPath: "/llp" })), "libz.so.1")).toEqual(["/llp/libz.so.1"]);
    expect(found(resolveLibraries(["/bin/b"], opts(t)), "libz.so.1")).toEqual(["/run/libz.so.1"]);
    expect(found(resolveLibraries(["/bin/c"], opts(t, { ldLibraryPath: ["/nowhere", "/llp"] })), "libz.so.1")).toEqual(["/llp/libz.so.1"]);
    expect(found(resolveLibraries(["/bin/d"], opts(t)), "libz.so.1")).toEqual(["/conf/libz.so.1"]);
    rmSync(join(t, "conf/libz.so.1"));
    expect(found(resolveLibraries(["/bin/d"], opts(t)), "libz.so.1")).toEqual(["/deflib/libz.so.1"]);
    // -z nodeflib: neither the cache nor the default directories
    expect(resolveLibraries(["/bin/e"], opts(t)).missing).toEqual([{ file: "/bin/e", needed: "libz.so.1" }]);
  });

  test("ldLibraryPathUnder: a bundle's LD_LIBRARY_PATH for its own programs only (COVE_INCLUDE_AGENT: the agent's libc is not bash's)", () => {
    const t = tempTree();
    put(t, "/opt/MXB/lib/libc.so.6", lib([], { soname: "libc.so.6" }));
    put(t, "/deflib/libc.so.6", lib([], { soname: "libc.so.6" }));
    put(t, "/bin/bash", buildElf({ needed: ["libc.so.6"] }));
    put(t, "/opt/MXB/bin/agent", buildElf({ needed: ["libc.so.6"] }));
    const o = opts(t, { ldLibraryPath: ["/opt/MXB/lib"], ldLibraryPathUnder: "/opt/MXB/" });
    expect(found(resolveLibraries(["/bin/bash"], o), "libc.so.6")).toEqual(["/deflib/libc.so.6"]);
    expect(found(resolveLibraries(["/opt/MXB/bin/agent"], o), "libc.so.6")).toEqual(["/opt/MXB/lib/libc.so.6"]);
    // without the scope it is LD_LIBRARY_PATH for everything, as ld.so with it in the environment
    expect(found(resolveLibraries(["/bin/bash"], opts(t, { ldLibraryPath: ["/opt/MXB/lib"] })), "libc.so.6")).toEqual(["/opt/MXB/lib/libc.so.6"]);
  });

  test("DT_RPATH of the loading chain applies to a library without DT_RUNPATH; DT_RUNPATH only to the object's own needs", () => {
    const t = tempTree();
    put(t, "/bin/p", buildElf({ needed: ["liba.so"], rpath: "/prog-rpath" }));
    put(t, "/prog-rpath/liba.so", lib(["libb.so"]));
    put(t, "/prog-rpath/libb.so", lib());
    put(t, "/deflib/libb.so", lib());
    // liba has no DT_RUNPATH: its need libb.so is searched in the program's DT_RPATH first
    expect(found(resolveLibraries(["/bin/p"], opts(t)), "libb.so")).toEqual(["/prog-rpath/libb.so"]);

    put(t, "/bin/q", buildElf({ needed: ["libc2.so"], runpath: "/prog-runpath" }));
    put(t, "/prog-runpath/libc2.so", lib(["libd.so"]));
    put(t, "/prog-runpath/libd.so", lib());
    // the program's DT_RUNPATH does not apply to its library's needs
    const r = resolveLibraries(["/bin/q"], opts(t));
    expect(found(r, "libc2.so")).toEqual(["/prog-runpath/libc2.so"]);
    expect(r.missing).toEqual([{ file: "/prog-runpath/libc2.so", needed: "libd.so" }]);

    // a library with DT_RUNPATH has no DT_RPATH, and does not use its loaders' either
    put(t, "/bin/s", buildElf({ needed: ["libe.so"], rpath: "/prog-rpath" }));
    put(t, "/deflib/libe.so", lib(["libb.so"], { runpath: "/elsewhere" }));
    expect(found(resolveLibraries(["/bin/s"], opts(t)), "libb.so")).toEqual(["/deflib/libb.so"]);
  });

  test("the cache directories hold a library only under its SONAME (ldconfig's index)", () => {
    const t = tempTree();
    put(t, "/conf/libv.so.1.2", lib([], { soname: "libv.so.1" }));
    put(t, "/deflib/libv.so.1.2", lib([], { soname: "libv.so.1" }));
    put(t, "/bin/v", buildElf({ needed: ["libv.so.1.2"] }));
    expect(found(resolveLibraries(["/bin/v"], opts(t)), "libv.so.1.2")).toEqual(["/deflib/libv.so.1.2"]);
  });

  test("another ELF class or machine in a search directory is skipped (32-bit libraries)", () => {
    const t = tempTree();
    put(t, "/first/libc.so.6", buildElf({ class: 32, machine: EM_386, soname: "libc.so.6" }));
    put(t, "/second/libc.so.6", buildElf({ machine: EM_AARCH64, soname: "libc.so.6" }));
    put(t, "/third/libc.so.6", buildElf({ bigEndian: true, soname: "libc.so.6" }));
    put(t, "/deflib/libc.so.6", buildElf({ soname: "libc.so.6" }));
    put(t, "/bin/x", buildElf({ needed: ["libc.so.6"], rpath: "/first:/second:/third" }));
    const r = resolveLibraries(["/bin/x"], opts(t));
    expect(found(r, "libc.so.6")).toEqual(["/deflib/libc.so.6"]);
    // a real library with its machine changed to EM_386 is skipped as well
    const tinfo = new Uint8Array(readFileSync(realpathSync("/lib/x86_64-linux-gnu/libtinfo.so.6")));
    new DataView(tinfo.buffer).setUint16(18, EM_386, true);
    put(t, "/first/libtinfo.so.6", tinfo);
    copyReal(t, "/deflib/libtinfo.so.6", "/lib/x86_64-linux-gnu/libtinfo.so.6");
    put(t, "/bin/y", buildElf({ needed: ["libtinfo.so.6"], rpath: "/first" }));
    expect(found(resolveLibraries(["/bin/y"], opts(t)), "libtinfo.so.6")).toEqual(["/deflib/libtinfo.so.6"]);
    // a 32-bit program searches for 32-bit libraries
    put(t, "/bin/z32", buildElf({ class: 32, machine: EM_386, needed: ["libc.so.6"], rpath: "/second:/first" }));
    expect(found(resolveLibraries(["/bin/z32"], opts(t)), "libc.so.6")).toEqual(["/first/libc.so.6"]);
  });

  test("cycles, names already loaded (DT_NEEDED name, SONAME), a DT_NEEDED path, the vDSO", () => {
    const t = tempTree();
    put(t, "/deflib/liba.so", lib(["libb.so", "linux-vdso.so.1"]));
    put(t, "/deflib/libb.so", lib(["liba.so", "libalias.so"]));
    put(t, "/deflib/libreal.so.3", lib([], { soname: "libalias.so" }));
    put(t, "/opt/p/libpath.so", lib(["liba.so"]));
    put(t, "/bin/m", buildElf({ needed: ["liba.so", "libreal.so.3", "/opt/p/libpath.so", "$ORIGIN/../opt/p/libpath.so"] }));
    const r = resolveLibraries(["/bin/m"], opts(t));
    expect(r.missing).toEqual([]);
    expect(r.files).toEqual(["/bin/m", "/deflib/liba.so", "/deflib/libreal.so.3", "/opt/p/libpath.so", "/deflib/libb.so"]);
    // libalias.so is satisfied by the SONAME of libreal.so.3, loaded first
    expect(r.needs.get("/deflib/libb.so")).toEqual(["/deflib/liba.so", "/deflib/libreal.so.3"]);
  });

  test("$ORIGIN, ${ORIGIN}, $LIB, $PLATFORM, with real libraries copied into a tree", () => {
    const t = tempTree();
    const app = join(t, "app");
    // the program's DT_RPATH names $ORIGIN/../lib, where a copy of the real libtinfo lives; libc is the system's
    put(app, "/bin/prog", buildElf({ interp: "/lib64/ld-linux-x86-64.so.2", needed: ["libtinfo.so.6", "libc.so.6"], rpath: "$ORIGIN/../lib" }));
    copyReal(app, "/lib/libtinfo.so.6", "/lib/x86_64-linux-gnu/libtinfo.so.6");
    // reached through a symlink: $ORIGIN is the directory of the program's real path
    link(t, "/elsewhere/prog", "../app/bin/prog");
    for (const root of [`${app}/bin/prog`, `${t}/elsewhere/prog`]) {
      const r = resolveLibraries([root]);
      expect(r.missing).toEqual([]);
      expect(r.files).toContain(`${app}/bin/../lib/libtinfo.so.6`.replace("/bin/..", ""));
      expect(r.files).toContain("/lib/x86_64-linux-gnu/libc.so.6");
      expect(r.files).not.toContain("/lib/x86_64-linux-gnu/libtinfo.so.6");
    }
    // ${ORIGIN} in DT_RUNPATH; a library's $ORIGIN is the directory it was found in
    put(app, "/bin/prog2", buildElf({ needed: ["libone.so"], runpath: "${ORIGIN}/../lib1" }));
    put(app, "/lib1/libone.so", buildElf({ needed: ["libtwo.so"], runpath: "$ORIGIN/../lib2" }));
    put(app, "/lib2/libtwo.so", lib());
    const r2 = resolveLibraries([`${app}/bin/prog2`], { confDirs: [], defaultDirs: [] });
    expect(r2.missing).toEqual([]);
    expect(r2.files).toEqual([`${app}/bin/prog2`, `${app}/lib1/libone.so`, `${app}/lib2/libtwo.so`]);

    expect(expandTokens("$ORIGIN/../lib:${ORIGIN}", { ORIGIN: "/o" })).toBe("/o/../lib:/o");
    expect(expandTokens("/usr/$LIB/$PLATFORM/x", { LIB: "lib64", PLATFORM: "x86_64" })).toBe("/usr/lib64/x86_64/x");
    expect(expandTokens("/x/$ORIGINAL/$FOO", { ORIGIN: "/o" })).toBe("/x/$ORIGINAL/$FOO");
    expect(expandTokens("/p/$PLATFORM", {})).toBeUndefined();
    // this machine is multiarch (Debian): $LIB is lib/x86_64-linux-gnu, as `LD_DEBUG=libs` shows
    const host = new RootFs("/");
    expect(libTokenOf(host, { class: 64, machine: EM_X86_64, bigEndian: false })).toBe("lib/x86_64-linux-gnu");
    expect(defaultDirsOf(host, { class: 64, machine: EM_X86_64, bigEndian: false })).toEqual([X, "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"]);
    // without a multiarch directory: lib64 for 64-bit, lib for 32-bit
    const plain = new RootFs(tempTree());
    expect(defaultDirsOf(plain, { class: 64, machine: EM_X86_64, bigEndian: false })).toEqual(["/lib64", "/usr/lib64"]);
    expect(defaultDirsOf(plain, { class: 32, machine: EM_386, bigEndian: false })).toEqual(["/lib", "/usr/lib"]);
    put(app, "/bin/prog3", buildElf({ needed: ["libt.so"], rpath: "$ORIGIN/../$LIB/$PLATFORM" }));
    put(app, "/lib/x86_64-linux-gnu/x86_64/libt.so", lib());
    expect(resolveLibraries([`${app}/bin/prog3`], { confDirs: [], defaultDirs: [] }).files).toContain(`${app}/lib/x86_64-linux-gnu/x86_64/libt.so`);
  });

  test("root: everything is looked up inside the tree, absolute symlinks included; nothing escapes it", () => {
    const t = tempTree();
    copyReal(t, "/bin/bash", "/bin/bash");
    copyReal(t, `${X}/libc.so.6`, `${X}/libc.so.6`);
    copyReal(t, `${X}/libtinfo.so.6.4`, `${X}/libtinfo.so.6`);
    copyReal(t, `${X}/ld-linux-x86-64.so.2`, "/lib64/ld-linux-x86-64.so.2");
    link(t, `${X}/libtinfo.so.6`, `${X}/libtinfo.so.6.4`); // absolute: the tree's, not the host's
    link(t, "/lib64", "/lib");
    link(t, "/lib/ld-linux-x86-64.so.2", "x86_64-linux-gnu/ld-linux-x86-64.so.2");
    mkdirSync(join(t, "usr"));
    link(t, "/usr/lib", "/lib");
    const r = resolveLibraries(["/bin/bash"], { root: t });
    expect(r.missing).toEqual([]);
    expect(r.files).toEqual([
      "/bin/bash",
      "/lib64/ld-linux-x86-64.so.2",
      "/lib64/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      `${X}/libtinfo.so.6`,
      `${X}/libtinfo.so.6.4`,
      `${X}/libc.so.6`,
    ]);
    // each is there, in the tree (the host's lstat would follow /lib64 → /lib out of it)
    const tree = new RootFs(t);
    for (const f of r.files) expect(tree.resolvePath(f)).toBeDefined();

    // without libtinfo in the tree it is missing, though the host has it
    rmSync(join(t, X, "libtinfo.so.6.4"));
    expect(resolveLibraries(["/bin/bash"], { root: t }).missing).toEqual([{ file: "/bin/bash", needed: "libtinfo.so.6" }]);
    // ".." stops at the tree's top: a link climbing out lands inside the tree
    rmSync(join(t, X, "libtinfo.so.6"));
    copyReal(t, "/opt/tinfo", `${X}/libtinfo.so.6`);
    link(t, `${X}/libtinfo.so.6`, "../../../../../../../opt/tinfo");
    const r2 = resolveLibraries(["/bin/bash"], { root: t });
    expect(r2.missing).toEqual([]);
    expect(r2.files).toContain("/opt/tinfo");
    expect(new RootFs(t).resolvePath("/usr/lib/x86_64-linux-gnu/../../../../etc")).toBeUndefined();
    expect(new RootFs(t).resolvePath("/usr/lib/../bin/bash")).toBe("/bin/bash");
  });

  test("runtimeLibraries in a tree: the services of nsswitch.conf found, the others left out", () => {
    const t = tempTree();
    put(t, "/etc/nsswitch.conf", "passwd: files systemd # comment\nhosts: files mdns4_minimal [NOTFOUND=return] dns\nnetgroup: nis\n");
    for (const n of ["libnss_files.so.2", "libnss_dns.so.2", "libnss_systemd.so.2", "libgcc_s.so.1"]) put(t, `${X}/${n}`, lib([], { soname: n }));
    put(t, "/usr/lib/i386-linux-gnu/libnss_nis.so.2", buildElf({ class: 32, machine: EM_386 }));
    expect(runtimeLibraries({ root: t, searchDirs: [X, "/usr/lib/i386-linux-gnu"] })).toEqual([`${X}/libnss_files.so.2`, `${X}/libnss_systemd.so.2`, `${X}/libnss_dns.so.2`, `${X}/libgcc_s.so.1`]);
    expect(runtimeLibraries({ root: t })).toEqual([`${X}/libnss_files.so.2`, `${X}/libnss_systemd.so.2`, `${X}/libnss_dns.so.2`, `${X}/libgcc_s.so.1`]);
    expect(parseNsswitchServices("hosts: files [NOTFOUND=return] dns\n#passwd: ldap\ngroup:compat\n")).toEqual(["files", "dns", "compat"]);
  });
});
