// Our newc writer against the real GNU cpio: a tree with every kind of entry (device nodes and a fifo
// need root) is archived by us, uncompressed and through each compressor, unpacked by `cpio -idm`, and
// the two trees compared. Needs root and cpio, zstd, gzip, lz4 and xz installed; installs nothing.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, createWriteStream, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EARLY_DEV_NODES, writeInitramfs } from "../../src/rescue/compress.ts";
import { planCpio, writableSink, writeCpio } from "../../src/rescue/cpio.ts";
import { which } from "../../src/sys/exec.ts";
import { must, run } from "./sys.ts";

const TOOLS: Record<string, string> = { cpio: "cpio", zstd: "zstd", gzip: "gzip", lz4: "lz4", xz: "xz-utils", mknod: "coreutils", mkfifo: "coreutils" };
const missing = Object.keys(TOOLS).filter((t) => !which(t));

let dir: string;
let tree: string;

interface Node {
  type: string;
  perm: number;
  uid: number;
  gid: number;
  size?: number;
  sha?: string;
  target?: string;
  rdev?: [number, number];
  mtime?: number;
  /** the other names of the same inode */
  links?: string[];
}

/** Everything comparable about a tree, keyed by path relative to its root ("." for the root). */
function describeTree(root: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const byIno = new Map<number, string[]>();
  const visit = (rel: string) => {
    const abs = rel === "." ? root : join(root, rel);
    const st = lstatSync(abs);
    const n: Node = { type: "?", perm: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (st.isDirectory()) n.type = "dir";
    else if (st.isFile()) Object.assign(n, { type: "file", size: st.size, sha: createHash("sha256").update(readFileSync(abs)).digest("hex") });
    else if (st.isSymbolicLink()) Object.assign(n, { type: "symlink", target: readlinkSync(abs) });
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const rdev = Number(lstatSync(abs, { bigint: true }).rdev);
      n.type = st.isCharacterDevice() ? "char" : "block";
      n.rdev = [((rdev >>> 8) & 0xfff) >>> 0, ((rdev & 0xff) | ((rdev >>> 12) & ~0xff)) >>> 0];
    } else if (st.isFIFO()) n.type = "fifo";
    // GNU cpio -m restores the mtimes of files, not of symlinks, and of a directory only when nothing is
    // created in it afterwards (unlike the kernel, which sets directory times last: init/initramfs.c dir_utime)
    if (n.type === "file" || (n.type === "dir" && readdirSync(abs).length === 0)) n.mtime = Math.floor(st.mtimeMs / 1000);
    if (n.type !== "dir" && n.type !== "symlink" && st.nlink > 1) byIno.set(st.ino, [...(byIno.get(st.ino) ?? []), rel]);
    out.set(rel, n);
    if (n.type === "dir") for (const e of readdirSync(abs).sort()) visit(rel === "." ? e : `${rel}/${e}`);
  };
  visit(".");
  for (const names of byIno.values()) for (const name of names) out.get(name)!.links = [...names].sort();
  return out;
}

/** What the source tree should become: owners root, the early /dev nodes added when the writer adds them. */
function expected(withDevNodes: boolean): Map<string, Node> {
  const want = describeTree(tree);
  for (const n of want.values()) Object.assign(n, { uid: 0, gid: 0 });
  if (withDevNodes) {
    want.set("dev", { type: "dir", perm: 0o755, uid: 0, gid: 0 });
    for (const x of EARLY_DEV_NODES) if (x.type === "char") want.set(x.path, { type: "char", perm: x.mode!, uid: 0, gid: 0, rdev: [x.major, x.minor] });
  }
  return want;
}

/** Unpacks with the real cpio (after the real decompressor) into a fresh directory. */
function unpack(archive: string, decompress: string | undefined, name: string): string {
  const dest = join(dir, `out-${name}`);
  mkdirSync(dest);
  const feed = decompress ? `${decompress} < "$1"` : 'cat "$1"';
  const r = run(["bash", "-o", "pipefail", "-c", `${feed} | (cd "$2" && cpio -idm --quiet --no-absolute-filenames)`, "sh", archive, dest]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return dest;
}

function compareTrees(got: Map<string, Node>, want: Map<string, Node>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [name, w] of want) expect({ name, ...got.get(name) }).toEqual({ name, ...w });
}

beforeAll(() => {
  if (missing.length) return;
  dir = mkdtempSync(join(tmpdir(), "rear-cpio-it-"));
  tree = join(dir, "rootfs");
  for (const d of ["bin", "etc/ssh", "lib/modules", "mnt/empty", "tmp", "usr/lib"]) mkdirSync(join(tree, d), { recursive: true });
  const big = Buffer.alloc(5 * 1024 * 1024 + 1);
  for (let i = 0, x = 7; i < big.length; i++) big[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  writeFileSync(join(tree, "bin/busybox"), big);
  chmodSync(join(tree, "bin/busybox"), 0o4755);
  writeFileSync(join(tree, "etc/empty"), "");
  writeFileSync(join(tree, "etc/ssh/ssh_host_ed25519_key"), "-----BEGIN OPENSSH PRIVATE KEY-----\n");
  chmodSync(join(tree, "etc/ssh/ssh_host_ed25519_key"), 0o400);
  writeFileSync(join(tree, "etc/with space é"), "odd name\n");
  writeFileSync(join(tree, "etc/owned-by-1000"), "chowned\n");
  chownSync(join(tree, "etc/owned-by-1000"), 1000, 1000);
  chmodSync(join(tree, "tmp"), 0o1777);
  writeFileSync(join(tree, "usr/lib/libc.so.6"), "libc\n".repeat(1000));
  linkSync(join(tree, "usr/lib/libc.so.6"), join(tree, "lib/libc.so.6"));
  linkSync(join(tree, "usr/lib/libc.so.6"), join(tree, "bin/libc-link"));
  symlinkSync("usr/lib", join(tree, "lib64"));
  symlinkSync("/bin/busybox", join(tree, "bin/sh"));
  must(["mknod", join(tree, "etc/null-node"), "c", "1", "3"]);
  must(["mknod", join(tree, "etc/block-node"), "b", "4095", "1048575"]);
  must(["mkfifo", join(tree, "etc/fifo")]);
  linkSync(join(tree, "etc/fifo"), join(tree, "etc/fifo-link"));
  utimesSync(join(tree, "etc/empty"), 1_500_000_000, 1_500_000_000);
  utimesSync(join(tree, "mnt/empty"), 1_500_000_001, 1_500_000_001);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("newc writer against GNU cpio", () => {
  test("the tools are installed", () => {
    // CI must install them (apt-get install cpio zstd lz4 xz-utils): this test installs nothing
    expect(missing.map((t) => `${t} (package ${TOOLS[t]})`)).toEqual([]);
  });

  test("uncompressed: cpio -idm rebuilds the tree (types, modes, sizes, data, links, devices, mtimes); cpio -t lists our names", async () => {
    const file = join(dir, "plain.cpio");
    const ws = createWriteStream(file);
    const r = await writeCpio(tree, writableSink(ws), { extra: [] });
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
    expect(statSync(file).size).toBe(r.bytes);
    compareTrees(describeTree(unpack(file, undefined, "plain")), expected(false));

    const listed = must(["cpio", "-t", "--quiet", "-F", file]).split("\n").filter(Boolean);
    const ours = planCpio(tree, { extra: [] }).entries.map((e) => e.name.toString());
    expect(listed).toEqual(ours);
    // and those are exactly the tree's paths, as find prints them without "./"
    const found = must(["sh", "-c", 'cd "$1" && find . | sed "s|^\\./||"', "sh", tree]).split("\n").filter(Boolean);
    expect([...listed].sort()).toEqual([...found].sort());
  });

  test("cpio -t -v shows root ownership, the devices' numbers and one inode for the hard links", () => {
    const file = join(dir, "plain.cpio");
    const lines = must(["cpio", "-t", "-v", "--quiet", "-F", file]);
    expect(lines).toMatch(/^b.* root +root +4095, 1048575 .* etc\/block-node$/m);
    expect(lines).toMatch(/^c.* root +root +1, +3 .* etc\/null-node$/m);
    expect(lines).toMatch(/^-\S+ +1 root +root .* etc\/owned-by-1000$/m);
    for (const name of ["bin/libc-link", "lib/libc\\.so\\.6", "usr/lib/libc\\.so\\.6"]) expect(lines).toMatch(new RegExp(`^-\\S+ +3 root +root .* ${name}$`, "m"));
  });

  for (const [compression, decompress, suffix] of [
    ["zstd", "zstd -dc", "initrd.zst"],
    ["gzip", "gzip -dc", "initrd.cgz"],
  ] as const) {
    test(`${compression}: writeInitramfs output (0600) unpacks with ${decompress} | cpio -idm to the same tree plus /dev/console and /dev/null`, async () => {
      const out = join(dir, compression);
      mkdirSync(out);
      const r = await writeInitramfs(tree, out, { compression });
      expect(r.file).toBe(join(out, suffix));
      expect(statSync(r.file).mode & 0o7777).toBe(0o600);
      expect(readdirSync(out)).toEqual([suffix]);
      compareTrees(describeTree(unpack(r.file, decompress, compression)), expected(true));
    });
  }

  for (const [compression, decompress, suffix] of [
    ["lz4", "lz4 -dc", "initrd.lz4"],
    ["lzma", "xz -dc --format=lzma", "initrd.xz"],
    ["xz", "xz -dc --format=xz", "initrd.xz"],
  ] as const) {
    test(`${compression}: through the external program, 0600, decompresses (${decompress}) to exactly our archive`, async () => {
      const out = join(dir, compression);
      mkdirSync(out);
      const clamp = { mtimeClamp: 1_600_000_000 };
      const r = await writeInitramfs(tree, out, { compression, ...clamp });
      expect(r.file).toBe(join(out, suffix));
      expect(statSync(r.file).mode & 0o7777).toBe(0o600);
      expect(readdirSync(out)).toEqual([suffix]);
      const chunks: Uint8Array[] = [];
      await writeCpio(tree, (c) => void chunks.push(c), { extra: EARLY_DEV_NODES, ...clamp });
      const unpacked = Bun.spawnSync(["sh", "-c", `${decompress} < "$1"`, "sh", r.file]);
      expect(unpacked.exitCode).toBe(0);
      expect(Buffer.from(unpacked.stdout).equals(Buffer.concat(chunks))).toBe(true);
      // lz4 -l is the legacy frame, the one the kernel reads (magic 0x184C2102)
      if (compression === "lz4") expect(readFileSync(r.file).readUInt32LE(0)).toBe(0x184c2102);
    });
  }
});
