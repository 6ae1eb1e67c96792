// /etc/ld.so.conf: the directories ldconfig puts into /etc/ld.so.cache, which ld.so searches after
// DT_RPATH, LD_LIBRARY_PATH and DT_RUNPATH (ld.so(8), ldconfig(8)). Sample (Debian):
//   include /etc/ld.so.conf.d/*.conf       ← glob; each match read in sorted order, as if inline
//   # libc default configuration           ← '#' starts a comment anywhere on a line
//   /usr/local/lib                         ← one directory per line (trailing slashes dropped)
//   hwcap 1 nosegneg                       ← old hwcap directive, ignored as ldconfig does
// Read as glibc's ldconfig parse_conf() reads it: "include" takes blank-separated patterns, a relative
// pattern is taken from the directory of the including file; a file already being read is not read
// again (ldconfig itself would recurse without end: /etc/ld.so.conf.d/loop.conf including itself).

import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { globRegExp } from "./glob-regexp.ts";
import { RootFs } from "./root-path.ts";

export interface LdSoConfIo {
  /** File contents, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  /** Paths matching a glob(7) pattern (absolute in, absolute out). */
  glob(pattern: string): string[];
}

/** The library directories an ld.so.conf names, in order, duplicates dropped. */
export function parseLdSoConf(path: string, io: LdSoConfIo): string[] {
  const dirs: string[] = [];
  readConf(path, io, new Set(), dirs);
  return [...new Set(dirs)];
}

function readConf(path: string, io: LdSoConfIo, reading: Set<string>, dirs: string[]): void {
  if (reading.has(path)) return;
  const text = io.readFile(path);
  if (text === undefined) return;
  reading.add(path);
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    // "include" is matched case-sensitively, "hwcap" not (strncmp vs strncasecmp in parse_conf)
    const include = /^include[ \t]+(.*)$/.exec(line);
    if (include) {
      for (const pattern of (include[1] as string).split(/[ \t]+/).filter(Boolean)) {
        const abs = pattern.startsWith("/") || !path.includes("/") ? pattern : posix.join(posix.dirname(path), pattern);
        for (const f of [...io.glob(abs)].sort()) readConf(f, io, reading, dirs);
      }
    } else if (/^hwcap[ \t]/i.test(line)) {
      continue;
    } else if (line.startsWith("/")) {
      // ldconfig refuses relative directories ("relative path used to build cache")
      dirs.push(line.replace(/\/+$/, "") || "/");
    }
  }
  reading.delete(path);
}

/** glob(3) without flags on one path component (a leading dot is matched only by a dot: see the caller). */
const componentRegex = (pattern: string): RegExp => globRegExp(pattern, { slashes: false });

const MAGIC = /[*?[]/;

/** Glob inside a tree (see RootFs): sorted matches of an absolute pattern, as paths inside the tree. */
export function globInRoot(fs: RootFs, pattern: string): string[] {
  let found = ["/"];
  for (const part of pattern.split("/").filter(Boolean)) {
    const next: string[] = [];
    for (const dir of found) {
      const join = (n: string) => (dir === "/" ? `/${n}` : `${dir}/${n}`);
      if (!MAGIC.test(part)) {
        next.push(join(part.replace(/\\(.)/g, "$1")));
        continue;
      }
      const re = componentRegex(part);
      for (const n of fs.listDir(dir) ?? []) {
        if (n.startsWith(".") && !part.startsWith(".")) continue;
        if (re.test(n)) next.push(join(n));
      }
    }
    found = next;
  }
  return found.filter((p) => fs.resolvePath(p) !== undefined).sort();
}

/** The directories of `<root>/etc/ld.so.conf` (or `conf`, a path inside the tree), includes followed inside the tree. */
export function readLdSoConf(root = "/", conf = "/etc/ld.so.conf", fs = new RootFs(root)): string[] {
  return parseLdSoConf(conf, {
    readFile(p) {
      const real = fs.resolvePath(p);
      if (real === undefined) return undefined;
      try {
        return readFileSync(fs.hostPath(real), "utf8");
      } catch {
        return undefined;
      }
    },
    glob: (p) => globInRoot(fs, p),
  });
}
