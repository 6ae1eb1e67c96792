// layout/save: describe the machine's storage (probes → layout → exclusions → checks) and, except for
// checklayout, save it with ReaR's files: layout/disklayout.conf (+ our layout.json), diskdeps.conf,
// disktodo.conf, recovery/mountpoint_device, recovery/bootloader, recovery/diskbyid_mappings,
// layout/config/df.txt, layout/lvm/<vg>.cfg, layout/xfs/<dev>.xfs, layout/config/files.md5sum.
// Deliberately unlike 2.7, checklayout writes nothing into /var/lib/rear (2.7 rewrites every aux file
// there on each check): it saves the current layout in the work area only.

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { describeUefiLoader, guessBootloader } from "../../layout/bootloader.ts";
import { storageDrivers } from "../../sys/storage-drivers.ts";
import { buildDeps, renderDiskdeps } from "../../layout/deps.ts";
import { writeDisklayout } from "../../layout/disklayout/write.ts";
import { applyExclusions, type Exclusion } from "../../layout/exclude.ts";
import { extractLayout } from "../../layout/extract/index.ts";
import { activeEntries, allEntries, entryId, keywordOf, LAYOUT_JSON_FORMAT, type LayoutDoc, type LayoutJson } from "../../layout/model.ts";
import { collectProbes, type ProbeData } from "../../layout/probe/collect.ts";
import { validateLayout } from "../../layout/validate.ts";
import { exec } from "../../sys/exec.ts";
import { replaceDir, StagedFiles } from "./private-files.ts";

export interface SavedLayout {
  doc: LayoutDoc;
  json: LayoutJson;
  excluded: Exclusion[];
  probe: ProbeData;
  bootloader?: string;
  /** where disklayout.conf was written */
  file: string;
}

/** ReaR's START_DATE_TIME_NUMBER: local time as YYYYmmddHHMMSS. */
export function dateNumber(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function usbPaths(ctx: Context): string[] {
  // 310_autoexclude_usb: a usb:// OUTPUT_URL or BACKUP_URL device that is mounted is not part of the layout
  const out = [...ctx.config.arr("AUTOEXCLUDE_USB_PATH")];
  let mounts = "";
  try {
    mounts = readFileSync("/proc/mounts", "utf8");
  } catch {}
  for (const url of [ctx.config.str("OUTPUT_URL"), ctx.config.str("BACKUP_URL")]) {
    const m = /^usb:\/\/(\/.*)$/.exec(url);
    if (!m) continue;
    let real = m[1]!;
    try {
      real = realpathSync(real);
    } catch {
      continue;
    }
    const mp = mounts.split("\n").filter((l) => l.startsWith(`${real} `)).map((l) => l.split(" ")[1]!).pop();
    if (mp) {
      ctx.log.log(`Auto-excluding USB path ${mp} [device ${real}]`);
      out.push(mp);
    }
  }
  return out;
}

export async function describeLayout(ctx: Context, file: string): Promise<SavedLayout> {
  const t0 = performance.now();
  const probe = await collectProbes({ note: (m) => ctx.log.log(m) });
  ctx.log.debug(`layout probes took ${Math.round(performance.now() - t0)} ms`);
  const ex = extractLayout(probe, { dated: dateNumber(), includeLoop: ctx.env.REAR_LAYOUT_INCLUDE_LOOP === "1" });
  for (const p of ex.problems) (p.level === "error" ? ctx.log.error : ctx.log.warn).call(ctx.log, p.message);
  const errors = ex.problems.filter((p) => p.level === "error");
  const c = ctx.config;
  const { doc, excluded } = applyExclusions(ex.doc, {
    AUTOEXCLUDE_DISKS: c.isTrue("AUTOEXCLUDE_DISKS"),
    AUTOEXCLUDE_MULTIPATH: c.isTrue("AUTOEXCLUDE_MULTIPATH"),
    AUTOEXCLUDE_PATH: c.arr("AUTOEXCLUDE_PATH"),
    AUTOEXCLUDE_USB_PATH: usbPaths(ctx),
    EXCLUDE_MOUNTPOINTS: c.arr("EXCLUDE_MOUNTPOINTS"),
    EXCLUDE_MD: c.arr("EXCLUDE_MD"),
    EXCLUDE_VG: c.arr("EXCLUDE_VG"),
    ONLY_INCLUDE_VG: c.arr("ONLY_INCLUDE_VG"),
    EXCLUDE_COMPONENTS: c.arr("EXCLUDE_COMPONENTS"),
    EXCLUDE_RECREATE: c.arr("EXCLUDE_RECREATE"),
    MANUAL_INCLUDE: c.isTrue("MANUAL_INCLUDE"),
    BACKUP_PROG_INCLUDE: c.arr("BACKUP_PROG_INCLUDE"),
  });
  for (const x of excluded) ctx.log.log(`Excluding ${x.id}: ${x.reason}`);
  // a component that cannot be described is fatal unless the user excluded it (as ReaR's Error)
  if (errors.length) throw new WorkflowError(`Cannot describe the disk layout: ${errors.map((e) => e.message).join("; ")}`, "exclude the component with EXCLUDE_COMPONENTS, or report the layout");
  const broken = validateLayout(doc);
  for (const b of broken) ctx.log.error(b);
  if (broken.length) throw new WorkflowError(`Entries in ${file} are broken ('rear recover' would fail): ${broken.join("; ")}`);
  const sectors = Object.entries(probe)
    .filter(([k]) => k.startsWith("bootsector/"))
    .map(([k, v]) => ({ device: `/dev/${k.slice(11).replace(/\.b64$/, "")}`, bytes: new Uint8Array(Buffer.from(v, "base64")) }))
    .sort((a, b) => (a.device < b.device ? -1 : 1));
  let sysconfig: string | undefined;
  try {
    sysconfig = readFileSync("/etc/sysconfig/bootloader", "utf8");
  } catch {}
  const guess = guessBootloader(c.str("BOOTLOADER"), sysconfig, sectors);
  let uefiLoader: string | undefined;
  try {
    uefiLoader = ex.firmware === "uefi" ? describeUefiLoader(JSON.parse(probe["esp.json"] ?? "[]") as string[]) : undefined;
  } catch {}
  ctx.log.log(guess.why);
  const json: LayoutJson = {
    format: LAYOUT_JSON_FORMAT,
    created: new Date().toISOString(),
    host: {
      hostname: c.str("HOSTNAME") || hostname(),
      firmware: ex.firmware,
      ...(guess.bootloader ? { bootloader: guess.bootloader } : {}),
      ...(uefiLoader ? { uefiLoader } : {}),
    },
    lines: doc.lines,
    facts: ex.facts as LayoutJson["facts"],
  };
  return { doc, json, excluded, probe, ...(guess.bootloader ? { bootloader: guess.bootloader } : {}), file };
}

/** ReaR's CHECK_CONFIG_FILES list (450/490 extend it), directories expanded to their files. */
export function checkConfigFiles(ctx: Context, bootloader: string | undefined): string[] {
  const c = ctx.config;
  const list: string[] = [...c.arr("CHECK_CONFIG_FILES")];
  const glob = (pattern: string): string[] => {
    try {
      return [...new Bun.Glob(pattern.replace(/^\//, "")).scanSync({ cwd: "/", onlyFiles: true, followSymlinks: true })].map((p) => `/${p}`).sort();
    } catch {
      return [];
    }
  };
  const bl = bootloader ?? "";
  if (/^(EFI|GRUB2-EFI)$/.test(bl)) list.push(...glob("/boot/efi/EFI/*/grub*.cfg"));
  else if (/^GRUB2?$/.test(bl)) list.push(...glob("/etc/grub*.cfg"), ...glob("/boot/*/grub*.cfg"));
  else if (bl === "LILO") list.push("/etc/lilo.conf");
  else if (bl === "ELILO") list.push("/etc/elilo.conf");
  if (existsSync("/etc/sysconfig/network") && statSync("/etc/sysconfig/network").isDirectory()) list.push(...glob("/etc/sysconfig/network/ifcfg-*"));
  else if (existsSync("/etc/sysconfig/network-scripts")) list.push(...glob("/etc/sysconfig/network-scripts/ifcfg-*"));
  else if (existsSync("/etc/network")) list.push("/etc/network/interfaces");
  for (const p of c.arr("FILES_TO_PATCH_PATTERNS")) {
    for (const f of glob(`/${p}`)) {
      if (list.includes(f)) continue;
      try {
        const real = realpathSync(f);
        if (/^\/(proc|sys|dev|run)\//.test(real)) continue;
      } catch {
        continue;
      }
      list.push(f);
    }
  }
  const files: string[] = [];
  for (const p of list) {
    try {
      const st = statSync(p);
      if (st.isDirectory()) {
        const walk = (d: string) => {
          for (const n of readdirSync(d).sort()) {
            const q = join(d, n);
            const s = statSync(q, { throwIfNoEntry: false });
            if (s?.isDirectory()) walk(q);
            else if (s?.isFile()) files.push(q);
          }
        };
        walk(p.replace(/\/+$/, ""));
      } else files.push(p);
    } catch {}
  }
  return files;
}

export function md5sums(files: string[]): string {
  return files
    .map((f) => {
      try {
        return `${createHash("md5").update(readFileSync(f)).digest("hex")}  ${f}\n`;
      } catch {
        return "";
      }
    })
    .join("");
}

/** The directories whose files are 0600 and whose subdirectories are 0700 (README "Disk layout"). */
export const privateRoots = (varDir: string): string[] => [`${varDir}/layout`, `${varDir}/recovery`];

/**
 * Writes the layout and ReaR's auxiliary files below VAR_DIR, all or nothing: everything is computed
 * and written beside its name first, and renamed into place at the end, disklayout.conf last (see
 * private-files.ts). What could fail (no boot loader found) fails before the first write.
 */
export async function saveLayoutFiles(ctx: Context, s: SavedLayout): Promise<void> {
  const v = ctx.paths.varDir;
  if (!s.bootloader) throw new WorkflowError("Cannot autodetect what is used as bootloader", `set BOOTLOADER in ${ctx.paths.configDir}/local.conf (see default.conf); the previous layout files are kept`);
  const roots = privateRoots(v);
  const active = activeEntries(s.doc);
  const g = buildDeps(active);
  const excluded = new Set(s.excluded.map((x) => x.id));
  const todo = allEntries(s.doc)
    .map(({ entry }) => ({ id: entryId(entry), type: keywordOf(entry) }))
    .filter((x): x is { id: string; type: string } => !!x.id)
    .map((x) => `${excluded.has(x.id) ? "done" : "todo"} ${x.id} ${x.type}\n`);
  const byId = JSON.parse(s.probe["by-id.json"] ?? "{}") as Record<string, string>;
  const files = new StagedFiles(roots);
  try {
    files.add(`${v}/layout/diskdeps.conf`, renderDiskdeps(g));
    files.add(`${v}/layout/disktodo.conf`, [...new Set(todo)].join(""));
    files.add(`${v}/recovery/mountpoint_device`, active.map((e) => (e.kw === "fs" ? `${e.mountpoint} ${e.device}\n` : "")).join(""));
    files.add(`${v}/recovery/bootloader`, `${s.bootloader}\n`);
    // the machine's name: a PORTABLE archive or a recovery update recovers it under this name (NETFS_PREFIX,
    // the log), wherever it runs
    files.add(`${v}/recovery/hostname`, `${ctx.config.str("HOSTNAME") || "localhost"}\n`);
    // the drivers of the disks: recover rebuilds the initramfs when the target's disks need others
    files.add(`${v}/recovery/storage_drivers`, storageDrivers(active.flatMap((e) => (e.kw === "disk" ? [e.device] : []))).map((m) => `${m}\n`).join(""));
    files.add(`${v}/recovery/diskbyid_mappings`, Object.entries(byId).map(([id, dev]) => `${id} ${dev}\n`).join(""));
    if (s.probe["df.txt"] !== undefined) files.add(`${v}/layout/config/df.txt`, s.probe["df.txt"]);
    files.add(`${v}/layout/config/files.md5sum`, md5sums(checkConfigFiles(ctx, s.bootloader)));
    // XFS geometry for mkfs.xfs at recover (230_filesystem_layout.sh): the set of now, nothing stale
    await replaceDir(`${v}/layout/xfs`, roots, (dir) => {
      for (const [k, text] of Object.entries(s.probe)) {
        if (k.startsWith("xfs_info/")) writeFileSync(`${dir}/${basename(k.slice(9).replace(/!/g, "/").replace(/\.txt$/, ""))}.xfs`, text, { mode: 0o600 });
      }
    });
    // LVM metadata backups for vgcfgrestore (500_extract_vgcfg.sh); without them recover uses vgcreate/lvcreate
    if (active.some((e) => e.kw === "lvmgrp")) {
      await replaceDir(`${v}/layout/lvm`, roots, async (dir) => {
        const r = await exec(["lvm", "vgcfgbackup", "-f", `${dir}/%s.cfg`], { env: { ...ctx.env, LVM_SUPPRESS_FD_WARNINGS: "1" } });
        if (r.code !== 0) ctx.log.warn(`lvm vgcfgbackup failed (exit ${r.code}): recover will recreate volume groups without it`);
      });
    } else rmSync(`${v}/layout/lvm`, { recursive: true, force: true });
    if (existsSync(s.file)) ctx.log.logPrint(`Overwriting existing disk layout file ${s.file}`);
    files.add(join(dirname(s.file), "layout.json"), `${JSON.stringify(s.json, null, 1)}\n`);
    files.add(s.file, writeDisklayout(s.doc));
    files.commit();
  } catch (e) {
    files.abort();
    const err = e as NodeJS.ErrnoException;
    if (!err.code) throw e;
    throw new WorkflowError(`Cannot write the layout files below ${v}: ${err.message}`, `the previous layout files are kept; fix the cause (space, a file where a directory belongs) and run 'rear ${ctx.workflow.name}' again`);
  }
  ctx.log.logPrint(`Created disk layout (check the results in ${s.file})`);
}

export const saveLayout: Module = {
  stage: "layout/save",
  order: 100,
  name: "save_layout",
  what: "layout/save/GNU/Linux/100–280 (probe and describe), default/300–330 (exclusions), 950 (verify)",
  async run(ctx) {
    const check = ctx.workflow.name === "checklayout";
    // mkbackuponly needs the layout only for its include list and may run beside mkrescue: it keeps the
    // saved layout as it is and writes its own into the work area (ReaR: $TMP_DIR/backuplayout.conf)
    const own = check ? "checklayout.conf" : ctx.workflow.name === "mkbackuponly" ? "backuplayout.conf" : "";
    const file = own ? `${ctx.workArea!.tmpDir}/${own}` : ctx.config.str("DISKLAYOUT_FILE") || `${ctx.paths.varDir}/layout/disklayout.conf`;
    ctx.log.logPrint(check ? "Checking the disk layout" : own ? "Describing the disk layout for the backup's include list" : "Creating disk layout");
    const s = await describeLayout(ctx, file);
    ctx.state.layout = s;
    if (own) {
      const files = new StagedFiles([]);
      try {
        files.add(`${ctx.workArea!.tmpDir}/layout.json`, `${JSON.stringify(s.json, null, 1)}\n`);
        files.add(file, writeDisklayout(s.doc));
        files.commit();
      } catch (e) {
        files.abort();
        throw e;
      }
    } else await saveLayoutFiles(ctx, s);
  },
};
