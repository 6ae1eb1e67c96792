// Paths inside a directory tree taken as "/", as a process chroot(2)ed into it would see them: an
// absolute symlink (/usr/lib64/ld-linux-x86-64.so.2 → /lib/x86_64-linux-gnu/…) points into the tree,
// ".." stops at the tree's top, so nothing is ever looked up on the host outside it (path_resolution(7),
// with the tree as the process's root directory). With the root "/" this is plain path resolution.
// Results are cached: a RootFs is for one pass over a tree that does not change meanwhile.

import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { posix } from "node:path";

// path_resolution(7): Linux gives up after 40 symlinks in one lookup (ELOOP).
const MAX_LINKS = 40;

type Node = { kind: "dir" | "file" } | { kind: "link"; target: string } | { kind: "missing" };

export class RootFs {
  /** Host path of the tree's top, without a trailing slash ("" for "/"). */
  private readonly top: string;
  private readonly nodes = new Map<string, Node>();
  private readonly listings = new Map<string, Set<string> | undefined>();
  private readonly reals = new Map<string, string | undefined>();

  constructor(root = "/") {
    this.top = posix.resolve(root).replace(/\/+$/, "");
  }

  /** The host path of a path inside the tree (no symlink is followed). */
  hostPath(p: string): string {
    return this.top + posix.resolve("/", p);
  }

  /** lstat of a path whose parent directories are real (no symlinks), cached. */
  private inspect(real: string): Node {
    let n = this.nodes.get(real);
    if (n) return n;
    try {
      const st = lstatSync(this.top + real);
      n = st.isSymbolicLink() ? { kind: "link", target: readlinkSync(this.top + real, "utf8") } : { kind: st.isDirectory() ? "dir" : "file" };
    } catch {
      n = { kind: "missing" };
    }
    this.nodes.set(real, n);
    return n;
  }

  /** Every symlink followed, inside the tree; undefined when a component is missing, not a directory, or loops. */
  resolvePath(p: string): string | undefined {
    const abs = p.startsWith("/") ? p : "/" + p;
    if (this.reals.has(abs)) return this.reals.get(abs);
    const out = this.walk(abs);
    this.reals.set(abs, out);
    return out;
  }

  private walk(abs: string): string | undefined {
    const queue = abs.split("/").reverse(); // a stack: the next component is the last element
    let cur = "";
    let links = 0;
    while (queue.length) {
      const c = queue.pop() as string;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        cur = cur.slice(0, cur.lastIndexOf("/"));
        continue;
      }
      const next = `${cur}/${c}`;
      const n = this.inspect(next);
      if (n.kind === "missing") return undefined;
      if (n.kind === "link") {
        if (++links > MAX_LINKS) return undefined;
        if (n.target.startsWith("/")) cur = "";
        for (const t of n.target.split("/").reverse()) queue.push(t);
        continue;
      }
      if (n.kind === "file" && queue.some((q) => q !== "" && q !== ".")) return undefined; // ENOTDIR
      cur = next;
    }
    return cur || "/";
  }

  /**
   * The path as given, then each symlink the final component leads through, ending with the file
   * itself: /lib64/ld-linux-x86-64.so.2, /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2. A relative target
   * is put beside the link (libtinfo.so.6 → /lib/x86_64-linux-gnu/libtinfo.so.6.4), with any "../" in it
   * taken from the link's real directory as the kernel does; an absolute one is kept as written.
   * `real` is the resolved path (undefined when the chain breaks).
   */
  linkChain(p: string): { chain: string[]; real?: string } {
    const chain = [this.tidyPath(p)];
    let dir = this.resolvePath(posix.dirname(chain[0] as string));
    let name = posix.basename(chain[0] as string);
    for (let links = 0; dir !== undefined && links <= MAX_LINKS; links++) {
      if (name === "" || name === "." || name === "..") return { chain, real: this.resolvePath(`${dir}/${name}`) };
      const here = dir === "/" ? `/${name}` : `${dir}/${name}`;
      const n = this.inspect(here);
      if (n.kind === "missing") return { chain };
      if (n.kind !== "link") return { chain, real: here };
      // A relative target is joined to the directory as reported (the natural name); tidyPath takes
      // any ".." from the real directory.
      const prev = chain[chain.length - 1] as string;
      const next = this.tidyPath(n.target.startsWith("/") ? n.target : `${posix.dirname(prev)}/${n.target}`);
      chain.push(next);
      dir = this.resolvePath(posix.dirname(next));
      name = posix.basename(next);
    }
    return { chain };
  }

  /**
   * A path with "." and ".." taken out the way the kernel would take them: by resolving the directory
   * part when it has either (a lexical cleanup is wrong after a symlinked directory), else as written.
   */
  tidyPath(p: string): string {
    const abs = posix.join("/", p);
    if (!/(^|\/)\.\.?(\/|$)/.test(p)) return abs;
    const raw = (p.startsWith("/") ? p : "/" + p).replace(/\/+$/, "");
    const base = posix.basename(raw);
    if (base === "." || base === "..") return this.resolvePath(raw) ?? abs;
    const dir = this.resolvePath(posix.dirname(raw));
    return dir === undefined ? abs : dir === "/" ? `/${base}` : `${dir}/${base}`;
  }

  /** Names in a directory of the tree (after resolving it), cached; undefined when it is no directory. */
  listDir(dir: string): Set<string> | undefined {
    const real = this.resolvePath(dir);
    if (real === undefined) return undefined;
    if (this.listings.has(real)) return this.listings.get(real);
    let names: Set<string> | undefined;
    try {
      names = new Set(readdirSync(this.top + real));
    } catch {
      names = undefined;
    }
    this.listings.set(real, names);
    return names;
  }
}
