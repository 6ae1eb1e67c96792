import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { CryptError, Decryptor, decodeHeader, Encryptor, HEADER_BYTES, isOpensslSalted, isRearAead, type CryptParams } from "../../../src/backup/crypt.ts";

// small chunks and a cheap scrypt: the format is the same, the test fast
const P: CryptParams = { log2N: 10, r: 8, p: 1, log2Chunk: 12 };

function seal(plain: Uint8Array, key = "correct horse", pieces = [plain.length]): Buffer {
  const e = new Encryptor(key, P);
  const out: Buffer[] = [];
  let off = 0;
  for (const n of pieces) {
    out.push(...e.push(plain.subarray(off, off + n)));
    off += n;
  }
  out.push(...e.end());
  return Buffer.concat(out);
}

function open(sealed: Uint8Array, key = "correct horse", step = 1000): Buffer {
  const d = new Decryptor(key);
  const out: Buffer[] = [];
  for (let i = 0; i < sealed.length; i += step) out.push(...d.push(sealed.subarray(i, i + step)));
  out.push(...d.end());
  return Buffer.concat(out);
}

describe("the authenticated archive stream", () => {
  test("round trip for empty, short, chunk-sized and multi-chunk data, whatever the piece sizes", () => {
    for (const n of [0, 1, 4095, 4096, 4097, 3 * 4096, 50_000]) {
      const plain = randomBytes(n);
      const sealed = seal(plain, "k1", n > 10 ? [7, n - 20, 13] : [n]);
      expect(isRearAead(sealed)).toBe(true);
      // header + one tag per chunk (the last chunk is full when the size is a multiple; empty data is one empty chunk)
      expect(sealed.length).toBe(HEADER_BYTES + n + 16 * Math.max(1, Math.ceil(n / 4096)));
      for (const step of [1, 777, 4096 + 16, 1 << 20]) expect(open(sealed, "k1", step).equals(plain)).toBe(true);
    }
  });

  test("the same data twice gives different bytes (fresh salt, so a fresh key)", () => {
    const plain = Buffer.from("same");
    expect(seal(plain).equals(seal(plain))).toBe(false);
  });

  test("a wrong key fails at the first chunk, before any plaintext", () => {
    const sealed = seal(randomBytes(20_000));
    const d = new Decryptor("wrong");
    expect(() => d.push(sealed)).toThrow(/the key is wrong/);
  });

  test("a changed byte anywhere is found at its chunk; nothing of that chunk is released", () => {
    const plain = randomBytes(5 * 4096);
    const sealed = seal(plain);
    for (const at of [HEADER_BYTES + 10, HEADER_BYTES + 2 * 4112 + 5, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 1;
      const d = new Decryptor("correct horse");
      const got: Buffer[] = [];
      let err: unknown;
      try {
        // one sealed chunk at a time: a push that fails releases nothing of its own
        for (let i = 0; i < bad.length; i += 4112) got.push(...d.push(bad.subarray(i, i + 4112)));
        got.push(...d.end());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CryptError);
      const chunk = Math.floor((at - HEADER_BYTES) / 4112);
      expect(Buffer.concat(got).equals(plain.subarray(0, chunk * 4096))).toBe(true);
    }
  });

  test("the header is authenticated: changing its settings or salt fails", () => {
    const sealed = seal(randomBytes(100));
    const bad = Buffer.from(sealed);
    bad[20]! ^= 1; // salt
    expect(() => open(bad)).toThrow(CryptError);
  });

  test("a cut-off archive is found: at a chunk boundary, inside a chunk, inside the header", () => {
    const sealed = seal(randomBytes(3 * 4096 + 100));
    for (const len of [HEADER_BYTES + 4112, HEADER_BYTES + 2 * 4112, HEADER_BYTES + 4112 + 50, HEADER_BYTES + 5, 10]) {
      expect(() => open(sealed.subarray(0, len))).toThrow(CryptError);
    }
  });

  test("chunks swapped or data appended are found", () => {
    const sealed = seal(randomBytes(3 * 4096 + 100));
    const a = sealed.subarray(HEADER_BYTES, HEADER_BYTES + 4112);
    const b = sealed.subarray(HEADER_BYTES + 4112, HEADER_BYTES + 2 * 4112);
    const swapped = Buffer.concat([sealed.subarray(0, HEADER_BYTES), b, a, sealed.subarray(HEADER_BYTES + 2 * 4112)]);
    expect(() => open(swapped)).toThrow(CryptError);
    expect(() => open(Buffer.concat([sealed, Buffer.from("x")]))).toThrow(CryptError);
  });

  test("headers: out-of-range settings are refused before any key derivation; openssl's Salted__ is recognised", () => {
    const h = Buffer.from(seal(Buffer.alloc(0)).subarray(0, HEADER_BYTES));
    h[10] = 40; // N = 2^40
    expect(() => decodeHeader(h)).toThrow(/out of range/);
    expect(isOpensslSalted(Buffer.from("Salted__12345678"))).toBe(true);
    expect(isRearAead(Buffer.from("\x1f\x8b\x08\x00"))).toBe(false);
    expect(() => new Encryptor("", P)).toThrow(/empty/);
  });
});
