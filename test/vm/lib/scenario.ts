// A scenario is a data file (test/vm/scenarios/NAME.json): a new layout is a new file, not new code.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const bus = z.enum(["virtio", "scsi", "nvme"]);
/** a disk of a machine: its size and the bus it sits on (shared with test/vm/lib/layouts.ts) */
export const diskSchema = z.strictObject({
  sizeMiB: z.number().int().min(64).max(65536),
  bus: bus.default("virtio"),
  /** target disks: the recovered machine's firmware boots this one first (disks in another order than the source's) */
  bootFirst: z.boolean().optional(),
});
export const nameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and dashes");

export const scenarioSchema = z.strictObject({
  name: nameSchema,
  description: z.string().min(1),
  firmware: z.enum(["bios", "uefi"]),
  /** UEFI with Secure Boot enforced (OVMF with Microsoft's keys) for every boot of the machine: the
   *  source, the rescue image, the recovered machine */
  secureBoot: z.boolean().default(false),
  /** the source machine's disks, in order: $DISK1, $DISK2, … in the layout recipe */
  sourceDisks: z.array(diskSchema).min(1).max(8),
  /**
   * bash, run in the builder guest. It partitions and formats the source disks and leaves the new root
   * file system mounted at /target with every other file system mounted below it (and swap made with
   * mkswap). For LUKS it writes /target.crypttab (lines for /etc/crypttab). The harness then copies the
   * system onto it, writes fstab by UUID, builds the initramfs and installs the boot loader.
   */
  layout: z.string().min(1),
  tool: z.strictObject({
    /** local.conf text for the tool under test */
    localConf: z.string(),
    /** run in the booted source machine, as root */
    backupCommand: z.string().min(1),
  }),
  /** a second disk for BACKUP_URL (and the rescue image), prepared before the backup */
  backupDisk: z.strictObject({
    sizeMiB: z.number().int().min(256),
    /** "rear-format": `rear format` makes it REAR-000 (usb://); "ext4": one ext4 file system labelled REAR-000 */
    prepare: z.enum(["rear-format", "ext4"]),
    /** during recover the backup disk comes before the target disks (it is /dev/vda there): a mapping by
     *  name alone would take it for the source's first disk */
    first: z.boolean().optional(),
  }),
  /** the blank disks recover writes to; same count, bigger, smaller, or on another bus (renamed) */
  targetDisks: z.array(diskSchema).min(1).max(8),
  /** how the target machine is started for recover: the rescue ISO, its kernel and initrd, the USB disk, or
   *  "live": a live system rear did not make (the harness's Debian image with its own kernel and initramfs,
   *  no rear installed) where the OUTPUT=PORTABLE archive from the backup disk is unpacked and
   *  `rear -p -n recover` runs; "rawdisk": the OUTPUT=RAWDISK image attached as the first boot disk; "pxe": a
   *  network boot from QEMU's TFTP serving what OUTPUT=PXE wrote (pxelinux by BIOS, GRUB's network EFI
   *  program by UEFI) */
  rescueBoot: z.enum(["iso", "kernel-initrd", "usb", "live", "rawdisk", "pxe"]),
  /** rescueBoot "live": programs taken away from the live system first; with expectRefusal, recover must
   *  stop before any disk is written, naming that program (the preflight) */
  live: z.strictObject({ remove: z.array(z.string().regex(/^[a-z0-9._+-]+$/)).default([]), expectRefusal: z.string().min(1).optional() }).optional(),
  /** manifest paths (globs) and check names ("check:NAME") that may differ between source and recovered
   *  machine; each with the reason a recovery must make that change */
  allowedDifferences: z.array(z.strictObject({ path: z.string().min(1), why: z.string().min(1) })).default([]),
  /** after the comparison, further boots of the recovered machine with only some of its target disks
   *  (1-based), each of which must reach the harness job: a mirror boots from either half */
  extraBoots: z.array(z.strictObject({ disks: z.array(z.number().int().min(1)).min(1), why: z.string().min(1) })).default([]),
  /** one rescue image for many machines (RECOVERY_UPDATE_URL): the rescue ISO is not this machine's but made
   *  on another one (a builder guest with its own disks and hostname, a NIC); this machine's OUTPUT=PORTABLE
   *  archive (its localConf must make one) is served over HTTPS by the host, reached through QEMU's
   *  guestfwd, and selected by {uuid} (the recover machine's SMBIOS UUID) */
  fleetUpdate: z.strictObject({ uuid: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/) }).optional(),
  /** the backup disk is a USB stick plugged into the running source machine (test/vm/lib/udev-plug.ts): the
   *  job formats it, installs rear's udev rule, has it unplugged and plugged in again, and the backup is the
   *  one udev started (UDEV_WORKFLOW in tool.localConf) */
  udevPlug: z.boolean().optional(),
  /** BACKUP=COVE (test/vm/lib/cove.ts): the Backup Manager stand-in installed on the source machine makes the
   *  rescue ISO (rear from /opt/MXB/rear, tool.localConf its local.conf beside the vendor's site.conf) and the
   *  backup; recover boots the rescue kernel with cove_token=TOKEN. includeAgent: COVE_INCLUDE_AGENT=yes, the
   *  session also in a LocalSpeedVault on the backup disk, recover without any network */
  cove: z.strictObject({ token: z.string().min(8), includeAgent: z.boolean().default(false) }).optional(),
  /** the passphrase the source and the recovered machine ask for at boot (an encrypted root): the
   *  harness types it when "Please unlock disk" appears on the console */
  bootPassphrase: z.string().min(1).optional(),
  /** strings no file of the recovered machine may hold unless the same file held it on the source
   *  (passphrases given to the tool): the bootPassphrase is always one */
  secrets: z.array(z.string().min(4)).default([]),
  /** bash run in the builder after the boot loader is installed (GRUB on a second disk, …) */
  postInstall: z.string().min(1).optional(),
  /** seconds for each phase (defaults suit TCG) */
  timeouts: z
    .strictObject({ build: z.number().optional(), backup: z.number().optional(), recover: z.number().optional(), verify: z.number().optional() })
    .default({}),
});

export type Scenario = z.infer<typeof scenarioSchema>;

/** The firmware settings of every boot of the scenario's machine. */
export function machineFirmware(s: Pick<Scenario, "firmware" | "secureBoot">): { firmware: "bios" | "uefi"; secureBoot?: true } {
  return { firmware: s.firmware, ...(s.secureBoot ? { secureBoot: true as const } : {}) };
}

export const SCENARIO_DIR = join(import.meta.dir, "../scenarios");

/** Parses a data file against a schema; `placeholder` is the default file name, which skips the name check. */
export function parseNamedJson<T extends { name: string }>(schema: z.ZodType<T>, text: string, file: string, placeholder: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    throw new Error(`${file}: ${r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ")}`);
  }
  const base = file.replace(/^.*\//, "").replace(/\.json$/, "");
  if (base !== placeholder && r.data.name !== base) throw new Error(`${file}: name '${r.data.name}' must match the file name`);
  return r.data;
}

export function parseScenario(text: string, file = "scenario"): Scenario {
  const s = parseNamedJson(scenarioSchema, text, file, "scenario");
  if (s.secureBoot && s.firmware !== "uefi") throw new Error(`${file}: secureBoot needs firmware "uefi"`);
  if (s.live && s.rescueBoot !== "live") throw new Error(`${file}: "live" settings need rescueBoot "live"`);
  if ((s.rescueBoot === "live" || s.fleetUpdate) && !/^OUTPUT=PORTABLE$/m.test(s.tool.localConf)) throw new Error(`${file}: rescueBoot "live" and fleetUpdate need OUTPUT=PORTABLE in tool.localConf`);
  if (s.rescueBoot === "rawdisk" && !/^OUTPUT=RAWDISK$/m.test(s.tool.localConf)) throw new Error(`${file}: rescueBoot "rawdisk" needs OUTPUT=RAWDISK in tool.localConf`);
  if (s.rescueBoot === "pxe" && !/^OUTPUT=PXE$/m.test(s.tool.localConf)) throw new Error(`${file}: rescueBoot "pxe" needs OUTPUT=PXE in tool.localConf`);
  if (s.udevPlug && (s.rescueBoot !== "usb" || s.backupDisk.prepare !== "rear-format")) throw new Error(`${file}: udevPlug makes the stick with rear format and recovers from it: backupDisk.prepare "rear-format", rescueBoot "usb"`);
  if (s.cove && s.rescueBoot !== "kernel-initrd") throw new Error(`${file}: cove puts the token on the rescue kernel's line: rescueBoot "kernel-initrd"`);
  if (s.fleetUpdate && s.rescueBoot !== "iso") throw new Error(`${file}: fleetUpdate recovers from the other machine's ISO: rescueBoot "iso"`);
  return s;
}

export function loadScenario(name: string): Scenario {
  const file = join(SCENARIO_DIR, `${name}.json`);
  return parseScenario(readFileSync(file, "utf8"), file);
}

/** The names of the JSON data files in a folder, sorted. */
export function listJsonNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.replace(/\.json$/, ""))
    .sort();
}

export function listScenarios(): string[] {
  return listJsonNames(SCENARIO_DIR);
}
