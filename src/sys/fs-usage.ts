// How full a file system is, for progress lines of restores that write through another program.

import { statfsSync } from "node:fs";

/** Bytes in use on the file system of `dir` (0 when it cannot be asked). */
export function usedBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return (s.blocks - s.bfree) * s.bsize;
  } catch {
    return 0;
  }
}
