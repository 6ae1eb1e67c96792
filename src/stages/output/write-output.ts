// output: the rescue medium from kernel + initramfs — OUTPUT=ISO (output/ISO/Linux-i386/*) or
// OUTPUT=RAMDISK (output/RAMDISK/default/900_copy_ramdisk.sh) — then the result files copied to
// OUTPUT_URL (output/default/950_copy_result_files.sh) with ReaR's VERSION file and the log.

import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { volumeIsoLabel } from "../../backup/netfs-plan.ts";
import { buildDataIso, buildIso } from "../../output/iso.ts";
import { buildRawDisk } from "../../output/rawdisk.ts";
import { bootEntryHint, installPlan, partitionsFromLsblk } from "../../output/rawdisk-install.ts";
import { exec } from "../../sys/exec.ts";
import { blkidProbe } from "../../layout/probe/blkid-probe.ts";
import { menuTimeout, serialFromCmdline } from "../../output/iso-config.ts";
import { maskPasswords } from "../../config/secret-values.ts";
import { mountUrl, parseUrl, sftpAsSshfs, UrlError } from "../../output/url.ts";
import { PRODUCT, VERSION, versionLine } from "../../version.ts";
import { BUILDS_RESCUE } from "../init/950-check-missing-programs.ts";
import { rescueState } from "../rescue/preflight.ts";

/** The kernel command line of the rescue system: KERNEL_CMDLINE plus the host's COPY_KERNEL_PARAMETERS and console= (ReaR's 290_kernel_cmdline). */
export function rescueCmdline(kernelCmdline: string, copyParams: readonly string[], hostCmdline: string): string {
  const words = kernelCmdline.split(/\s+/).filter(Boolean);
  const has = (k: string) => words.some((w) => w === k || w.startsWith(`${k}=`));
  const host = hostCmdline.split(/\s+/).filter(Boolean);
  for (const p of copyParams) if (!has(p)) for (const w of host) if (w === p || w.startsWith(`${p}=`)) words.push(w);
  // a serial console of the host is the rescue system's console too, unless the user chose consoles
  if (!has("console")) for (const w of host) if (w.startsWith("console=")) words.push(w);
  return words.join(" ");
}

/** The rescue kernel's line for a medium: KERNEL_CMDLINE (with BACKUP=COVE's KERNEL_CMDLINE_COVE,
 *  cove_rescue_media, ReaR PR #3464) and the host's COPY_KERNEL_PARAMETERS. */
export function rescueKernelLine(c: Context["config"]): string {
  const kernelCmdline = [c.str("KERNEL_CMDLINE"), c.str("BACKUP") === "COVE" ? c.str("KERNEL_CMDLINE_COVE") : ""].filter(Boolean).join(" ");
  return rescueCmdline(kernelCmdline, c.arr("COPY_KERNEL_PARAMETERS"), hostCmdline());
}

export function hostCmdline(): string {
  try {
    return readFileSync("/proc/cmdline", "utf8");
  } catch {
    return "";
  }
}

/** What every medium-writing output starts from: the configuration, the rescue state with its initramfs, the host name, the start time. */
function outputStart(ctx: Context) {
  const c = ctx.config;
  const st = rescueState(ctx);
  if (!st.initrd) throw new Error("output without an initramfs: pack/900 did not run");
  return { c, st, initrd: st.initrd, host: c.str("HOSTNAME") || hostname(), t0: performance.now() };
}

/** The boot menu settings the ISO and the RAWDISK image share (ISO_DEFAULT, ISO_RECOVER_MODE, GRUB2_*, the timeout, the serial console). */
function isoMenu(c: Context["config"], host: string, cmdline: string, serial: ReturnType<typeof serialFromCmdline>) {
  return {
    host, cmdline, version: VERSION, isoDefault: c.str("ISO_DEFAULT") || "boothd", recoverMode: c.str("ISO_RECOVER_MODE"), ...grubMenuSettings(c),
    timeoutSec: menuTimeout(c.str("ISO_DEFAULT"), c.str("ISO_SYSLINUX_TIMEOUT") ? String(Number(c.str("ISO_SYSLINUX_TIMEOUT")) / 10) : "", c.str("USER_INPUT_TIMEOUT")),
    ...(serial ? { serial } : {}),
  };
}

/** RAWDISK_INSTALL_GPT_PARTITION_NAME: the image's EFI partition into the local partitions of that name (src/output/rawdisk-install.ts). */
async function installIntoPartitions(ctx: Context, fat: string, uefi: boolean): Promise<void> {
  const name = ctx.config.str("RAWDISK_INSTALL_GPT_PARTITION_NAME");
  if (!uefi) {
    ctx.log.warn(`RAWDISK_INSTALL_GPT_PARTITION_NAME='${name}': the image has no UEFI boot loader (none found here), so nothing is installed into partitions (as ReaR)`);
    return;
  }
  ctx.log.logPrint(`Installing the EFI rescue system into partitions named '${name}'`);
  const ls = await exec(["lsblk", "-J", "-b", "-p", "-o", "NAME,TYPE,PARTLABEL,FSTYPE,MOUNTPOINTS,SIZE,PKNAME"], { check: true, what: "listing the partitions" });
  const parts = partitionsFromLsblk(ls.stdout);
  // lsblk knows names and file systems from udev's database; without udev running (a container) ask blkid
  for (const p of parts.filter((x) => !x.partlabel)) {
    const b = await blkidProbe(p.path);
    p.partlabel = b.PART_ENTRY_NAME ?? "";
    p.fstype ||= b.TYPE ?? "";
  }
  const plan = installPlan(parts, name, statSync(fat).size);
  for (const s of plan.skip) ctx.log.warn(`Cannot install the EFI rescue system into ${s.path}: ${s.why}`);
  for (const p of plan.install) {
    await exec(["dd", `if=${fat}`, `of=${p.path}`, "bs=1M", "conv=fsync", "status=none"], { check: true, what: `installing the EFI rescue system into ${p.path}` });
    ctx.log.logPrint(`Installed the EFI rescue system into ${p.path}; a boot entry for it (rear makes none): ${bootEntryHint(p, ctx.config.str("RAWDISK_GPT_PARTITION_NAME") || "Rescue System")}`);
  }
  if (plan.install.length === 0) ctx.log.logPrint(`No partition named '${name}' could take the EFI rescue system`);
}

/** OUTPUT=RAWDISK: a GPT disk image bootable by BIOS and UEFI (ReaR's output/RAWDISK/Linux-i386/270–280). */
export const writeRawDiskImage: Module = {
  stage: "output",
  order: 800,
  name: "create_bootable_disk_image",
  what: "output/RAWDISK/Linux-i386/260_create_syslinux_efi_bootloader.sh, 270_create_grub2_efi_bootloader.sh, 280_create_bootable_disk_image.sh",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name) && ctx.config.str("OUTPUT") === "RAWDISK",
  async run(ctx) {
    const { c, st, initrd, host, t0 } = outputStart(ctx);
    const outDir = `${ctx.paths.varDir}/output`;
    mkdirSync(outDir, { recursive: true, mode: 0o700 });
    const cmdline = rescueKernelLine(c);
    const serial = serialFromCmdline(cmdline);
    const r = await buildRawDisk({
      files: st.rawdisk!, workDir: ctx.workArea!.tmpDir, kernel: st.kernelFile, initrd: initrd.file, initrdName: initrd.name,
      menu: isoMenu(c, host, cmdline, serial),
      fatLabel: c.str("RAWDISK_FAT_VOLUME_LABEL") || "RESCUE SYS", partName: c.str("RAWDISK_GPT_PARTITION_NAME") || "Rescue System",
      out: join(outDir, `${c.str("RAWDISK_IMAGE_NAME") || `rear-${host}`}.raw`), compress: c.str("RAWDISK_IMAGE_COMPRESSION_COMMAND").split(/\s+/).filter(Boolean),
      ...(c.str("RAWDISK_INSTALL_GPT_PARTITION_NAME") ? { onFat: (fat: string, modes: { uefi: boolean }) => installIntoPartitions(ctx, fat, modes.uefi) } : {}),
    });
    st.resultFiles.push(r.file);
    ctx.log.logPrint(`Wrote the disk image ${r.file} (${Math.round(r.bytes / 1048576)} MiB; boots by ${[r.bios && "BIOS", r.uefi && "UEFI"].filter(Boolean).join(" and ")}) in ${Math.round((performance.now() - t0) / 100) / 10} s`);
  },
};

export const writeRescueMedium: Module = {
  stage: "output",
  order: 800,
  name: "write_rescue_medium",
  what: "output/ISO/Linux-i386/250–820 (ISO) or output/RAMDISK/default/900 (kernel + initrd)",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name) && !["PORTABLE", "USB", "PXE", "RAWDISK"].includes(ctx.config.str("OUTPUT")),
  async run(ctx) {
    const { c, st, initrd, host, t0 } = outputStart(ctx);
    if (st.output === "RAMDISK") {
      const suffix = c.str("RAMDISK_SUFFIX") || host;
      const dir = ctx.workArea!.tmpDir;
      const k = join(dir, `kernel-${suffix}`);
      const i = join(dir, `initramfs-${suffix}.img`);
      copyFileSync(st.kernelFile, k);
      chmodSync(k, 0o600);
      renameSync(initrd.file, i);
      initrd.file = i;
      st.resultFiles.push(k, i);
      ctx.log.logPrint(`Wrote the rescue kernel and initramfs: ${basename(k)}, ${basename(i)} (${Math.round(initrd.bytesOut / 1048576)} MiB)`);
      return;
    }
    const isoDir = c.str("ISO_DIR") || `${ctx.paths.varDir}/output`;
    mkdirSync(isoDir, { recursive: true, mode: 0o700 });
    const out = join(isoDir, `${c.str("ISO_PREFIX") || `rear-${host}`}.iso`);
    const cmdline = rescueKernelLine(c);
    const serial = serialFromCmdline(cmdline);
    ctx.log.print(`Making the ISO image ${out}`);
    // ISO_MAX_SIZE: the backup's volumes after the first go to ISOs of their own (ReaR's <ISO_PREFIX>_NN.iso, labelled <ISO_VOLID>_NN)
    const volid = c.str("ISO_VOLID") || "REAR-ISO";
    const tree = ctx.state.isoBackupDir as string | undefined;
    const volumeIsos = ((ctx.state.isoExtraVolumes as string[] | undefined) ?? []).map((rel) => {
      const suffix = rel.split(".").pop()!;
      const stage = join(ctx.workArea!.tmpDir, `isovolume_${suffix}`);
      mkdirSync(join(stage, dirname(rel)), { recursive: true });
      renameSync(join(tree!, rel), join(stage, rel));
      return { dir: stage, volid: volumeIsoLabel(volid, suffix), out: join(isoDir, `${c.str("ISO_PREFIX") || `rear-${host}`}_${suffix}.iso`) };
    });
    const r = await buildIso({
      files: st.iso!,
      workDir: join(ctx.workArea!.tmpDir, "iso"),
      kernel: st.kernelFile,
      initrd: initrd.file,
      initrdName: initrd.name,
      menu: isoMenu(c, host, cmdline, serial),
      volid,
      out,
      extraFiles: c.arr("ISO_FILES").filter(Boolean),
      extraOpts: c.str("ISO_MKISOFS_OPTS").split(/\s+/).filter(Boolean),
      ...(ctx.state.isoBackupDir ? { extraTrees: [ctx.state.isoBackupDir as string] } : {}),
    });
    const limit = Number(c.str("ISO_FILE_SIZE_LIMIT") || 2147483648);
    if (initrd.bytesOut > limit) ctx.log.warn(`The initramfs (${initrd.bytesOut} bytes) is larger than ISO_FILE_SIZE_LIMIT (${limit}): some firmware cannot read it`);
    st.resultFiles.push(out);
    ctx.log.logPrint(`Wrote ISO image: ${out} (${Math.round(r.bytes / 1048576)} MiB; boots by ${[r.bios && "BIOS", r.uefi && "UEFI"].filter(Boolean).join(" and ")}) in ${Math.round((performance.now() - t0) / 100) / 10} s`);
    for (const v of volumeIsos) {
      const bytes = await buildDataIso({ xorriso: st.iso!.xorriso!, dir: v.dir, volid: v.volid, out: v.out });
      st.resultFiles.push(v.out);
      ctx.log.logPrint(`Wrote ISO image: ${v.out} (${Math.round(bytes / 1048576)} MiB, backup volume labelled ${v.volid})`);
    }
  },
};

/** GRUB2_DEFAULT_BOOT and GRUB2_TIMEOUT for the UEFI menu of the ISO and the RAWDISK image (only when set). */
function grubMenuSettings(c: Context["config"]): { grubDefault?: string; grubTimeoutSec?: number } {
  const t = c.str("GRUB2_TIMEOUT");
  return { ...(c.str("GRUB2_DEFAULT_BOOT") ? { grubDefault: c.str("GRUB2_DEFAULT_BOOT") } : {}), ...(t !== "" ? { grubTimeoutSec: Number(t) } : {}) };
}

/** ReaR's VERSION result file. */
export function versionText(host: string, backup: string, output: string, date = new Date()): string {
  return [
    `${versionLine()}`,
    `${PRODUCT} comes with ABSOLUTELY NO WARRANTY; for details see the GNU General Public License at: http://www.gnu.org/licenses/gpl.html`,
    "",
    `Host ${host} using Backup ${backup || "(none)"} and Output ${output}`,
    `Build date: ${date.toUTCString()}`,
    "",
  ].join("\n");
}

export const copyResultFiles: Module = {
  stage: "output",
  order: 950,
  name: "copy_result_files",
  what: "output/default/950_copy_result_files.sh (file://, usb://, nfs://, cifs://, sshfs://, sftp:// by mounting)",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name),
  async run(ctx) {
    const c = ctx.config;
    const st = rescueState(ctx);
    // ReaR's 020_translate_url: OUTPUT_URL defaults to BACKUP_URL
    const urlText = c.str("OUTPUT_URL") || (c.str("OUTPUT_MOUNTCMD") ? "" : c.str("BACKUP_URL"));
    if (!urlText || urlText.startsWith("null")) {
      ctx.log.log(`No OUTPUT_URL: the results stay in ${st.resultFiles.map((f) => f.replace(/\/[^/]*$/, "")).filter((d, i, a) => a.indexOf(d) === i).join(", ")}`);
      return;
    }
    let u;
    try {
      u = parseUrl(urlText, c.str("OUTPUT_URL") ? "OUTPUT_URL" : "BACKUP_URL (the default of OUTPUT_URL)");
    } catch (e) {
      if (e instanceof UrlError) throw new WorkflowError(e.message);
      throw e;
    }
    if (u.scheme === "iso") {
      // the ISO is the result (BACKUP_URL=iso://: the backup went into it — not with mkrescue, ReaR's BACKUP_URL_ISO_PROCEED_MKRESCUE)
      if (ctx.workflow.name === "mkrescue" && c.str("BACKUP") === "NETFS") ctx.log.warn(`BACKUP_URL=${urlText}: this ISO holds no backup (mkrescue makes none); a recovery from it needs one: run rear mkbackup`);
      return;
    }
    if (u.scheme === "rsync") return; // copied with rsync by output/900 (src/stages/backup/rsync-backup.ts)
    u = sftpAsSshfs(u);
    const host = c.str("HOSTNAME") || hostname();
    const tmp = ctx.workArea!.tmpDir;
    const version = join(tmp, "VERSION");
    writeFileSync(version, versionText(host, c.str("BACKUP"), st.output), { mode: 0o600 });
    const files = [...st.resultFiles, version];
    const m = await mountUrl(u, join(ctx.workArea!.buildDir, "outputfs"), c.str("OUTPUT_OPTIONS"));
    const undo = ctx.exitTasks.add(`unmount ${urlText}`, () => m.unmount());
    try {
      const dir = join(m.dir, c.str("OUTPUT_PREFIX") || host);
      // KEEP_OLD_OUTPUT_COPY: the previous results become <prefix>.old (output/default/150_save_copy_of_prefix_dir)
      if (c.isTrue("KEEP_OLD_OUTPUT_COPY") && existsSync(dir)) {
        rmSync(`${dir}.old`, { recursive: true, force: true });
        renameSync(dir, `${dir}.old`);
      }
      mkdirSync(dir, { recursive: true, mode: 0o750 });
      for (const f of files) {
        const dest = join(dir, basename(f));
        if (f === dest) continue;
        const tmpDest = `${dest}.tmp-${process.pid}`;
        copyFileSync(f, tmpDest);
        chmodSync(tmpDest, 0o600);
        renameSync(tmpDest, dest);
      }
      ctx.log.logPrint(`Copied ${files.map((f) => basename(f)).join(", ")} to ${urlText.replace(/\/$/, "")}/${basename(dir)}`);
      ctx.state.resultsCopiedTo = `${maskPasswords(urlText).replace(/\/$/, "")}/${basename(dir)}`;
    } finally {
      ctx.exitTasks.remove(undo);
      await m.unmount();
    }
  },
};
