// The finalize stage of recover (reference §9.5): make the restored tree boot. The decisions come from
// src/finalize/plan.ts (pure, every step with its reason); this file gathers the facts, runs the steps
// and reads back what they did. Steps that finished are recorded in the recover record (resume.ts) so
// that a recover run again after a failure or a power cut does not repeat them.

import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { chooseEfiLoader, describeFinalize, planFinalize, type FinalizePlan, type InitramfsTool } from "../../finalize/plan.ts";
import { filesToPatch, isIdentity, rewriteFile, type DeviceRenames, type RewriteKind } from "../../finalize/rewrite.ts";
import type { LayoutDoc } from "../../layout/model.ts";
import { exec } from "../../sys/exec.ts";
import { newStorageDrivers, readStorageDrivers, storageDrivers } from "../../sys/storage-drivers.ts";
import { withFinalizeDone } from "../../recover/state.ts";
import { recreatePaths, recreateState } from "../layout/prepare-recreate.ts";
import { currentState, saveState } from "./resume.ts";
import { grubInstallDevices, recoveringUefi, savedBootloader } from "./facts.ts";

const recovering = (ctx: Context) => ctx.workflow.name === "recover" || ctx.workflow.name === "finalizeonly";

interface FinalizeState {
  root: string;
  plan: FinalizePlan;
  /** a boot loader was installed and read back */
  bootloaderInstalled: boolean;
}

const state = (ctx: Context): FinalizeState => {
  const s = ctx.state.finalize as FinalizeState | undefined;
  if (!s) throw new WorkflowError("The finalize plan was not made (finalize/prepare did not run)");
  return s;
};

const exists = (root: string, rel: string) => existsSync(join(root, rel));

/** EFI files on the restored ESP, relative to it (EFI/debian/shimx64.efi, …). */
function listEfiFiles(espDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 3 || !existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (/\.efi$/i.test(e.name)) out.push(relative(espDir, p));
    }
  };
  walk(join(espDir, "EFI"), 0);
  return out;
}

/** fs_uuid_mapping written by layout/recreate: "old new device" lines. */
function readUuidChanges(ctx: Context): Record<string, string> {
  const f = recreatePaths(ctx).uuidMapping;
  const out: Record<string, string> = {};
  if (!existsSync(f)) return out;
  for (const l of readFileSync(f, "utf8").split("\n")) {
    const [a, b] = l.trim().split(/\s+/);
    if (a && b) out[a] = b;
  }
  return out;
}

function selinuxOn(root: string): boolean {
  try {
    const m = /^\s*SELINUX\s*=\s*(\w+)/m.exec(readFileSync(join(root, "etc/selinux/config"), "utf8"));
    return !!m && /^(enforcing|permissive)$/i.test(m[1]!);
  } catch {
    return false;
  }
}

const makePlan: Module = {
  stage: "finalize",
  order: 50,
  name: "prepare_checks",
  what: "finalize/default/050_prepare_checks.sh (and the whole finalize plan, src/finalize/plan.ts)",
  when: recovering,
  run(ctx) {
    const rs = recreateState(ctx);
    const root = rs.plan?.targetRoot ?? (ctx.config.str("TARGET_FS_ROOT") || "/mnt/local");
    const layout: LayoutDoc = { lines: rs.plan?.layout ?? (rs.doc ?? rs.saved.doc).lines };
    const bootloader = savedBootloader(ctx);
    const uefi = recoveringUefi(ctx);
    const mapping = rs.plan?.mapping ?? rs.mapping ?? {};
    const tool: InitramfsTool | undefined = exists(root, "usr/sbin/update-initramfs") ? "update-initramfs" : exists(root, "usr/bin/dracut") || exists(root, "usr/sbin/dracut") ? "dracut" : exists(root, "sbin/mkinitrd") || exists(root, "usr/sbin/mkinitrd") ? "mkinitrd" : undefined;
    const which = (names: string[]) => names.find((n) => ["usr/sbin", "usr/bin", "sbin", "bin"].some((d) => exists(root, `${d}/${n}`)));
    const grubCfg = ["boot/grub/grub.cfg", "boot/grub2/grub.cfg"].find((f) => exists(root, f)) ?? (exists(root, "boot/grub2") ? "boot/grub2/grub.cfg" : exists(root, "boot/grub") ? "boot/grub/grub.cfg" : undefined);
    const espMount = ["boot/efi", "efi"].find((d) => exists(root, `${d}/EFI`));
    const grubInstall = which(["grub-install", "grub2-install"]);
    const grubMkconfig = which(["grub-mkconfig", "grub2-mkconfig"]);
    // the rescue system runs on the target machine: the drivers its disks use now, against the source's
    const saved = readStorageDrivers(`${ctx.paths.varDir}/recovery/storage_drivers`);
    const targetDisks = [...new Set(Object.values(mapping).length ? Object.values(mapping) : layout.lines.flatMap((l) => (l.t === "entry" && l.entry.kw === "disk" ? [l.entry.device] : [])))];
    const now = storageDrivers(targetDisks);
    const newDrivers = saved ? newStorageDrivers(saved, now) : [];
    ctx.log.log(saved ? `Storage drivers: the source's disks used ${saved.join(" ") || "(none known)"}; ${targetDisks.join(" ")} use ${now.join(" ") || "(none known)"}` : "No recovery/storage_drivers (a layout saved by another tool): the storage drivers are not compared");
    const plan = planFinalize({
      layout, mapping, uuidChanges: readUuidChanges(ctx), uefi, bootloader,
      grubInstallDevices: grubInstallDevices(ctx, mapping),
      luksKeyfiles: (rs.plan?.luksKeys ?? []).map((k) => ({ name: k.name, keyfile: k.keyfile })),
      rebuildInitramfs: ctx.config.str("REBUILD_INITRAMFS"),
      newDrivers,
      target: {
        ...(tool ? { initramfsTool: tool } : {}),
        ...(grubInstall ? { grubInstall } : {}),
        ...(grubMkconfig ? { grubMkconfig } : {}),
        ...(grubCfg ? { grubCfg } : {}),
        ...(existsSync(join(root, "usr/lib/grub/x86_64-efi")) ? { grubEfi: true } : {}),
        espFiles: espMount ? listEfiFiles(join(root, espMount)) : [],
        selinux: selinuxOn(root),
      },
    });
    mkdirSync(`${ctx.paths.varDir}/finalize`, { recursive: true, mode: 0o700 });
    ctx.state.finalize = { root, plan, bootloaderInstalled: false } satisfies FinalizeState;
    ctx.log.logPrint(`Finalizing the recovered system (${uefi ? "UEFI" : "BIOS"}, boot loader ${bootloader || "unknown"}):\n${describeFinalize(plan)}`);
    writeFileSync(`${ctx.paths.varDir}/finalize/plan.json`, JSON.stringify(plan, null, 1), { mode: 0o600 });
  },
};

// finalizeonly keeps no record: it does every step it is asked to, each time
const isDone = (ctx: Context, id: string) => currentState(ctx)?.finalizeDone.includes(id) ?? false;
const markDone = async (ctx: Context, id: string) => {
  const r = currentState(ctx);
  if (!r) return;
  // "done" must survive a power cut: what the step wrote reaches the disks before the record says so
  await exec(["sync"]);
  saveState(ctx, withFinalizeDone(r, id));
};
const step = (s: FinalizeState, id: string) => s.plan.steps.find((x) => x.id === id);

async function chroot(ctx: Context, root: string, argv: string[], what: string): Promise<void> {
  const r = await exec(["chroot", root, ...argv], { what, env: { ...ctx.env, LC_ALL: "C", PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
  if (r.code !== 0) throw new WorkflowError(`${what} failed: 'chroot ${root} ${argv.join(" ")}' exited ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split("\n").slice(-2).join(" / ")}` : ""}`, "see the log; fix it in the recovered system (chroot /mnt/local) and run 'rear recover' again: the finished steps are skipped");
}

const bindMounts: Module = {
  stage: "finalize",
  order: 110,
  name: "bind_mount_proc_sys_dev_run",
  what: "finalize/default/110_bind_mount_proc_sys_dev_run.sh",
  when: recovering,
  async run(ctx) {
    const s = state(ctx);
    const mounted: string[] = [];
    for (const d of ["proc", "sys", "dev", "run"]) {
      const target = join(s.root, d);
      mkdirSync(target, { recursive: true });
      const r = await exec(["mount", "--bind", `/${d}`, target]);
      if (r.code !== 0) throw new WorkflowError(`cannot bind-mount /${d} at ${target}: ${r.stderr.trim()}`);
      mounted.push(target);
    }
    if (s.plan.steps.some((x) => x.id === "efibootmgr") && existsSync(join(s.root, "sys/firmware/efi/efivars"))) {
      const ev = join(s.root, "sys/firmware/efi/efivars");
      // a bind of /sys does not carry the efivarfs mounted below it
      if ((await exec(["mountpoint", "-q", ev])).code !== 0 && (await exec(["mount", "-t", "efivarfs", "efivarfs", ev])).code === 0) mounted.push(ev);
    }
    ctx.exitTasks.add(`unmount ${mounted.join(" ")}`, async () => {
      for (const m of [...mounted].reverse()) await exec(["umount", "--lazy", m]);
    });
  },
};

/** The files of filesToPatch() below the root: globs (one `*` per path component) expanded, symlinks resolved inside the root, each real file once. */
function expandPatchFiles(root: string): { rel: string; kind: RewriteKind }[] {
  const out = new Map<string, RewriteKind>();
  for (const f of filesToPatch()) {
    let cands = [""];
    for (const part of f.path.split("/")) {
      const next: string[] = [];
      for (const c of cands) {
        if (!part.includes("*")) next.push(c ? `${c}/${part}` : part);
        else {
          const re = new RegExp(`^${part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
          try {
            for (const e of readdirSync(join(root, c))) if (re.test(e)) next.push(c ? `${c}/${e}` : e);
          } catch {}
        }
      }
      cands = next;
    }
    for (const c of cands) {
      let real: string;
      try {
        real = realpathSync(join(root, c));
      } catch {
        continue;
      }
      // a link that leads out of the restored system is not ours to change
      if (!real.startsWith(`${root}/`) || !statSync(real).isFile() || out.has(relative(root, real))) continue;
      out.set(relative(root, real), f.kind);
    }
  }
  return [...out].map(([rel, kind]) => ({ rel, kind }));
}

const rewriteDevices: Module = {
  stage: "finalize",
  order: 250,
  name: "migrate_devices_and_uuids",
  what: "finalize/GNU/Linux/250_migrate_disk_devices_layout.sh, 280_migrate_uuid_tags.sh (one pass, only the lines that change)",
  when: recovering,
  async run(ctx) {
    const s = state(ctx);
    const st = step(s, "rewrite-devices")!;
    const rs = recreateState(ctx);
    const renames: DeviceRenames = { devices: rs.plan?.mapping ?? rs.mapping ?? {}, uuids: readUuidChanges(ctx) };
    if (!st.run || isIdentity(renames)) {
      ctx.log.logPrint(`Not rewriting device names: ${st.run ? "every mapping is the identity" : st.why}`);
      return;
    }
    if (isDone(ctx, "rewrite-devices")) return ctx.log.logPrint("Device names and UUIDs were rewritten by an earlier run");
    // the originals stay in the rescue system (and go to /var/log/rear/recover), not as *.rearbak in the
    // recovered one. They are also kept at once in the recovered system's recover log: a run again after a
    // power cut in the middle of this step rewrites from them, so no line is rewritten twice
    const saved = `${ctx.paths.varDir}/finalize/saved_original_files`;
    const keep = keptOriginalsDir(s.root);
    const edits: { rel: string; text: string; changes: number }[] = [];
    for (const f of expandPatchFiles(s.root)) {
      const orig = join(keep, f.rel);
      const text = readFileSync(existsSync(orig) ? orig : join(s.root, f.rel), "latin1");
      const r = rewriteFile(f.kind, text, renames);
      for (const k of r.skipped ?? []) ctx.log.warn(`${f.rel}:${k.line}: not rewritten: ${k.reason}`);
      if (!r.changes.length) continue;
      for (const c of r.changes) ctx.log.log(`${f.rel}:${c.line}: ${c.before.trim()}\n  → ${c.after.trim()}`);
      for (const dir of [saved, keep]) {
        mkdirSync(join(dir, f.rel, ".."), { recursive: true, mode: 0o700 });
        if (!existsSync(join(dir, f.rel))) writeFileSync(join(dir, f.rel), text, { encoding: "latin1", mode: 0o600 });
      }
      edits.push({ rel: f.rel, text: r.text, changes: r.changes.length });
    }
    if (edits.length) await exec(["sync"]);
    for (const e of edits) {
      writeFileSync(join(s.root, e.rel), e.text, "latin1");
      ctx.log.logPrint(`Rewrote ${e.changes} line(s) of /${e.rel}`);
    }
    const n = edits.length;
    ctx.log.logPrint(n ? `Device names and UUIDs rewritten in ${n} file(s); the originals are in ${saved}` : "No file of the recovered system names a device or UUID that changed");
    await markDone(ctx, "rewrite-devices");
  },
};

/** Where the rewrite keeps, in the recovered system's recover log, the original of every file it changes. */
function keptOriginalsDir(root: string): string {
  return join(root, "var/log/rear/recover/finalize/saved_original_files");
}

/**
 * Whether the rewrite step changed a file of the recovered system: it keeps every original it changed in
 * the recovered system's recover log at once (so this also holds after a power cut and a run again).
 */
export function rewroteAny(root: string): boolean {
  const dir = keptOriginalsDir(root);
  const walk = (d: string): boolean => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return false;
    }
    return names.some((n) => {
      const p = join(d, n);
      try {
        return statSync(p).isDirectory() ? walk(p) : true;
      } catch {
        return false;
      }
    });
  };
  return walk(dir);
}

/** ReaR's 240_reassign_luks_keyfiles.sh: the restored key file becomes a key of the volume, the temporary one goes. */
const luksKeyfiles: Module = {
  stage: "finalize",
  order: 240,
  name: "reassign_luks_keyfiles",
  what: "finalize/GNU/Linux/240_reassign_luks_keyfiles.sh",
  when: recovering,
  async run(ctx) {
    const s = state(ctx);
    if (!step(s, "luks-keyfiles")?.run) return;
    for (const k of recreateState(ctx).plan?.luksKeys ?? []) {
      const id = `luks-keyfile-${k.name}`;
      if (isDone(ctx, id)) continue;
      const restored = join(s.root, k.keyfile);
      // done by an earlier run (finalizeonly keeps no record): the restored key opens the volume already
      if (existsSync(restored) && (await exec(["cryptsetup", "open", "--test-passphrase", "--key-file", restored, k.device])).code === 0) {
        ctx.log.logPrint(`LUKS volume ${k.name} (${k.device}) already opens with its restored key file ${k.keyfile}`);
        continue;
      }
      if (!existsSync(restored)) {
        throw new WorkflowError(`The key file ${k.keyfile} of the LUKS volume ${k.name} (crypttab) was not restored: the recovered system could not open ${k.device} at boot`, `restore ${k.keyfile} into ${s.root}, then run 'rear recover' again (it goes on here); or add a key by hand: cryptsetup luksAddKey --key-file ${k.temporaryKey} ${k.device} FILE`);
      }
      if (!existsSync(k.temporaryKey)) throw new WorkflowError(`The temporary key of ${k.name} (${k.temporaryKey}) is gone (the rescue system was restarted?)`, `open ${k.device} with another key and add ${k.keyfile} with cryptsetup luksAddKey; or run 'rear recover --restart'`);
      const add = await exec(["cryptsetup", "luksAddKey", "--batch-mode", "--key-file", k.temporaryKey, k.device, restored], { what: `adding ${k.keyfile} to ${k.name}` });
      if (add.code !== 0) throw new WorkflowError(`cryptsetup could not add ${k.keyfile} as a key of ${k.device}: ${add.stderr.trim().split("\n").slice(-1)[0]}`);
      // the restored key must open it before the temporary one goes
      const test = await exec(["cryptsetup", "open", "--test-passphrase", "--key-file", restored, k.device]);
      if (test.code !== 0) throw new WorkflowError(`${k.keyfile} does not open ${k.device} after it was added`, "check the volume with cryptsetup luksDump");
      const rm = await exec(["cryptsetup", "luksRemoveKey", "--batch-mode", k.device, k.temporaryKey]);
      if (rm.code !== 0) ctx.log.warn(`the temporary key of ${k.name} could not be removed (${rm.stderr.trim().split("\n").slice(-1)[0]}): remove it with cryptsetup luksRemoveKey`);
      await exec(["shred", "-u", k.temporaryKey]);
      ctx.log.logPrint(`LUKS volume ${k.name} (${k.device}) opens with its restored key file ${k.keyfile}`);
      await markDone(ctx, id);
    }
  },
};

const rebuildInitramfs: Module = {
  stage: "finalize",
  order: 550,
  name: "rebuild_initramfs",
  what: "finalize/{Debian,Fedora,SUSE_LINUX}/550_rebuild_initramfs.sh, only when needed",
  when: recovering,
  async run(ctx) {
    const s = state(ctx);
    const st = step(s, "initramfs")!;
    if (!st.run) {
      ctx.log.logPrint(`Not rebuilding the initramfs: ${st.why}`);
      return;
    }
    if (isDone(ctx, "initramfs")) return ctx.log.logPrint("The initramfs was rebuilt by an earlier run");
    if (st.onlyIfRewritten && !rewroteAny(s.root)) {
      ctx.log.logPrint("Not rebuilding the initramfs: the disks moved, but no file of the recovered system named a moved device (the restored initramfs finds them by UUID)");
      return;
    }
    ctx.log.logPrint(`Rebuilding the initramfs: ${st.why}`);
    const argv: Record<InitramfsTool, string[]> = {
      "update-initramfs": ["update-initramfs", "-u", "-k", "all"],
      dracut: ["dracut", "-f", "--regenerate-all"],
      mkinitrd: ["mkinitrd"],
    };
    await chroot(ctx, s.root, argv[s.plan.target.initramfsTool!], "rebuilding the initramfs");
    await markDone(ctx, "initramfs");
  },
};

/** Whether the first sector of a disk holds GRUB's boot code (its boot.img carries the word "GRUB"). */
function hasGrubBootCode(disk: string): boolean {
  try {
    const fd = openSync(disk, "r");
    try {
      const buf = Buffer.alloc(512);
      readSync(fd, buf, 0, 512, 0);
      return buf.includes(Buffer.from("GRUB"));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

const installGrub: Module = {
  stage: "finalize",
  order: 660,
  name: "install_grub2",
  what: "finalize/Linux-i386/660_install_grub2.sh",
  when: recovering,
  async run(ctx) {
    const s = state(ctx);
    const mk = step(s, "grub-mkconfig");
    if (mk?.run && mk.onlyIfRewritten && !rewroteAny(s.root)) ctx.log.logPrint("Not regenerating GRUB's configuration: the disks moved, but no file it is made from named a moved device (it finds its files by UUID)");
    else if (mk?.run && !isDone(ctx, "grub-mkconfig")) {
      ctx.log.logPrint(`Regenerating GRUB's configuration: ${mk.why}`);
      await chroot(ctx, s.root, [s.plan.target.grubMkconfig!, "-o", `/${s.plan.target.grubCfg!}`], "grub-mkconfig");
      await markDone(ctx, "grub-mkconfig");
    }
    const gi = step(s, "grub-install");
    if (!gi) return;
    if (!gi.run) {
      ctx.log.logPrint(`Not installing GRUB: ${gi.why}`);
      return;
    }
    const tool = s.plan.target.grubInstall!;
    for (const disk of s.plan.boot.biosDisks) {
      const id = `grub-install${disk.replace(/\//g, "_")}`;
      if (!isDone(ctx, id)) {
        ctx.log.logPrint(`Installing GRUB on ${disk}`);
        await chroot(ctx, s.root, [tool, "--target=i386-pc", "--recheck", disk], `installing GRUB on ${disk}`);
        await markDone(ctx, id);
      }
      if (!hasGrubBootCode(disk)) throw new WorkflowError(`GRUB was installed on ${disk} but its first sector holds no GRUB boot code`, `install it by hand: chroot ${s.root} ${tool} ${disk}`);
      ctx.log.logPrint(`${disk} boots GRUB (its boot sector was read back)`);
    }
    s.bootloaderInstalled = s.plan.boot.biosDisks.length > 0;
  },
};

const efiBootmgr: Module = {
  stage: "finalize",
  order: 670,
  name: "run_efibootmgr",
  what: "finalize/Linux-i386/670_run_efibootmgr.sh, with the removable fallback path",
  when: recovering,
  async run(ctx) {
    const s = state(ctx);
    const st = step(s, "efibootmgr");
    if (!st) return;
    if (!st.run) {
      ctx.log.logPrint(`No NVRAM entry: ${st.why}`);
      return;
    }
    const b = s.plan.boot;
    const esp = b.esp!;
    const espDir = join(s.root, esp.mountpoint);
    const fill = step(s, "grub-install-efi");
    if (fill?.run) {
      if (!isDone(ctx, "grub-install-efi")) {
        ctx.log.logPrint(`The restored ESP holds no boot loader: installing GRUB into it`);
        await chroot(ctx, s.root, [s.plan.target.grubInstall!, "--target=x86_64-efi", `--efi-directory=/${esp.mountpoint.replace(/^\//, "")}`, "--no-nvram"], "installing GRUB into the ESP");
        await markDone(ctx, "grub-install-efi");
      }
      const loader = chooseEfiLoader(listEfiFiles(espDir));
      if (!loader) throw new WorkflowError(`grub-install put no EFI loader on the ESP (${espDir})`, `install one by hand: chroot ${s.root} ${s.plan.target.grubInstall} --target=x86_64-efi`);
      b.efiDir = loader.dir;
      b.efiLoader = `\\${loader.dir.replace(/\//g, "\\")}\\${loader.file}`;
    }
    const label = `${ctx.config.str("OS_VENDOR")} ${ctx.config.str("OS_VERSION")}`.trim() || "Linux";
    if (!isDone(ctx, "efibootmgr")) {
      const r = await exec(["efibootmgr", "--create", "--disk", esp.disk, "--part", String(esp.partNumber), "--label", label, "--loader", b.efiLoader!]);
      if (r.code !== 0) throw new WorkflowError(`efibootmgr could not create the boot entry for ${b.efiLoader}: ${r.stderr.trim().split("\n").slice(-1)[0]}`, "is the rescue system booted with UEFI (ls /sys/firmware/efi)?");
      await markDone(ctx, "efibootmgr");
    }
    const v = await exec(["efibootmgr", "-v"]);
    const entry = v.stdout.split("\n").find((l) => l.toLowerCase().includes(b.efiLoader!.toLowerCase()) || l.toLowerCase().includes(b.efiLoader!.replace(/\\/g, "/").toLowerCase()));
    if (!entry) throw new WorkflowError(`the NVRAM has no boot entry for ${b.efiLoader} after efibootmgr created it`, "create it by hand with efibootmgr, or boot the disk through its fallback path");
    ctx.log.logPrint(`NVRAM boot entry: ${entry.trim()}`);
    const fb = step(s, "efi-fallback");
    if (fb?.run && b.efiDir) {
      const bootDir = join(espDir, "EFI/BOOT");
      const existing = existsSync(bootDir) ? readdirSync(bootDir).find((f) => /^bootx64\.efi$/i.test(f)) : undefined;
      if (existing) ctx.log.logPrint(`The fallback path already holds EFI/BOOT/${existing}: left as it is`);
      else {
        mkdirSync(bootDir, { recursive: true });
        const src = join(espDir, b.efiDir);
        const loader = b.efiLoader!.split("\\").pop()!;
        // shim loads grubx64.efi (and mmx64.efi) from its own directory; GRUB reads grub.cfg from it
        copyFileSync(join(src, loader), join(bootDir, "BOOTX64.EFI"));
        for (const f of readdirSync(src)) if (/^(grubx64\.efi|mmx64\.efi|grub\.cfg|BOOTX64\.CSV)$/i.test(f) && statSync(join(src, f)).isFile()) copyFileSync(join(src, f), join(bootDir, f));
        ctx.log.logPrint(`The fallback path EFI/BOOT/BOOTX64.EFI now starts ${b.efiDir}/${loader} (a machine with blank NVRAM boots the disk too)`);
      }
    }
    s.bootloaderInstalled = true;
  },
};

const relabel: Module = {
  stage: "finalize",
  order: 700,
  name: "selinux_relabel",
  what: "(ReaR creates /.autorelabel on every restore; only when the source ran SELinux here)",
  when: recovering,
  run(ctx) {
    const s = state(ctx);
    if (step(s, "selinux-relabel")?.run) {
      writeFileSync(join(s.root, ".autorelabel"), "");
      ctx.log.logPrint("SELinux: the recovered system relabels its files at the first boot (/.autorelabel)");
    }
  },
};

const finishChecks: Module = {
  stage: "finalize",
  order: 890,
  name: "finish_checks",
  what: "finalize/default/890_finish_checks.sh: no boot loader is an error here, not a warning",
  when: recovering,
  run(ctx) {
    const s = state(ctx);
    if (!s.bootloaderInstalled) {
      const why = s.plan.steps.filter((x) => ["grub-install", "efibootmgr"].includes(x.id)).map((x) => x.why).join("; ");
      throw new WorkflowError(`NO BOOT LOADER WAS INSTALLED: the recovered system will not boot (${why})`, `install one by hand (chroot ${s.root}), then reboot`);
    }
  },
};

export const FINALIZE_MODULES: readonly Module[] = [makePlan, bindMounts, luksKeyfiles, rewriteDevices, rebuildInitramfs, installGrub, efiBootmgr, relabel, finishChecks];
