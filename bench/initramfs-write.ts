// bench/initramfs.sh's helper: writes one initramfs of TREE into OUTDIR with our writer.
//   bun bench/initramfs-write.ts TREE OUTDIR COMPRESSION [ZSTD_LEVEL]
// COMPRESSION is a REAR_INITRD_COMPRESSION value, or "none" for the bare cpio archive.
// Prints the written file's path.

import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { chooseCompression, writeInitramfs } from "../src/rescue/compress.ts";
import { writableSink, writeCpio } from "../src/rescue/cpio.ts";

const [tree, outDir, setting, level] = process.argv.slice(2);
if (!tree || !outDir || setting === undefined) {
  console.error("usage: bun bench/initramfs-write.ts TREE OUTDIR COMPRESSION [ZSTD_LEVEL]");
  process.exit(2);
}
if (setting === "none") {
  const file = join(outDir, "initrd.cpio");
  const ws = createWriteStream(file, { mode: 0o600 });
  await writeCpio(tree, writableSink(ws));
  await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
  console.log(file);
} else {
  const chosen = chooseCompression(setting);
  const compression = level ? { ...chosen, level: Number(level), file: `initrd-${level}.zst` } : chosen;
  console.log((await writeInitramfs(tree, outDir, { compression })).file);
}
