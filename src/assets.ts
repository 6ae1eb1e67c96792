// The files built into the binary (conf/ and skel/), read from the embedded tarball. The tarball is
// parsed once, on first use, with the `tar` package; --version and help never touch it.

import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import * as tar from "tar";
import { assetsPath } from "../embedded/index.ts";

export interface Asset {
  path: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  linkpath?: string;
  data?: Buffer;
}

let cache: Asset[] | undefined;

/** Every entry of the embedded tarball, in archive order. */
export function assets(tarballPath: string = assetsPath): Asset[] {
  if (cache && tarballPath === assetsPath) return cache;
  const raw = gunzipSync(readFileSync(tarballPath));
  const out: Asset[] = [];
  const parser = new tar.Parser({
    onReadEntry(entry) {
      const type = entry.type === "Directory" ? "dir" : entry.type === "SymbolicLink" ? "symlink" : "file";
      const a: Asset = { path: entry.path.replace(/\/$/, ""), type, mode: (entry.mode ?? 0) & 0o7777 };
      if (entry.linkpath) a.linkpath = entry.linkpath;
      if (type === "file") {
        const chunks: Buffer[] = [];
        entry.on("data", (c: Buffer) => chunks.push(c));
        entry.on("end", () => (a.data = Buffer.concat(chunks)));
      } else entry.resume();
      out.push(a);
    },
  });
  parser.end(raw);
  for (const a of out) if (a.type === "file" && !a.data) throw new Error(`embedded asset ${a.path} was not read completely`);
  if (tarballPath === assetsPath) cache = out;
  return out;
}

/** The embedded conf/ files as text, keyed by their path below conf/ ("default.conf", "GNU/Linux.conf"). */
export function embeddedConfs(tarballPath?: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of assets(tarballPath)) if (a.type === "file" && a.path.startsWith("conf/")) m.set(a.path.slice(5), a.data!.toString("utf8"));
  return m;
}
