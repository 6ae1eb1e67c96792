// The module and firmware choice against a real kernel: Debian 12's linux-image package unpacked in /tmp
// (test/fixtures/modules/debian12/README.md says how). Our reading of the firmware names in .ko files,
// plain and gzip/zstd/xz-compressed, is compared with kmod's `modinfo`; our closure with
// `modprobe --show-depends`; and the copied selection with its modules.* files must be enough for
// `depmod -b` to rebuild a modules.dep that agrees with the original. Skipped with a message when the
// tree or kmod is not there.

import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { which } from "../../src/sys/exec.ts";
import { defaultDriverClasses } from "../../src/rescue/driver-classes.ts";
import { parseModulesDep, selectModules } from "../../src/rescue/modules.ts";
import { probeModules, readModuleFirmware } from "../../src/rescue/probe-modules.ts";
import { must, run } from "./sys.ts";

const KV = "6.1.0-56-amd64";
const TREE = process.env.REAR_TEST_KERNEL_ROOT ?? `/tmp/linux-image-${KV}`;
const SBIN = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`;
const tools = ["modinfo", "modprobe", "depmod", "xz"].map((t) => [t, which(t, SBIN)] as const);
const missingTools = tools.filter(([, p]) => !p).map(([t]) => t);
const haveTree = existsSync(join(TREE, "lib/modules", KV, "modules.dep"));
const ready = haveTree && missingTools.length === 0;
if (!ready) {
  console.log(
    `rescue-modules: skipped: ${haveTree ? "" : `no unpacked ${KV} kernel in ${TREE} (see test/fixtures/modules/debian12/README.md)`}` +
      `${missingTools.length ? ` missing ${missingTools.join(", ")} (apt-get install kmod xz-utils)` : ""}`,
  );
}
const tool = (t: string) => tools.find(([n]) => n === t)![1]!;

// drivers that declare firmware (network, SAN, wireless, graphics) and one that declares none
const SAMPLE = [
  "kernel/drivers/net/ethernet/realtek/r8169.ko",
  "kernel/drivers/net/ethernet/broadcom/bnx2.ko",
  "kernel/drivers/net/ethernet/broadcom/tg3.ko",
  "kernel/drivers/net/ethernet/intel/e100.ko",
  "kernel/drivers/net/ethernet/intel/ice/ice.ko",
  "kernel/drivers/scsi/qla2xxx/qla2xxx.ko",
  "kernel/drivers/net/wireless/intel/iwlwifi/iwlwifi.ko",
  "kernel/drivers/gpu/drm/i915/i915.ko",
  "kernel/fs/ext4/ext4.ko",
];

const scratch: string[] = [];
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync("/var/tmp/rear-it-modules.");
  scratch.push(d);
  return d;
};

describe.if(ready)(`kernel ${KV} unpacked in ${TREE}`, () => {
  const probe = () => probeModules({ root: TREE, kernelVersion: KV });

  test("firmware names read from .ko files are modinfo's", async () => {
    const p = probe();
    const ours = await readModuleFirmware(p.moduleDir, SAMPLE);
    for (const m of SAMPLE) {
      const theirs = must([tool("modinfo"), "-F", "firmware", join(p.moduleDir, m)]).split("\n").filter(Boolean);
      expect({ m, fw: ours.get(m) }).toEqual({ m, fw: theirs });
    }
    expect(ours.get("kernel/drivers/net/ethernet/realtek/r8169.ko")!.length).toBeGreaterThan(10);
    expect(ours.get("kernel/fs/ext4/ext4.ko")).toEqual([]);
  });

  test("compressed modules (.ko.gz, .ko.zst read here; .ko.xz through one modinfo call) give the same names", async () => {
    const p = probe();
    const plain = await readModuleFirmware(p.moduleDir, SAMPLE);
    const dir = tmp();
    const compressed: Array<[string, string]> = [];
    SAMPLE.forEach((m, i) => {
      const buf = readFileSync(join(p.moduleDir, m));
      const kind = ["gz", "zst", "xz"][i % 3]!;
      const out = join(dir, `${m}.${kind}`);
      mkdirSync(dirname(out), { recursive: true });
      if (kind === "gz") writeFileSync(out, gzipSync(buf));
      else if (kind === "zst") writeFileSync(out, zstdCompressSync(buf));
      else {
        writeFileSync(join(dir, m), buf);
        must([tool("xz"), "--check=crc32", join(dir, m)]);
      }
      compressed.push([m, `${m}.${kind}`]);
    });
    const notes: string[] = [];
    const got = await readModuleFirmware(dir, compressed.map(([, c]) => c), (n) => notes.push(n));
    expect(notes).toEqual([]);
    for (const [m, c] of compressed) expect({ c, fw: got.get(c) }).toEqual({ c, fw: plain.get(m) });
  });

  test("the closure holds everything modprobe --show-depends loads (soft dependencies included)", () => {
    const p = probe();
    for (const name of ["ext4", "btrfs", "xfs", "dm_crypt", "raid1", "raid456", "dm_thin_pool", "nfsv4", "r8169", "uhci_hcd", "virtio_net"]) {
      const sel = selectModules(p.index, { modules: [], needed: [name] });
      const out = must([tool("modprobe"), "-d", TREE, "-S", KV, "--ignore-install", "--show-depends", name]);
      const theirs = out
        .split("\n")
        .filter((l) => l.startsWith("insmod "))
        .map((l) => l.split(/\s+/)[1]!.slice(p.moduleDir.length + 1));
      expect({ name, missing: theirs.filter((f) => !sel.files.includes(f)) }).toEqual({ name, missing: [] });
    }
  });

  test("the default selection with its modules.* files is enough for depmod -b on the rescue tree", () => {
    const p = probe();
    const sel = selectModules(p.index, {
      modules: [],
      loaded: ["virtio_blk", "virtio_net", "virtio_pci", "ext4"],
      needed: ["vfat", "dm_crypt", "raid1"],
      classes: defaultDriverClasses({ luks: true }),
      exclude: ["scsi_debug"],
    });
    const rescue = tmp();
    const md = join(rescue, "lib/modules", KV);
    for (const f of [...sel.files, ...p.metaFiles]) {
      mkdirSync(dirname(join(md, f)), { recursive: true });
      copyFileSync(join(p.moduleDir, f), join(md, f));
    }
    const r = run([tool("depmod"), "-b", rescue, KV]);
    expect(r.code).toBe(0);
    // depmod warns about a module whose dependency is missing: the closure leaves none out
    expect(r.stderr).not.toMatch(/needs unknown symbol|could not find module/i);
    const original = parseModulesDep(readFileSync(join(p.moduleDir, "modules.dep"), "utf8"));
    const rebuilt = parseModulesDep(readFileSync(join(md, "modules.dep"), "utf8"));
    expect([...rebuilt.keys()].sort()).toEqual(sel.names);
    for (const [name, m] of rebuilt) expect({ name, deps: [...m.deps].sort() }).toEqual({ name, deps: [...original.get(name)!.deps].sort() });
    expect(existsSync(join(md, "modules.builtin.bin"))).toBe(true);
  });
});
