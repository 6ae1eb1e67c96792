// Unpacks the embedded skeleton (skel/ of the source tree, built into the binary) into the rescue tree:
// ReaR's rescue/default/010_merge_skeletons.sh. Modes, symlinks and empty directories come with it.

import { chmodSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { assets, type Asset } from "../assets.ts";

export function unpackSkel(root: string, entries: readonly Asset[] = assets()): number {
  let n = 0;
  for (const a of entries) {
    if (!a.path.startsWith("skel/") && a.path !== "skel") continue;
    const rel = a.path.slice(5);
    const dest = join(root, rel);
    if (a.type === "dir") {
      mkdirSync(dest, { recursive: true });
      chmodSync(dest, a.mode);
    } else if (a.type === "symlink") {
      mkdirSync(dirname(dest), { recursive: true });
      try {
        lstatSync(dest);
      } catch {
        symlinkSync(a.linkpath!, dest);
      }
    } else {
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, a.data!, { mode: a.mode });
      chmodSync(dest, a.mode);
    }
    n++;
  }
  return n;
}
