// The rescue system's initramfs file: which compressor REAR_INITRD_COMPRESSION means, whether the
// kernel can unpack it, and the compressed archive written to its file (ReaR:
// pack/GNU/Linux/900_create_initramfs.sh, `find . | cpio -H newc --create | gzip > initrd.cgz`).
//
// gzip and zstd run in-process (node:zlib, streamed); lz4 and lzma/xz go through the external program
// with ReaR's flags. The file is created 0600 from its first byte: the rescue system can hold secrets
// and ReaR's `chmod 0600` after the fact left it world-readable while it was written (CVE-2024-23301,
// rear#3122). It is written under a temporary name in the same directory and renamed when complete,
// so a failure leaves no half-written initrd behind.
//
// zstd and the kernel (lib/decompress_unzstd.c, init/initramfs.c, scripts/Makefile.lib):
// - the initramfs is decompressed in streaming mode, so the kernel allocates the frame's whole window;
//   kernels 5.9–5.15 refuse windows over 128 MiB ("too large a window size") and the kernel's own
//   build uses `zstd -19` (8 MiB window) for initramfs and warns against -22 --ultra there: no
//   --long / large windowLog. Levels up to 19 keep the window at 8 MiB or less;
// - one frame: every compressed member must end on a cpio entry boundary ("junk in compressed
//   archive" otherwise), which one frame for the whole archive guarantees;
// - the frame's content checksum is verified by the kernel (ZSTD_error_checksum_wrong), so we write it
//   as the zstd tool does by default;
// - CONFIG_RD_ZSTD exists since Linux 5.9: older kernels get gzip when the setting is empty.

import { closeSync, existsSync, openSync, readFileSync, statSync } from "node:fs";
import { type FileHandle, open, rename, rm, stat } from "node:fs/promises";
import { release } from "node:os";
import { basename, dirname, join } from "node:path";
import { Writable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants as zc, createGzip, createZstdCompress, gunzipSync } from "node:zlib";
import { WorkflowError } from "../engine/errors.ts";
import { exec, which } from "../sys/exec.ts";
import { type CpioPlan, type CpioProgress, type ExtraEntry, emitCpio, planCpio, writableSink } from "./cpio.ts";

export type CompressionMethod = "gzip" | "zstd" | "lz4" | "lzma" | "xz";

/** What REAR_INITRD_COMPRESSION resolved to. */
export interface Compression {
  /** the setting as given */
  setting: string;
  method: CompressionMethod;
  /** gzip or zstd level (in-process compressors) */
  level?: number;
  /** file name of the initrd (ReaR's names) */
  file: string;
  /** the kernel option that lets the kernel unpack it */
  kernelOption: string;
  /** why this compressor, for the log */
  why: string;
  /** the kernel config says it cannot unpack this */
  warning?: string;
}

/**
 * zstd level for the initramfs: zstd's own default, the knee of the curve. Measured in-process on one
 * core (bench/initramfs.sh's tree: /usr/lib/x86_64-linux-gnu + /usr/bin + /usr/sbin, a 1000 MiB archive):
 *   level   1:   4.4 s, 372 MiB      level 3:   5.5 s, 322 MiB      level 5:  9.8 s, 308 MiB
 *   level   6:  13.7 s, 300 MiB      level 9:  20.0 s, 284 MiB      level 19: 867 s, 246 MiB
 *   gzip -6 (in-process): 16.4 s, 356 MiB; ReaR's `gzip` (GNU gzip -6): 42 s, 347 MiB
 * Level 3 is 3x faster than gzip and 10% smaller; the next 5% cost 80% more time. Unpacking speed at
 * boot hardly depends on the level. Any level up to 19 keeps the window within the kernel's limits.
 */
export const ZSTD_LEVEL = 3;

/** zlib's output buffer: 256 KiB instead of 16 KiB makes the stream ~15% faster (fewer hand-offs). */
const ZLIB_CHUNK = 256 * 1024;

interface MethodSpec {
  method: CompressionMethod;
  level?: number;
  file: string;
  kernelOption: string;
}

const GZIP = (level: number): MethodSpec => ({ method: "gzip", level, file: "initrd.cgz", kernelOption: "CONFIG_RD_GZIP" });
const ZSTD: MethodSpec = { method: "zstd", level: ZSTD_LEVEL, file: "initrd.zst", kernelOption: "CONFIG_RD_ZSTD" };

/** ReaR's values (lz4, lzma, fast, best, anything else gzip) and ours (zstd, xz). */
const BY_SETTING: Record<string, MethodSpec> = {
  lz4: { method: "lz4", file: "initrd.lz4", kernelOption: "CONFIG_RD_LZ4" },
  lzma: { method: "lzma", file: "initrd.xz", kernelOption: "CONFIG_RD_LZMA" },
  xz: { method: "xz", file: "initrd.xz", kernelOption: "CONFIG_RD_XZ" },
  fast: GZIP(1),
  best: GZIP(9),
  zstd: ZSTD,
};

/** External compressors: ReaR's command lines, and the package to install when the program is missing. */
const EXTERNAL: Partial<Record<CompressionMethod, { argv: string[]; pkg: string }>> = {
  // -l: the legacy frame format, the only lz4 format the kernel unpacks (lib/decompress_unlz4.c)
  lz4: { argv: ["lz4", "-l", "-c"], pkg: "lz4" },
  lzma: { argv: ["xz", "--format=lzma", "--compress", "--stdout"], pkg: "xz-utils (Debian, Ubuntu) or xz (Fedora, SUSE)" },
  // the kernel's xz decoder checks CRC32 only (Documentation/staging/xz.rst: use --check=crc32)
  xz: { argv: ["xz", "--format=xz", "--check=crc32", "--compress", "--stdout"], pkg: "xz-utils (Debian, Ubuntu) or xz (Fedora, SUSE)" },
};

/** `CONFIG_X=value` and `# CONFIG_X is not set` (as "n") of a kernel .config. */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) out.set(set[1]!, set[2]!.replace(/^"(.*)"$/, "$1"));
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set/.exec(line);
    if (unset) out.set(unset[1]!, "n");
  }
  return out;
}

/** Whether the kernel built with this config can unpack an initramfs compressed by `method`. */
export function kernelUnpacks(configText: string, method: CompressionMethod): boolean {
  const config = parseKernelConfig(configText);
  const option = method === "gzip" ? "CONFIG_RD_GZIP" : method === "zstd" ? ZSTD.kernelOption : BY_SETTING[method]!.kernelOption;
  return config.get("CONFIG_BLK_DEV_INITRD") === "y" && config.get(option) === "y";
}

/**
 * The compressor for a REAR_INITRD_COMPRESSION value. Empty: zstd when the kernel config says the
 * kernel unpacks it, else gzip, which every kernel with initramfs support unpacks. An explicit choice is
 * kept even when the config says the kernel cannot unpack it (then `warning` says so).
 */
export function chooseCompression(setting: string, kernelConfigText?: string): Compression {
  const known = kernelConfigText !== undefined;
  if (setting === "") {
    if (!known) return { setting, ...GZIP(6), why: "no kernel config found to tell whether the kernel unpacks zstd: gzip, which every kernel unpacks" };
    if (kernelUnpacks(kernelConfigText, "zstd")) return { setting, ...ZSTD, why: "the kernel unpacks zstd (CONFIG_RD_ZSTD=y)" };
    const c: Compression = { setting, ...GZIP(6), why: "the kernel does not unpack zstd (CONFIG_RD_ZSTD is not set): gzip" };
    return kernelUnpacks(kernelConfigText, "gzip") ? c : { ...c, warning: warningFor(c) };
  }
  const spec = BY_SETTING[setting] ?? GZIP(6);
  const c: Compression = { setting, ...spec, why: BY_SETTING[setting] ? `REAR_INITRD_COMPRESSION=${setting}` : `REAR_INITRD_COMPRESSION=${setting || "''"}: gzip (ReaR's default)` };
  return known && !kernelUnpacks(kernelConfigText, spec.method) ? { ...c, warning: warningFor(c) } : c;
}

function warningFor(c: Compression): string {
  return `the kernel config says this kernel cannot unpack a ${c.method}-compressed initramfs (${c.kernelOption} or CONFIG_BLK_DEV_INITRD is not set): the rescue system may not boot`;
}

/**
 * The config of kernel `kernelVersion`: /boot/config-<kv> (most distributions), /lib/modules/<kv>/config
 * (Fedora, Arch), or /proc/config.gz when it is the running kernel (CONFIG_IKCONFIG_PROC).
 */
export function readKernelConfig(kernelVersion: string, opts: { root?: string; runningRelease?: string } = {}): { text: string; source: string } | undefined {
  const root = opts.root ?? "/";
  for (const p of [`boot/config-${kernelVersion}`, `lib/modules/${kernelVersion}/config`, `usr/lib/modules/${kernelVersion}/config`]) {
    const file = join(root, p);
    try {
      return { text: readFileSync(file, "utf8"), source: file };
    } catch {}
  }
  if (kernelVersion === (opts.runningRelease ?? release())) {
    const file = join(root, "proc/config.gz");
    try {
      return { text: gunzipSync(readFileSync(file)).toString("utf8"), source: file };
    } catch {}
  }
  return undefined;
}

/**
 * Device nodes the kernel needs before anything can create them: it opens /dev/console for init's
 * stdin/stdout/stderr before running /init (init/main.c console_on_rootfs; "unable to open an initial
 * console" otherwise), and devtmpfs is not mounted on an initramfs by itself. Modes as the kernel's own
 * default rootfs (0600 console) and devtmpfs (0666 null) make them.
 */
export const EARLY_DEV_NODES: readonly ExtraEntry[] = [
  { path: "dev/console", type: "char", major: 5, minor: 1, mode: 0o600 },
  { path: "dev/null", type: "char", major: 1, minor: 3, mode: 0o666 },
];

export interface InitramfsOptions {
  /** REAR_INITRD_COMPRESSION, or an already resolved choice */
  compression: string | Compression;
  /** the kernel's config (readKernelConfig), for the empty setting */
  kernelConfigText?: string;
  /** synthetic entries; default EARLY_DEV_NODES */
  extra?: readonly ExtraEntry[];
  progress?: (p: CpioProgress) => void;
  /** clamp mtimes (seconds) for a reproducible archive */
  mtimeClamp?: number;
  /** PATH for the external compressors */
  path?: string;
}

export interface InitramfsResult {
  /** path of the written initrd */
  file: string;
  compression: Compression;
  /** entries in the archive */
  files: number;
  /** uncompressed archive size */
  bytesIn: number;
  /** compressed file size */
  bytesOut: number;
  ms: number;
}

/**
 * Archives `tree` into a compressed initramfs. `outFile` is the file to write, or an existing
 * directory to write the compression's file name (initrd.cgz, initrd.zst, …) into.
 */
export async function writeInitramfs(tree: string, outFile: string, opts: InitramfsOptions): Promise<InitramfsResult> {
  const t0 = performance.now();
  const compression = typeof opts.compression === "string" ? chooseCompression(opts.compression, opts.kernelConfigText) : opts.compression;
  const file = existsSync(outFile) && statSync(outFile).isDirectory() ? join(outFile, compression.file) : outFile;
  const external = EXTERNAL[compression.method];
  const program = external ? which(external.argv[0]!, opts.path ?? process.env.PATH ?? "") : undefined;
  if (external && !program)
    throw new WorkflowError(
      `REAR_INITRD_COMPRESSION=${compression.setting} needs '${external.argv[0]}', which is not installed`,
      `install the package ${external.pkg}, or choose another REAR_INITRD_COMPRESSION`,
    );
  // the walk comes first: an unreadable tree fails before any file exists
  const plan = planCpio(tree, { extra: opts.extra ?? EARLY_DEV_NODES, ...(opts.mtimeClamp !== undefined ? { mtimeClamp: opts.mtimeClamp } : {}) });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.part`);
  try {
    const files =
      external && program
        ? await compressExternal(plan, [program, ...external.argv.slice(1)], tmp, opts.progress)
        : await compressInProcess(plan, compression, tmp, opts.progress);
    const bytesOut = (await stat(tmp)).size;
    await rename(tmp, file);
    return { file, compression, files, bytesIn: plan.totalBytes, bytesOut, ms: Math.round(performance.now() - t0) };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Creates a file that nobody but its owner can read at any moment: O_EXCL, mode 0600 at open(2). */
function createPrivate(path: string): Promise<FileHandle> {
  return open(path, "wx", 0o600);
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
}

/** A stream into the file handle, so a compressor can be piped into it with backpressure. */
function fileStream(fh: FileHandle): Writable {
  return new Writable({
    highWaterMark: 4 << 20,
    write(chunk: Uint8Array, _enc, done) {
      writeAll(fh, chunk).then(() => done(), done);
    },
  });
}

/** node:zlib's streaming compressor for gzip or zstd. */
export function createCompressor(c: Compression): Transform {
  if (c.method === "gzip") return createGzip({ level: c.level ?? 6, chunkSize: ZLIB_CHUNK });
  // no nbWorkers: multithreaded zstd in Bun 1.4.5's node:zlib fails ("stream.push() after EOF")
  if (c.method === "zstd")
    return createZstdCompress({
      chunkSize: ZLIB_CHUNK,
      params: { [zc.ZSTD_c_compressionLevel]: c.level ?? ZSTD_LEVEL, [zc.ZSTD_c_checksumFlag]: 1 },
    });
  throw new Error(`BUG in rear: ${c.method} is not compressed in-process`);
}

/** cpio -> compressor -> file, all streamed. */
async function compressInProcess(plan: CpioPlan, c: Compression, tmp: string, progress?: (p: CpioProgress) => void): Promise<number> {
  const fh = await createPrivate(tmp);
  try {
    const z = createCompressor(c);
    const piped = pipeline(z, fileStream(fh));
    piped.catch(() => {}); // awaited below; an early failure must not count as unhandled meanwhile
    let files: number;
    try {
      ({ files } = await emitCpio(plan, writableSink(z), progress ? { progress } : {}));
      z.end();
    } catch (e) {
      z.destroy(e as Error);
      throw e;
    }
    await piped;
    return files;
  } finally {
    await fh.close();
  }
}

/**
 * cpio -> temporary file -> external compressor -> file. The compressor writes into a file we created
 * 0600 (the shell's `>` truncates it, keeping the mode); its command line is ReaR's.
 */
async function compressExternal(plan: CpioPlan, argv: string[], tmp: string, progress?: (p: CpioProgress) => void): Promise<number> {
  const raw = `${tmp}.cpio`;
  try {
    const fh = await createPrivate(raw);
    let files: number;
    try {
      ({ files } = await emitCpio(plan, (chunk) => writeAll(fh, chunk), progress ? { progress } : {}));
    } finally {
      await fh.close();
    }
    closeSync(openSync(tmp, "wx", 0o600));
    await exec(["sh", "-c", 'in=$1 out=$2; shift 2; exec "$@" <"$in" >"$out"', "sh", raw, tmp, ...argv], {
      check: true,
      what: `compressing the initramfs with ${basename(argv[0]!)}`,
    });
    return files;
  } finally {
    await rm(raw, { force: true });
  }
}
