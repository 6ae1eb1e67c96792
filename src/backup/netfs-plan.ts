// BACKUP=NETFS as data: what goes into the archive (ReaR's backup/NETFS/default/400_create_include_exclude_files.sh),
// how the archive is named (prep/NETFS/default/070_set_backup_archive.sh and the incremental/differential
// names of backup/NETFS/default/0x0_prepare_*), which archives a restore reads and in what order, when a
// new full backup is due, and the GNU tar command lines (500_make_backup.sh, restore/NETFS/default/400_restore_backup.sh).
// Pure: the stages run these (issue 7 in progress: this is its first part).

export interface IncludeInput {
  /** mountpoints of the active layout's filesystems (recovery/mountpoint_device), in layout order */
  mountpoints: readonly string[];
  /** EXCLUDE_MOUNTPOINTS */
  excludeMountpoints: readonly string[];
  /** BACKUP_PROG_INCLUDE */
  include: readonly string[];
  /** BACKUP_PROG_EXCLUDE */
  exclude: readonly string[];
  /** BACKUP_ONLY_INCLUDE, BACKUP_ONLY_EXCLUDE, MANUAL_INCLUDE as booleans */
  onlyInclude: boolean;
  onlyExclude: boolean;
  manualInclude: boolean;
  /** paths that must never be in the archive: the work area, the backup target's directory */
  alwaysExclude: readonly string[];
}

export interface IncludeLists {
  include: string[];
  exclude: string[];
  /** why something was left out or added, for the log */
  notes: string[];
}

const uniq = (xs: readonly string[]): string[] => [...new Set(xs.filter((x) => x !== ""))];

/**
 * The include and exclude lists of ReaR's 400_create_include_exclude_files.sh: the layout's
 * mountpoints (not the excluded ones; SLES' /.snapshots only by hand) plus BACKUP_PROG_INCLUDE, or only
 * BACKUP_PROG_INCLUDE with BACKUP_ONLY_INCLUDE / MANUAL_INCLUDE; excluded are BACKUP_PROG_EXCLUDE, the
 * excluded mountpoints' contents (not with BACKUP_ONLY_EXCLUDE) and, always, the work area and the
 * target (ReaR adds $BUILD_DIR; a backup that contains itself grows without end).
 */
export function includeExcludeLists(i: IncludeInput): IncludeLists {
  const notes: string[] = [];
  const excludedMps = new Set(i.excludeMountpoints.map((m) => m.replace(/\/+$/, "") || "/"));
  let include: string[];
  if (i.onlyInclude || i.manualInclude) {
    include = uniq(i.include);
    notes.push(`only BACKUP_PROG_INCLUDE is backed up (${i.onlyInclude ? "BACKUP_ONLY_INCLUDE" : "MANUAL_INCLUDE"})`);
  } else {
    const fromLayout = i.mountpoints.filter((m) => {
      if (excludedMps.has(m)) {
        notes.push(`${m} is not backed up (EXCLUDE_MOUNTPOINTS)`);
        return false;
      }
      // snapper's snapshots are a copy of the system: ReaR leaves them out unless asked
      if (m === "/.snapshots" || m.endsWith("/.snapshots")) {
        notes.push(`${m} is not backed up (btrfs snapshots; add it to BACKUP_PROG_INCLUDE to have it)`);
        return false;
      }
      return true;
    });
    include = uniq([...fromLayout, ...i.include]);
  }
  const exclude = uniq([
    ...i.exclude,
    ...(i.onlyExclude ? [] : [...excludedMps].map((m) => `${m}/`)),
    ...i.alwaysExclude,
  ]);
  return { include, exclude, notes };
}

export type BackupType = "full" | "incremental" | "differential";

/** BACKUP_TYPE as ReaR reads it: empty is a plain full backup with the fixed name. */
export function backupType(setting: string): BackupType | undefined {
  if (setting === "") return undefined;
  if (/^incremental$/i.test(setting)) return "incremental";
  if (/^differential$/i.test(setting)) return "differential";
  throw new Error(`BACKUP_TYPE='${setting}' is not known: write incremental, differential, or leave it empty`);
}

/** The fixed archive name: BACKUP_PROG_ARCHIVE + BACKUP_PROG_SUFFIX + BACKUP_PROG_COMPRESS_SUFFIX (backup.tar.gz). */
export function archiveName(archive: string, suffix: string, compressSuffix: string): string {
  return `${archive || "backup"}${suffix}${compressSuffix}`;
}

/** An incremental/differential chain's names: YYYY-MM-DD-HHMM-F|I|D + suffixes (local time, as ReaR's date +%Y-%m-%d-%H%M). */
export function datedArchiveName(d: Date, kind: "F" | "I" | "D", suffix: string, compressSuffix: string): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}-${kind}${suffix}${compressSuffix}`;
}

export interface DatedArchive {
  name: string;
  kind: "F" | "I" | "D";
  /** YYYY-MM-DD-HHMM, sorts as time */
  stamp: string;
}

export function parseDatedArchive(name: string): DatedArchive | undefined {
  // beside each archive: its manifest, and a killed run's hidden partial file
  if (name.startsWith(".") || /\.(sha256|md5|log|partial-\d+)$/.test(name)) return undefined;
  const m = /^(\d{4}-\d\d-\d\d-\d{4})-([FID])\./.exec(name);
  return m ? { name, kind: m[2] as "F" | "I" | "D", stamp: m[1]! } : undefined;
}

/**
 * The archives a restore reads, in order (ReaR's restore of BACKUP_TYPE): the latest full backup, then
 * every incremental after it (incremental), or only the latest differential after it (differential).
 */
export function restoreChain(names: readonly string[], type: BackupType): string[] {
  const all = names.map(parseDatedArchive).filter((a): a is DatedArchive => !!a).sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : 0));
  const fulls = all.filter((a) => a.kind === "F");
  const full = fulls.at(-1);
  if (!full) return [];
  const after = all.filter((a) => a.stamp > full.stamp);
  if (type === "incremental") return [full.name, ...after.filter((a) => a.kind === "I").map((a) => a.name)];
  if (type === "differential") {
    const d = after.filter((a) => a.kind === "D").at(-1);
    return d ? [full.name, d.name] : [full.name];
  }
  return [full.name];
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/**
 * Whether this run makes a full backup: there is none yet, today is one of FULLBACKUPDAY (Mon, Tue, …
 * as `date +%a` in the C locale), or the latest full one is more than FULLBACKUP_OUTDATED_DAYS old.
 */
export function fullBackupDue(o: { now: Date; latestFull?: Date; fullBackupDays: readonly string[]; outdatedDays: number }): { due: boolean; why: string } {
  if (!o.latestFull) return { due: true, why: "there is no full backup yet" };
  const today = WEEKDAYS[o.now.getDay()]!;
  if (o.fullBackupDays.some((d) => d.slice(0, 3).toLowerCase() === today.toLowerCase())) return { due: true, why: `today is a FULLBACKUPDAY (${today})` };
  const ageDays = (o.now.getTime() - o.latestFull.getTime()) / 86_400_000;
  if (ageDays > o.outdatedDays) return { due: true, why: `the latest full backup is ${Math.floor(ageDays)} days old (FULLBACKUP_OUTDATED_DAYS=${o.outdatedDays})` };
  return { due: false, why: `the latest full backup is ${Math.floor(ageDays)} days old` };
}

/** The date a dated archive's stamp stands for (local time). */
export function stampDate(stamp: string): Date {
  const [y, mo, d, hm] = stamp.split("-");
  return new Date(Number(y), Number(mo) - 1, Number(d), Number(hm!.slice(0, 2)), Number(hm!.slice(2)));
}

/**
 * ISO_MAX_SIZE (MiB): the size of each volume of a backup split over several ISOs, as ReaR's
 * 810_prepare_multiple_iso.sh computes it — what the first ISO has left after the kernel, the initramfs,
 * 15 MiB for isolinux and, with UEFI, 30 MiB for the EFI image; at least 100 MiB.
 */
export function isoVolumeMiB(isoMaxSize: string, kernelBytes: number, initrdBytes: number, uefi: boolean): number {
  const max = Number(isoMaxSize);
  if (!/^\d+$/.test(isoMaxSize.trim()) || max <= 0) throw new Error(`ISO_MAX_SIZE='${isoMaxSize}' is not a size in MiB (e.g. 4400 for a DVD)`);
  const chunk = max - Math.ceil((kernelBytes + initrdBytes) / 1048576) - 15 - (uefi ? 30 : 0);
  if (chunk < 100) {
    throw new Error(`ISO_MAX_SIZE=${max} leaves ${chunk} MiB for the backup beside the rescue system on the first ISO; at least 100 MiB are needed (set ISO_MAX_SIZE to ${max - chunk + 100} or more)`);
  }
  return chunk;
}

/** The label of the ISO that holds volume `index` (≥ 1) of a split backup: ReaR's `<ISO_VOLID>_NN`. */
export function volumeIsoLabel(volid: string, volumeSuffix: string): string {
  return `${volid}_${volumeSuffix}`;
}

/**
 * What the backup takes from the layout: the mountpoints of its file systems and of its mounted btrfs
 * subvolumes (ReaR's 400_create_include_exclude_files.sh adds btrfsmountedsubvol lines too). A subvolume
 * has a device number of its own, so tar --one-file-system does not descend into it from its parent:
 * without it /home or /var/lib/machines on a subvolume would be left out. In layout order, once each.
 */
export function layoutMountpoints(entries: readonly { kw: string; mountpoint?: string }[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if ((e.kw === "fs" || e.kw === "btrfsmountedsubvol") && e.mountpoint && !out.includes(e.mountpoint)) out.push(e.mountpoint);
  }
  return out;
}
