import { describe, expect, test } from "bun:test";
import { maskPasswords, mayHoldPassword } from "../../../src/config/secret-values.ts";

describe("passwords inside settings", () => {
  test("cifs mount options: password=, pass= (with ',,' commas), user=NAME%PASSWORD", () => {
    expect(maskPasswords("username=backup,password=s3cr,,et,vers=3.0")).toBe("username=backup,password=<hidden>,vers=3.0");
    expect(maskPasswords("pass=x,rw")).toBe("pass=<hidden>,rw");
    expect(maskPasswords("user=backup%s3cret,rw")).toBe("user=backup%<hidden>,rw");
    expect(maskPasswords("rw,noatime")).toBe("rw,noatime");
  });
  test("URLs: user:password@ hidden, user@ kept", () => {
    expect(maskPasswords("ftp://backup:s3cret@host/path")).toBe("ftp://backup:<hidden>@host/path");
    expect(maskPasswords("sshfs://root@host:2222/path")).toBe("sshfs://root@host:2222/path");
  });
  test("which settings", () => {
    expect(["BACKUP_OPTIONS", "OUTPUT_OPTIONS", "BACKUP_URL", "OUTPUT_URL", "BACKUP_MOUNTCMD"].every(mayHoldPassword)).toBe(true);
    expect(mayHoldPassword("PROGS")).toBe(false);
  });
});
