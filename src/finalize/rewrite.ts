/**
 * Rewrite what names devices in a restored system's configuration, after `rear recover` recreated the
 * disks (possibly on other disks, possibly with filesystem UUIDs it could not keep).
 *
 * Pure: plain strings in, plain strings out. No I/O, no Bun API, no subprocess. The caller reads the
 * files listed by `filesToPatch()` under the restored root (resolving symlinks inside that root,
 * skipping targets on /proc, /sys, /dev, /run), calls `rewriteFile`, saves the original and writes
 * the result.
 *
 * Replaces these ReaR scripts (usr/share/rear/finalize/GNU/Linux/):
 *   - 250_migrate_disk_devices_layout.sh (apply_layout_mappings over FILES_TO_PATCH_PATTERNS),
 *   - 260_rename_diskbyid.sh (/dev/disk/by-id names),
 *   - 280_migrate_uuid_tags.sh (fs_uuid_mapping),
 * and covers files ReaR does not patch: /etc/default/grub(.d), BLS entries, initramfs-tools'
 * conf.d/resume, mdadm.conf, LVM's devices file, /etc/kernel/cmdline.
 *
 * Deliberate differences from ReaR:
 *   - One pass: every device name, by-id name and UUID of a line is found by one scan and replaced
 *     by looking it up, instead of chains of `sed` with _REARn_ placeholders. A swap (sda↔sdb) or a
 *     chain (sda→sdb, sdb→sdc) cannot be applied twice, and nothing is left to clean up.
 *   - Whole tokens only: /dev/sda1 never matches inside /dev/sda10, a UUID never inside a longer one.
 *   - Only the lines that must change are rewritten, and in fstab/crypttab only the device field;
 *     every other byte (comments, blanks, order, trailing newline, CRLF) is kept.
 *   - Originals are not left as `*.rearbak` (or under var/lib/rear/saved_original_files) in the
 *     restored system: the caller keeps them in the rescue system.
 *   - Names stay names: /dev/mapper/<name>, /dev/disk/by-id/dm-name-<name>, LABEL= and PARTLABEL=
 *     are never rewritten because of a UUID inside them (a LUKS mapping called luks-<uuid> keeps its
 *     name: crypttab's first field chose it and is not rewritten). They change only when listed
 *     as a whole in `devices`/`byId`. Likewise the name half of rd.luks.name=<uuid>=<name>, of
 *     cryptdevice=<device>:<name> and of /dev/disk/by-id/dm-uuid-CRYPT-LUKS2-<hex>-<name>.
 *   - In LVM's devices file, an entry identified by WWID or serial (IDTYPE=sys_wwid, wwid,
 *     sys_serial) is returned unchanged: the new disk's identity is unknown here. ReaR renames the
 *     whole file to .rearbak (230_remove_lvmdevices.sh); the caller decides, helped by `skipped`.
 */

export interface DeviceRenames {
  /** old device path → new one: whole disks and partitions, e.g. "/dev/sda" → "/dev/nvme0n1", "/dev/sda2" → "/dev/nvme0n1p2"; also /dev/mapper and /dev/md names when they changed */
  devices: Readonly<Record<string, string>>;
  /** old UUID → new UUID (filesystems, swap, LUKS, MD arrays), compared case-insensitively; MD UUIDs may be written with colons (mdadm: 8 hex:8 hex:…) or dashes */
  uuids: Readonly<Record<string, string>>;
  /** old /dev/disk/by-id name → new one ("/dev/disk/by-id/ata-OLD-part2" → "/dev/disk/by-id/nvme-NEW-part2"), optional */
  byId?: Readonly<Record<string, string>>;
}
export type RewriteKind =
  | "fstab"
  | "crypttab"
  | "default-grub"
  | "grub-cfg"
  | "mdadm-conf"
  | "lvm-devices"
  | "kernel-cmdline"
  | "generic";
export interface LineChange {
  line: number;
  before: string;
  after: string;
}
/** A line that names a renamed device but was deliberately kept as it is (see `reason`). */
export interface LineSkipped {
  line: number;
  text: string;
  reason: string;
}
export interface RewriteResult {
  text: string;
  changes: LineChange[];
  /** Lines kept although a rename concerns them (LVM devices file entries by WWID/serial); absent or empty when none. */
  skipped?: LineSkipped[];
}

// ---------------------------------------------------------------------------------------------
// Token replacement (one scan per line)

/** Characters that continue a device name: "/dev/sda1" followed by one of these is another name. */
const DEV_START = String.raw`(?<![A-Za-z0-9_.\-/])`;
const DEV_END = String.raw`(?![A-Za-z0-9_+@\-]|[./:][A-Za-z0-9_])`;
const HEX = "[0-9a-fA-F]";
/** UUID spellings, longest first: 8-4-4-4-12, mdadm's 8:8:8:8, 32 plain (cryptomount -u, dm-uuid), NTFS 16, FAT 4-4. */
const UUID_SHAPES = [
  `${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}`,
  `${HEX}{8}:${HEX}{8}:${HEX}{8}:${HEX}{8}`,
  `${HEX}{32}`,
  `${HEX}{16}`,
  `${HEX}{4}-${HEX}{4}`,
].join("|");

/** Kernel names of whole disks, whose partitions can be derived when only the disk is mapped. */
const KERNEL_DISK = /^\/dev\/(?:(?:[shv]d|xvd|dasd)[a-z]+|nvme\d+n\d+|mmcblk\d+|md\d+|nbd\d+|loop\d+|rbd\d+|pmem\d+|cciss\/c\d+d\d+)$/;
const BY_ID_DISK = /^\/dev\/disk\/by-id\/[^/\s]+$/;
const BY_ID_PART = /-part\d+$/;

type DiskStyle = "plain" | "p" | "by-id";
function diskStyle(path: string): DiskStyle | undefined {
  if (BY_ID_DISK.test(path)) return BY_ID_PART.test(path) ? undefined : "by-id";
  if (!KERNEL_DISK.test(path)) return undefined;
  return /\d$/.test(path) ? "p" : "plain";
}
const SEPARATOR: Record<DiskStyle, string> = { plain: "", p: "p", "by-id": "-part" };

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
function alternation(keys: Iterable<string>): string {
  return [...keys]
    .sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
    .map(escapeRegExp)
    .join("|");
}
function canonicalUuid(s: string): string {
  return s.replace(/[-:]/g, "").toLowerCase();
}

/** The new UUID spelled like the old token: same separators at the same places, same letter case. */
function spellLike(token: string, newRaw: string): string {
  const newCanon = canonicalUuid(newRaw);
  const oldCanon = canonicalUuid(token);
  if (newCanon.length !== oldCanon.length) return newRaw;
  let i = 0;
  let out = "";
  for (const ch of token) out += ch === "-" || ch === ":" ? ch : newCanon[i++];
  const letters = token.replace(/[^a-fA-F]/g, "");
  const upper = letters ? letters === letters.toUpperCase() : /[A-F]/.test(newRaw) && !/[a-f]/.test(newRaw);
  return upper ? out.toUpperCase() : out;
}

interface Replacer {
  /** Replace every renamed device, by-id name and UUID token of `s` in one scan. */
  (s: string): string;
  /** Old device/by-id names mapped to different new ones, and UUIDs (canonical) mapped to different ones. */
  readonly devices: ReadonlyMap<string, string>;
  readonly uuids: ReadonlyMap<string, string>;
}

function buildReplacer(r: DeviceRenames): Replacer {
  const devices = new Map<string, string>();
  for (const [from, to] of Object.entries(r.byId ?? {})) if (from && to && from !== to) devices.set(from, to);
  for (const [from, to] of Object.entries(r.devices)) if (from && to && from !== to) devices.set(from, to);
  const uuids = new Map<string, string>();
  for (const [from, to] of Object.entries(r.uuids)) {
    if (from && to && canonicalUuid(from) !== canonicalUuid(to)) uuids.set(canonicalUuid(from), to);
  }
  // Whole disks whose partitions are renamed along with them when not listed themselves
  // (ReaR's disk_mappings list only disks): both names must be recognisable disk names.
  const disks = new Map<string, { style: DiskStyle; to: string; toStyle: DiskStyle }>();
  for (const [from, to] of devices) {
    const style = diskStyle(from);
    const toStyle = diskStyle(to);
    if (style && toStyle) disks.set(from, { style, to, toStyle });
  }

  const parts: string[] = [
    // rd.luks.name=<uuid>=<name> (systemd): only the UUID half is a reference.
    String.raw`(?<lnKey>(?<![^\s"'])(?:rd\.)?luks\.name=)(?<lnUuid>[^=\s"']+)(?<lnRest>=[^\s"']*)`,
    // cryptdevice=<device>:<name>[:options] (Arch): only the device half is a reference.
    String.raw`(?<cdKey>(?<![^\s"'])cryptdevice=)(?<cdDev>[^:\s"']+)(?<cdRest>:[^\s"']*)?`,
  ];
  const devAlts: string[] = [];
  if (devices.size) devAlts.push(`(?<exact>${alternation(devices.keys())})`);
  if (disks.size) devAlts.push(`(?<disk>${alternation(disks.keys())})(?<sep>-part|p)?(?<num>\\d+)`);
  if (devAlts.length) parts.push(`${DEV_START}(?:${devAlts.join("|")})${DEV_END}`);
  // /dev/disk/by-id/dm-uuid-CRYPT-LUKS2-<uuid, 32 hex>-<dm name>: the UUID follows the LUKS header, the name stays.
  parts.push(String.raw`(?<cryptId>${DEV_START}/dev/disk/by-id/dm-uuid-CRYPT-[A-Za-z0-9]+-)(?<cryptHex>${HEX}{32})(?<cryptName>-[^\s"',;()=|]+)`);
  // Names that may contain a UUID but are names: consumed unchanged so the UUID scan skips them.
  parts.push(
    String.raw`(?<name>${DEV_START}(?:/dev/mapper/|/dev/disk/by-id/dm-name-)[^\s"',;()=|]+|(?<![A-Za-z0-9_])(?:PART)?LABEL=(?:"[^"]*"|'[^']*'|[^\s"',;]+))`,
  );
  parts.push(`(?<![0-9A-Za-z])(?<uuid>${UUID_SHAPES})(?![0-9A-Za-z])`);
  const re = new RegExp(parts.join("|"), "g");

  const replace = (s: string): string => {
    if (!devices.size && !uuids.size) return s;
    return s.replace(re, (match: string, ...args: unknown[]) => {
      const g = args[args.length - 1] as Record<string, string | undefined>;
      if (g.lnKey !== undefined) return g.lnKey + replace(g.lnUuid ?? "") + (g.lnRest ?? "");
      if (g.cdKey !== undefined) return g.cdKey + replace(g.cdDev ?? "") + (g.cdRest ?? "");
      if (g.cryptId !== undefined) return g.cryptId + replace(g.cryptHex ?? "") + (g.cryptName ?? "");
      if (g.exact !== undefined) return devices.get(g.exact) ?? match;
      if (g.disk !== undefined) {
        const d = disks.get(g.disk);
        if (!d || (g.sep ?? "") !== SEPARATOR[d.style]) return match;
        return d.to + SEPARATOR[d.toStyle] + g.num;
      }
      if (g.uuid !== undefined) {
        const to = uuids.get(canonicalUuid(g.uuid));
        return to === undefined ? match : spellLike(g.uuid, to);
      }
      return match; // a protected name
    });
  };
  return Object.assign(replace, { devices, uuids });
}

// ---------------------------------------------------------------------------------------------
// Per-kind line handling

type LineRewriter = (line: string, lineNo: number, skip: (reason: string) => void) => string;

function isComment(line: string): boolean {
  return /^\s*#/.test(line);
}

/** Replace inside the n-th (0-based) whitespace-separated field only. */
function inField(line: string, n: number, f: (s: string) => string): string {
  const m = new RegExp(String.raw`^(\s*(?:\S+\s+){${n}})(\S+)`).exec(line);
  if (!m) return line;
  const head = m[1] ?? "";
  const field = m[2] ?? "";
  return head + f(field) + line.slice(head.length + field.length);
}

const WWID_TYPES = new Set(["sys_wwid", "wwid", "sys_serial"]);

/**
 * LVM devices file (lvmdevices(8)), one device per line:
 *   IDTYPE=devname IDNAME=/dev/sda2 DEVNAME=/dev/sda2 PVID=Xy3…(32) PART=2
 *   IDTYPE=sys_wwid IDNAME=naa.600… DEVNAME=/dev/sdb1 PVID=… PART=1
 */
function rewriteLvmDevicesLine(line: string, rep: Replacer, skip: (reason: string) => void): string {
  if (isComment(line) || !/\bIDTYPE=/.test(line)) return line;
  const idType = /\bIDTYPE=(\S*)/.exec(line)?.[1] ?? "";
  const rewritten = line.replace(/(?<![^\s])(IDNAME|DEVNAME|PVID)=(\S*)/g, (_m, key: string, value: string) => {
    if (key !== "PVID") return `${key}=${rep(value)}`;
    const to = rep.uuids.get(canonicalUuid(value));
    return `${key}=${to === undefined ? value : to.replace(/-/g, "")}`;
  });
  if (!WWID_TYPES.has(idType)) return rewritten;
  if (rewritten !== line) {
    skip(`IDTYPE=${idType}: the device was renamed but this entry names the disk by ${idType === "sys_serial" ? "serial number" : "WWID"}, which is unknown for the new disk`);
  }
  return line;
}

function lineRewriter(kind: RewriteKind, rep: Replacer): LineRewriter {
  switch (kind) {
    case "fstab":
      return (l) => (isComment(l) ? l : inField(l, 0, rep));
    case "crypttab":
      return (l) => (isComment(l) ? l : inField(l, 1, rep));
    case "default-grub":
      return (l) => {
        const m = /^(\s*(?:export\s+)?GRUB_CMDLINE_[A-Z0-9_]*=)(.*)$/s.exec(l);
        return m ? (m[1] ?? "") + rep(m[2] ?? "") : l;
      };
    case "grub-cfg":
    case "mdadm-conf":
      return (l) => (isComment(l) ? l : rep(l));
    case "lvm-devices":
      return (l, _n, skip) => rewriteLvmDevicesLine(l, rep, skip);
    case "kernel-cmdline":
    case "generic":
      return (l) => rep(l);
  }
}

/** The file with only the lines that must change rewritten; every other byte kept (comments, blanks, order, trailing newline). */
export function rewriteFile(kind: RewriteKind, text: string, r: DeviceRenames): RewriteResult {
  const rep = buildReplacer(r);
  if (!rep.devices.size && !rep.uuids.size) return { text, changes: [] };
  const rewrite = lineRewriter(kind, rep);
  const lines = text.split("\n");
  const changes: LineChange[] = [];
  const skipped: LineSkipped[] = [];
  const out = lines.map((line, i) => {
    const after = rewrite(line, i + 1, (reason) => skipped.push({ line: i + 1, text: line, reason }));
    if (after !== line) changes.push({ line: i + 1, before: line, after });
    return after;
  });
  const result: RewriteResult = { text: changes.length ? out.join("\n") : text, changes };
  if (skipped.length) result.skipped = skipped;
  return result;
}

// ---------------------------------------------------------------------------------------------

const FILES: readonly { path: string; kind: RewriteKind }[] = [
  { path: "etc/fstab", kind: "fstab" },
  { path: "etc/crypttab", kind: "crypttab" },
  { path: "etc/default/grub", kind: "default-grub" },
  { path: "etc/default/grub.d/*.cfg", kind: "default-grub" },
  { path: "etc/sysconfig/grub", kind: "default-grub" }, // RHEL: a symlink to ../default/grub
  { path: "boot/grub/grub.cfg", kind: "grub-cfg" },
  { path: "boot/grub2/grub.cfg", kind: "grub-cfg" },
  { path: "boot/efi/*/*/grub.cfg", kind: "grub-cfg" }, // the ESP stub (EFI/<vendor>/grub.cfg) that searches /boot by UUID; FAT keeps any case, so no "EFI"
  { path: "boot/loader/entries/*.conf", kind: "generic" }, // BLS "options root=… resume=…"
  { path: "etc/kernel/cmdline", kind: "kernel-cmdline" },
  { path: "etc/mdadm/mdadm.conf", kind: "mdadm-conf" },
  { path: "etc/mdadm.conf", kind: "mdadm-conf" },
  { path: "etc/lvm/devices/system.devices", kind: "lvm-devices" },
  { path: "etc/initramfs-tools/conf.d/resume", kind: "generic" }, // RESUME=UUID=…
  { path: "etc/sysconfig/bootloader", kind: "generic" }, // SUSE DEFAULT_APPEND="resume=…"
  { path: "etc/default/grub_installdevice", kind: "generic" }, // SUSE: by-id names of the boot disks
  { path: "etc/uswsusp.conf", kind: "generic" },
  { path: "etc/kdump.conf", kind: "generic" }, // "xfs UUID=…" dump target
  { path: "etc/zipl.conf", kind: "generic" },
  { path: "etc/lvm/lvm.conf", kind: "generic" }, // filters naming devices (ReaR 260)
  // The rest of ReaR's FILES_TO_PATCH_PATTERNS (minus etc/mtab, a link into /proc):
  { path: "boot/grub.conf", kind: "generic" },
  { path: "boot/menu.lst", kind: "generic" },
  { path: "boot/device.map", kind: "generic" },
  { path: "etc/grub.conf", kind: "generic" },
  { path: "boot/grub/grub.conf", kind: "generic" },
  { path: "boot/grub/menu.lst", kind: "generic" },
  { path: "boot/grub/device.map", kind: "generic" },
  { path: "boot/grub2/grub.conf", kind: "generic" },
  { path: "boot/grub2/menu.lst", kind: "generic" },
  { path: "boot/grub2/device.map", kind: "generic" },
  { path: "etc/lilo.conf", kind: "generic" },
  { path: "etc/elilo.conf", kind: "generic" },
  { path: "etc/yaboot.conf", kind: "generic" },
  { path: "etc/mtools.conf", kind: "generic" },
  { path: "etc/smartd.conf", kind: "generic" },
  { path: "etc/sysconfig/smartmontools", kind: "generic" },
  { path: "etc/sysconfig/rawdevices", kind: "generic" },
  { path: "etc/security/pam_mount.conf.xml", kind: "generic" },
];

/**
 * Which files of a restored system to look at, relative to its root, and their kind. A `*` stands for
 * one path component (glob it under the restored root). Several entries may name the same file through
 * a symlink (etc/sysconfig/grub → etc/default/grub): resolve inside the restored root and patch each
 * real file once. Never patch grubenv (a fixed-size block: use grub2-editenv).
 */
export function filesToPatch(): readonly { path: string; kind: RewriteKind }[] {
  return FILES;
}

/** Whether any rename applies at all (identity mapping and no UUID change: finalize skips the step and says why). */
export function isIdentity(r: DeviceRenames): boolean {
  const rep = buildReplacer(r);
  return rep.devices.size === 0 && rep.uuids.size === 0;
}
