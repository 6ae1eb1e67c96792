// The rescue system's directory tree: host files copied to the same paths, each symlink kept as a
// symlink and followed to its target, so library chains (libfoo.so.1 → libfoo.so.1.2.3) and
// alternatives (/usr/bin/awk → /etc/alternatives/awk → /usr/bin/mawk) work as on the host. The tree's
// skeleton makes /bin, /sbin, /usr/bin, /usr/sbin one directory and /usr/lib, /lib64 links to /lib
// (ReaR's build/GNU/Linux/005_create_symlinks.sh: all programs flat in /bin), so a host path lands in
// the right place through those links. Files are copied as they are: never stripped (our own binary
// loses its embedded program when stripped), never rewritten.

import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, statSync, symlinkSync, utimesSync } from "node:fs";
import { dirname, join, posix } from "node:path";

export interface CopyStats {
  files: number;
  bytes: number;
  links: number;
}

/** tar --exclude-like matching of absolute host paths: a glob against the whole path or any tail of it. */
export function makeExcluder(patterns: readonly string[]): (path: string) => boolean {
  const globs = patterns.filter(Boolean).map((p) => new Bun.Glob(p.replace(/^\.?\//, "")));
  if (!globs.length) return () => false;
  return (path) => {
    const parts = path.replace(/^\/+/, "").split("/");
    for (let i = 0; i < parts.length; i++) {
      const tail = parts.slice(i).join("/");
      if (globs.some((g) => g.match(tail))) return true;
    }
    return false;
  };
}

export class RescueTree {
  readonly stats: CopyStats = { files: 0, bytes: 0, links: 0 };
  private readonly seen = new Set<string>();
  /** host paths of the regular files copied, in order */
  readonly copied: string[] = [];
  /** paths that could not be copied (vanished, unreadable), with the reason */
  readonly failed: { path: string; reason: string }[] = [];

  constructor(
    readonly root: string,
    private readonly host = "/",
    private readonly onProgress?: (s: CopyStats) => void,
  ) {}

  /** The tree path of an absolute path. */
  at(path: string): string {
    return join(this.root, path);
  }

  private hostPath(path: string): string {
    return this.host === "/" ? path : join(this.host, path);
  }

  /**
   * Copies a host path (file, symlink chain, or directory when `recursive`) to the same path in the
   * tree. Returns false when the host has no such path.
   */
  add(path: string, o: { recursive?: boolean; exclude?: (p: string) => boolean } = {}): boolean {
    path = posix.normalize(path);
    if (o.exclude?.(path)) return true;
    const key = `${path}${o.recursive ? "/**" : ""}`;
    if (this.seen.has(key)) return true;
    let st;
    try {
      st = lstatSync(this.hostPath(path));
    } catch {
      return false;
    }
    this.seen.add(key);
    const dest = this.at(path);
    try {
      if (st.isSymbolicLink()) {
        const target = readlinkSync(this.hostPath(path));
        const resolved = target.startsWith("/") ? target : posix.join(posix.dirname(path), target);
        // /usr/sbin/ip → /bin/ip on a merged-/usr host: both names are one /bin/ip in the flat tree, where
        // the link would point at itself. The tree gets the file the link leads to instead.
        if (this.placeOf(resolved) === this.placeOf(path)) {
          if (!this.exists(dest)) this.copyFile(realpathSync(this.hostPath(path)), dest, path);
          return true;
        }
        if (!this.exists(dest)) {
          mkdirSync(dirname(dest), { recursive: true });
          symlinkSync(target, dest);
          this.stats.links++;
        }
        this.add(resolved, o);
      } else if (st.isDirectory()) {
        this.ensureDir(path, st.mode & 0o7777);
        if (o.recursive) for (const n of readdirSync(this.hostPath(path)).sort()) this.add(posix.join(path, n), o);
      } else if (st.isFile()) {
        if (!this.exists(dest)) this.copyFile(this.hostPath(path), dest, path);
      }
      // sockets, fifos and device nodes are not copied: the rescue system makes its own /dev
    } catch (e) {
      this.failed.push({ path, reason: (e as Error).message });
    }
    return true;
  }

  private copyFile(from: string, dest: string, path: string): void {
    const st = statSync(from);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(from, dest);
    chmodSync(dest, st.mode & 0o7777);
    utimesSync(dest, st.atime, st.mtime);
    this.stats.files++;
    this.copied.push(path);
    this.stats.bytes += st.size;
    if (this.stats.files % 500 === 0) this.onProgress?.(this.stats);
  }

  /** Where a path's entry lives in the tree: its directory with the tree's links followed, and its name. */
  placeOf(path: string): string {
    const parts = posix.normalize(path).split("/").filter(Boolean);
    const name = parts.pop() ?? "";
    let dir = "/";
    for (let i = 0, hops = 0; i < parts.length; i++) {
      const next = posix.join(dir, parts[i]!);
      let st;
      try {
        st = lstatSync(this.at(next));
      } catch {
        return posix.join(next, ...parts.slice(i + 1), name);
      }
      if (st.isSymbolicLink() && hops++ < 40) {
        const t = readlinkSync(this.at(next));
        const rest = parts.slice(i + 1);
        const base = posix.normalize(t.startsWith("/") ? t : posix.join(dir, t));
        parts.splice(0, parts.length, ...base.split("/").filter(Boolean), ...rest);
        dir = "/";
        i = -1;
        continue;
      }
      dir = next;
    }
    return posix.join(dir, name);
  }

  /** Copies a host file to another path of the tree (our binary → /usr/sbin/rear); its libraries are resolved like the others'. */
  addAs(hostPath: string, path: string, mode: number): void {
    const dest = this.at(path);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(hostPath, dest);
    chmodSync(dest, mode);
    this.stats.files++;
    this.stats.bytes += statSync(dest).size;
    this.copied.push(hostPath);
  }

  /** Copies a host directory's contents to another directory of the tree, links dereferenced (ReaR's `cp -r -L $CONFIG_DIR/. rootfs/etc/rear/`). */
  addDirAs(hostDir: string, path: string, exclude?: (p: string) => boolean): void {
    mkdirSync(this.at(path), { recursive: true });
    for (const n of readdirSync(hostDir).sort()) {
      const h = join(hostDir, n);
      if (exclude?.(h)) continue;
      let st;
      try {
        st = statSync(h);
      } catch {
        continue;
      }
      if (st.isDirectory()) this.addDirAs(h, posix.join(path, n), exclude);
      else if (st.isFile()) this.addAs(h, posix.join(path, n), st.mode & 0o7777);
    }
  }

  private exists(p: string): boolean {
    try {
      lstatSync(p);
      return true;
    } catch {
      return false;
    }
  }

  private ensureDir(path: string, mode: number): void {
    const dest = this.at(path);
    if (existsSync(dest)) return; // through the skeleton's links (/usr/bin → /bin) or already made
    mkdirSync(dest, { recursive: true });
    chmodSync(dest, mode);
  }

  /** Every symlink in the tree whose target is missing inside the tree, as [link, target in tree terms]. */
  brokenLinks(): [string, string][] {
    const out: [string, string][] = [];
    const walk = (rel: string) => {
      for (const n of readdirSync(this.at(rel)).sort()) {
        const p = posix.join(rel, n);
        const st = lstatSync(this.at(p));
        if (st.isSymbolicLink()) {
          const t = readlinkSync(this.at(p));
          const resolved = t.startsWith("/") ? t : posix.join(posix.dirname(p), t);
          if (/^\/(proc|sys|dev|run)(\/|$)/.test(resolved)) continue;
          if (!this.resolvesInside(p)) out.push([p, resolved]);
        } else if (st.isDirectory()) walk(p);
      }
    };
    walk("/");
    return out;
  }

  /** Whether a tree path resolves to an existing file, following links inside the tree (not the host). */
  resolvesInside(path: string, depth = 0): boolean {
    if (depth > 40) return false;
    const parts = path.split("/").filter(Boolean);
    let cur = "/";
    for (let i = 0; i < parts.length; i++) {
      const next = posix.join(cur, parts[i]!);
      let st;
      try {
        st = lstatSync(this.at(next));
      } catch {
        return false;
      }
      if (st.isSymbolicLink()) {
        const t = readlinkSync(this.at(next));
        const resolved = posix.normalize(t.startsWith("/") ? t : posix.join(cur, t));
        const rest = parts.slice(i + 1).join("/");
        return this.resolvesInside(rest ? posix.join(resolved, rest) : resolved, depth + 1);
      }
      cur = next;
    }
    return true;
  }

  /** Copies the targets of broken links from the host (ReaR's build/default/490_fix_broken_links.sh). */
  fixBrokenLinks(): { fixed: string[]; broken: [string, string][] } {
    const fixed: string[] = [];
    for (let round = 0; round < 5; round++) {
      const broken = this.brokenLinks();
      if (!broken.length) return { fixed, broken: [] };
      let progress = false;
      for (const [link, target] of broken) {
        if (this.add(target, { recursive: isDir(this.hostPath(target)) })) {
          fixed.push(`${link} → ${target}`);
          progress = true;
        }
      }
      if (!progress) return { fixed, broken };
    }
    return { fixed, broken: this.brokenLinks() };
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
