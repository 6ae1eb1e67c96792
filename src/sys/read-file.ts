// Reading a file the user names or may have replaced (a configuration file, a layout file, a mapping
// file): opened without blocking, checked on the open descriptor (no race with a rename), and read only
// when it is a regular file of a sane size. A FIFO would hang rear, /dev/zero would fill its memory,
// a directory gives EISDIR deep inside Node: each is one clear sentence instead. Bytes are kept
// (sys/bytes.ts).

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { decodeBytes, fsPath } from "./bytes.ts";

/** What is wrong with a file rear was asked to read, or why it could not be opened. */
export class FileReadError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
    readonly code?: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "FileReadError";
  }
}

/** What a file is, from its st_mode, for messages. */
export function fileKind(mode: number): string {
  switch (mode & 0o170000) {
    case 0o100000: return "a regular file";
    case 0o040000: return "a directory";
    case 0o010000: return "a FIFO (named pipe)";
    case 0o020000: return "a character device";
    case 0o060000: return "a block device";
    case 0o140000: return "a socket";
    default: return "not a regular file";
  }
}

/** Why a file of this kind and size is not read, or undefined when it may be (the one wording for both checks). */
export function unreadableProblem(mode: number, size: number | undefined, maxBytes: number): string | undefined {
  if ((mode & 0o170000) !== 0o100000) return `is ${fileKind(mode)}, not a regular file: rear does not read it`;
  if (size !== undefined && size > maxBytes) return `is ${size} bytes, more than such a file can be (${maxBytes} bytes): rear does not read it`;
  return undefined;
}

/**
 * The text of a regular file of at most `maxBytes`; undefined when it does not exist. Throws
 * FileReadError for anything else, without reading from it.
 */
export function readRegularFile(path: string, maxBytes: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(fsPath(path), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    const why = code === "EACCES" ? "permission denied" : code === "ENOTDIR" ? "a part of its path is not a directory" : code === "ELOOP" ? "too many symbolic links" : (e as Error).message;
    throw new FileReadError(path, `cannot be read (${why})`, code);
  }
  try {
    const st = fstatSync(fd);
    const problem = unreadableProblem(st.mode, st.size, maxBytes);
    if (problem) throw new FileReadError(path, problem, st.isFile() ? "EFBIG" : "ENOTREG");
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > st.size) throw new FileReadError(path, `grew while rear read it (more than its ${st.size} bytes)`, "EFBIG");
    }
    return decodeBytes(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** A disklayout.conf of 100k partitions is 10 MiB; more than this is not a layout file. */
export const LAYOUT_MAX_BYTES = 256 * 1024 * 1024;
