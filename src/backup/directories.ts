// The directories a restore must leave even when the backup does not hold them (ReaR's
// prep/default/400_save_directories.sh and restore/default/900_create_missing_directories.sh): the
// mountpoints (of filesystems excluded from the backup or the layout, of /proc, /sys, /dev, /run, …) and
// the FHS directories, with their modes and owners, and the FHS symbolic links (/bin -> usr/bin). A
// mountpoint missing after the restore makes its fstab line fail at boot. Owners are numeric: the
// backup keeps numeric owners too (tar --numeric-owner). Pure.

/** FHS directories and usrmerge links, as ReaR's FHSdirectories. */
export const FHS = [
  "/bin", "/boot", "/dev", "/etc", "/etc/opt", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt", "/opt", "/proc", "/root", "/run",
  "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/include", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/local", "/usr/sbin",
  "/usr/share", "/usr/src", "/var", "/var/cache", "/var/lib", "/var/lock", "/var/log", "/var/opt", "/var/run", "/var/spool", "/var/tmp",
];

export type DirEntry = { path: string; kind: "dir"; mode: number; uid: string; gid: string } | { path: string; kind: "link"; target: string };

/** Mountpoints worth keeping: not below the pseudo filesystems' own trees (/proc/…, /sys/…, /dev/…, /run/…), nor below `skip`. */
export function mountpointsToKeep(mountpoints: readonly string[], skip: readonly string[]): string[] {
  const inside = (p: string, d: string) => p === d || p.startsWith(d.endsWith("/") ? d : `${d}/`);
  const out = mountpoints.filter((m) => m.startsWith("/") && m !== "/" && !["/proc", "/sys", "/dev", "/run"].some((d) => m.startsWith(`${d}/`)) && !skip.some((s) => s && inside(m, s)));
  return [...new Set(out)].sort();
}

/** ReaR's file format: `dir mode owner group` (octal mode) or `link -> target`. */
export function renderDirectories(entries: readonly DirEntry[]): string {
  return entries.map((e) => (e.kind === "link" ? `${e.path} -> ${e.target}\n` : `${e.path} ${e.mode.toString(8)} ${e.uid} ${e.gid}\n`)).join("");
}

export function parseDirectories(text: string, where: string): DirEntry[] {
  const out: DirEntry[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const l = raw.trim();
    if (!l || l.startsWith("#")) continue;
    const link = /^(\/\S*) -> (\S+)$/.exec(l);
    if (link) {
      out.push({ path: link[1]!, kind: "link", target: link[2]! });
      continue;
    }
    const dir = /^(\/\S*) ([0-7]{3,4}) (\S+) (\S+)$/.exec(l);
    if (!dir) throw new Error(`${where} line ${i + 1}: '${l}' is neither 'dir mode owner group' nor 'link -> target'`);
    out.push({ path: dir[1]!, kind: "dir", mode: parseInt(dir[2]!, 8), uid: dir[3]!, gid: dir[4]! });
  }
  return out;
}

/** Parents before children, so that creating in order works. */
export function inCreationOrder(entries: readonly DirEntry[]): DirEntry[] {
  return [...entries].sort((a, b) => a.path.split("/").length - b.path.split("/").length || (a.path < b.path ? -1 : 1));
}
