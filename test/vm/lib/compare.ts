// Comparing the truth of the source machine with that of the recovered machine. Pure: it reads the
// files guest/collect-truth.sh wrote (passed in as text) and returns checks with pass/fail and details.

export interface Check {
  name: string;
  ok: boolean;
  /** failed, but the scenario allows it ("check:NAME" in allowedDifferences) */
  allowed?: boolean;
  details: string[];
}

export interface ManifestEntry {
  type: string;
  mode: string;
  uid: string;
  gid: string;
  size: number;
  nlink: number;
  inode: string;
  sparse: number;
  link: string;
}

export interface Truth {
  manifest: Map<string, ManifestEntry>;
  sha256: Map<string, string>;
  xattrs: Map<string, Record<string, string>>;
  lsblk: unknown;
  findmnt: unknown;
  swaps: string;
  /** `lsattr -d` of each mount point; "" when the truth predates it */
  attrs: string;
  /** "fs UUID default PATH" and "fs UUID subvolume PATH" lines */
  btrfs: string;
}

export interface TruthTexts {
  manifest: string;
  sha256: string;
  xattrs: string;
  lsblk: string;
  findmnt: string;
  swaps?: string;
  attrs?: string;
  btrfs?: string;
}

/** `find -printf '%y\t%#m\t%U\t%G\t%s\t%n\t%D:%i\t%S\t%p\t%l\n'` lines. */
export function parseManifest(text: string): Map<string, ManifestEntry> {
  const m = new Map<string, ManifestEntry>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const f = line.split("\t");
    if (f.length < 10) throw new Error(`manifest: malformed line: ${line.slice(0, 120)}`);
    const [type, mode, uid, gid, size, nlink, inode, sparse, path, ...rest] = f;
    m.set(path!, { type: type!, mode: mode!, uid: uid!, gid: gid!, size: Number(size), nlink: Number(nlink), inode: inode!, sparse: Number(sparse), link: rest.join("\t") });
  }
  return m;
}

/** `sha256sum` lines: "<hash>  <path>". */
export function parseSha256(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const r = /^([0-9a-f]{64})  (.*)$/.exec(line);
    if (r) m.set(r[2]!, r[1]!);
  }
  return m;
}

/** `getfattr -d -m - --absolute-names -e hex` output: "# file: /p" then "name=0x…" lines. */
export function parseXattrs(text: string): Map<string, Record<string, string>> {
  const m = new Map<string, Record<string, string>>();
  let cur: Record<string, string> | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("# file: ")) {
      cur = {};
      m.set(line.slice(8), cur);
    } else if (cur && line.includes("=")) {
      const i = line.indexOf("=");
      cur[line.slice(0, i)] = line.slice(i + 1);
    }
  }
  return m;
}

export function parseTruth(t: TruthTexts): Truth {
  return {
    manifest: parseManifest(t.manifest),
    sha256: parseSha256(t.sha256),
    xattrs: parseXattrs(t.xattrs),
    lsblk: JSON.parse(t.lsblk || "{}"),
    findmnt: JSON.parse(t.findmnt || "{}"),
    swaps: t.swaps ?? "",
    attrs: t.attrs ?? "",
    btrfs: t.btrfs ?? "",
  };
}

/** Glob over paths: `**` any characters, `*` any except '/', `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * Paths that differ between two boots of the same machine, or because the truth of the source is taken
 * before the backup command runs — never because of what a recovery did:
 */
export const ALWAYS_ALLOWED = [
  // logs and runtime state every boot writes (the journal, wtmp, systemd's timers and random seed,
  // DHCP leases, the shell history of the harness's own login)
  "/var/log", "/var/log/**", "/var/lib/systemd/**", "/var/lib/dhcp/**", "/var/cache/**", "/root/.bash_history", "/root/.cache/**",
  // the harness's job directory, and /var/tmp which the tools' work areas use
  "/var/tmp/**",
  // the guest image's NFS and SMB servers (for the backup test) write their state at every boot: on
  // the source after its truth was taken, on the recovered machine before
  "/var/lib/samba/**", "/var/lib/nfs/**", "/etc/apparmor.d/samba/**",
  // Debian's daily timers are Persistent=: the first boot on a new day runs the missed ones, so a
  // recovered machine booted after midnight (UTC) has what dpkg-db-backup.timer (/var/backups/*.0),
  // logrotate.timer and apt-daily*.timer wrote, and its source, whose truth was taken the day before,
  // has not (CI's bios-raid1 run crossed midnight: dpkg.status.0 and friends were "extra")
  "/var/backups/**", "/var/lib/logrotate/**", "/var/lib/apt/periodic/**", "/var/lib/apt/lists/**",
  // written by the backup command after the source's truth was taken (its layout, recovery data, lock,
  // output, os.conf, the log in /root), so in the backup but not in the truth; /var/log/rear/recover is
  // the recovery's own record
  "/var/lib/rear", "/var/lib/rear/**", "/etc/rear/os.conf", "/root/rear-*.log",
];

/**
 * What ReaR 2.7's recover changes in every recovered system (it rebuilds the initramfs on Debian and
 * reinstalls GRUB, which rewrites grubenv, the modules and the EFI files; LVM writes its metadata
 * archive; the rebuilt initramfs updates ld.so.cache and initramfs-tools' state): allowed for its runs so
 * that its results show the differences that matter. Our recover must not need them (a scenario names
 * each path it allows, with the reason).
 */
export const REAR27_REWRITES = [
  "/boot/initrd.img-*", "/boot/grub/**", "/boot/efi/EFI/**", "/etc/lvm/archive/**", "/etc/lvm/backup/**", "/etc/mdadm/mdadm.conf",
  "/etc/ld.so.cache", "/var/lib/initramfs-tools/**", "/lost+found/**",
];

export const CANARY_AFTER_BACKUP = "/root/recovery_will_remove_me";

function allowedBy(globs: string[]): (p: string) => boolean {
  const res = globs.map(globToRegExp);
  return (p) => res.some((r) => r.test(p));
}

function check(name: string, details: string[], allowedChecks: Set<string>): Check {
  const ok = details.length === 0;
  return { name, ok, ...(!ok && allowedChecks.has(name) ? { allowed: true } : {}), details: details.slice(0, 25).concat(details.length > 25 ? [`… and ${details.length - 25} more`] : []) };
}

interface BlockDev {
  name?: string;
  type?: string;
  size?: number | string;
  fstype?: string | null;
  label?: string | null;
  uuid?: string | null;
  partlabel?: string | null;
  serial?: string | null;
  mountpoint?: string | null;
  children?: BlockDev[];
}

/** The storage as a list of lines, with kernel names left out (sda on one side may be nvme0n1 on the other). */
export function layoutLines(lsblk: unknown): string[] {
  const out: string[] = [];
  const devs = ((lsblk as { blockdevices?: BlockDev[] }).blockdevices ?? []).filter(
    (d) => d.type === "disk" && !/^(harness|backup)/.test(d.serial ?? ""),
  );
  const walk = (d: BlockDev, depth: number): string[] => {
    const own = `${"  ".repeat(depth)}${d.type} size=${d.size} fs=${d.fstype ?? ""} label=${d.label ?? ""} uuid=${d.uuid ?? ""} partlabel=${d.partlabel ?? ""} mount=${d.mountpoint ?? ""}`;
    const kids = (d.children ?? []).map((c) => ({ c, lines: walk(c, depth + 1) }));
    // logical volumes come in device-mapper minor order, i.e. the order they were activated at boot, which is
    // no part of the layout: LVs under one parent are compared by what they are. Partitions keep their order
    // (their numbers are part of the layout).
    const lvs = kids.filter((k) => k.c.type === "lvm").sort((a, b) => (a.lines.join("\n") < b.lines.join("\n") ? -1 : 1));
    let li = 0;
    return [own, ...kids.flatMap((k) => (k.c.type === "lvm" ? lvs[li++]!.lines : k.lines))];
  };
  devs.forEach((d) => out.push(...walk(d, 0)));
  return out;
}

function mountLines(findmnt: unknown): string[] {
  const out: string[] = [];
  const walk = (fs: { target?: string; fstype?: string; children?: unknown[] }[]) => {
    for (const f of fs) {
      if (f.target && !/^\/(proc|sys|dev|run)(\/|$)/.test(f.target)) out.push(`${f.target} ${f.fstype}`);
      walk((f.children ?? []) as never);
    }
  };
  walk(((findmnt as { filesystems?: unknown[] }).filesystems ?? []) as never);
  return out.sort();
}

/** Every check compareTruth may produce (a rejudge replaces these and keeps the run's others). */
export const COMPARE_CHECKS: ReadonlySet<string> = new Set([
  "layout", "layout-sizes", "mounts", "swap", "file-attributes", "btrfs-subvolumes", "canary-after-backup-gone",
  "files-present", "files-extra", "file-metadata", "file-content", "xattrs", "sparse-files", "hardlinks",
]);

export function compareTruth(before: Truth, after: Truth, allowedDifferences: string[] = []): Check[] {
  const allowedChecks = new Set(allowedDifferences.filter((a) => a.startsWith("check:")).map((a) => a.slice(6)));
  const isAllowed = allowedBy([...ALWAYS_ALLOWED, ...allowedDifferences.filter((a) => !a.startsWith("check:"))]);
  const checks: Check[] = [];

  // "check:layout-sizes": the target disks have other sizes (a migration): the layout must be the same
  // but for sizes, and the sizes that differ are listed in their own check, allowed
  const sizesMayDiffer = allowedChecks.has("layout-sizes");
  const noSize = (l: string) => l.replace(/ size=\S*/, "");
  // disks in any order (the recovered machine's may come in another order: the mapping follows size and
  // layout, not the name), each with what is on it
  const byDisk = (lines: string[]) => {
    const blocks: string[][] = [];
    for (const l of lines) (l.startsWith("disk ") || !blocks.length ? blocks.push([l]) : blocks[blocks.length - 1]!.push(l));
    const key = (b: string[]) => (sizesMayDiffer ? b.map(noSize) : b).join("\n");
    return blocks.sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0)).flat();
  };
  const lb = byDisk(layoutLines(before.lsblk));
  const la = byDisk(layoutLines(after.lsblk));
  const layoutDiff: string[] = [];
  const sizeDiff: string[] = [];
  for (let i = 0; i < Math.max(lb.length, la.length); i++) {
    if (lb[i] === la[i]) continue;
    const line = `source: ${lb[i] ?? "(none)"} | recovered: ${la[i] ?? "(none)"}`;
    if (sizesMayDiffer && lb[i] !== undefined && la[i] !== undefined && noSize(lb[i]!) === noSize(la[i]!)) sizeDiff.push(line);
    else layoutDiff.push(line);
  }
  if (lb.length === 0) layoutDiff.push("no disks in the source's lsblk output");
  checks.push(check("layout", layoutDiff, allowedChecks));
  if (sizesMayDiffer) checks.push(check("layout-sizes", sizeDiff, allowedChecks));

  const mb = mountLines(before.findmnt);
  const ma = mountLines(after.findmnt);
  checks.push(check("mounts", [...mb.filter((m) => !ma.includes(m)).map((m) => `missing: ${m}`), ...ma.filter((m) => !mb.includes(m)).map((m) => `extra: ${m}`)], allowedChecks));

  const swapCount = (s: string) => s.split("\n").filter((l) => l.trim()).length;
  checks.push(check("swap", swapCount(before.swaps) === swapCount(after.swaps) ? [] : [`source has ${swapCount(before.swaps)} swap areas, recovered ${swapCount(after.swaps)}`], allowedChecks));

  // chattr attributes of the mount points ("---------------C------ /var/lib/machines"), and the btrfs
  // subvolumes with the default one; only when the source's truth has them (older truths lack the files)
  const lineSet = (t: string) => t.split("\n").map((l) => l.trim().replace(/\s+/g, " ")).filter(Boolean);
  const setDiff = (b: string[], a: string[]) => [...b.filter((l) => !a.includes(l)).map((l) => `source only: ${l}`), ...a.filter((l) => !b.includes(l)).map((l) => `recovered only: ${l}`)];
  // "I" (an ext4 directory's hashed index) comes from how many entries a directory had, not a setting
  const attrLines = (t: string) => lineSet(t).map((l) => l.replace(/^(\S*)/, (f) => f.replaceAll("I", "-")));
  if (before.attrs.trim()) checks.push(check("file-attributes", setDiff(attrLines(before.attrs), attrLines(after.attrs)), allowedChecks));
  if (before.btrfs.trim()) checks.push(check("btrfs-subvolumes", setDiff(lineSet(before.btrfs), lineSet(after.btrfs)), allowedChecks));

  checks.push(check("canary-after-backup-gone", after.manifest.has(CANARY_AFTER_BACKUP) ? [`${CANARY_AFTER_BACKUP} exists: the recovered files are not those of the backup`] : [], allowedChecks));

  const missing: string[] = [];
  const extra: string[] = [];
  const meta: string[] = [];
  const content: string[] = [];
  const xattr: string[] = [];
  const sparse: string[] = [];
  for (const [p, b] of before.manifest) {
    if (p === CANARY_AFTER_BACKUP || isAllowed(p)) continue;
    const a = after.manifest.get(p);
    if (!a) {
      missing.push(p);
      continue;
    }
    const diffs: string[] = [];
    for (const k of ["type", "mode", "uid", "gid", "link"] as const) if (a[k] !== b[k]) diffs.push(`${k} ${b[k]} → ${a[k]}`);
    if (b.type === "f" && a.size !== b.size) diffs.push(`size ${b.size} → ${a.size}`);
    if (diffs.length) meta.push(`${p}: ${diffs.join(", ")}`);
    const sb = before.sha256.get(p);
    if (b.type === "f" && sb !== undefined && after.sha256.get(p) !== sb) content.push(p);
    const xb = JSON.stringify(before.xattrs.get(p) ?? {});
    const xa = JSON.stringify(after.xattrs.get(p) ?? {});
    if (xb !== xa) xattr.push(`${p}: ${xb} → ${xa}`);
    if (b.type === "f" && b.size >= 1 << 20 && b.sparse < 0.5 && a.sparse >= 0.99) sparse.push(`${p}: sparseness ${b.sparse} → ${a.sparse}`);
  }
  for (const p of after.manifest.keys()) if (!before.manifest.has(p) && p !== CANARY_AFTER_BACKUP && !isAllowed(p)) extra.push(p);
  checks.push(check("files-present", missing, allowedChecks));
  checks.push(check("files-extra", extra, allowedChecks));
  checks.push(check("file-metadata", meta, allowedChecks));
  checks.push(check("file-content", content, allowedChecks));
  checks.push(check("xattrs", xattr, allowedChecks));
  checks.push(check("sparse-files", sparse, allowedChecks));

  // hard links: paths that share an inode on the source must share one after recovery
  const groups = new Map<string, string[]>();
  for (const [p, e] of before.manifest) {
    if (e.type === "f" && e.nlink > 1 && !isAllowed(p)) groups.set(e.inode, [...(groups.get(e.inode) ?? []), p]);
  }
  const hl: string[] = [];
  for (const paths of groups.values()) {
    if (paths.length < 2) continue;
    const inodes = new Set(paths.map((p) => after.manifest.get(p)?.inode ?? `missing:${p}`));
    if (inodes.size !== 1) hl.push(`${paths.join(" = ")} are no longer one file`);
  }
  checks.push(check("hardlinks", hl, allowedChecks));
  return checks;
}
