// The decisions that keep a bad backup from replacing a good one (issue 14): what tar's exit status
// means, whether what it wrote is an archive, whether an include would archive nothing, what a target
// error says, and what BACKUP methods without a backup of rear's say. Pure; no commands.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as zlib from "node:zlib";
import { ARCHIVE_HEAD_BYTES, archiveHeadProblem, archiveKind, tarBlockProblem } from "../../../src/backup/archive-check.ts";
import { ArchiveWriter } from "../../../src/backup/archive-io.ts";
import { anchoredExcludes, contentsExcludedBy, excludedBy, excludeRegExp, includeProblems } from "../../../src/backup/include-check.ts";
import { isRsyncVersion } from "../../../src/backup/rsync-plan.ts";
import { tarCreateOutcome } from "../../../src/backup/tar.ts";
import { targetProblem } from "../../../src/backup/target-error.ts";
import { evalBody, evalLine, scriptSaid } from "../../../src/stages/backup/backup-scripts.ts";
import { emptyBackupError } from "../../../src/stages/backup/method-check.ts";

/** A tar header block as GNU tar writes it: a name, the fields, "ustar" and a valid checksum. */
function tarHeader(name: string, magic = "ustar\u000000"): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, "latin1");
  b.write("0000644\0", 100, "latin1");
  b.write("00000000000\0", 124, "latin1");
  b.write("0", 156, "latin1");
  b.write(magic, 257, "latin1");
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return b;
}
const tarOf = (...blocks: Buffer[]) => Buffer.concat([...blocks, Buffer.alloc(10240)]);
const zstd = (b: Buffer) => (zlib as unknown as { zstdCompressSync(b: Buffer): Buffer }).zstdCompressSync(b);

describe("tar's exit status when it creates an archive", () => {
  test("0 is success; 1 only with tar's own words for a changed, removed or shrunk file", () => {
    expect(tarCreateOutcome(0, "")).toEqual({ kind: "ok" });
    expect(tarCreateOutcome(1, "tar: /srv/db/x: file changed as we read it\n")).toEqual({ kind: "changed", files: ["/srv/db/x"] });
    expect(tarCreateOutcome(1, "tar: /a: File removed before we read it\n").kind).toBe("changed");
    expect(tarCreateOutcome(1, "tar: /a: File shrank by 10 bytes; padding with zeros\n").kind).toBe("changed");
  });
  test("1 without those words (BACKUP_PROG=/bin/false) fails and says it printed nothing", () => {
    const o = tarCreateOutcome(1, "");
    expect(o.kind).toBe("failed");
    expect(o.kind === "failed" && o.why).toBe("exited 1 without saying that a file changed (what GNU tar's exit 1 means), printing nothing");
    expect(tarCreateOutcome(1, "wrapper: cannot connect\n")).toEqual({ kind: "failed", why: "exited 1 without saying that a file changed (what GNU tar's exit 1 means): wrapper: cannot connect" });
  });
  test("1 is still 'changed' when the user silenced those warnings (the archive is checked anyway)", () => {
    expect(tarCreateOutcome(1, "", ["--anchored", "--warning=no-file-changed"]).kind).toBe("changed");
    expect(tarCreateOutcome(1, "", ["--warning=none"]).kind).toBe("changed");
  });
  test("2, not found, not executable and signals fail, each named", () => {
    expect(tarCreateOutcome(2, "tar: /x: Cannot open: Permission denied\ntar: Exiting with failure status due to previous errors\n")).toEqual({
      kind: "failed", why: "exited 2: tar: /x: Cannot open: Permission denied / tar: Exiting with failure status due to previous errors",
    });
    expect(tarCreateOutcome(127, "").kind === "failed" && tarCreateOutcome(127, "")).toMatchObject({ why: "was not found (exit 127), printing nothing" });
    expect(tarCreateOutcome(126, "")).toMatchObject({ why: "could not be executed (exit 126), printing nothing" });
    expect(tarCreateOutcome(137, "")).toMatchObject({ why: "was killed by signal 9 (exit 137), printing nothing" });
    expect(tarCreateOutcome(143, "")).toMatchObject({ kind: "failed" });
  });
});

describe("is it an archive of the expected kind?", () => {
  const one = tarOf(tarHeader("srv/data/a"));
  test("BACKUP_PROG_COMPRESS_OPTIONS give the kind", () => {
    expect(archiveKind(["--gzip"])).toBe("gzip");
    expect(archiveKind([])).toBe("tar");
    expect(archiveKind(["--zstd"])).toBe("zstd");
    expect(archiveKind(["-J"])).toBe("xz");
    expect(archiveKind(["--use-compress-program=pigz"])).toBe("other");
  });
  test("a tar header is recognised by its checksum in every format (gnu, posix, v7 without magic); zeros are the end marker", () => {
    expect(tarBlockProblem(tarHeader("a"))).toBeUndefined();
    expect(tarBlockProblem(tarHeader("a", "ustar  \0"))).toBeUndefined();
    expect(tarBlockProblem(tarHeader("a", "\0\0\0\0\0\0\0\0"))).toBeUndefined();
    expect(tarBlockProblem(Buffer.alloc(512))).toBe("empty");
    const bad = tarHeader("a");
    bad[0] = 0x62;
    expect(tarBlockProblem(bad)).toBe("not-tar");
    expect(tarBlockProblem(Buffer.from("hello"))).toBe("not-tar");
  });
  test("good archives pass: plain, gzip, zstd, also from a truncated head", () => {
    expect(archiveHeadProblem({ head: one, total: one.length, kind: "tar" })).toBeUndefined();
    const gz = gzipSync(Buffer.concat([one, Buffer.alloc(200000, 7)]));
    expect(archiveHeadProblem({ head: gz.subarray(0, 200), total: gz.length, kind: "gzip" })).toBeUndefined();
    const zs = zstd(one);
    expect(archiveHeadProblem({ head: zs, total: zs.length, kind: "zstd" })).toBeUndefined();
  });
  test("zstd whose first file compresses poorly: the first block is whole within the head kept", () => {
    // 6-bit random bytes: a compressed (not raw) block of ~96 KiB that decodes only once all of it is there
    const random = Buffer.from(Array.from({ length: 600 * 1024 }, () => Math.floor(Math.random() * 64)));
    const zs = zstd(Buffer.concat([tarHeader("./random"), random, tarHeader("./next"), Buffer.alloc(10240)]));
    expect(zs.length).toBeGreaterThan(ARCHIVE_HEAD_BYTES);
    expect(archiveHeadProblem({ head: zs.subarray(0, 65536), total: zs.length, kind: "zstd" })).toBe("is not a tar archive inside its zstd compression");
    expect(archiveHeadProblem({ head: zs.subarray(0, ARCHIVE_HEAD_BYTES), total: zs.length, kind: "zstd" })).toBeUndefined();
  });
  test("0 bytes, the wrong magic, an archive of nothing, something that is not tar inside gzip", () => {
    expect(archiveHeadProblem({ head: new Uint8Array(0), total: 0, kind: "gzip" })).toBe("is empty (0 bytes)");
    expect(archiveHeadProblem({ head: Buffer.from("hello world\n"), total: 12, kind: "gzip" })).toBe("is not a gzip archive (it starts with 68 65 6c 6c 6f 20 77 6f)");
    expect(archiveHeadProblem({ head: one, total: one.length, kind: "zstd" })).toMatch(/^is not a zstd archive/);
    const empty = gzipSync(Buffer.alloc(10240));
    expect(archiveHeadProblem({ head: empty, total: empty.length, kind: "gzip" })).toBe("holds no file (only tar's end-of-archive marker)");
    expect(archiveHeadProblem({ head: Buffer.alloc(10240), total: 10240, kind: "tar" })).toBe("holds no file (only tar's end-of-archive marker)");
    const text = gzipSync(Buffer.alloc(1024, "x"));
    expect(archiveHeadProblem({ head: text, total: text.length, kind: "gzip" })).toBe("is not a tar archive inside its gzip compression");
    expect(archiveHeadProblem({ head: Buffer.from([0x1f, 0x8b, 8, 0, 1, 2]), total: 6, kind: "gzip" })).toMatch(/^cannot be decompressed \(gzip: /);
  });
  test("an incremental archive may hold nothing (nothing changed); xz is checked by its magic only", () => {
    const empty = gzipSync(Buffer.alloc(10240));
    expect(archiveHeadProblem({ head: empty, total: empty.length, kind: "gzip", mayBeEmpty: true })).toBeUndefined();
    expect(archiveHeadProblem({ head: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1]), total: 7, kind: "xz" })).toBeUndefined();
    expect(archiveHeadProblem({ head: Buffer.from("x"), total: 1, kind: "other" })).toBeUndefined();
  });
});

describe("includes that would archive nothing", () => {
  test("tar's exclude patterns: wildcards cross '/', a match covers what is below, --anchored or after any '/'", () => {
    expect(excludedBy("/tmp/x/data", ["/tmp/*"], true)).toBe("/tmp/*");
    expect(excludedBy("/tmp", ["/tmp/*"], true)).toBeUndefined();
    expect(excludedBy("/srv/a/b", ["/srv/a"], true)).toBe("/srv/a");
    expect(excludedBy("/srv/ab", ["/srv/a"], true)).toBeUndefined();
    expect(excludedBy("/srv/a/b", ["a/b"], true)).toBeUndefined();
    expect(excludedBy("/srv/a/b", ["a/b"], false)).toBe("a/b");
    expect(excludedBy("/srv/x1", ["/srv/x[0-9]"], true)).toBe("/srv/x[0-9]");
    expect(excludedBy("/srv/xa", ["/srv/x[!0-9]"], true)).toBe("/srv/x[!0-9]");
    expect(excludedBy("/srv/a.b/", ["/srv/a.b"], true)).toBe("/srv/a.b");
    expect(excludedBy("/srv/aXb", ["/srv/a.b"], true)).toBeUndefined();
    expect(excludeRegExp("/a?c", true).test("/abc")).toBe(true);
    expect(anchoredExcludes(["--anchored"])).toBe(true);
    expect(anchoredExcludes(["--anchored", "--no-anchored"])).toBe(false);
    expect(anchoredExcludes([])).toBe(false);
  });
  test("one line per include: missing (BACKUP_PROG_INCLUDE only), or covered by an exclude", () => {
    const exists = (p: string) => p !== "/nonexistent" && p !== "/srv/*";
    expect(includeProblems({ include: ["/", "/nonexistent", "/tmp/x", "/srv/*", "/home"], configured: ["/nonexistent", "/tmp/x", "/srv/*"], exclude: ["/tmp/*", "/dev/shm/*"], anchored: true, exists })).toEqual([
      "BACKUP_PROG_INCLUDE has /nonexistent, which does not exist",
      "/tmp/x is to be backed up, but the exclude pattern '/tmp/*' (BACKUP_PROG_EXCLUDE or a default) leaves all of it out",
      "BACKUP_PROG_INCLUDE has /srv/*, which does not exist (rear does not expand wildcards there)",
    ]);
    expect(includeProblems({ include: ["/"], configured: [], exclude: ["/tmp/*"], anchored: true, exists: () => false })).toEqual([]);
  });
  test("a directory whose contents an exclude pattern leaves out entirely (/tmp with '/tmp/*'): only the directory would be archived", () => {
    expect(contentsExcludedBy("/tmp", ["/var/x", "/tmp/*"], true)).toBe("/tmp/*");
    expect(contentsExcludedBy("/tmp/", ["/tmp/*"], true)).toBe("/tmp/*");
    expect(contentsExcludedBy("/tmp", ["/tmp/[a-z]*"], true)).toBeUndefined();
    expect(contentsExcludedBy("/tmp", ["/tmp/*.log"], true)).toBeUndefined();
    expect(contentsExcludedBy("/", ["/*"], true)).toBe("/*");
    expect(contentsExcludedBy("/srv", ["/tmp/*"], true)).toBeUndefined();
    const c = { configured: ["/tmp", "/srv"], exclude: ["/tmp/*"], anchored: true, exists: () => true };
    expect(includeProblems({ ...c, include: ["/tmp", "/srv"], isDir: () => true })).toEqual([
      "/tmp is to be backed up, but the exclude pattern '/tmp/*' (BACKUP_PROG_EXCLUDE or a default) leaves out everything in it",
    ]);
    expect(includeProblems({ ...c, include: ["/tmp", "/srv"], isDir: () => false })).toEqual([]);
  });
});

describe("target errors are one line with the path and a remedy", () => {
  test("each errno", () => {
    expect(targetProblem("EROFS", "/b/host", "file:///b")?.message).toBe("Cannot write the backup to /b/host: its filesystem is mounted read-only");
    expect(targetProblem("EACCES", "/b/host", "file:///b")?.message).toBe("Cannot write the backup to /b/host: permission denied");
    expect(targetProblem("ENOSPC", "/b/host", "file:///b")?.message).toMatch(/^The backup target is full/);
    expect(targetProblem("ENOTDIR", "/b/host", "file:///b")?.hint).toMatch(/at a directory/);
    for (const c of ["EROFS", "EACCES", "EPERM", "ENOSPC", "EDQUOT", "ENOTDIR", "ENOENT", "EIO", "ESTALE"]) {
      const p = targetProblem(c, "/b/host", "file:///b")!;
      expect(p.message).toContain("/b");
      expect(p.message.includes("\n") || p.hint.includes("\n")).toBe(false);
    }
    expect(targetProblem("EINVAL", "/b", "file:///b")).toBeUndefined();
    expect(targetProblem(undefined, "/b", "file:///b")).toBeUndefined();
  });
});

describe("PRE/POST_BACKUP_SCRIPT and EXTERNAL_*: evaluated as ReaR does", () => {
  test("the body evals the variable's words (string or array); the value never goes into the body", () => {
    expect(evalBody("PRE_BACKUP_SCRIPT")).toBe('eval "${PRE_BACKUP_SCRIPT[@]}"');
    expect(() => evalBody("X; rm -rf /")).toThrow();
    expect(evalLine(["systemctl", "stop", "db", ""])).toBe("systemctl stop db");
  });
  test("bash's name for the temporary script is replaced by the setting's", () => {
    expect(scriptSaid("/var/tmp/rear.abc/tmp/.config-0a1b2c3d4e5f.sh: line 290: nope: command not found\n", "PRE_BACKUP_SCRIPT")).toBe("PRE_BACKUP_SCRIPT: nope: command not found");
  });
});

describe("BACKUP empty; rsync that is not rsync", () => {
  const cfg = (v: string) => ({ config: { str: () => v } as never, paths: { configDir: "/etc/rear" } as never });
  test("an empty BACKUP is a configuration error (exit 1) naming local.conf", () => {
    const e = emptyBackupError(cfg(""));
    expect(e?.exitCode).toBe(1);
    expect(e?.message).toBe("BACKUP is empty: rear does not know how the backup is made or restored");
    expect(e?.hint).toContain("/etc/rear/local.conf");
    expect(emptyBackupError(cfg("NETFS"))).toBeUndefined();
  });
  test("rsync's --version", () => {
    expect(isRsyncVersion("rsync  version 3.2.7  protocol version 31\nCopyright (C) 1996-2022\n")).toBe(true);
    expect(isRsyncVersion("")).toBe(false);
    expect(isRsyncVersion("GNU tar 1.34\n")).toBe(false);
  });
});

describe("ArchiveWriter after abort()", () => {
  const base = mkdtempSync(join(tmpdir(), "rear-unit-abort."));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  test("start() creates the temporary file at once; abort() removes it, and a late chunk cannot create it again", () => {
    const w = new ArchiveWriter(base, "backup.tar", 0, "t9");
    w.start();
    expect(readdirSync(base)).toEqual([".backup.tar.partial-t9"]);
    w.write(Buffer.from("abc"));
    expect(Buffer.from(w.head).toString()).toBe("abc");
    w.abort();
    expect(readdirSync(base)).toEqual([]);
    expect(() => w.write(Buffer.from("late"))).toThrow(/stopped/);
    expect(existsSync(join(base, ".backup.tar.partial-t9"))).toBe(false);
    w.abort(); // twice: nothing to do, no error
  });
  test("abort() never throws, even where nothing can be removed", () => {
    const w = new ArchiveWriter(join(base, "gone"), "backup.tar", 0, "t8");
    expect(() => w.abort()).not.toThrow();
  });
});

describe("tar's notes are not the cause", () => {
  test("'Removing leading /' and --totals are left out of the message", () => {
    expect(tarCreateOutcome(2, "tar: Removing leading `/' from member names\ntar: /x: Cannot open: Permission denied\nTotal bytes written: 10240 (10KiB, 46MiB/s)\n")).toEqual({ kind: "failed", why: "exited 2: tar: /x: Cannot open: Permission denied" });
    expect(tarCreateOutcome(2, "tar: Removing leading `/' from member names\n")).toEqual({ kind: "failed", why: "exited 2 (no error message)" });
  });
});
