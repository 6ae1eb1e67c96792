import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync, zstdDecompressSync } from "node:zlib";
import { writeCpio } from "../../../src/rescue/cpio.ts";
import {
  EARLY_DEV_NODES,
  ZSTD_LEVEL,
  chooseCompression,
  kernelUnpacks,
  parseKernelConfig,
  readKernelConfig,
  writeInitramfs,
} from "../../../src/rescue/compress.ts";

const CONFIG_ALL = `#
# Automatically generated file; DO NOT EDIT.
CONFIG_BLK_DEV_INITRD=y
CONFIG_INITRAMFS_SOURCE=""
CONFIG_RD_GZIP=y
CONFIG_RD_BZIP2=y
CONFIG_RD_LZMA=y
CONFIG_RD_XZ=y
CONFIG_RD_LZO=y
CONFIG_RD_LZ4=y
CONFIG_RD_ZSTD=y
`;
// a 5.4-era kernel: no zstd at all, lz4 switched off
const CONFIG_OLD = `CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_RD_LZMA=y
CONFIG_RD_XZ=y
# CONFIG_RD_LZ4 is not set
`;

/**
 * Walks a zstd file's frames (RFC 8878 section 3.1): what the kernel's unpacker cares about is one frame
 * (each compressed member must end on a cpio boundary), its window size (allocated whole when streaming)
 * and the checksum it verifies.
 */
function zstdFrame(z: Buffer): { frames: number; checksum: boolean; windowSize: number } {
  let pos = 0;
  let frames = 0;
  let checksum = false;
  let windowSize = 0;
  while (pos < z.length) {
    expect(z.readUInt32LE(pos)).toBe(0xfd2fb528);
    const fhd = z[pos + 4]!;
    const single = (fhd >> 5) & 1;
    checksum = ((fhd >> 2) & 1) === 1;
    const didSize = [0, 1, 2, 4][fhd & 3]!;
    const fcsSize = [single ? 1 : 0, 2, 4, 8][fhd >> 6]!;
    pos += 5;
    if (!single) {
      const wd = z[pos++]!;
      const base = 2 ** (10 + (wd >> 3));
      windowSize = base + (base / 8) * (wd & 7);
    }
    pos += didSize + fcsSize;
    for (;;) {
      const h = z[pos]! | (z[pos + 1]! << 8) | (z[pos + 2]! << 16);
      const rle = ((h >> 1) & 3) === 1;
      pos += 3 + (rle ? 1 : h >>> 3);
      if (h & 1) break;
    }
    if (checksum) pos += 4;
    frames++;
  }
  expect(pos).toBe(z.length);
  return { frames, checksum, windowSize };
}

describe("kernel config", () => {
  test("parses set, unset and quoted values", () => {
    const c = parseKernelConfig(CONFIG_ALL + CONFIG_OLD);
    expect(c.get("CONFIG_RD_ZSTD")).toBe("y");
    expect(c.get("CONFIG_RD_LZ4")).toBe("n");
    expect(c.get("CONFIG_INITRAMFS_SOURCE")).toBe("");
    expect(c.has("CONFIG_NOPE")).toBe(false);
  });

  test("what the kernel unpacks", () => {
    expect(kernelUnpacks(CONFIG_ALL, "zstd")).toBe(true);
    expect(kernelUnpacks(CONFIG_OLD, "zstd")).toBe(false);
    expect(kernelUnpacks(CONFIG_OLD, "lz4")).toBe(false);
    expect(kernelUnpacks(CONFIG_OLD, "gzip")).toBe(true);
    expect(kernelUnpacks(CONFIG_ALL.replace("CONFIG_BLK_DEV_INITRD=y", "# CONFIG_BLK_DEV_INITRD is not set"), "gzip")).toBe(false);
  });

  test("read from /boot, /lib/modules or the running kernel's /proc/config.gz", () => {
    const root = mkdtempSync(join(tmpdir(), "rear-kconfig-"));
    try {
      expect(readKernelConfig("6.1.0-1-amd64", { root, runningRelease: "6.1.0-1-amd64" })).toBeUndefined();
      mkdirSync(join(root, "proc"));
      writeFileSync(join(root, "proc/config.gz"), gzipSync(CONFIG_OLD));
      expect(readKernelConfig("6.1.0-1-amd64", { root, runningRelease: "6.1.0-1-amd64" })).toEqual({ text: CONFIG_OLD, source: join(root, "proc/config.gz") });
      // /proc describes the running kernel only
      expect(readKernelConfig("6.1.0-2-amd64", { root, runningRelease: "6.1.0-1-amd64" })).toBeUndefined();
      mkdirSync(join(root, "lib/modules/6.1.0-1-amd64"), { recursive: true });
      writeFileSync(join(root, "lib/modules/6.1.0-1-amd64/config"), CONFIG_ALL);
      expect(readKernelConfig("6.1.0-1-amd64", { root, runningRelease: "6.1.0-1-amd64" })?.source).toBe(join(root, "lib/modules/6.1.0-1-amd64/config"));
      mkdirSync(join(root, "boot"));
      writeFileSync(join(root, "boot/config-6.1.0-1-amd64"), CONFIG_ALL);
      expect(readKernelConfig("6.1.0-1-amd64", { root })?.source).toBe(join(root, "boot/config-6.1.0-1-amd64"));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("REAR_INITRD_COMPRESSION", () => {
  test("ReaR's values and file names", () => {
    const pick = (s: string) => {
      const c = chooseCompression(s, CONFIG_ALL);
      return [c.method, c.level, c.file];
    };
    expect(pick("lz4")).toEqual(["lz4", undefined, "initrd.lz4"]);
    expect(pick("lzma")).toEqual(["lzma", undefined, "initrd.xz"]);
    expect(pick("xz")).toEqual(["xz", undefined, "initrd.xz"]);
    expect(pick("fast")).toEqual(["gzip", 1, "initrd.cgz"]);
    expect(pick("best")).toEqual(["gzip", 9, "initrd.cgz"]);
    expect(pick("gzip")).toEqual(["gzip", 6, "initrd.cgz"]);
    expect(pick("whatever")).toEqual(["gzip", 6, "initrd.cgz"]);
    expect(pick("zstd")).toEqual(["zstd", ZSTD_LEVEL, "initrd.zst"]);
  });

  test("empty: zstd when the kernel unpacks it, else gzip; no config found: gzip, and it says why", () => {
    expect(chooseCompression("", CONFIG_ALL)).toMatchObject({ method: "zstd", file: "initrd.zst", why: expect.stringContaining("CONFIG_RD_ZSTD=y") });
    expect(chooseCompression("", CONFIG_OLD)).toMatchObject({ method: "gzip", file: "initrd.cgz", why: expect.stringContaining("does not unpack zstd") });
    const none = chooseCompression("");
    expect(none).toMatchObject({ method: "gzip", level: 6, file: "initrd.cgz", why: expect.stringContaining("no kernel config") });
    expect(none.warning).toBeUndefined();
  });

  test("an explicit choice the kernel cannot unpack is kept, with a warning", () => {
    const c = chooseCompression("lz4", CONFIG_OLD);
    expect(c.method).toBe("lz4");
    expect(c.warning).toContain("CONFIG_RD_LZ4");
    expect(chooseCompression("zstd", CONFIG_OLD).warning).toContain("CONFIG_RD_ZSTD");
    expect(chooseCompression("lzma", CONFIG_OLD).warning).toBeUndefined();
    expect(chooseCompression("lz4").warning).toBeUndefined();
  });
});

describe("writeInitramfs", () => {
  let dir: string;
  let tree: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rear-initramfs-"));
    tree = join(dir, "rootfs");
    mkdirSync(join(tree, "etc"), { recursive: true });
    mkdirSync(join(tree, "bin"));
    const big = Buffer.alloc(2 * 1024 * 1024 + 3);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 0xff;
    writeFileSync(join(tree, "bin/busybox"), big);
    writeFileSync(join(tree, "etc/shadow"), "root:$6$secret:19000:0:99999:7:::\n");
    writeFileSync(join(tree, "init"), "#!/bin/sh\n");
    symlinkSync("bin/busybox", join(tree, "sh"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const raw = async (extra = EARLY_DEV_NODES) => {
    const chunks: Uint8Array[] = [];
    await writeCpio(tree, (c) => void chunks.push(c), { extra, mtimeClamp: 1_000_000 });
    return Buffer.concat(chunks);
  };

  test("zstd: named initrd.zst in a directory, 0600, the cpio inside, one frame with a checksum", async () => {
    const out = join(dir, "zstd");
    mkdirSync(out);
    const r = await writeInitramfs(tree, out, { compression: "", kernelConfigText: CONFIG_ALL, mtimeClamp: 1_000_000 });
    expect(r.file).toBe(join(out, "initrd.zst"));
    expect(r.compression.method).toBe("zstd");
    expect(readdirSync(out)).toEqual(["initrd.zst"]);
    expect(statSync(r.file).mode & 0o7777).toBe(0o600);
    const z = readFileSync(r.file);
    expect(r.bytesOut).toBe(z.length);
    expect(zstdFrame(z)).toEqual({ frames: 1, checksum: true, windowSize: expect.any(Number) });
    expect(zstdFrame(z).windowSize).toBeLessThanOrEqual(8 << 20);
    const cpio = zstdDecompressSync(z);
    expect(cpio.equals(await raw())).toBe(true);
    expect(r.bytesIn).toBe(cpio.length);
    expect(cpio.includes(Buffer.from("dev/console\0"))).toBe(true);
    expect(r.files).toBeGreaterThan(5);
    expect(r.ms).toBeGreaterThanOrEqual(0);
  });

  test("gzip variants to an explicit file name, 0600 whatever the umask", async () => {
    const old = process.umask(0);
    try {
      for (const setting of ["", "fast", "best"]) {
        const file = join(dir, `initrd-${setting || "default"}.cgz`);
        const r = await writeInitramfs(tree, file, { compression: setting, mtimeClamp: 1_000_000 });
        expect(r.file).toBe(file);
        expect(r.compression).toMatchObject({ method: "gzip", level: setting === "fast" ? 1 : setting === "best" ? 9 : 6 });
        expect(statSync(file).mode & 0o7777).toBe(0o600);
        const gz = readFileSync(file);
        expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
        expect(gunzipSync(gz).equals(await raw())).toBe(true);
      }
    } finally {
      process.umask(old);
    }
  });

  test("the same tree gives the same initrd (clamped mtimes)", async () => {
    const a = await writeInitramfs(tree, join(dir, "a.zst"), { compression: "zstd", mtimeClamp: 1_000_000 });
    const b = await writeInitramfs(tree, join(dir, "b.zst"), { compression: "zstd", mtimeClamp: 1_000_000 });
    expect(readFileSync(a.file).equals(readFileSync(b.file))).toBe(true);
  });

  test("a failure midway leaves no file behind, and an older initrd untouched", async () => {
    const out = join(dir, "fail");
    mkdirSync(out);
    writeFileSync(join(out, "initrd.cgz"), "previous initrd");
    const failing = writeInitramfs(tree, out, {
      compression: "gzip",
      progress: (p) => {
        if (p.bytes > 1024 * 1024) throw new Error("disk full (simulated)");
      },
    });
    await expect(failing).rejects.toThrow("disk full (simulated)");
    expect(readdirSync(out)).toEqual(["initrd.cgz"]);
    expect(readFileSync(join(out, "initrd.cgz"), "utf8")).toBe("previous initrd");
  });

  test("an existing file is replaced whole", async () => {
    const file = join(dir, "replace.cgz");
    writeFileSync(file, "x".repeat(10_000_000), { mode: 0o644 });
    await writeInitramfs(tree, file, { compression: "gzip", extra: [] });
    expect(gunzipSync(readFileSync(file)).subarray(0, 6).toString()).toBe("070701");
    expect(statSync(file).mode & 0o7777).toBe(0o600);
    expect(statSync(file).size).toBeLessThan(10_000_000);
  });

  test("an external compressor that is not installed: says which program and package, runs nothing", async () => {
    const out = join(dir, "lz4");
    mkdirSync(out);
    await expect(writeInitramfs(tree, out, { compression: "lz4", path: "/nonexistent" })).rejects.toThrow(/needs 'lz4', which is not installed/);
    await expect(writeInitramfs(tree, out, { compression: "lzma", path: "/nonexistent" })).rejects.toMatchObject({ hint: expect.stringContaining("xz-utils") });
    expect(readdirSync(out)).toEqual([]);
  });
});
