// Encrypted backup archives (BACKUP_PROG_CRYPT_ENABLED). ReaR pipes tar through `openssl des3 -salt -k
// KEY`: a 64-bit block cipher, no authentication (a flipped bit restores a damaged file silently), and
// the key on a command line any `ps` can read. Ours is an authenticated stream in the rear process
// itself, the design of age's STREAM (Hoang, Reyhanitabar, Rogaway, Vizár: "Online
// Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance"):
//
//   header  32 bytes: "REARAEAD" | version 1 | kdf 1 (scrypt) | log2 N | r | p | log2 chunk | salt 16 | 0 0
//   chunks  AES-256-GCM of each CHUNK bytes of plaintext (the last one shorter, possibly empty) + 16-byte tag
//
// The key is scrypt(passphrase, salt): a fresh random salt per archive makes a fresh key, so the nonces
// can be a counter — 11 bytes big-endian and a last byte 1 on the final chunk, 0 before it. The header is
// the additional data of every chunk. A reader therefore detects a wrong passphrase at the first chunk
// (before anything is written), any changed byte at its chunk, and a cut-off archive (no chunk marked
// final) at the end; chunks are released only after their tag checked out.
// Pure: no commands, no files (the callers stream bytes through it).

import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";

export const MAGIC = "REARAEAD";
export const HEADER_BYTES = 32;
const TAG = 16;

export interface CryptParams {
  log2N: number;
  r: number;
  p: number;
  log2Chunk: number;
}

/** scrypt N=2^16, r=8 (64 MiB, ~0.15 s once per archive); 1 MiB chunks (AES-GCM: ~4 GB/s here). */
export const DEFAULT_PARAMS: CryptParams = { log2N: 16, r: 8, p: 1, log2Chunk: 20 };

export class CryptError extends Error {}

/** Whether `head` (the first bytes of an archive) starts an archive of ours. */
export function isRearAead(head: Uint8Array): boolean {
  return head.length >= MAGIC.length && Buffer.from(head.subarray(0, MAGIC.length)).toString("latin1") === MAGIC;
}

/** Whether `head` starts an `openssl enc` stream with salt (ReaR's BACKUP_PROG_CRYPT_OPTIONS). */
export function isOpensslSalted(head: Uint8Array): boolean {
  return head.length >= 8 && Buffer.from(head.subarray(0, 8)).toString("latin1") === "Salted__";
}

function deriveKey(passphrase: string, salt: Uint8Array, p: CryptParams): Buffer {
  if (!passphrase) throw new CryptError("The encryption key is empty");
  const N = 2 ** p.log2N;
  return scryptSync(passphrase, salt, 32, { N, r: p.r, p: p.p, maxmem: 256 * N * p.r + (1 << 20) });
}

function nonce(counter: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(counter, 5, 6); // 2^48 chunks of 1 MiB is far beyond any archive
  n[11] = last ? 1 : 0;
  return n;
}

export function encodeHeader(p: CryptParams, salt: Uint8Array): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write(MAGIC, 0, "latin1");
  h[8] = 1;
  h[9] = 1;
  h[10] = p.log2N;
  h[11] = p.r;
  h[12] = p.p;
  h[13] = p.log2Chunk;
  Buffer.from(salt).copy(h, 14);
  return h;
}

export function decodeHeader(h: Uint8Array): { params: CryptParams; salt: Buffer } {
  if (h.length < HEADER_BYTES || !isRearAead(h)) throw new CryptError("not an encrypted rear archive (no REARAEAD header)");
  const b = Buffer.from(h);
  if (b[8] !== 1 || b[9] !== 1) throw new CryptError(`encrypted archive of an unknown format version ${b[8]}/${b[9]}: restore it with the rear that made it`);
  const params = { log2N: b[10]!, r: b[11]!, p: b[12]!, log2Chunk: b[13]! };
  // bounds keep a damaged header from asking for terabytes of memory
  if (params.log2N < 10 || params.log2N > 22 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16 || params.log2Chunk < 12 || params.log2Chunk > 24) {
    throw new CryptError("the encrypted archive's header is damaged (its key-derivation settings are out of range)");
  }
  return { params, salt: Buffer.from(b.subarray(14, 30)) };
}

/** Encrypts a stream: push() plaintext, get ciphertext back; end() returns the final chunk. */
export class Encryptor {
  private readonly key: Buffer;
  private readonly header: Buffer;
  private readonly chunk: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private counter = 0;
  private started = false;

  constructor(passphrase: string, params: CryptParams = DEFAULT_PARAMS, salt: Uint8Array = randomBytes(16)) {
    this.key = deriveKey(passphrase, salt, params);
    this.header = encodeHeader(params, salt);
    this.chunk = 2 ** params.log2Chunk;
  }

  private seal(plain: Buffer, last: boolean): Buffer {
    const c = createCipheriv("aes-256-gcm", this.key, nonce(this.counter++, last));
    c.setAAD(this.header);
    return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  }

  /** Ciphertext for the plaintext so far (whole chunks only; a chunk is sealed once more data shows it is not the last). */
  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    if (!this.started) {
      out.push(this.header);
      this.started = true;
    }
    this.pending.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.pendingBytes += data.byteLength;
    // keep at least one byte back: the chunk that ends the stream must be sealed as the last
    while (this.pendingBytes > this.chunk) {
      const all = Buffer.concat(this.pending);
      out.push(this.seal(all.subarray(0, this.chunk), false));
      const rest = all.subarray(this.chunk);
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
    return out;
  }

  end(): Buffer[] {
    const out: Buffer[] = [];
    if (!this.started) {
      out.push(this.header);
      this.started = true;
    }
    out.push(this.seal(Buffer.concat(this.pending), true));
    this.pending = [];
    this.pendingBytes = 0;
    return out;
  }
}

/** Decrypts a stream: push() ciphertext, get verified plaintext back; end() checks that the stream was complete. */
export class Decryptor {
  private key: Buffer | undefined;
  private header: Buffer | undefined;
  private sealedChunk = 0;
  private buf: Buffer = Buffer.alloc(0);
  private counter = 0;
  private done = false;

  constructor(private readonly passphrase: string) {}

  private open(sealed: Buffer, last: boolean): Buffer {
    const d = createDecipheriv("aes-256-gcm", this.key!, nonce(this.counter, last));
    d.setAAD(this.header!);
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    try {
      const plain = Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()]);
      this.counter++;
      return plain;
    } catch {
      if (this.counter === 0) throw new CryptError("the key is wrong (or the archive's first megabyte is damaged): nothing was decrypted");
      throw new CryptError(`the encrypted archive is damaged or was changed at chunk ${this.counter} (byte ${HEADER_BYTES + this.counter * this.sealedChunk})`);
    }
  }

  push(data: Uint8Array): Buffer[] {
    if (this.done) throw new CryptError("data after the final chunk of the encrypted archive");
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (!this.header) {
      if (this.buf.length < HEADER_BYTES) return [];
      this.header = Buffer.from(this.buf.subarray(0, HEADER_BYTES));
      const { params, salt } = decodeHeader(this.header);
      this.key = deriveKey(this.passphrase, salt, params);
      this.sealedChunk = 2 ** params.log2Chunk + TAG;
      this.buf = this.buf.subarray(HEADER_BYTES);
    }
    const out: Buffer[] = [];
    // a full sealed chunk is not the last one only when more bytes follow it
    while (this.buf.length > this.sealedChunk) {
      out.push(this.open(this.buf.subarray(0, this.sealedChunk), false));
      this.buf = this.buf.subarray(this.sealedChunk);
    }
    if (out.length) this.buf = Buffer.from(this.buf); // do not pin the large input buffers
    return out;
  }

  end(): Buffer[] {
    if (!this.header) throw new CryptError("the encrypted archive is cut off (shorter than its header)");
    if (this.done) return [];
    if (this.buf.length < TAG) throw new CryptError("the encrypted archive is cut off (its last chunk is missing)");
    const plain = this.open(this.buf, true);
    this.done = true;
    this.buf = Buffer.alloc(0);
    return [plain];
  }
}
