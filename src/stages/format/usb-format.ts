// `rear format [-- --efi|--bios|--force|--yes] DEVICE`: makes a disk the REAR-000 medium that OUTPUT=USB
// and BACKUP_URL=usb:// use (ReaR's format/USB/default/200, 300, 350). The checks and the plan are
// src/usb/format-plan.ts; here: finding the disk, asking, running the plan.

import { existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import { parseWorkflowWords } from "../../cli/workflow-args.ts";
import { userInputFor } from "../../engine/ask.ts";
import type { Context } from "../../engine/context.ts";
import { ConfigError, NotImplementedError, UserError, WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import type { TargetDisk } from "../../layout/targets.ts";
import { probeTargets } from "../../recreate/probe-targets.ts";
import { exec } from "../../sys/exec.ts";
import { formatRefusal, isRemovable, planFormat, settingsProblems, type FormatFlags, type FormatPlan } from "../../usb/format-plan.ts";

const formatting = (ctx: Context) => ctx.workflow.name === "format";

/** The words of `rear format`: DEVICE and the flags after `--` (short or long, as ReaR's getopt). */
export function formatArgs(ctx: Pick<Context, "args" | "cli">): { device?: string; flags: FormatFlags } {
  const dd = ctx.cli.afterDashDash;
  const p = parseWorkflowWords("format", ctx.args.slice(0, ctx.args.length - dd.length), dd);
  const has = (...k: string[]) => k.some((x) => p.flags.has(x));
  return { ...(p.positional[0] ? { device: p.positional[0] } : {}), flags: { efi: has("-e", "--efi"), bios: has("-b", "--bios"), force: has("-f", "--force"), yes: has("-y", "--yes") } };
}

/** A partition given for a disk: its disk (/sys/class/block/sdb1/partition exists; its parent directory is the disk). */
function wholeDisk(dev: string): string {
  const name = basename(dev);
  if (!existsSync(`/sys/class/block/${name}/partition`)) return dev;
  // the partition's sysfs directory lies inside its disk's (…/block/sdb/sdb1)
  const parent = basename(dirname(realpathSync(`/sys/class/block/${name}`)));
  return `/dev/${parent}`;
}

function uefiMachine(): boolean {
  return existsSync("/sys/firmware/efi");
}

export const checkUsbLayout: Module = {
  stage: "format",
  order: 200,
  name: "check_usb_layout",
  what: "format/USB/default/200_check_usb_layout.sh (refusals, the plan shown, the typed confirmation)",
  when: formatting,
  async run(ctx) {
    const { device, flags } = formatArgs(ctx);
    if (!device) throw new UserError("rear format needs the DEVICE to format, like: rear -v format -- --efi /dev/sdX", "'rear help format' shows its options");
    let st;
    try {
      st = statSync(device);
    } catch {
      throw new UserError(`${device}: no such device`, "give the disk to format (lsblk lists them), e.g. /dev/sdb");
    }
    if (st.isCharacterDevice()) throw new NotImplementedError(`formatting the tape ${device} for OUTPUT=OBDR`);
    if (!st.isBlockDevice()) throw new UserError(`${device} is neither a block device nor a tape`, "give the disk to format (lsblk lists them), e.g. /dev/sdb");
    const disk = wholeDisk(realpathSync(device));
    if (disk !== realpathSync(device)) ctx.log.logPrint(`${device} is a partition: formatting its disk ${disk}`);
    const c = ctx.config;
    const settings = {
      fs: c.str("USB_DEVICE_FILESYSTEM") || "ext4",
      label: c.str("USB_DEVICE_FILESYSTEM_LABEL") || "REAR-000",
      params: c.str("USB_DEVICE_FILESYSTEM_PARAMS").split(/\s+/).filter(Boolean),
      percentage: Number(c.str("USB_DEVICE_FILESYSTEM_PERCENTAGE") || 100),
      efiMiB: Number(c.str("USB_UEFI_PART_SIZE") || 1024),
      alignMiB: Number(c.str("USB_PARTITION_ALIGN_BLOCK_SIZE") || 8),
      uefiMachine: uefiMachine(),
    };
    const problems = settingsProblems(settings);
    if (problems.length) throw new ConfigError(problems.join("; "), undefined, undefined, `fix it in ${ctx.paths.configDir}/local.conf`);
    // loop devices only when one was asked for by name (the integration tests format loop devices)
    const probe = await probeTargets({ ...ctx.env, ...(basename(disk).startsWith("loop") ? { REAR_LAYOUT_INCLUDE_LOOP: "1" } : {}) });
    const d: TargetDisk | undefined = probe.disks.find((x) => x.device === disk);
    if (!d) throw new UserError(`${disk} is not a disk lsblk lists`, "give a whole disk (lsblk -d lists them)");
    const refused = formatRefusal(d);
    if (refused) throw new UserError(`Refusing to format ${disk}: ${refused}`, "nothing was changed");
    const removable = isRemovable(d);
    if (!removable && !flags.yes) {
      throw new UserError(`Refusing to format ${disk}: it is not a removable disk (no USB stick or USB disk)`, "to format it anyway give --yes (rear format -- --yes DEVICE) and confirm; nothing was changed");
    }
    const plan = planFormat(d, flags, settings);
    ctx.log.logPrint(`rear format erases everything on ${disk}:`);
    for (const l of plan.erases) ctx.log.logPrint(`  ${l}`);
    ctx.log.logPrint(`and makes it a ${plan.table} disk with ${plan.efiPartition ? `an EFI system partition ${plan.efiPartition} (REAR-EFI) and ` : ""}the data partition ${plan.dataPartition} (${settings.fs}, labelled ${settings.label}):`);
    for (const s of plan.steps) ctx.log.log(`  ${s.summary}: ${s.argv.join(" ")}`);
    // a removable disk with --yes or --force formats at once (ReaR); otherwise: typed confirmation, no default
    if (!(removable && (flags.yes || flags.force))) {
      const a = userInputFor(ctx).ask({
        id: "USB_DEVICE_CONFIRM_FORMAT",
        prompt: `Type exactly 'Yes' to erase ${disk}${removable ? "" : " (NOT a removable disk)"} and format it with ${settings.fs}`,
        destructive: true,
      });
      if (a.text.trim() !== "Yes") throw new UserError(`${disk} was not formatted (the answer was not 'Yes')`, "nothing was changed");
    }
    ctx.state.formatPlan = plan;
  },
};

export const formatUsbDisk: Module = {
  stage: "format",
  order: 300,
  name: "format_usb_disk",
  what: "format/USB/default/300_format_usb_disk.sh, 350_label_usb_disk.sh",
  when: formatting,
  async run(ctx) {
    const plan = ctx.state.formatPlan as FormatPlan | undefined;
    if (!plan) throw new Error("format/300 needs the plan of format/200");
    const t0 = performance.now();
    for (const s of plan.steps) {
      ctx.log.print(s.summary);
      const r = await exec(s.argv, { what: s.summary.toLowerCase() });
      if (r.code !== 0) {
        throw new WorkflowError(`${s.summary} failed: '${s.argv.join(" ")}' exited ${r.code}: ${r.stderr.trim().split("\n").slice(-2).join(" / ")}`, `${plan.disk} is partly formatted: fix the cause and run rear format again`);
      }
    }
    const label = ctx.config.str("USB_DEVICE_FILESYSTEM_LABEL") || "REAR-000";
    const b = await exec(["blkid", "-o", "value", "-s", "LABEL", plan.dataPartition], { quiet: true });
    if (b.stdout.trim() !== label) throw new WorkflowError(`${plan.dataPartition} has no file system labelled ${label} after formatting (blkid says '${b.stdout.trim()}')`, "run rear format again; check the disk with lsblk -f");
    ctx.log.logPrint(`Formatted ${plan.disk} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${plan.dataPartition} is /dev/disk/by-label/${label}${plan.efiPartition ? `, ${plan.efiPartition} the EFI system partition` : ""}`);
  },
};

