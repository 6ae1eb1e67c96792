// build and pack: the libraries of every program (our ELF reader instead of ldd per file), the kernel
// modules (the modules.dep closure of what is needed) and their firmware, depmod, the final check that
// every program resolves inside the tree, and the initramfs.
// ReaR: build/GNU/Linux/390_copy_binaries_libraries, 400_copy_modules, 420_copy_firmware_files,
// build/default/490_fix_broken_links, 990_verify_rootfs; pack/GNU/Linux/900_create_initramfs.

import { copyFileSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { readKernelConfig, writeInitramfs } from "../../rescue/compress.ts";
import { defaultDriverClasses } from "../../rescue/driver-classes.ts";
import { isElfFile } from "../../rescue/elf.ts";
import { firmwareDeclaredBy, selectFirmware } from "../../rescue/firmware.ts";
import { readLdSoConf } from "../../rescue/ld-so-conf.ts";
import { resolveLibraries, runtimeLibraries } from "../../rescue/libraries.ts";
import { describeSelection, modulesMode, selectModules } from "../../rescue/modules.ts";
import { fileSizes, firmwareLinks, probeModules, readModuleFirmware } from "../../rescue/probe-modules.ts";
import { exec, which } from "../../sys/exec.ts";
import { BUILDS_RESCUE } from "../init/950-check-missing-programs.ts";
import { rescueContent } from "./populate.ts";
import { rescueState } from "./preflight.ts";

const when = (ctx: Context) => BUILDS_RESCUE.has(ctx.workflow.name);

/** Regular files of the tree (relative paths, "/"-rooted) whose first bytes say ELF. */
export function elfFilesIn(root: string, under: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(root, rel));
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const p = posix.join(rel, n);
      let st;
      try {
        st = lstatSync(join(root, p));
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.size > 64 && isElfFile(join(root, p))) out.push(p);
    }
  };
  for (const u of under) walk(u);
  return out;
}

export const copyLibraries: Module = {
  stage: "build",
  order: 390,
  name: "copy_libraries",
  what: "build/GNU/Linux/390_copy_binaries_libraries.sh (RequiredSharedObjects with ldd), 550_copy_ldconfig",
  when,
  async run(ctx) {
    const rc = rescueContent(ctx);
    const tree = rc.tree;
    const t0 = performance.now();
    // every file copied so far (programs, udev helpers, COPY_AS_IS) by its host path; the resolver skips what is not ELF
    const roots = tree.copied.filter((p) => !/^\/(usr\/)?lib\/(modules|firmware)\//.test(p));
    const extra = [...ctx.config.arr("LIBS").filter(Boolean), ...runtimeLibraries()];
    const confDirs = readLdSoConf("/");
    const r = resolveLibraries([...roots, ...extra], { confDirs, ...bundleLibraryPath(ctx) });
    // the roots themselves are in the tree already (our binary under another name)
    const copied = new Set(roots);
    for (const f of r.files) if (!copied.has(f)) tree.add(f);
    ctx.log.log(`Resolved the libraries of ${roots.length} programs and ${extra.length} run-time libraries: ${r.files.length} files in ${Math.round(performance.now() - t0)} ms`);
    for (const m of r.missing) ctx.log.warn(`Shared object ${m.needed} of ${m.file} not found on this system`);
    // the loader's cache for the ld.so.conf directories (ldconfig -r, as ReaR's 550_copy_ldconfig)
    const ldconfig = which("ldconfig", rescueState(ctx).searchPath);
    if (ldconfig) {
      const x = await exec([ldconfig, "-r", tree.root]);
      if (x.code !== 0) ctx.log.warn(`ldconfig -r ${tree.root} failed (exit ${x.code}): the rescue system's loader finds only its default directories`);
    }
  },
};

export const copyModules: Module = {
  stage: "build",
  order: 400,
  name: "copy_modules",
  what: "build/GNU/Linux/400_copy_modules.sh, 420_copy_firmware_files.sh (the modules.dep closure and the firmware they declare)",
  when,
  async run(ctx) {
    const c = ctx.config;
    const st = rescueState(ctx);
    const rc = rescueContent(ctx);
    const tree = rc.tree;
    const mode = modulesMode(c.arr("MODULES"));
    if (mode === "none") {
      ctx.log.logPrint("MODULES=(no_modules): the rescue system carries no kernel modules");
      return;
    }
    const t0 = performance.now();
    const probe = probeModules({ kernelVersion: st.kv });
    const luks = rc.choice.features.some((f) => f.name === "luks");
    const needed = new Map<string, string[]>();
    for (const [m, feats] of rc.choice.modules) needed.set(m, feats.map((f) => `feature ${f}`));
    const sel = selectModules(probe.index, {
      modules: c.arr("MODULES"),
      load: c.arr("MODULES_LOAD").filter(Boolean),
      exclude: c.arr("EXCLUDE_MODULES").filter(Boolean),
      loaded: probe.loaded,
      needed,
      classes: defaultDriverClasses({ luks }),
    });
    for (const w of sel.warnings) ctx.log.warn(w);
    for (const l of describeSelection(sel, probe.index)) ctx.log.log(l);
    const kdir = `/lib/modules/${st.kv}`;
    for (const f of [...sel.files, ...probe.metaFiles]) {
      const dest = tree.at(posix.join(kdir, f));
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(join(probe.moduleDir, f), dest);
    }
    const sizes = fileSizes(probe.moduleDir, sel.files);
    const modBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
    // depmod writes modules.dep, the aliases udev loads drivers by, and the symbol maps for the tree
    const depmod = await exec(["depmod", "-b", tree.root, st.kv], { what: "indexing the rescue system's kernel modules" });
    if (depmod.code !== 0) throw new WorkflowError(`depmod -b ${tree.root} ${st.kv} failed (exit ${depmod.code}): ${depmod.stderr.trim().split("\n").pop() ?? ""}`, "check the kernel modules of that version (/lib/modules)");
    // firmware: what the chosen modules declare (our default), or FIRMWARE_FILES as ReaR
    const fwSetting = c.arr("FIRMWARE_FILES");
    let fwBytes = 0;
    let fwCount = 0;
    if (probe.firmwareDir) {
      const fw = await readModuleFirmware(probe.moduleDir, sel.files, (m) => ctx.log.log(m));
      const declared = [...firmwareDeclaredBy(sel.files, (p) => fw.get(p) ?? []).keys()];
      const fsel = selectFirmware(fwSetting, declared, probe.firmware.map((f) => f.path), { kernelVersion: st.kv, links: firmwareLinks(probe.firmware) });
      for (const f of fsel.files) {
        tree.add(posix.join("/lib/firmware", f));
        fwCount++;
        fwBytes += probe.firmware.find((x) => x.path === f)?.size ?? 0;
      }
      if (fsel.missing.length) ctx.log.log(`Firmware the modules declare but this system does not have (${fsel.missing.length}): ${fsel.missing.slice(0, 20).join(" ")}${fsel.missing.length > 20 ? " …" : ""}`);
    }
    ctx.log.logPrint(`Copied ${sel.files.length} kernel modules (${Math.round(modBytes / 1048576)} MiB, MODULES=${mode === "needed" ? "() what is needed" : c.arr("MODULES").join(" ")}) and ${fwCount} firmware files (${Math.round(fwBytes / 1048576)} MiB) in ${Math.round(performance.now() - t0)} ms`);
  },
};

export const verifyRootfs: Module = {
  stage: "build",
  order: 990,
  name: "verify_rootfs",
  what: "build/default/490_fix_broken_links.sh, 990_verify_rootfs.sh (ldd of every program inside the tree)",
  when,
  run(ctx) {
    const tree = rescueContent(ctx).tree;
    const t0 = performance.now();
    const links = tree.fixBrokenLinks();
    for (const f of links.fixed) ctx.log.log(`Copied the target of a dangling link: ${f}`);
    for (const [l, t] of links.broken) ctx.log.log(`A link in the rescue system points nowhere: ${l} → ${t}`);
    // every ELF program and library of the tree, resolved inside the tree only (as the rescue system's loader will)
    const elves = elfFilesIn(tree.root, ["/"]).filter((p) => !p.startsWith("/lib/modules/") && !p.startsWith("/lib/firmware/"));
    const r = resolveLibraries(elves, { root: tree.root, confDirs: readLdSoConf(tree.root), ...bundleLibraryPath(ctx) });
    const nonFatal = ctx.config.str("NON_FATAL_BINARIES_WITH_MISSING_LIBRARY");
    const nonFatalRe = nonFatal ? new RegExp(nonFatal) : undefined;
    const fatal = r.missing.filter((m) => !(nonFatalRe?.test(m.file)) && isProgram(m.file));
    for (const m of r.missing) ctx.log.log(`In the rescue system ${m.file} needs ${m.needed}, which is not there`);
    ctx.log.log(`Checked ${elves.length} programs and libraries inside the rescue system in ${Math.round(performance.now() - t0)} ms`);
    if (fatal.length) {
      const byFile = new Map<string, string[]>();
      for (const m of fatal) byFile.set(m.file, [...(byFile.get(m.file) ?? []), m.needed]);
      throw new WorkflowError(
        `Programs in the rescue system would not run, libraries are missing: ${[...byFile].map(([f, n]) => `${f} needs ${n.join(", ")}`).join("; ")}`,
        "install the missing libraries, add them to LIBS, or list such programs in NON_FATAL_BINARIES_WITH_MISSING_LIBRARY",
      );
    }
  },
};

/** A vendor bundle's library directories (COVE_INCLUDE_AGENT), searched for its own programs only. */
function bundleLibraryPath(ctx: Context): { ldLibraryPath: string[]; ldLibraryPathUnder: string } | Record<string, never> {
  const b = ctx.state.rescueLibraryPath as { under: string; dirs: string[] } | undefined;
  return b?.dirs.length ? { ldLibraryPath: b.dirs, ldLibraryPathUnder: b.under } : {};
}

/** A missing library of a program (not of a library nobody may load) stops mkrescue, as ReaR's check of /bin. */
function isProgram(p: string): boolean {
  return /^\/(usr\/)?s?bin\//.test(p) || /^\/(usr\/)?lib\/(systemd|udev)\//.test(p);
}

export const createInitramfs: Module = {
  stage: "pack",
  order: 900,
  name: "create_initramfs",
  what: "pack/GNU/Linux/900_create_initramfs.sh (find | cpio | gzip, written by us)",
  when,
  async run(ctx) {
    const st = rescueState(ctx);
    const tree = rescueContent(ctx).tree;
    const kconf = readKernelConfig(st.kv);
    let last = 0;
    const r = await writeInitramfs(tree.root, ctx.workArea!.tmpDir, {
      compression: ctx.config.str("REAR_INITRD_COMPRESSION"),
      ...(kconf ? { kernelConfigText: kconf.text } : {}),
      path: st.searchPath,
      progress: (p) => {
        const now = performance.now();
        if (now - last < 2000) return;
        last = now;
        ctx.log.print(`Writing the initramfs: ${Math.round(p.bytes / 1048576)}${p.totalBytes ? ` of ${Math.round(p.totalBytes / 1048576)}` : ""} MiB`);
      },
    });
    if (r.compression.warning) ctx.log.warn(r.compression.warning);
    ctx.log.log(r.compression.why);
    const name = r.file.split("/").pop()!;
    st.initrd = { file: r.file, name, compression: r.compression.method, bytesIn: r.bytesIn, bytesOut: r.bytesOut, ms: r.ms };
    ctx.log.logPrint(`Created ${name} with ${r.compression.method} (${r.bytesOut} bytes) from ${r.files} files (${Math.round(r.bytesIn / 1048576)} MiB) in ${Math.round(r.ms / 100) / 10} s`);
  },
};
