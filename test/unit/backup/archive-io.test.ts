// ArchiveWriter writes temporary files of its own in a fresh directory: file I/O only, no commands.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArchiveWriter, archiveFiles, manifestText, parseManifest, readFiles, readHeadOf, splitVolumes, volumeName } from "../../../src/backup/archive-io.ts";

const base = mkdtempSync(join(tmpdir(), "rear-unit-archive."));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("archive names and manifests", () => {
  test("volumes are named as split -d; listed in order, other files ignored", () => {
    expect(volumeName("backup.tar.gz", 0)).toBe("backup.tar.gz.00");
    expect(volumeName("backup.tar.gz", 123)).toBe("backup.tar.gz.123");
    expect(splitVolumes(["backup.tar.gz.10", "backup.tar.gz.02", "backup.tar.gz.100", "backup.tar.gz.sha256", "backup.tar.gz", "x.00"], "backup.tar.gz")).toEqual(["backup.tar.gz.02", "backup.tar.gz.10", "backup.tar.gz.100"]);
  });
  test("a manifest round-trips and lists only its archive's files", () => {
    const files = [{ name: "b.tar.01", bytes: 1, sha256: "a".repeat(64) }, { name: "b.tar.00", bytes: 1, sha256: "b".repeat(64) }];
    const text = `${manifestText(files)}${"c".repeat(64)}  other.tar\n`;
    expect(parseManifest(text, "b.tar")).toEqual([{ name: "b.tar.00", sha256: "b".repeat(64) }, { name: "b.tar.01", sha256: "a".repeat(64) }]);
    expect(parseManifest(`${"d".repeat(64)} *b.tar\n`, "b.tar")).toEqual([{ name: "b.tar", sha256: "d".repeat(64) }]);
  });
});

describe("ArchiveWriter", () => {
  test("one file: temporary name until commit, then the file and a sha256sum manifest, mode 0600", async () => {
    const dir = mkdtempSync(join(base, "one."));
    const w = new ArchiveWriter(dir, "backup.tar", 0, "t1");
    const data = Buffer.from("x".repeat(10_000));
    w.write(data.subarray(0, 3000));
    w.write(data.subarray(3000));
    expect(readdirSync(dir)).toEqual([".backup.tar.partial-t1"]);
    const files = w.commit();
    expect(files).toEqual([{ name: "backup.tar", bytes: 10_000, sha256: sha(data) }]);
    expect(readdirSync(dir).sort()).toEqual(["backup.tar", "backup.tar.sha256"]);
    expect(readFileSync(join(dir, "backup.tar.sha256"), "utf8")).toBe(`${sha(data)}  backup.tar\n`);
    const found = archiveFiles(dir, "backup.tar");
    expect(found.files).toEqual([{ path: join(dir, "backup.tar"), bytes: 10_000, sha256s: [sha(data)] }]);
    const back: Uint8Array[] = [];
    for await (const c of readFiles(found.files.map((f) => f.path), 4096)) back.push(c);
    expect(Buffer.concat(back).equals(data)).toBe(true);
  });

  test("volumes: split at the size, each hashed; the stream reads back whole; stale volumes of before are removed", async () => {
    const dir = mkdtempSync(join(base, "vol."));
    writeFileSync(join(dir, "b.tar.05"), "old volume");
    writeFileSync(join(dir, "b.tar"), "old unsplit");
    const data = Buffer.from(Array.from({ length: 2500 }, (_, i) => i % 251));
    const w = new ArchiveWriter(dir, "b.tar", 1000, "t2");
    for (let i = 0; i < data.length; i += 333) w.write(data.subarray(i, i + 333));
    const files = w.commit();
    expect(files.map((f) => [f.name, f.bytes])).toEqual([["b.tar.00", 1000], ["b.tar.01", 1000], ["b.tar.02", 500]]);
    expect(files[1]!.sha256).toBe(sha(data.subarray(1000, 2000)));
    expect(readdirSync(dir).sort()).toEqual(["b.tar.00", "b.tar.01", "b.tar.02", "b.tar.sha256"]);
    const found = archiveFiles(dir, "b.tar");
    expect(found.files.map((f) => f.path.split("/").pop())).toEqual(["b.tar.00", "b.tar.01", "b.tar.02"]);
    const back: Uint8Array[] = [];
    for await (const c of readFiles(found.files.map((f) => f.path), 64)) back.push(c);
    expect(Buffer.concat(back).equals(data)).toBe(true);
    expect(readHeadOf(found.files.map((f) => f.path), 1200).equals(data.subarray(0, 1200))).toBe(true);
    // without a manifest (ReaR's split), the volumes are found by name
    rmSync(join(dir, "b.tar.sha256"));
    expect(archiveFiles(dir, "b.tar").files.map((f) => f.sha256s)).toEqual([undefined, undefined, undefined]);
  });

  test("abort leaves nothing; a volume listed but missing shows as bytes -1", () => {
    const dir = mkdtempSync(join(base, "abort."));
    const w = new ArchiveWriter(dir, "b.tar", 10, "t3");
    w.write(Buffer.alloc(25));
    w.abort();
    expect(readdirSync(dir)).toEqual([]);
    writeFileSync(join(dir, "b.tar.sha256"), `${"a".repeat(64)}  b.tar.00\n`);
    expect(archiveFiles(dir, "b.tar").files[0]!.bytes).toBe(-1);
    expect(existsSync(join(dir, "b.tar.00"))).toBe(false);
  });

  test("an empty archive is one empty file", () => {
    const dir = mkdtempSync(join(base, "empty."));
    expect(new ArchiveWriter(dir, "e.tar", 0, "t4").commit()).toEqual([{ name: "e.tar", bytes: 0, sha256: sha(new Uint8Array()) }]);
  });

  test("replacing an archive, stopped at any step: the archive there matches its manifest (the previous one or the new one)", () => {
    const old = Buffer.from("the previous backup");
    const neu = Buffer.from("the new backup, longer");
    for (const stopAt of [1, 2, 3, 4]) {
      const dir = mkdtempSync(join(base, `swap${stopAt}.`));
      const first = new ArchiveWriter(dir, "b.tar", 0, "old");
      first.write(old);
      first.commit();
      const w = new ArchiveWriter(dir, "b.tar", 0, "new");
      w.write(neu);
      expect(() =>
        w.commit((n) => {
          if (n === stopAt) throw new Error("killed");
        }),
      ).toThrow("killed");
      const found = archiveFiles(dir, "b.tar").files;
      expect(found).toHaveLength(1);
      const there = readFileSync(found[0]!.path);
      expect(there.equals(old) || there.equals(neu)).toBe(true);
      expect(found[0]!.sha256s).toContain(sha(there));
    }
  });

  test("a manifest without a line for the archive: the file is found, with no sum", () => {
    const dir = mkdtempSync(join(base, "noline."));
    writeFileSync(join(dir, "b.tar"), "x");
    writeFileSync(join(dir, "b.tar.sha256"), `${"a".repeat(64)}  other.tar\n`);
    expect(archiveFiles(dir, "b.tar")).toEqual({ manifest: join(dir, "b.tar.sha256"), files: [{ path: join(dir, "b.tar"), bytes: 1, sha256s: [] }] });
  });
});
