import { describe, expect, test } from "bun:test";
import { decryptArgv, streamKind } from "../../../src/backup/openssl-crypt.ts";

describe("ReaR's openssl-encrypted archives", () => {
  test("the key goes by environment, never on the command line", () => {
    expect(decryptArgv("/usr/bin/openssl des3 -d -k ")).toEqual(["/usr/bin/openssl", "des3", "-d", "-pass", "env:REAR_BACKUP_PROG_CRYPT_KEY"]);
    expect(decryptArgv("openssl aes-256-cbc -d -pbkdf2 -pass file:/root/key")).toEqual(["openssl", "aes-256-cbc", "-d", "-pbkdf2", "-pass", "file:/root/key"]);
    expect(() => decryptArgv("  ")).toThrow(/BACKUP_PROG_DECRYPT_OPTIONS is empty/);
  });
  test("the first decrypted bytes: a compressed stream, a tar archive, or garbage", () => {
    expect(streamKind(new Uint8Array([0x1f, 0x8b, 8, 0]))).toBe("gzip");
    expect(streamKind(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1]))).toBe("zstd");
    const tar = new Uint8Array(512);
    tar.set(new TextEncoder().encode("ustar"), 257);
    expect(streamKind(tar)).toBe("tar");
    expect(streamKind(new Uint8Array([0x13, 0x37, 0, 0]))).toBeUndefined();
  });
});
