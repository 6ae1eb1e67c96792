// Values are bytes, not UTF-8. A configuration file, a path or an argument may hold bytes that are not
// UTF-8 (a Latin-1 directory name); decoding them as UTF-8 turns each into U+FFFD, and the path no
// longer names the directory. So text from outside is decoded the way Python's "surrogateescape" does:
// valid UTF-8 as characters, every other byte 0xXY as the lone surrogate U+DCXY, which no valid text
// holds; encoding gives the very same bytes back. Every edge that hands a string to the system (a file
// written, a path opened, an argument list) encodes with encodeBytes/fsPath. Pure.

// ignoreBOM keeps a byte order mark as U+FEFF (by default TextDecoder drops it: bash does not)
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const ESCAPED = /[\uDC80-\uDCFF]/;

/** Bytes to a string: UTF-8 where valid, each other byte as U+DC80…U+DCFF. */
export function decodeBytes(buf: Uint8Array): string {
  try {
    return fatal.decode(buf);
  } catch {}
  let out = "";
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i]!;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    // the length and the lowest code point of a well-formed sequence starting with b
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let cp = len === 2 ? b & 0x1f : len === 3 ? b & 0x0f : b & 0x07;
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const c = buf[i + k]!;
      if ((c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && ((len === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
    if (ok) {
      out += String.fromCodePoint(cp);
      i += len;
    } else {
      out += String.fromCharCode(0xdc00 + b);
      i++;
    }
  }
  return out;
}

/** Whether a string holds bytes that are not UTF-8 (escaped by decodeBytes). */
export function hasRawBytes(s: string): boolean {
  return ESCAPED.test(s);
}

/** A string back to its bytes (the inverse of decodeBytes). */
export function encodeBytes(s: string): Buffer {
  if (!ESCAPED.test(s)) return Buffer.from(s, "utf8");
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // an escaped byte is a lone low surrogate (one not preceded by a high surrogate)
    if (c >= 0xdc80 && c <= 0xdcff && !(i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff)) {
      if (i > start) parts.push(Buffer.from(s.slice(start, i), "utf8"));
      parts.push(Buffer.from([c - 0xdc00]));
      start = i + 1;
    }
  }
  if (start < s.length) parts.push(Buffer.from(s.slice(start), "utf8"));
  return Buffer.concat(parts);
}

/** A path for node:fs: the string itself when it is plain UTF-8, else its bytes. */
export function fsPath(p: string): string | Buffer {
  return ESCAPED.test(p) ? encodeBytes(p) : p;
}

/** The command line this process was started with, byte for byte (process.argv has lost non-UTF-8 bytes). */
export function rawArgv(read: () => Uint8Array | undefined): string[] | undefined {
  const buf = read();
  if (!buf || buf.length === 0) return undefined;
  const words: string[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0) {
      words.push(decodeBytes(buf.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start < buf.length) words.push(decodeBytes(buf.subarray(start)));
  return words;
}
