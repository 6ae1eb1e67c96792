import { describe, expect, test } from "bun:test";
import { CANARY_AFTER_BACKUP, compareTruth, globToRegExp, parseTruth, type TruthTexts } from "../../vm/lib/compare.ts";

const line = (t: string, mode: string, uid: string, size: number, nlink: number, ino: string, path: string, link = "", sparse = 1) =>
  `${t}\t${mode}\t${uid}\t${uid}\t${size}\t${nlink}\t${ino}\t${sparse}\t${path}\t${link}`;

const lsblk = (uuid: string) =>
  JSON.stringify({ blockdevices: [
    { name: "vda", type: "disk", size: 1000, serial: "src1", children: [{ name: "vda1", type: "part", size: 900, fstype: "ext4", label: "root", uuid, mountpoint: "/" }] },
    { name: "vdb", type: "disk", size: 10, serial: "harness-in" },
  ] });
const findmnt = JSON.stringify({ filesystems: [{ target: "/", source: "/dev/vda1", fstype: "ext4", children: [{ target: "/proc", fstype: "proc" }] }] });

function source(): TruthTexts {
  return {
    manifest: [
      line("d", "0755", "0", 4096, 20, "1:2", "/"),
      line("f", "0644", "0", 15, 2, "1:10", "/root/canary/text"),
      line("f", "0644", "0", 15, 2, "1:10", "/root/canary/hardlink"),
      line("f", "0640", "1234", 6, 1, "1:11", "/root/canary/owned"),
      line("f", "0644", "0", 67108864, 1, "1:12", "/root/canary/sparse", "", 0.0001),
      line("l", "0777", "0", 4, 1, "1:13", "/root/canary/symlink", "text"),
      line("f", "0644", "0", 100, 1, "1:14", "/var/log/syslog"),
      line("f", "0644", "0", 5, 1, "1:15", CANARY_AFTER_BACKUP),
    ].join("\n"),
    sha256: [`${"a".repeat(64)}  /root/canary/text`, `${"a".repeat(64)}  /root/canary/hardlink`, `${"b".repeat(64)}  /root/canary/owned`, `${"c".repeat(64)}  /root/canary/sparse`].join("\n"),
    xattrs: "# file: /root/canary/text\nuser.harness=0x63616e617279\n\n",
    lsblk: lsblk("1111"),
    findmnt,
    swaps: "/dev/vda2 partition 1000\n",
  };
}

/** What a perfect recovery collects: same files (new inode numbers), logs changed, canary gone. */
function recovered(): TruthTexts {
  const s = source();
  return {
    ...s,
    manifest: s.manifest
      .split("\n")
      .filter((l) => !l.includes(CANARY_AFTER_BACKUP))
      .map((l) => l.replace(/\t1:(\d+)\t/, "\t2:9$1\t").replace("\t100\t1\t2:914\t", "\t999\t1\t2:914\t"))
      .join("\n"),
  };
}

const run = (a: TruthTexts, b: TruthTexts, allowed: string[] = []) => compareTruth(parseTruth(a), parseTruth(b), allowed);
const failed = (checks: ReturnType<typeof run>) => checks.filter((c) => !c.ok && !c.allowed).map((c) => c.name);

describe("truth comparison", () => {
  test("a perfect recovery passes every check", () => {
    expect(failed(run(source(), recovered()))).toEqual([]);
  });
  test("a changed checksum fails file-content", () => {
    const r = recovered();
    r.sha256 = r.sha256.replace(`${"b".repeat(64)}  /root/canary/owned`, `${"d".repeat(64)}  /root/canary/owned`);
    expect(failed(run(source(), r))).toEqual(["file-content"]);
  });
  test("a corrupted manifest (mode, owner, missing file, broken hard link) fails", () => {
    const r = recovered();
    r.manifest = r.manifest
      .replace("0640\t1234\t1234", "0600\t0\t0")
      .split("\n")
      .filter((l) => !l.includes("/root/canary/symlink"))
      .map((l) => (l.includes("/root/canary/hardlink") ? l.replace(/\t2:\d+\t/, "\t2:777\t") : l))
      .join("\n");
    expect(failed(run(source(), r)).sort()).toEqual(["file-metadata", "files-present", "hardlinks"]);
  });
  test("the canary made after the backup must be gone", () => {
    expect(failed(run(source(), source()))).toContain("canary-after-backup-gone");
  });
  test("a lost xattr, a file no longer sparse, a different UUID, a missing swap", () => {
    const r = recovered();
    r.xattrs = "";
    r.manifest = r.manifest.replace(/\t0\.0001\t/, "\t1\t");
    r.lsblk = lsblk("2222");
    r.swaps = "";
    expect(failed(run(source(), r)).sort()).toEqual(["layout", "sparse-files", "swap", "xattrs"]);
  });
  test("allowed differences: paths and whole checks", () => {
    const r = recovered();
    r.lsblk = lsblk("2222");
    r.manifest += `\n${line("f", "0644", "0", 1, 1, "2:50", "/etc/new-file")}`;
    expect(failed(run(source(), r, ["check:layout", "/etc/new-*"]))).toEqual([]);
    expect(run(source(), r, ["check:layout"]).find((c) => c.name === "layout")).toMatchObject({ ok: false, allowed: true });
    expect(failed(run(source(), r, ["check:layout"]))).toEqual(["files-extra"]);
  });
  test("globs", () => {
    expect(globToRegExp("/var/log/**").test("/var/log/a/b")).toBe(true);
    expect(globToRegExp("/boot/initrd.img-*").test("/boot/initrd.img-6.1.0")).toBe(true);
    expect(globToRegExp("/etc/*.conf").test("/etc/a/b.conf")).toBe(false);
  });
  test("a malformed manifest line is an error, not a pass", () => {
    expect(() => parseTruth({ ...source(), manifest: "garbage" })).toThrow(/malformed/);
  });
});

describe("a migration to other disk sizes", () => {
  const lsblk = (disk: number, part: number) => JSON.stringify({ blockdevices: [{ name: "vda", type: "disk", size: disk, children: [{ name: "vda1", type: "part", size: part, fstype: "ext4", uuid: "u1" }] }] });
  const truth = (l: string): TruthTexts => ({ manifest: "", sha256: "", xattrs: "", lsblk: l, findmnt: "{}", swaps: "" });
  test("layout-sizes: only sizes may differ, and they are listed as allowed; anything else still fails", () => {
    const strict = run(truth(lsblk(100, 90)), truth(lsblk(130, 120)));
    expect(strict.find((c) => c.name === "layout")!.ok).toBe(false);
    const relaxed = run(truth(lsblk(100, 90)), truth(lsblk(130, 120)), ["check:layout-sizes"]);
    expect(relaxed.find((c) => c.name === "layout")!.ok).toBe(true);
    expect(relaxed.find((c) => c.name === "layout-sizes")).toMatchObject({ ok: false, allowed: true });
    const other = JSON.stringify({ blockdevices: [{ name: "vda", type: "disk", size: 130, children: [{ name: "vda1", type: "part", size: 120, fstype: "xfs", uuid: "u1" }] }] });
    expect(run(truth(lsblk(100, 90)), truth(other), ["check:layout-sizes"]).find((c) => c.name === "layout")!.ok).toBe(false);
  });
});

describe("disks in another order", () => {
  const disk = (name: string, size: number, fs: string) => ({ name, type: "disk", size, children: [{ name: `${name}1`, type: "part", size: size - 1, fstype: fs, uuid: `u-${fs}` }] });
  const truth = (devs: unknown[]): TruthTexts => ({ manifest: "", sha256: "", xattrs: "", lsblk: JSON.stringify({ blockdevices: devs }), findmnt: "{}", swaps: "" });
  test("the same disks in another order are the same layout; with other sizes only under layout-sizes", () => {
    const src = truth([disk("vda", 600, "ext4"), disk("vdb", 200, "xfs")]);
    expect(run(src, truth([disk("vda", 200, "xfs"), disk("vdb", 600, "ext4")])).find((c) => c.name === "layout")!.ok).toBe(true);
    const resized = truth([disk("vda", 250, "xfs"), disk("vdb", 600, "ext4")]);
    expect(run(src, resized).find((c) => c.name === "layout")!.ok).toBe(false);
    expect(run(src, resized, ["check:layout-sizes"]).find((c) => c.name === "layout")!.ok).toBe(true);
    expect(run(src, truth([disk("vda", 200, "btrfs"), disk("vdb", 600, "ext4")]), ["check:layout-sizes"]).find((c) => c.name === "layout")!.ok).toBe(false);
  });
});

describe("file attributes and btrfs subvolumes", () => {
  const btrfs = "fs 42 default @\nfs 42 subvolume @\nfs 42 subvolume @home\nfs 42 subvolume @var_lib_machines\n";
  const attrs = "--------------e------- /\n---------------C------ /var/lib/machines\n";
  test("kept attributes and subvolumes pass; a lost nocow, a missing subvolume or another default fail", () => {
    const s = { ...source(), attrs, btrfs };
    expect(failed(run(s, { ...recovered(), attrs: attrs.replace(/ +/g, "  "), btrfs }))).toEqual([]);
    expect(failed(run(s, { ...recovered(), attrs: attrs.replace("C", "-"), btrfs }))).toEqual(["file-attributes"]);
    expect(failed(run(s, { ...recovered(), attrs, btrfs: btrfs.replace("fs 42 subvolume @home\n", "") }))).toEqual(["btrfs-subvolumes"]);
    expect(failed(run(s, { ...recovered(), attrs, btrfs: btrfs.replace("default @", "default <FS_TREE>") }))).toEqual(["btrfs-subvolumes"]);
  });
  test("a source truth without them (collected before they existed) has no such checks", () => {
    const names = run(source(), { ...recovered(), attrs, btrfs }).map((c) => c.name);
    expect(names).not.toContain("file-attributes");
    expect(names).not.toContain("btrfs-subvolumes");
  });
});

describe("secrets left on the recovered machine", () => {
  test("only files that held the secret on the source may hold it", async () => {
    const { secretsLeft, secretsOf } = await import("../../vm/lib/cycle.ts");
    expect(secretsLeft("/etc/rear/local.conf\n", "/etc/rear/local.conf\n")).toEqual([]);
    expect(secretsLeft("/etc/rear/local.conf\n", "/etc/rear/local.conf\n/var/log/rear/recover/rear-x.log\n")).toEqual(["/var/log/rear/recover/rear-x.log"]);
    expect(secretsOf({ secrets: ["abcd"], bootPassphrase: "abcd" })).toEqual(["abcd"]);
  });
});

describe("logical volumes in another activation order", () => {
  const tree = (lvs: string[], parts = ["vda1", "vda2"]) =>
    JSON.stringify({ blockdevices: [{ name: "vda", type: "disk", size: 10, serial: "src1", children: parts.map((p, i) => ({ name: p, type: "part", size: i + 1, ...(i === 1 ? { children: [{ name: "crypt", type: "crypt", size: 1, children: lvs.map((l) => ({ name: l, type: "lvm", size: l.length, fstype: l, uuid: l })) }] } : {}) })) }] });
  test("the same LVs activated in another order are the same layout; another LV is not", () => {
    expect(failed(run({ ...source(), lsblk: tree(["root", "swap"]) }, { ...recovered(), lsblk: tree(["swap", "root"]) }))).toEqual([]);
    expect(failed(run({ ...source(), lsblk: tree(["root", "swap"]) }, { ...recovered(), lsblk: tree(["root", "swapx"]) }))).toEqual(["layout"]);
  });
});

describe("COMPARE_CHECKS names every check compareTruth makes", () => {
  test("with attributes, btrfs and layout-sizes in play", async () => {
    const { COMPARE_CHECKS } = await import("../../vm/lib/compare.ts");
    const s = { ...source(), attrs: "---- /\n", btrfs: "fs 1 default @\n" };
    for (const c of run(s, recovered(), ["check:layout-sizes"])) expect(COMPARE_CHECKS.has(c.name)).toBe(true);
  });
});
