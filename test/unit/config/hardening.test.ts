// Issue 14, the configuration side: bytes kept, the secret idiom however laid out, files refused before
// they are read, bash's complaints and failed sourcing fatal, settings nothing implements said so.

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseBashOutput } from "../../../src/config/bash-eval.ts";
import { secretGroupNames } from "../../../src/config/load.ts";
import { passwordsIn, secretValuesOf } from "../../../src/config/secret-values.ts";
import { SETTINGS, settingTypo } from "../../../src/config/settings.ts";
import { UNSUPPORTED, unsupportedInUse } from "../../../src/config/unsupported.ts";
import { decodeBytes, encodeBytes, fsPath, hasRawBytes, rawArgv } from "../../../src/sys/bytes.ts";
import { configError, loader } from "../../helpers/config.ts";
import { FakeIo } from "../../helpers/fake-io.ts";

const D = "/etc/rear";

const err = configError;

describe("values are bytes", () => {
  test("Latin-1 and broken UTF-8 survive a round trip exactly", () => {
    const cases = [
      Buffer.from("/srv/caf\xe9/x", "latin1"),
      Buffer.from([0x41, 0xc3]), // a sequence cut short
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate is not UTF-8
      Buffer.from([0xc0, 0xaf]), // overlong
      Buffer.from("日本語 ✓ 😀", "utf8"),
      Buffer.from([0xef, 0xbb, 0xbf, 0x41]), // a BOM is kept, not dropped
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    ];
    for (const b of cases) expect(Buffer.compare(encodeBytes(decodeBytes(b)), b)).toBe(0);
    expect(decodeBytes(Buffer.from("caf\xe9", "latin1"))).toBe("caf\uDCE9");
    expect(decodeBytes(Buffer.from([0xef, 0xbb, 0xbf]))).toBe("\uFEFF");
    expect(hasRawBytes("caf\uDCE9")).toBe(true);
    expect(hasRawBytes("café 😀")).toBe(false);
    expect(fsPath("/a/b")).toBe("/a/b");
    expect(fsPath("/a/\uDCE9")).toEqual(Buffer.from([0x2f, 0x61, 0x2f, 0xe9]));
  });
  test("the command line from /proc/self/cmdline, NUL-separated", () => {
    expect(rawArgv(() => Buffer.from("rear\0-c\0/etc/caf\xe9\0dump\0", "latin1"))).toEqual(["rear", "-c", "/etc/caf\uDCE9", "dump"]);
    expect(rawArgv(() => undefined)).toBeUndefined();
  });
});

describe("secrets", () => {
  test("every variable of a { …; } 2>>/dev/$SECRET_OUTPUT_DEV group, on one line or several", () => {
    expect(secretGroupNames("{ A='x' ; B='y' ; } 2>>/dev/$SECRET_OUTPUT_DEV")).toEqual(["A", "B"]);
    expect(secretGroupNames("{\n  C='a}b'\n  export D=\"q\\\"w\" ; E+=( 1 2 )\n} 2>>/dev/${SECRET_OUTPUT_DEV}\n")).toEqual(["C", "D", "E"]);
    expect(secretGroupNames("{ F=1; } 2>/dev/null\nG=2")).toEqual([]);
  });
  test("the loader marks them secret", () => {
    const io = new FakeIo({ [`${D}/local.conf`]: { text: "{\n  TOKEN_A='aaaa'\n  TOKEN_B='bbbb'\n} 2>>/dev/$SECRET_OUTPUT_DEV\n" } });
    const c = loader(io, D).load();
    expect(c.secrets.has("TOKEN_A") && c.secrets.has("TOKEN_B")).toBe(true);
  });
  test("the secret values: secret variables and passwords inside URLs and options", () => {
    expect(passwordsIn("username=bob,password=p,,w,vers=3")).toEqual(["p,,w", "p,w"]);
    expect(passwordsIn("sshfs://bob:pa%40ss@host/x")).toEqual(["pa%40ss", "pa@ss"]);
    const v = secretValuesOf(
      [["BACKUP_PROG_CRYPT_KEY", "k3y-value"], ["BACKUP_OPTIONS", "user=u%s3cret"], ["OUTPUT", "ISO"], ["MY_ARR", ["x1", "x2"]]],
      (n) => n === "BACKUP_PROG_CRYPT_KEY" || n === "MY_ARR",
    );
    expect(v.sort()).toEqual(["k3y-value", "s3cret", "x1", "x2"]);
  });
});

describe("files rear does not read", () => {
  test("a FIFO, a device or a directory is refused before it is read", () => {
    const io = new FakeIo({});
    io.stat = (p) => (p === `${D}/local.conf` ? { isFile: false, uid: 0, mode: 0o010644 } : undefined);
    io.readText = (p) => {
      if (p === `${D}/local.conf`) throw new Error("read");
      return undefined;
    };
    expect(err(() => loader(io, D).load()).message).toBe("/etc/rear/local.conf: is a FIFO (named pipe), not a regular file: rear does not read it");
    io.stat = (p) => (p === `${D}/local.conf` ? { isFile: false, uid: 0, mode: 0o020666 } : undefined);
    expect(err(() => loader(io, D).load()).message).toContain("is a character device");
  });
  test("a file over 1 MiB is refused before it is read", () => {
    const io = new FakeIo({});
    io.stat = (p) => (p === `${D}/site.conf` ? { isFile: true, uid: 0, mode: 0o100644, size: 8 * 2 ** 30 } : undefined);
    expect(err(() => loader(io, D).load()).message).toContain("site.conf: is 8589934592 bytes, more than such a file can be");
  });
  test("a byte order mark or a NUL byte", () => {
    expect(err(() => loader(new FakeIo({ [`${D}/local.conf`]: { text: "\uFEFFOUTPUT=ISO\n" } }), D).load()).message).toContain("local.conf:1: starts with a UTF-8 byte order mark");
    expect(err(() => loader(new FakeIo({ [`${D}/local.conf`]: { text: "OUTPUT=ISO\nX=\0\n" } }), D).load()).message).toContain("local.conf:2: holds a NUL byte");
  });
});

describe("what bash says about a user file stops rear", () => {
  const answer = (stderr: string, stdout = "S\0E\0F\0/etc/rear/local.conf\0F\0(end)\0D\0") => {
    const io = new FakeIo({ [`${D}/local.conf`]: { text: "BACKUP = NETFS\nOUTPUT=ISO\n" } });
    io.bashAnswer = () => ({ code: 0, stdout, stderr });
    return io;
  };
  test("`BACKUP = NETFS` is a command that does not exist", () => {
    const e = err(() => loader(answer("/etc/rear/local.conf: line 1: BACKUP: command not found\n"), D).load());
    expect(e.message).toBe("/etc/rear/local.conf:1: bash reads 'BACKUP' as a command, and there is none of that name");
    expect(e.hint).toContain("write BACKUP=value");
  });
  test("a non-zero status of the file (return N, a failed last command) is ReaR's 'Failed to Source'", () => {
    const io = new FakeIo({ [`${D}/local.conf`]: { text: "OUTPUT=ISO\nreturn 3\nBACKUP=NETFS\n" } });
    io.bashAnswer = () => ({ code: 0, stdout: "S\0E\0F\0conf/default.conf\0F\0/etc/rear/local.conf\0R\x003\x00", stderr: "" });
    const e = err(() => loader(io, D).load());
    expect(e.message).toBe("/etc/rear/local.conf:2: 'return 3' stops reading the file with status 3");
    expect(parseBashOutput("S\0E\0F\0x\0R\x001\x00").failedWith).toBe(1);
  });
});

describe("no setting is silently ignored", () => {
  test("every variable of default.conf is read by some module or listed as not supported yet", () => {
    /** the text of every file below `dir` that `keep` accepts */
    const textsBelow = (dir: string, keep: (p: string) => boolean): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = join(dir, e.name);
        return e.isDirectory() ? textsBelow(p, keep) : e.isFile() && keep(p) ? [readFileSync(p, "latin1")] : [];
      });
    const texts = textsBelow(join(import.meta.dir, "../../../src"), (p) => p.endsWith(".ts") && !p.endsWith("config/settings.ts") && !p.endsWith("config/unsupported.ts"));
    const skelText = textsBelow(join(import.meta.dir, "../../../skel"), () => true);
    const all = texts.join("\n");
    const sk = skelText.join("\n");
    const orphans = [...SETTINGS.keys()].filter((n) => !UNSUPPORTED.has(n) && !new RegExp(`["'\`]${n}["'\`]`).test(all) && !new RegExp(`\\b${n}\\b`).test(sk));
    expect(orphans).toEqual([]);
    // and nothing is listed as unsupported that some module reads
    const read = [...UNSUPPORTED].filter((n) => new RegExp(`["'\`]${n}["'\`]`).test(all));
    expect(read).toEqual([]);
    for (const n of UNSUPPORTED) expect(SETTINGS.has(n)).toBe(true);
  });
  test("only a value other than the default is named", () => {
    const defaults = new Map<string, string | string[]>([["TIMESYNC", ""], ["RESULT_MAILTO", []], ["OUTPUT", "ISO"]]);
    expect(unsupportedInUse(new Map<string, string | string[]>([["TIMESYNC", ""], ["RESULT_MAILTO", []]]), defaults)).toEqual([]);
    expect(unsupportedInUse(new Map<string, string | string[]>([["TIMESYNC", "NTP"], ["RESULT_MAILTO", ["root@x"]], ["OUTPUT", "USB"]]), defaults)).toEqual(["RESULT_MAILTO", "TIMESYNC"]);
  });
  test("the loader gives a notice per unsupported setting, at its line", () => {
    const c = loader(new FakeIo({ [`${D}/local.conf`]: { text: "OUTPUT=ISO\nTIMESYNC=NTP\n" } }), D).load();
    expect(c.unsupported).toEqual(["TIMESYNC"]);
    expect(c.notices).toEqual(["/etc/rear/local.conf:2: TIMESYNC is not supported by this version yet; it has no effect"]);
  });
});

describe("a setting name with a typo", () => {
  test("is named with the setting it likely means; your own variables and ReaR's per-method ones are not", () => {
    expect(settingTypo("BAKCUP")).toBe("BACKUP"); // a transposition is one edit
    expect(settingTypo("OUPUT")).toBe("OUTPUT");
    expect(settingTypo("NETFS_PREFX")).toBe("NETFS_PREFIX");
    expect(settingTypo("SSH_ROOT_PASSWD")).toBe("SSH_ROOT_PASSWORD");
    for (const n of ["BACKUP", "MY_VAR", "NBU_CLIENT", "COPY_AS_IS_TSM", "PROGS_TSM", "LIBS_NBU", "TSM_RESULT_FILE_PATH", "HOME"]) expect(settingTypo(n)).toBeUndefined();
  });
  test("the loader says so at its line", () => {
    const c = loader(new FakeIo({ [`${D}/local.conf`]: { text: "OUTPUT=ISO\nBAKCUP=NETFS\n" } }), D).load();
    expect(c.notices).toContain("/etc/rear/local.conf:2: BAKCUP is not a setting of rear; did you mean BACKUP? (BACKUP keeps its default)");
  });
});
