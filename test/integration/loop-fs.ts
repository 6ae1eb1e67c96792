// A filesystem of its own on a loop device (a second disk, a USB disk): backup targets and restore
// targets of the integration tests. The caller's afterAll calls close().
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { must, run } from "./sys.ts";

export interface LoopFs {
  mnt: string;
  close(): void;
}

export function loopFs(base: string, name: string, sizeMiB: number): LoopFs {
  const img = join(base, `${name}.img`);
  must(["truncate", "-s", `${sizeMiB}M`, img]);
  must(["mkfs.ext4", "-q", "-F", img]);
  const loop = must(["losetup", "--find", "--show", img]).trim();
  const mnt = join(base, name);
  mkdirSync(mnt);
  must(["mount", loop, mnt]);
  return {
    mnt,
    close() {
      run(["umount", mnt]);
      run(["losetup", "-d", loop]);
    },
  };
}
