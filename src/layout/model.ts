// The layout model: what a machine's storage is, as plain data. Its entries are ReaR's disklayout.conf
// keywords (reference §5.2), so the file users know and edit maps one to one onto it and back; each
// entry carries an id in ReaR's naming (diskdeps.conf: `/dev/sda1`, `pv:/dev/sda2`, `fs:/home`, …) and
// the ids it depends on are derived (deps.ts), never stored by hand.
//
// Probes add facts disklayout.conf has no place for (disk serial/WWN/by-id, sector size, partition
// type GUIDs, PARTUUIDs for 2.7-style files, …) in `facts`; the disklayout writer ignores them and
// `layout.json` keeps them for migration (mapping disks by identity).
//
// Pure: no I/O, no Bun API.

import { z } from "zod";

/** `key=value` options in written order (JS keeps insertion order for non-numeric keys). */
const Opts = z.record(z.string(), z.string());

export const DiskEntry = z.object({
  kw: z.literal("disk"),
  device: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  /** msdos | gpt | gpt_sync_mbr | dasd | "" (a disk without a partition table: ReaR writes nothing) */
  label: z.string(),
  /** the dasd fields after the label (s390), kept as written */
  rest: z.array(z.string()).default([]),
});

export const PartEntry = z.object({
  kw: z.literal("part"),
  disk: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  startBytes: z.number().int().nonnegative(),
  /** primary | extended | logical (msdos) or the percent-encoded GPT name (`rear-noname` when empty) */
  name: z.string(),
  /** parted's flags that ReaR keeps; [] is written `none` */
  flags: z.array(z.string()),
  device: z.string(),
  /** ReaR ≥ 2.8 writes the PARTUUID (or `no-partuuid`) as an 8th field; 2.7 does not */
  partuuid: z.string().optional(),
});

export const RaidArrayEntry = z.object({ kw: z.literal("raidarray"), device: z.string(), opts: Opts });
export const RaidDiskEntry = z.object({ kw: z.literal("raiddisk"), fields: z.array(z.string()) });

export const LvmDevEntry = z.object({
  kw: z.literal("lvmdev"),
  vg: z.string(),
  device: z.string(),
  uuid: z.string(),
  /** the size of the device under the PV in 512-byte sectors (`pvdisplay -c` field 3), although ReaR's header comment says bytes */
  size: z.number().int().nonnegative(),
});

export const LvmGrpEntry = z.object({
  kw: z.literal("lvmgrp"),
  vg: z.string(),
  /** extent size in KiB as ReaR writes it (vgdisplay -c field 13) */
  extentSize: z.number().int().positive(),
  extents: z.number().int().nonnegative(),
  /** in KiB (`vgdisplay -c` field 12) */
  size: z.number().int().nonnegative(),
});

export const LvmVolEntry = z.object({
  kw: z.literal("lvmvol"),
  vg: z.string(),
  lv: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  /** lvs segtype/layout: linear, striped, thin-pool, thin, raid1, mirror, … */
  layout: z.string(),
  /** `key:value` options (thinpool:, poolmetadatasize:, chunksize:, stripes:, stripesize:, mirrors:, …) */
  opts: Opts,
});

export const CryptEntry = z.object({ kw: z.literal("crypt"), device: z.string(), source: z.string(), opts: Opts });

export const FsEntry = z.object({
  kw: z.literal("fs"),
  device: z.string(),
  mountpoint: z.string(),
  fstype: z.string(),
  /** uuid=, label=, type specific, options= (always last; its value may hold `=`) */
  opts: Opts,
});

export const BtrfsSubvolEntry = z.object({
  kw: z.enum(["btrfsdefaultsubvol", "btrfsnormalsubvol", "btrfssnapshotsubvol"]),
  device: z.string(),
  mountpoint: z.string(),
  subvolId: z.string(),
  path: z.string(),
});

export const BtrfsMountedSubvolEntry = z.object({
  kw: z.literal("btrfsmountedsubvol"),
  device: z.string(),
  mountpoint: z.string(),
  options: z.string(),
  path: z.string(),
});

export const BtrfsNoCowEntry = z.object({ kw: z.literal("btrfsnocopyonwrite"), path: z.string() });

export const SwapEntry = z.object({ kw: z.literal("swap"), device: z.string(), opts: Opts });

export const MultipathEntry = z.object({
  kw: z.literal("multipath"),
  device: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  label: z.string(),
  slaves: z.array(z.string()),
});

/** Keywords we read and write back but do not model further (drbd, opaldisk, smartarray, logicaldrive, dasd_channel, and any newer keyword). */
export const OtherEntry = z.object({ kw: z.literal("other"), keyword: z.string(), fields: z.array(z.string()) });

export const Entry = z.discriminatedUnion("kw", [
  DiskEntry, PartEntry, RaidArrayEntry, RaidDiskEntry, LvmDevEntry, LvmGrpEntry, LvmVolEntry, CryptEntry, FsEntry,
  BtrfsSubvolEntry, BtrfsMountedSubvolEntry, BtrfsNoCowEntry, SwapEntry, MultipathEntry, OtherEntry,
]);

export type DiskEntry = z.infer<typeof DiskEntry>;
export type PartEntry = z.infer<typeof PartEntry>;
export type RaidArrayEntry = z.infer<typeof RaidArrayEntry>;
export type LvmDevEntry = z.infer<typeof LvmDevEntry>;
export type LvmGrpEntry = z.infer<typeof LvmGrpEntry>;
export type LvmVolEntry = z.infer<typeof LvmVolEntry>;
export type CryptEntry = z.infer<typeof CryptEntry>;
export type FsEntry = z.infer<typeof FsEntry>;
export type BtrfsSubvolEntry = z.infer<typeof BtrfsSubvolEntry>;
export type BtrfsMountedSubvolEntry = z.infer<typeof BtrfsMountedSubvolEntry>;
export type SwapEntry = z.infer<typeof SwapEntry>;
export type MultipathEntry = z.infer<typeof MultipathEntry>;
export type OtherEntry = z.infer<typeof OtherEntry>;
export type Entry = z.infer<typeof Entry>;

/** Keywords with a typed shape; anything else is an OtherEntry. */
export const MODELED_KEYWORDS = [
  "disk", "part", "raidarray", "raiddisk", "lvmdev", "lvmgrp", "lvmvol", "crypt", "fs", "btrfsdefaultsubvol",
  "btrfsnormalsubvol", "btrfssnapshotsubvol", "btrfsmountedsubvol", "btrfsnocopyonwrite", "swap", "multipath",
] as const;
/** Keywords ReaR writes that we keep as fields (s390, DRBD, OPAL, HP Smart Array). */
export const KNOWN_OTHER_KEYWORDS = ["drbd", "opaldisk", "smartarray", "logicaldrive", "dasd_channel", "dasdfmt"] as const;

/** Facts the probes know that disklayout.conf cannot hold, by component id. */
export const DiskFacts = z.object({
  serial: z.string().optional(),
  wwn: z.string().optional(),
  model: z.string().optional(),
  byId: z.array(z.string()).optional(),
  logicalSectorSize: z.number().int().optional(),
  physicalSectorSize: z.number().int().optional(),
  rotational: z.boolean().optional(),
  removable: z.boolean().optional(),
  transport: z.string().optional(),
  /** GPT disk GUID / MBR disk identifier */
  ptuuid: z.string().optional(),
});
export const PartFacts = z.object({ partuuid: z.string().optional(), typeId: z.string().optional(), partName: z.string().optional() });
export const VolumeFacts = z.object({ uuid: z.string().optional(), segtype: z.string().optional(), pbkdf: z.string().optional(), fsUsedBytes: z.number().int().nonnegative().optional() });
/** one record per component id; the fields of whichever kind it is (unknown keys are kept, not stripped) */
export const Facts = z.record(z.string(), z.looseObject({ ...DiskFacts.shape, ...PartFacts.shape, ...VolumeFacts.shape }));

/** One line of disklayout.conf: a comment (kept verbatim), a blank line, or an entry (possibly disabled). */
export const DocLine = z.union([
  z.object({ t: z.literal("comment"), text: z.string() }),
  z.object({ t: z.literal("blank") }),
  z.object({
    t: z.literal("entry"),
    disabled: z.boolean(),
    entry: Entry,
    /** the blanks after each token as read, only when they are not single spaces (ReaR 2.7 writes a
     *  trailing blank after `lvmvol … linear` and `crypt … uuid=…`, two before an xfs `options=`) */
    ws: z.array(z.string()).optional(),
  }),
]);
export type DocLine = z.infer<typeof DocLine>;

/** disklayout.conf as data, line by line, so writing it back gives the same file. */
export interface LayoutDoc {
  lines: DocLine[];
}

export const LAYOUT_JSON_FORMAT = "rear-layout/1";

/** layout.json: the document plus what only the probes know. */
export const LayoutJson = z.object({
  format: z.literal(LAYOUT_JSON_FORMAT),
  created: z.string(),
  host: z.object({
    hostname: z.string(),
    firmware: z.enum(["bios", "uefi"]).optional(),
    /** ReaR's word for recovery/bootloader */
    bootloader: z.string().optional(),
    /** on UEFI: what the ESP holds (GRUB2-EFI, with shim, systemd-boot) */
    uefiLoader: z.string().optional(),
  }),
  lines: z.array(DocLine),
  facts: Facts.default({}),
});
export type LayoutJson = z.infer<typeof LayoutJson>;

/** The active entries of a document (not commented out). */
export function activeEntries(doc: LayoutDoc): Entry[] {
  const out: Entry[] = [];
  for (const l of doc.lines) if (l.t === "entry" && !l.disabled) out.push(l.entry);
  return out;
}

/** All entries with their disabled flag. */
export function allEntries(doc: LayoutDoc): { entry: Entry; disabled: boolean }[] {
  const out: { entry: Entry; disabled: boolean }[] = [];
  for (const l of doc.lines) if (l.t === "entry") out.push({ entry: l.entry, disabled: l.disabled });
  return out;
}

/** `/dev/mapper/<vg>-<lv>` as device-mapper names it: a `-` inside either name is doubled. */
export function lvMapperName(vg: string, lv: string): string {
  const vgName = vg.replace(/^\/dev\//, "");
  return `/dev/mapper/${vgName.replace(/-/g, "--")}-${lv.replace(/-/g, "--")}`;
}

/**
 * The component id of an entry, in ReaR's diskdeps.conf naming, or undefined for lines that are not
 * components (raiddisk, btrfs subvolume lines, btrfsnocopyonwrite: they belong to their filesystem).
 */
export function entryId(e: Entry): string | undefined {
  switch (e.kw) {
    case "disk":
    case "part":
    case "raidarray":
    case "crypt":
    case "multipath":
      return e.device;
    case "lvmdev":
      return `pv:${e.device}`;
    case "lvmgrp":
      return e.vg;
    case "lvmvol":
      return lvMapperName(e.vg, e.lv);
    case "fs":
      return `fs:${e.mountpoint}`;
    case "swap":
      return `swap:${e.device}`;
    case "btrfsmountedsubvol":
      return `btrfsmountedsubvol:${e.mountpoint}`;
    case "other":
      if (e.keyword === "drbd") return e.fields[0];
      if (e.keyword === "opaldisk") return e.fields[0] ? `opaldisk:${e.fields[0]}` : undefined;
      return undefined;
    default:
      return undefined;
  }
}

/** The keyword of an entry as written in disklayout.conf. */
export function keywordOf(e: Entry): string {
  return e.kw === "other" ? e.keyword : e.kw;
}
