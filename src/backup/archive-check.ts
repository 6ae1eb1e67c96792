// Is what BACKUP_PROG wrote a backup? Checked before the new archive takes the previous one's name, so
// that a program that failed quietly (BACKUP_PROG=/bin/false: exit 1, no output), wrote nothing, wrote
// something else, or archived no file at all never replaces a good backup. ReaR has no such check: its
// 500_make_backup.sh takes tar's exit status alone. Pure (zlib runs in-process).

import { constants, gunzipSync } from "node:zlib";
import * as zlib from "node:zlib";

/** What BACKUP_PROG_COMPRESS_OPTIONS make of the tar stream. */
export type ArchiveKind = "tar" | "gzip" | "zstd" | "xz" | "bzip2" | "lzip" | "lzma" | "lzop" | "other";

/** The archive kind tar writes with these BACKUP_PROG_COMPRESS_OPTIONS ("other": a program of the user's, not checked). */
export function archiveKind(compress: readonly string[]): ArchiveKind {
  let kind: ArchiveKind = "tar";
  for (const o of compress) {
    if (o === "--gzip" || o === "--gunzip" || o === "--ungzip" || o === "-z") kind = "gzip";
    else if (o === "--zstd") kind = "zstd";
    else if (o === "--xz" || o === "-J") kind = "xz";
    else if (o === "--bzip2" || o === "-j") kind = "bzip2";
    else if (o === "--lzip") kind = "lzip";
    else if (o === "--lzma") kind = "lzma";
    else if (o === "--lzop") kind = "lzop";
    else if (o.startsWith("--use-compress-program") || o === "-I" || o === "--auto-compress" || o === "-a") kind = "other";
  }
  return kind;
}

const MAGIC: Partial<Record<ArchiveKind, number[]>> = {
  gzip: [0x1f, 0x8b],
  zstd: [0x28, 0xb5, 0x2f, 0xfd],
  xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
  bzip2: [0x42, 0x5a, 0x68], // "BZh"
  lzip: [0x4c, 0x5a, 0x49, 0x50], // "LZIP"
  lzop: [0x89, 0x4c, 0x5a, 0x4f],
  lzma: [0x5d, 0x00, 0x00],
};

const hex = (b: Uint8Array) => [...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/**
 * A tar header block: all zeros is the end-of-archive marker (an archive without a file), otherwise
 * its checksum (bytes 148–155, octal, the field counted as blanks) must match — true of every format
 * GNU tar writes (gnu, posix, ustar, v7), whatever the magic.
 */
export function tarBlockProblem(block: Uint8Array): "empty" | "not-tar" | undefined {
  if (block.length < 512) return "not-tar";
  if (block.subarray(0, 512).every((b) => b === 0)) return "empty";
  const field = Buffer.from(block.subarray(148, 156)).toString("latin1").replace(/[\0 ]+$/g, "").trim();
  if (!/^[0-7]+$/.test(field)) return "not-tar";
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === parseInt(field, 8) ? undefined : "not-tar";
}

/**
 * The first bytes of a compressed stream, decompressed: a prefix of the stream is enough; when `whole`
 * (the head is all there is) the stream must also end properly.
 */
function inflateHead(kind: "gzip" | "zstd", head: Uint8Array, whole: boolean): Buffer {
  if (kind === "gzip") return whole ? gunzipSync(head) : gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
  const z = zlib as unknown as { zstdDecompressSync(b: Uint8Array, o?: object): Buffer; constants: Record<string, number> };
  return whole ? z.zstdDecompressSync(head) : z.zstdDecompressSync(head, { finishFlush: z.constants.ZSTD_e_flush });
}

/**
 * How many of the first bytes tar wrote to keep for the check. A zstd decoder emits nothing before a
 * whole compressed block has arrived, and a block of data that compresses poorly (the first file a
 * binary or a database) is up to 128 KiB compressed: 64 KiB were too few for such an archive (a good backup was
 * refused, seen in the bios-two-disks-swapped VM run). Twice the largest block leaves room for the
 * frame header; gzip's deflate blocks are smaller.
 */
export const ARCHIVE_HEAD_BYTES = 256 * 1024;

export interface HeadCheck {
  /** the first ARCHIVE_HEAD_BYTES bytes tar wrote, and how many it wrote in all */
  head: Uint8Array;
  total: number;
  kind: ArchiveKind;
  /** incremental and differential archives hold nothing when nothing changed */
  mayBeEmpty?: boolean;
}

/** Why this is not a usable archive of the expected kind, or undefined when it is one. */
export function archiveHeadProblem(c: HeadCheck): string | undefined {
  if (c.total === 0) return "is empty (0 bytes)";
  if (c.kind === "other") return undefined;
  const magic = MAGIC[c.kind];
  if (magic && (c.head.length < magic.length || magic.some((b, i) => c.head[i] !== b))) return `is not a ${c.kind} archive (it starts with ${hex(c.head)})`;
  let block: Uint8Array;
  if (c.kind === "tar") block = c.head;
  else if (c.kind === "gzip" || c.kind === "zstd") {
    try {
      block = inflateHead(c.kind, c.head, c.head.length >= c.total);
    } catch (e) {
      return `cannot be decompressed (${c.kind}: ${(e as Error).message})`;
    }
  } else return undefined; // xz, bzip2, …: the magic is all we check without their programs
  const p = tarBlockProblem(block);
  if (p === "empty") return c.mayBeEmpty ? undefined : "holds no file (only tar's end-of-archive marker)";
  if (p === "not-tar") return `is not a tar archive${c.kind === "tar" ? ` (it starts with ${hex(c.head)})` : ` inside its ${c.kind} compression`}`;
  return undefined;
}
