import { describe, expect, test } from "bun:test";
import { Config } from "../../../src/config/config.ts";
import { maskPasswords, mayHoldPassword } from "../../../src/config/secret-values.ts";
import { isSecretByName } from "../../../src/config/settings.ts";

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


describe("secret by name", () => {
  test("LUKS_PASSPHRASE_<mapping name> is a secret wherever it is set; other names are not", () => {
    expect(isSecretByName("LUKS_PASSPHRASE_home_crypt")).toBe(true);
    expect(isSecretByName("LUKS_PASSPHRASE_ROOT")).toBe(true);
    expect(isSecretByName("LUKS_PASSPHRASE_")).toBe(false);
    expect(isSecretByName("MY_LUKS_PASSPHRASE_X")).toBe(false);
    const c = new Config({ vars: new Map([["LUKS_PASSPHRASE_root", { value: "hunter22" }]]), secrets: new Set<string>() } as never);
    expect(c.isSecret("LUKS_PASSPHRASE_root")).toBe(true);
    expect(c.isSecret("OUTPUT")).toBe(false);
  });
});
