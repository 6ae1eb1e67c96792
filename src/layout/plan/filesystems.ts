// Steps for filesystems, btrfs subvolumes, swap and the mounts under /mnt/local (ReaR's
// 130_include_filesystem_code.sh, 133_include_mount_filesystem_code.sh, 135/136 btrfs, 140 swap).
// Every filesystem keeps its UUID and label, so fstab, crypttab and the boot loader config of the
// restored system still match; ext keeps block size, inode ratio, reserved blocks and tune2fs
// settings, xfs its saved geometry.
// Pure.

import type { BtrfsMountedSubvolEntry, BtrfsSubvolEntry, Entry, FsEntry, SwapEntry } from "../model.ts";
import type { PlanContext } from "./context.ts";
import { xfsGeometryOptions } from "./xfs.ts";

const NOT_MOUNTED = (dir: string) => ["sh", "-c", '! mountpoint -q "$1"', "sh", dir];

/** Mount options as saved, without what only describes the old filesystem (btrfs subvolid= changes). */
export function mountOptions(options: string | undefined): string {
  return (options ?? "defaults").split(",").filter((o) => o && !/^subvolid=/.test(o)).join(",") || "defaults";
}

function uuidFor(c: PlanContext, e: FsEntry | SwapEntry, what: string): string {
  const u = e.opts.uuid;
  if (u) return u;
  const n = c.input.uuids.next();
  c.uuidChanges.push({ device: e.device, old: "", new: n, what: `${what} had no saved UUID` });
  return n;
}

export function planMkfs(c: PlanContext, e: FsEntry, entries: readonly Entry[]): void {
  const o = e.opts;
  const id = `fs:${e.mountpoint}`;
  const label = o.label && o.label !== "" ? o.label : undefined;
  const t = e.fstype;
  if (/^ext[234]$/.test(t)) {
    const uuid = uuidFor(c, e, t);
    const argv = [`mkfs.${t}`, "-F", "-q", "-U", uuid];
    if (label) argv.push("-L", label);
    if (o.blocksize) argv.push("-b", o.blocksize);
    if (o.bytes_per_inode) argv.push("-i", o.bytes_per_inode);
    if (o.reserved_blocks) argv.push("-m", o.reserved_blocks.replace(/%$/, ""));
    argv.push(e.device);
    c.add(id, "mkfs", `Make ${t} on ${e.device} for ${e.mountpoint} (uuid ${uuid}${label ? `, label ${label}` : ""})`, argv);
    const tune: string[] = [];
    if (o.max_mounts) tune.push("-c", o.max_mounts);
    if (o.check_interval) tune.push("-i", o.check_interval);
    if (o.default_mount_options && o.default_mount_options !== "(none)") tune.push("-o", o.default_mount_options);
    if (tune.length) c.add(id, "tune2fs", `Set the saved check interval and default mount options of ${e.device}`, ["tune2fs", ...tune, e.device]);
  } else if (t === "xfs") {
    const uuid = uuidFor(c, e, t);
    const base = ["mkfs.xfs", "-f", "-m", `uuid=${uuid}`, ...(label ? ["-L", label] : [])];
    const user = c.input.xfsOptions(e.device);
    const info = c.input.xfsInfo[e.device];
    const geometry = user ?? (info ? xfsGeometryOptions(info) : []);
    // -m appears once: the uuid joins the saved metadata options
    const argv = mergeXfsMeta(base, geometry);
    c.add(id, "mkfs", `Make xfs on ${e.device} for ${e.mountpoint} (uuid ${uuid}${user ? ", MKFS_XFS_OPTIONS" : info ? ", saved geometry" : ""})`, [...argv, e.device], {
      ...(geometry.length ? { fallback: [...base, e.device] } : {}),
    });
  } else if (t === "vfat") {
    const argv = ["mkfs.vfat"];
    if (label) argv.push("-n", label);
    if (o.uuid) argv.push("-i", o.uuid.replace("-", ""));
    else c.uuidChanges.push({ device: e.device, old: "", new: "(random)", what: "vfat had no saved volume id" });
    argv.push(e.device);
    c.add(id, "mkfs", `Make vfat on ${e.device} for ${e.mountpoint}${o.uuid ? ` (id ${o.uuid})` : ""}`, argv);
  } else if (t === "btrfs") {
    const uuid = uuidFor(c, e, t);
    // mkfs.btrfs refuses a UUID the kernel already knows (the old disk is still attached): then the
    // filesystem gets a new one, which verify_layout records in fs_uuid_mapping for the finalize stage
    // the kernel remembers the devices of every btrfs it scanned, also of the old disk that is gone:
    // forget those, or mkfs.btrfs refuses the saved UUID as "non-unique". Again on every pass: a run
    // stopped after mkfs.btrfs but before its marker left this very device registered
    c.add(id, "forget", "Make the kernel forget btrfs devices that are not mounted", ["btrfs", "device", "scan", "--forget"], { mutates: false, optional: true, always: true });
    // A run stopped while mkfs.btrfs ran leaves the finished filesystem (its superblocks are written
    // last) without the marker; mkfs.btrfs -U then refuses its own UUID, found on this very device, and
    // the fallback would change it: when resuming, that filesystem is recognised instead.
    c.add(id, "mkfs", `Make btrfs on ${e.device} for ${e.mountpoint} (uuid ${uuid})`, ["mkfs.btrfs", "-f", "-U", uuid, ...(label ? ["-L", label] : []), e.device], {
      fallback: ["mkfs.btrfs", "-f", ...(label ? ["-L", label] : []), e.device],
      skipIf: ["sh", "-c", '[ "$(blkid -p -s TYPE -o value "$1")" = btrfs ] && [ "$(blkid -p -s UUID -o value "$1")" = "$2" ]', "btrfs-uuid", e.device, uuid],
    });
    planBtrfsSubvolumes(c, e, entries);
  } else {
    c.unhandled.push({ id, why: `making a ${t} filesystem is not supported by this version` });
    return;
  }
  planMount(c, id, e.device, e.mountpoint, t, e.opts.options);
}

function mergeXfsMeta(base: string[], geometry: string[]): string[] {
  const i = geometry.indexOf("-m");
  if (i < 0) return [...base, ...geometry];
  const out = [...base];
  const j = out.indexOf("-m");
  out[j + 1] = `${out[j + 1]},${geometry[i + 1]}`;
  return [...out, ...geometry.slice(0, i), ...geometry.slice(i + 2)];
}

/**
 * Subvolumes are made on the top level (subvolid=5) mounted in the work area, parents first; then the
 * default subvolume is set and no-COW subvolumes get chattr +C while they are still empty.
 */
function planBtrfsSubvolumes(c: PlanContext, e: FsEntry, entries: readonly Entry[]): void {
  const id = `fs:${e.mountpoint}`;
  // Created in the order of their saved ids, as ReaR's 135_include_btrfs_subvolumes_generic_code.sh does
  // (it follows the file, which lists them by id): btrfs hands out ids in creation order, so the
  // subvolumes get their old ids back (an fstab or a mount with subvolid= still finds them), and a parent
  // always comes before its children (it was made first). By path, @var_lib_machines would take
  // @var_log's id.
  const byId = (x: { subvolId: string }) => (/^\d+$/.test(x.subvolId) ? Number(x.subvolId) : Number.MAX_SAFE_INTEGER);
  const subvols = [
    ...new Set(
      entries
        .filter((x): x is BtrfsSubvolEntry => x.kw === "btrfsnormalsubvol" && x.device === e.device && x.mountpoint === e.mountpoint)
        .sort((a, b) => byId(a) - byId(b) || a.path.localeCompare(b.path))
        .map((x) => x.path)
        .filter((p) => p && p !== "/" && p !== "<FS_TREE>"),
    ),
  ];
  const def = entries.find((x) => x.kw === "btrfsdefaultsubvol" && x.device === e.device && x.mountpoint === e.mountpoint) as { path: string; subvolId: string } | undefined;
  const nocow = new Set(entries.filter((x) => x.kw === "btrfsnocopyonwrite").map((x) => (x as { path: string }).path));
  const wantDefault = def && def.subvolId !== "5" && def.path !== "/" && def.path !== "<FS_TREE>" ? def.path : undefined;
  if (!subvols.length && !wantDefault) return;
  const top = `${c.input.workDir}/btrfs/${e.device.replace(/^\/dev\//, "").replace(/\//g, "!")}`;
  c.add(id, "mkdir", `Make the directory to mount the btrfs top level of ${e.device}`, ["mkdir", "-p", top], { mutates: false });
  c.add(id, "mount-top", `Mount the btrfs top level of ${e.device}`, ["mount", "-t", "btrfs", "-o", "subvolid=5", e.device, top], { skipIf: ["mountpoint", "-q", top] });
  const made = new Set<string>();
  for (const p of subvols) {
    const parent = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
    if (parent && !made.has(parent) && !subvols.includes(parent)) c.add(id, "mkdir", `Make directory ${parent} on the btrfs top level`, ["mkdir", "-p", `${top}/${parent}`]);
    c.add(id, "subvolume", `Create btrfs subvolume ${p}`, ["btrfs", "subvolume", "create", `${top}/${p}`], { skipIf: ["btrfs", "subvolume", "show", `${top}/${p}`] });
    made.add(p);
    if (nocow.has(p)) c.add(id, "nocow", `Turn off copy-on-write for subvolume ${p}`, ["chattr", "+C", `${top}/${p}`]);
  }
  if (wantDefault) c.add(id, "set-default", `Make subvolume ${wantDefault} the default`, ["btrfs", "subvolume", "set-default", `${top}/${wantDefault}`]);
  c.add(id, "umount-top", `Unmount the btrfs top level of ${e.device}`, ["umount", top], { skipIf: NOT_MOUNTED(top) });
}

export function planMount(c: PlanContext, id: string, device: string, mountpoint: string, fstype: string, options: string | undefined): void {
  const dir = c.target(mountpoint);
  c.add(id, "mkdir", `Make mountpoint ${dir}`, ["mkdir", "-p", dir], { skipIf: ["test", "-d", dir] });
  c.add(id, "mount", `Mount ${device} at ${dir}`, ["mount", "-t", fstype, "-o", mountOptions(options), device, dir], { skipIf: ["mountpoint", "-q", dir] });
  c.mounts.push(mountpoint);
}

export function planMountedSubvol(c: PlanContext, e: BtrfsMountedSubvolEntry, entries: readonly Entry[]): void {
  // the subvolume mounted where the filesystem itself is mounted is that mount
  if (entries.some((x) => x.kw === "fs" && x.device === e.device && x.mountpoint === e.mountpoint)) return;
  planMount(c, `btrfsmountedsubvol:${e.mountpoint}`, e.device, e.mountpoint, "btrfs", e.options);
}

export function planSwap(c: PlanContext, e: SwapEntry): void {
  const uuid = uuidFor(c, e, "swap");
  const argv = ["mkswap", "-f", "-U", uuid];
  if (e.opts.label) argv.push("-L", e.opts.label);
  argv.push(e.device);
  c.add(`swap:${e.device}`, "mkswap", `Make swap on ${e.device} (uuid ${uuid})`, argv);
}
