// Recovery updates (src/update/): the archive checked whole before anything is written, the URL's
// placeholders, the download's retries and its one error, the sha256 pin.
import { describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import * as zlib from "node:zlib";
import { checkEntries, decompressArchive, destinations, parseArchive, planWrites, readUpdateArchive, staleMachineFiles, UpdateArchiveError, updatePaths, withoutBinary, type UpdatePolicy } from "../../../src/update/archive.ts";
import { downloadFirst, urlProblem, type FetchResult } from "../../../src/update/download.ts";
import { expandUrl, macWord, unknownPlaceholders } from "../../../src/update/placeholders.ts";
import { kernelOption } from "../../../src/update/recovery-update.ts";
import { pinProblem, sha256Hex } from "../../../src/update/signature.ts";
import { tarBytes, type TarSpec } from "../../helpers/tar-bytes.ts";

const policy: UpdatePolicy = { allowed: updatePaths([]), trusted: false };
const good: TarSpec[] = [
  { path: "etc/", type: "dir" },
  { path: "etc/rear/", type: "dir" },
  { path: "etc/rear/local.conf", data: "OUTPUT=ISO\n" },
  { path: "var/lib/rear/layout/disklayout.conf", data: "disk /dev/vda 1 msdos\n" },
];
const problemsOf = (specs: TarSpec[], p: UpdatePolicy = policy) => checkEntries(parseArchive(Buffer.from(tarBytes(specs)), "t.tar"), p);

describe("update archive", () => {
  test("tar, tar.gz and tar.zst are read alike; anything else is refused by name", () => {
    const raw = tarBytes(good);
    const zstd = (zlib as unknown as { zstdCompressSync(b: Uint8Array): Buffer }).zstdCompressSync(raw);
    for (const b of [raw, gzipSync(raw), zstd]) {
      const e = parseArchive(decompressArchive(b, "x"), "x");
      expect(e.map((x) => x.path)).toEqual(["etc/", "etc/rear/", "etc/rear/local.conf", "var/lib/rear/layout/disklayout.conf"]);
      expect(e[2]!.data!.toString()).toBe("OUTPUT=ISO\n");
    }
    expect(() => decompressArchive(new TextEncoder().encode("<html>404</html>"), "u.tgz")).toThrow("u.tgz is not a tar, tar.gz or tar.zst archive (it starts with 3c 68 74 6d)");
    expect(() => decompressArchive(gzipSync(raw).subarray(0, 40), "cut.tgz")).toThrow("cut.tgz: the compressed data is damaged");
  });
  test("configuration and layout files pass; the parent directories tar stores for them too", () => {
    expect(problemsOf(good)).toEqual([]);
    expect(problemsOf([{ path: "./etc/rear/site.conf", data: "x" }, { path: "var/", type: "dir" }, { path: "var/lib/", type: "dir" }])).toEqual([]);
  });
  test("every hostile entry is named: absolute, .., outside, devices, FIFOs, setuid, links out, a binary unsigned", () => {
    const p = problemsOf([
      ...good,
      { path: "/etc/shadow", data: "x" },
      { path: "../etc/rear/local.conf", data: "x" },
      { path: "etc/rear/../../root/.ssh/authorized_keys", data: "x" },
      { path: "etc/cron.d/evil", data: "x" },
      { path: "etc/rear/null", type: "chardev" },
      { path: "etc/rear/sda", type: "blockdev" },
      { path: "etc/rear/pipe", type: "fifo" },
      { path: "etc/rear/suid", data: "x", mode: 0o4755 },
      { path: "etc/rear/sgid", data: "x", mode: 0o2755 },
      { path: "etc/rear/shadow", type: "symlink", linkpath: "/etc/shadow" },
      { path: "etc/rear/up", type: "symlink", linkpath: "../../etc/shadow" },
      { path: "etc/rear/hard", type: "hardlink", linkpath: "etc/shadow" },
      { path: "usr/sbin/rear", data: "#!/bin/sh\n", mode: 0o755 },
    ]);
    expect(p).toEqual([
      "/etc/shadow: an absolute path",
      "../etc/rear/local.conf: a path that leaves the tree (..)",
      "etc/rear/../../root/.ssh/authorized_keys: a path that leaves the tree (..)",
      "etc/cron.d/evil: outside etc/rear, var/lib/rear (RECOVERY_UPDATE_PATHS adds more)",
      "etc/rear/null: a character device",
      "etc/rear/sda: a block device",
      "etc/rear/pipe: a FIFO",
      "etc/rear/suid: set-user-ID or set-group-ID bit (mode 4755)",
      "etc/rear/sgid: set-user-ID or set-group-ID bit (mode 2755)",
      "etc/rear/shadow: a symbolic link to /etc/shadow (links must stay inside etc/rear, var/lib/rear)",
      "etc/rear/up: a symbolic link to ../../etc/shadow (links must stay inside etc/rear, var/lib/rear)",
      "etc/rear/hard: a hard link to etc/shadow (not a file earlier in this archive)",
    ]);
  });
  test("an unsigned archive's rear binary is left out, not taken", () => {
    const e = parseArchive(Buffer.from(tarBytes([...good, { path: "usr/sbin/rear", data: "x", mode: 0o755 }])), "t");
    expect(checkEntries(e, policy)).toEqual([]);
    const w = withoutBinary(e);
    expect(w.dropped).toBe(true);
    expect(w.entries.map((x) => x.path)).not.toContain("usr/sbin/rear");
    expect(withoutBinary(w.entries).dropped).toBe(false);
  });
  test("an archive with a layout: the other machine's mappings, LVM metadata and recovery files are stale; without one, nothing is", () => {
    const e = parseArchive(Buffer.from(tarBytes(good)), "t");
    const here: Record<string, string[]> = { "etc/rear/mappings": ["disk_mappings"], "var/lib/rear/layout": ["disklayout.conf", "lvm/vgA.cfg"], "var/lib/rear/recovery": [] };
    expect(staleMachineFiles(e, (d) => here[d] ?? [])).toEqual(["etc/rear/mappings/disk_mappings", "var/lib/rear/layout/lvm/vgA.cfg"]);
    const noLayout = parseArchive(Buffer.from(tarBytes([{ path: "etc/rear/local.conf", data: "x" }])), "t");
    expect(staleMachineFiles(noLayout, (d) => here[d] ?? [])).toEqual([]);
  });
  test("links inside the tree pass; the binary passes when the archive is trusted; RECOVERY_UPDATE_PATHS widens the tree", () => {
    expect(problemsOf([...good, { path: "etc/rear/l", type: "symlink", linkpath: "local.conf" }, { path: "var/lib/rear/h", type: "hardlink", linkpath: "etc/rear/local.conf" }])).toEqual([]);
    expect(problemsOf([{ path: "usr/", type: "dir" }, { path: "usr/sbin/", type: "dir" }, { path: "usr/sbin/rear", data: "x", mode: 0o755 }], { ...policy, trusted: true })).toEqual([]);
    expect(problemsOf([{ path: "usr/sbin/rear", type: "symlink", linkpath: "/bin/sh" }], { ...policy, trusted: true })).toEqual(["usr/sbin/rear: the rear binary must be a regular file, not a symlink"]);
    expect(problemsOf([{ path: "etc/ssh/sshd_config", data: "x" }], { allowed: updatePaths(["/etc/ssh"]), trusted: false })).toEqual([]);
    expect(() => updatePaths(["../x"])).toThrow("RECOVERY_UPDATE_PATHS: '../x' is not a directory below /");
    expect(() => updatePaths(["/"])).toThrow("RECOVERY_UPDATE_PATHS: '/' is not a directory below /");
  });
  test("readUpdateArchive refuses the whole archive, naming the count and the first problems", () => {
    const b = tarBytes([...good, { path: "/etc/passwd", data: "x" }, { path: "etc/rear/null", type: "chardev" }]);
    let err: unknown;
    try {
      readUpdateArchive(b, "https://srv/a.tar", policy);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UpdateArchiveError);
    expect((err as Error).message).toBe("https://srv/a.tar was refused, nothing was written: 2 entries not allowed (/etc/passwd: an absolute path; etc/rear/null: a character device)");
    expect((err as UpdateArchiveError).problems).toHaveLength(2);
    expect(() => readUpdateArchive(tarBytes([]), "e.tar", policy)).toThrow("e.tar is empty");
  });
  test("planWrites: destinations by kind, new / changed / unchanged, a later entry wins", () => {
    const destOf = destinations({ root: "/", configDir: "/opt/x/etc/rear", varDir: "/opt/x/var/lib/rear", binary: "/opt/x/usr/sbin/rear" });
    expect(destOf("etc/rear/local.conf")).toBe("/opt/x/etc/rear/local.conf");
    expect(destOf("var/lib/rear/layout/disklayout.conf")).toBe("/opt/x/var/lib/rear/layout/disklayout.conf");
    expect(destOf("usr/sbin/rear")).toBe("/opt/x/usr/sbin/rear");
    expect(destOf("etc/ssh/x")).toBe("/etc/ssh/x");
    const entries = parseArchive(Buffer.from(tarBytes([...good, { path: "etc/rear/site.conf", data: "A=1\n" }, { path: "etc/rear/site.conf", data: "A=2\n" }])), "t");
    const disk: Record<string, { type: "file"; data: Buffer; mode: number }> = {
      "/opt/x/etc/rear/local.conf": { type: "file", data: Buffer.from("OUTPUT=ISO\n"), mode: 0o644 },
      "/opt/x/var/lib/rear/layout/disklayout.conf": { type: "file", data: Buffer.from("old\n"), mode: 0o644 },
    };
    const plan = planWrites(entries, destOf, (d) => disk[d], updatePaths([]));
    expect(plan.map((w) => [w.dest, w.type, w.change])).toEqual([
      ["/opt/x/etc/rear", "dir", "new"],
      ["/opt/x/etc/rear/local.conf", "file", "unchanged"],
      ["/opt/x/var/lib/rear/layout/disklayout.conf", "file", "changed"],
      ["/opt/x/etc/rear/site.conf", "file", "new"],
    ]);
    expect(plan[3]!.data!.toString()).toBe("A=2\n");
  });
});

describe("update URL placeholders", () => {
  const facts = { hostname: "db1", macs: ["52:54:00:12:34:56", "52:54:00:AB:CD:EF"], uuid: "4C4C4544-0031-3510-8052-B4C04F4B4E31", serial: "CZ 123/4" };
  test("each placeholder is filled; {mac} gives one URL per card", () => {
    expect(expandUrl("https://s/{hostname}.tgz", facts)).toEqual(["https://s/db1.tgz"]);
    expect(expandUrl("https://s/{uuid}.tgz", facts)).toEqual(["https://s/4c4c4544-0031-3510-8052-b4c04f4b4e31.tgz"]);
    expect(expandUrl("https://s/{serial}.tgz", facts)).toEqual(["https://s/CZ%20123%2F4.tgz"]);
    expect(expandUrl("https://s/{mac}/{hostname}.tgz", facts)).toEqual(["https://s/52-54-00-12-34-56/db1.tgz", "https://s/52-54-00-ab-cd-ef/db1.tgz"]);
    expect(macWord("52:54:00:AB:CD:EF")).toBe("52-54-00-ab-cd-ef");
  });
  test("a typo and an unknown fact are refused by name", () => {
    expect(unknownPlaceholders("https://s/{uuid}/{hostnme}")).toEqual(["hostnme"]);
    expect(() => expandUrl("https://s/{hostnme}.tgz", facts)).toThrow("unknown placeholder {hostnme} (known: {hostname} {mac} {uuid} {serial})");
    expect(() => expandUrl("https://s/{serial}.tgz", { hostname: "h", macs: [] })).toThrow("{serial} is unknown on this machine (/sys/class/dmi/id/product_serial is empty)");
    expect(() => expandUrl("https://s/{mac}.tgz", { hostname: "h", macs: [] })).toThrow("{mac} is unknown on this machine (no network card with an address)");
  });
  test("the kernel option", () => {
    expect(kernelOption("BOOT_IMAGE=/isolinux/kernel unattended recovery_update_url=https://s/{uuid}.tgz console=ttyS0")).toBe("https://s/{uuid}.tgz");
    expect(kernelOption("quiet")).toBe("");
  });
});

describe("update download", () => {
  const fake = (answers: Record<string, FetchResult[]>) => {
    const calls: string[] = [];
    return {
      calls,
      fetchOne: async (u: string) => {
        calls.push(u);
        const a = answers[u]!;
        return a.length > 1 ? a.shift()! : a[0]!;
      },
    };
  };
  let clock = 0;
  const base = { plainHttpOk: false, waitSeconds: 30, sleep: async (ms: number) => void (clock += ms), now: () => clock };
  test("the first URL that answers wins; a 404 is not tried again", async () => {
    clock = 0;
    const f = fake({ "https://s/a": [{ ok: false, outcome: "HTTP 404 Not Found", retry: false }], "https://s/b": [{ ok: true, bytes: new Uint8Array([1]) }] });
    const r = await downloadFirst(["https://s/a", "https://s/b"], { ...base, fetchOne: f.fetchOne });
    expect("bytes" in r && r.url).toBe("https://s/b");
    expect(f.calls).toEqual(["https://s/a", "https://s/b"]);
  });
  test("a network not yet up is tried again with a growing pause until it answers", async () => {
    clock = 0;
    const down: FetchResult = { ok: false, outcome: "ECONNREFUSED: connection refused", retry: true };
    const f = fake({ "https://s/a": [down, down, down, { ok: true, bytes: new Uint8Array([7]) }] });
    const r = await downloadFirst(["https://s/a"], { ...base, fetchOne: f.fetchOne });
    expect("bytes" in r).toBe(true);
    expect(f.calls).toHaveLength(4);
    expect(clock).toBe(1000 + 2000 + 4000);
  });
  test("when nothing answers: every URL with what it said, after waitSeconds", async () => {
    clock = 0;
    const f = fake({
      "https://s/a": [{ ok: false, outcome: "HTTP 404 Not Found", retry: false }],
      "https://s/b": [{ ok: false, outcome: "ENETUNREACH: network is unreachable", retry: true }],
    });
    const r = await downloadFirst(["https://s/a", "https://s/b", "ftp://s/c"], { ...base, fetchOne: f.fetchOne });
    expect("bytes" in r).toBe(false);
    expect(r.attempts).toEqual([
      { url: "https://s/a", outcome: "HTTP 404 Not Found" },
      { url: "https://s/b", outcome: "ENETUNREACH: network is unreachable" },
      { url: "ftp://s/c", outcome: "only https:// (and http:// for a pinned or signed archive) URLs are supported" },
    ]);
    expect(clock).toBeLessThanOrEqual(30_000);
    expect(f.calls.filter((c) => c === "https://s/a")).toHaveLength(1);
    expect(f.calls.filter((c) => c === "https://s/b").length).toBeGreaterThan(3);
  });
  test("plain http only for a pinned or signed archive", () => {
    expect(urlProblem("http://s/a.tgz", false)).toContain("plain http: set RECOVERY_UPDATE_SHA256");
    expect(urlProblem("http://s/a.tgz", true)).toBeUndefined();
    expect(urlProblem("HTTPS://s/a.tgz", false)).toBeUndefined();
  });
});

describe("sha256 pin", () => {
  const b = new TextEncoder().encode("archive");
  test("a matching pin (any of several) passes; another is refused with both sums; a malformed pin is named", () => {
    expect(pinProblem(b, [sha256Hex(b).toUpperCase()])).toBeUndefined();
    expect(pinProblem(b, ["0".repeat(64), sha256Hex(b)])).toBeUndefined();
    expect(pinProblem(b, ["0".repeat(64)])).toBe(`its sha256 is ${sha256Hex(b)}, not ${"0".repeat(64)} (RECOVERY_UPDATE_SHA256)`);
    expect(pinProblem(b, ["abc"])).toBe("RECOVERY_UPDATE_SHA256: 'abc' is not a sha256 (64 hex digits)");
  });
});
