import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync, lutimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CpioOptions, type CpioProgress, planCpio, writeCpio } from "../../../src/rescue/cpio.ts";

// A newc reader written from the kernel's Documentation/driver-api/early-userspace/buffer-format.rst,
// independent of the writer: magic, 13 eight-digit hex fields, name + NUL padded to 4, data padded to 4.
interface Member {
  name: Buffer;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  filesize: number;
  maj: number;
  min: number;
  rmaj: number;
  rmin: number;
  check: number;
  data: Buffer;
}

const FIELDS = ["ino", "mode", "uid", "gid", "nlink", "mtime", "filesize", "maj", "min", "rmaj", "rmin", "namesize", "check"] as const;

function readNewc(buf: Buffer): Member[] {
  const out: Member[] = [];
  let off = 0;
  const zeros = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (buf[i] !== 0) throw new Error(`non-zero padding at ${i}`);
  };
  for (;;) {
    if (off % 4 !== 0) throw new Error(`header at ${off} not 4-aligned`);
    const magic = buf.toString("latin1", off, off + 6);
    if (magic !== "070701") throw new Error(`bad magic ${JSON.stringify(magic)} at ${off}`);
    const f: Record<string, number> = {};
    FIELDS.forEach((k, i) => {
      const text = buf.toString("latin1", off + 6 + 8 * i, off + 14 + 8 * i);
      if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new Error(`field ${k} not 8 hex digits: ${text}`);
      f[k] = parseInt(text, 16);
    });
    const nameStart = off + 110;
    const name = buf.subarray(nameStart, nameStart + f.namesize! - 1);
    if (buf[nameStart + f.namesize! - 1] !== 0) throw new Error("name not NUL-terminated");
    const dataStart = (nameStart + f.namesize! + 3) & ~3;
    zeros(nameStart + f.namesize!, dataStart);
    const data = buf.subarray(dataStart, dataStart + f.filesize!);
    const next = (dataStart + f.filesize! + 3) & ~3;
    zeros(dataStart + f.filesize!, next);
    off = next;
    const m = { ...(f as Omit<Member, "name" | "data">), name: Buffer.from(name), data: Buffer.from(data) } as Member;
    out.push(m);
    if (name.toString() === "TRAILER!!!") break;
  }
  if (off !== buf.length) throw new Error(`${buf.length - off} bytes after the trailer`);
  return out;
}

async function archive(root: string, opts: CpioOptions = {}): Promise<{ buf: Buffer; chunks: Uint8Array[]; files: number; bytes: number }> {
  const chunks: Uint8Array[] = [];
  const r = await writeCpio(root, (c) => void chunks.push(c), opts);
  return { buf: Buffer.concat(chunks), chunks, ...r };
}

const S_IFMT = 0o170000;
let dir: string;
let tree: string;
const BIG = Buffer.alloc(3 * 1024 * 1024 + 5);
for (let i = 0, x = 1; i < BIG.length; i++) BIG[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rear-cpio-"));
  tree = join(dir, "tree");
  for (const d of ["bin", "etc", "lib", "mnt/empty", "usr/lib", "old~", "a-b", "a/b"]) mkdirSync(join(tree, d), { recursive: true });
  writeFileSync(join(tree, "bin/big"), BIG);
  writeFileSync(join(tree, "etc/empty"), "");
  writeFileSync(join(tree, "etc/hosts"), "127.0.0.1 localhost\n");
  writeFileSync(join(tree, "etc/hosts~"), "editor backup\n");
  writeFileSync(join(tree, "old~/inside"), "pruned with its directory\n");
  writeFileSync(join(tree, "a/b/c"), "abc");
  writeFileSync(join(tree, "a-b/c"), "a-b");
  writeFileSync(join(tree, "usr/lib/libx.so.1"), "ELF-ish\n");
  linkSync(join(tree, "usr/lib/libx.so.1"), join(tree, "bin/libx-hardlink"));
  linkSync(join(tree, "usr/lib/libx.so.1"), join(tree, "lib/libx-hardlink"));
  symlinkSync("usr/lib", join(tree, "lib64"));
  symlinkSync("libx.so.1", join(tree, "usr/lib/libx.so"));
  writeFileSync(Buffer.from(join(tree, "etc/latin1-\xe9"), "latin1"), "name that is not UTF-8\n");
  // known mtimes: the archive must carry them (seconds)
  utimesSync(join(tree, "etc/hosts"), 1_600_000_000, 1_600_000_000.9);
  utimesSync(join(tree, "bin/big"), 1_700_000_000, 1_700_000_000);
  lutimesSync(join(tree, "lib64"), 1_650_000_000, 1_650_000_000);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("newc writer", () => {
  test("every entry, in byte order, directories before their contents, root first as '.'", async () => {
    const { buf, files, bytes } = await archive(tree, { extra: [] });
    const members = readNewc(buf);
    const names = members.map((m) => m.name.toString("latin1"));
    expect(names[0]).toBe(".");
    expect(names.at(-1)).toBe("TRAILER!!!");
    const body = members.slice(1, -1).map((m) => m.name);
    expect(body).toEqual([...body].sort(Buffer.compare));
    expect(names).toEqual([
      ".",
      "a",
      "a-b",
      "a-b/c",
      "a/b",
      "a/b/c",
      "bin",
      "bin/big",
      "bin/libx-hardlink",
      "etc",
      "etc/empty",
      "etc/hosts",
      "etc/latin1-\xe9",
      "lib",
      "lib/libx-hardlink",
      "lib64",
      "mnt",
      "mnt/empty",
      "usr",
      "usr/lib",
      "usr/lib/libx.so",
      "usr/lib/libx.so.1",
      "TRAILER!!!",
    ]);
    for (const [i, n] of names.entries()) {
      const slash = n.lastIndexOf("/");
      if (slash > 0) expect(names.indexOf(n.slice(0, slash))).toBeLessThan(i);
    }
    expect(files).toBe(members.length - 1);
    expect(bytes).toBe(buf.length);
    expect(buf.length % 4).toBe(0);
  });

  test("headers carry the files' modes, sizes, mtimes and data; owners are root; no './' prefix", async () => {
    const members = readNewc((await archive(tree, { extra: [] })).buf);
    const by = new Map(members.map((m) => [m.name.toString("latin1"), m]));
    for (const m of members.slice(0, -1)) {
      const name = m.name.toString("latin1");
      expect(name.startsWith("./")).toBe(false);
      const st = lstatSync(Buffer.from(join(tree, name), "latin1"));
      expect(m.mode).toBe(st.mode);
      expect(m.uid).toBe(0);
      expect(m.gid).toBe(0);
      expect(m.mtime).toBe(Math.floor(st.mtimeMs / 1000));
      expect(m.check).toBe(0);
      expect(m.maj).toBe(0);
      expect(m.min).toBe(0);
    }
    expect(by.get("etc/hosts")!.mtime).toBe(1_600_000_000);
    expect(by.get("etc/hosts")!.data.toString()).toBe("127.0.0.1 localhost\n");
    expect(by.get("etc/empty")!.filesize).toBe(0);
    expect(by.get("bin/big")!.filesize).toBe(BIG.length);
    expect(by.get("bin/big")!.data.equals(BIG)).toBe(true);
    expect(by.get("bin/big")!.mtime).toBe(1_700_000_000);
    expect(by.get("etc/latin1-\xe9")!.data.toString()).toBe("name that is not UTF-8\n");
    // symlinks: the target is the data (buffer-format.rst: c_filesize must not be zero for a symlink)
    expect(by.get("lib64")!.mode & S_IFMT).toBe(0o120000);
    expect(by.get("lib64")!.data.toString()).toBe("usr/lib");
    expect(by.get("lib64")!.filesize).toBe(7);
    expect(by.get("lib64")!.mtime).toBe(1_650_000_000);
    expect(by.get("usr/lib/libx.so")!.data.toString()).toBe("libx.so.1");
    // empty directory, directory link counts as a filesystem has them
    expect(by.get("mnt/empty")!.mode & S_IFMT).toBe(0o040000);
    expect(by.get("mnt/empty")!.nlink).toBe(2);
    expect(by.get("mnt")!.nlink).toBe(3);
    expect(by.get(".")!.nlink).toBe(2 + 7); // a, a-b, bin, etc, lib, mnt, usr
    // inode numbers unique except for hard links
    const inos = members.slice(0, -1).map((m) => m.ino);
    expect(new Set(inos).size).toBe(inos.length - 2);
  });

  test("hard links: one ino and nlink for all; only the last one carries the data", async () => {
    const members = readNewc((await archive(tree, { extra: [] })).buf);
    const links = members.filter((m) => ["bin/libx-hardlink", "lib/libx-hardlink", "usr/lib/libx.so.1"].includes(m.name.toString()));
    expect(links.map((m) => m.name.toString())).toEqual(["bin/libx-hardlink", "lib/libx-hardlink", "usr/lib/libx.so.1"]);
    expect(new Set(links.map((m) => m.ino)).size).toBe(1);
    expect(links.map((m) => m.nlink)).toEqual([3, 3, 3]);
    expect(links.map((m) => m.filesize)).toEqual([0, 0, 8]);
    expect(links[2]!.data.toString()).toBe("ELF-ish\n");
  });

  test("editor backups (*~) are left out as ReaR's find . ! -name '*~' does, directories with their contents", async () => {
    const names = readNewc((await archive(tree, { extra: [] })).buf).map((m) => m.name.toString());
    expect(names.filter((n) => n.includes("~"))).toEqual([]);
    const all = readNewc((await archive(tree, { extra: [], skip: () => false })).buf).map((m) => m.name.toString());
    expect(all).toContain("etc/hosts~");
    expect(all).toContain("old~/inside");
  });

  test("extra entries: device nodes that do not exist on disk, missing parents added, a tree entry replaced", async () => {
    const { buf } = await archive(tree, {
      extra: [
        { path: "dev/console", type: "char", major: 5, minor: 1, mode: 0o600 },
        { path: "/dev/null", type: "char", major: 1, minor: 3, mode: 0o666 },
        { path: "dev/sda", type: "block", major: 8, minor: 0 },
        { path: "run/initctl", type: "fifo" },
        { path: "etc/hosts", type: "file", data: "replaced\n", mode: 0o600, mtime: 5 },
        { path: "sbin/init", type: "symlink", target: "../init" },
      ],
    });
    const members = readNewc(buf);
    const by = new Map(members.map((m) => [m.name.toString("latin1"), m]));
    expect(by.get("dev")!.mode).toBe(0o040755);
    expect(by.get("dev/console")!).toMatchObject({ mode: 0o020600, rmaj: 5, rmin: 1, filesize: 0, uid: 0, gid: 0, nlink: 1 });
    expect(by.get("dev/null")!).toMatchObject({ mode: 0o020666, rmaj: 1, rmin: 3 });
    expect(by.get("dev/sda")!).toMatchObject({ mode: 0o060600, rmaj: 8, rmin: 0 });
    expect(by.get("run/initctl")!.mode).toBe(0o010600);
    expect(by.get("etc/hosts")!).toMatchObject({ mode: 0o100600, mtime: 5, filesize: 9 });
    expect(by.get("etc/hosts")!.data.toString()).toBe("replaced\n");
    expect(by.get("sbin/init")!.data.toString()).toBe("../init");
    expect(members.filter((m) => m.name.toString() === "etc/hosts")).toHaveLength(1);
    const names = members.slice(1, -1).map((m) => m.name);
    expect(names).toEqual([...names].sort(Buffer.compare));
  });

  test("extra entries that cannot be are refused", () => {
    expect(() => planCpio(tree, { extra: [{ path: "../evil", type: "fifo" }] })).toThrow(/not a path inside/);
    expect(() => planCpio(tree, { extra: [{ path: "usr", type: "fifo" }] })).toThrow(/replace a directory/);
    expect(() => planCpio(tree, { extra: [{ path: "etc/hosts/x", type: "fifo" }] })).toThrow(/not a directory/);
  });

  test("reproducible: with clamped mtimes two runs are byte-identical, even after the files' mtimes change", async () => {
    const opts = { mtimeClamp: 1_234_567_890 };
    const a = (await archive(tree, opts)).buf;
    const b = (await archive(tree, opts)).buf;
    expect(a.equals(b)).toBe(true);
    const members = readNewc(a);
    expect(members.slice(0, -1).every((m) => m.mtime <= 1_234_567_890)).toBe(true);
    utimesSync(join(tree, "etc/empty"), new Date(), new Date());
    expect((await archive(tree, opts)).buf.equals(a)).toBe(true);
    expect(members.find((m) => m.name.toString() === "etc/hosts")!.mtime).toBe(1_234_567_890);
  });

  test("streams in chunks of the requested size; the big file never goes out whole; chunks are not reused", async () => {
    const chunkSize = 64 * 1024;
    const { buf, chunks } = await archive(tree, { chunkSize });
    expect(chunks.length).toBeGreaterThan(BIG.length / chunkSize);
    expect(chunks.every((c) => c.length <= chunkSize)).toBe(true);
    expect(chunks.slice(0, -1).every((c) => c.length === chunkSize)).toBe(true);
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(chunks.length);
    expect(readNewc(buf).find((m) => m.name.toString() === "bin/big")!.data.equals(BIG)).toBe(true);
  });

  test("an async sink is awaited before the next chunk (backpressure)", async () => {
    let pending = false;
    let total = 0;
    await writeCpio(
      tree,
      async (c) => {
        expect(pending).toBe(false);
        pending = true;
        await new Promise((r) => setTimeout(r, 1));
        total += c.length;
        pending = false;
      },
      { chunkSize: 256 * 1024 },
    );
    expect(total).toBe(planCpio(tree).totalBytes);
  });

  test("progress: totals known from the start, monotonic, ending at the archive size", async () => {
    const seen: CpioProgress[] = [];
    const { bytes, files } = await writeCpio(tree, () => {}, { chunkSize: 128 * 1024, progress: (p) => seen.push({ ...p }) });
    const plan = planCpio(tree);
    expect(seen.every((p) => p.totalBytes === plan.totalBytes && p.totalFiles === plan.entries.length)).toBe(true);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.bytes).toBeGreaterThanOrEqual(seen[i - 1]!.bytes);
      expect(seen[i]!.files).toBeGreaterThanOrEqual(seen[i - 1]!.files);
    }
    expect(seen.at(-1)!.files).toBe(files);
    // the trailer follows the last progress report
    expect(bytes - seen.at(-1)!.bytes).toBe(124);
    expect(bytes).toBe(plan.totalBytes);
  });

  test("uid/gid kept on request", async () => {
    const members = readNewc((await archive(tree, { keepOwner: true, extra: [] })).buf);
    const st = lstatSync(join(tree, "etc/hosts"));
    expect(members.find((m) => m.name.toString() === "etc/hosts")!).toMatchObject({ uid: st.uid, gid: st.gid });
  });

  test("a tree that is not a directory is an error", () => {
    expect(() => planCpio(join(tree, "etc/hosts"))).toThrow(/not a directory/);
  });
});
