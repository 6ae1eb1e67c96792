import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultDriverClasses, DRIVER_CLASSES, NETWORK_ETHERNET, STORAGE } from "../../../src/rescue/driver-classes.ts";
import { firmwareCandidates, firmwareDeclaredBy, firmwareMode, ipathRegExp, selectFirmware } from "../../../src/rescue/firmware.ts";
import {
  buildModuleIndex,
  classMembers,
  type ModuleIndex,
  modulesMode,
  normaliseAlias,
  normaliseModuleName,
  parseBuiltinAliases,
  parseModinfoListing,
  parseModulesAlias,
  parseModulesBuiltin,
  parseModulesDep,
  parseProcModules,
  parseSoftdeps,
  resolveModule,
  selectModules,
} from "../../../src/rescue/modules.ts";
import { fileSizes, firmwareLinks, probeModules, readModuleFirmware } from "../../../src/rescue/probe-modules.ts";

const KV = "6.1.0-56-amd64";
const FIX = join(import.meta.dir, "../../fixtures/modules/debian12");
const fix = (f: string) => readFileSync(join(FIX, f), "utf8");
const sources = () => ({
  dep: fix("modules.dep"),
  builtin: fix("modules.builtin"),
  builtinModinfo: fix("modules.builtin.modinfo"),
  alias: fix("modules.alias"),
  softdeps: [fix("modules.softdep")],
});
const index: ModuleIndex = buildModuleIndex(sources());
const loaded = parseProcModules(fix("proc-modules"));
/** the unpacked kernel package (fixture README), for sizes; absent on most machines */
const TREE = process.env.REAR_TEST_KERNEL_ROOT ?? `/tmp/linux-image-${KV}`;
const haveTree = existsSync(join(TREE, "lib/modules", KV, "modules.dep"));

describe("parsers", () => {
  test("modules.dep: plain and compressed modules, dependencies as names", () => {
    const m = parseModulesDep(
      "kernel/fs/btrfs/btrfs.ko.zst: kernel/crypto/xor.ko.zst kernel/lib/raid6/raid6_pq.ko.zst kernel/lib/libcrc32c.ko.zst\n" +
        "kernel/drivers/md/dm-crypt.ko.xz: kernel/drivers/md/dm-mod.ko.xz\n" +
        "kernel/fs/squashfs/squashfs.ko.gz:\n\n# comment\n",
    );
    expect([...m.keys()]).toEqual(["btrfs", "dm_crypt", "squashfs"]);
    expect(m.get("btrfs")).toEqual({ name: "btrfs", path: "kernel/fs/btrfs/btrfs.ko.zst", deps: ["xor", "raid6_pq", "libcrc32c"] });
    expect(m.get("dm_crypt")!.deps).toEqual(["dm_mod"]);
    expect(m.get("squashfs")!.deps).toEqual([]);
  });

  test("a repeated module name keeps depmod's first line", () => {
    const m = parseModulesDep("updates/dkms/e1000e.ko:\nkernel/drivers/net/ethernet/intel/e1000e/e1000e.ko:\n");
    expect(m.get("e1000e")!.path).toBe("updates/dkms/e1000e.ko");
  });

  test("modules.builtin and the aliases of built-in modules", () => {
    expect([...parseModulesBuiltin("kernel/drivers/input/keyboard/atkbd.ko\nkernel/lib/crc-ccitt.ko\n")]).toEqual(["atkbd", "crc_ccitt"]);
    expect(parseBuiltinAliases("md5.alias=crypto-md5\0md5.alias=md5\0md5.license=GPL\0sha1_generic.alias=crypto-sha1\0")).toEqual([
      ["crypto-md5", "md5"],
      ["md5", "md5"],
      ["crypto-sha1", "sha1_generic"],
    ]);
  });

  test("modules.alias", () => {
    expect(parseModulesAlias("# Aliases extracted from modules themselves.\nalias fs-ext4 ext4\nalias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\n")).toEqual([
      ["fs-ext4", "ext4"],
      ["pci:v00008086d000010D3sv*sd*bc*sc*i*", "e1000e"],
    ]);
  });

  test("softdeps: pre and post, modprobe.d continuation lines, words before pre:/post: ignored as kmod does", () => {
    const s = parseSoftdeps("# Soft dependencies extracted from modules themselves.\nsoftdep ext4 pre: crypto-crc32c\nsoftdep cifs gcm\nsoftdep ipmi_msghandler post: ipmi_devintf\nsoftdep foo-bar pre: a \\\n b post: c # why\noptions x y=1\n");
    expect(s.get("ext4")).toEqual({ pre: ["crypto-crc32c"], post: [] });
    expect(s.get("cifs")).toEqual({ pre: [], post: [] });
    expect(s.get("ipmi_msghandler")).toEqual({ pre: [], post: ["ipmi_devintf"] });
    expect(s.get("foo_bar")).toEqual({ pre: ["a", "b"], post: ["c"] });
    expect(s.has("x")).toBe(false);
  });

  test("/proc/modules", () => {
    expect(parseProcModules("virtio_net 65536 0 - Live 0xffffffffc0371000\njbd2 167936 1 ext4, Live 0xffffffffc0412000\n")).toEqual(["virtio_net", "jbd2"]);
    expect(loaded).toContain("ext4");
    expect(loaded.length).toBe(79);
  });

  test("modinfo -0 listings (the xz fallback) are split per file", () => {
    const out = parseModinfoListing(
      "filename:       /lib/modules/k/bnx2.ko.xz\0firmware=bnx2/bnx2-mips-09-6.2.1b.fw\0license=GPL\0firmware=bnx2/bnx2-rv2p-09-6.0.17.fw\0" +
        "filename:       /lib/modules/k/loop.ko.xz\0alias=devname:loop-control\0",
    );
    expect(out.get("/lib/modules/k/bnx2.ko.xz")).toEqual(["bnx2/bnx2-mips-09-6.2.1b.fw", "bnx2/bnx2-rv2p-09-6.0.17.fw"]);
    expect(out.get("/lib/modules/k/loop.ko.xz")).toEqual([]);
    expect([...parseModinfoListing("filename:       /x/r8169.ko\nfirmware:       rtl_nic/rtl8168d-1.fw\nparm:           x:a description\n")]).toEqual([
      ["/x/r8169.ko", ["rtl_nic/rtl8168d-1.fw"]],
    ]);
  });
});

describe("names", () => {
  test("basename without .ko*, '-' is '_'", () => {
    expect(normaliseModuleName("kernel/drivers/md/dm-crypt.ko.zst")).toBe("dm_crypt");
    expect(normaliseModuleName("crc32c-intel")).toBe("crc32c_intel");
    expect(normaliseModuleName("ext4.ko")).toBe("ext4");
    expect(normaliseModuleName("sd_mod.o")).toBe("sd_mod");
    expect(normaliseAlias("pci:v0000-[a-f]")).toBe("pci:v0000_[a-f]");
  });

  test("resolution: name, then alias (all of its modules), built-ins", () => {
    expect(resolveModule(index, "dm-crypt")).toEqual({ modules: ["dm_crypt"], builtin: false });
    expect(resolveModule(index, "crypto-crc32c").modules.sort()).toEqual(["crc32c_generic", "crc32c_intel"]);
    expect(resolveModule(index, "fs-ext3")).toEqual({ modules: ["ext4"], builtin: false });
    expect(resolveModule(index, "raid5").modules).toEqual(["raid456"]);
    expect(resolveModule(index, "atkbd")).toEqual({ modules: [], builtin: true });
    expect(resolveModule(index, "crypto-md5")).toEqual({ modules: [], builtin: true });
    expect(resolveModule(index, "no-such-thing")).toEqual({ modules: [], builtin: false });
  });

  test("wildcard aliases are matched as fnmatch patterns", () => {
    const i = buildModuleIndex({ dep: "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko:\n", alias: "alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e\n" });
    expect(resolveModule(i, "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00").modules).toEqual(["e1000e"]);
    expect(resolveModule(i, "pci:v00008086d000010D4sv00008086sd0000A01Fbc02sc00i00").modules).toEqual([]);
  });
});

describe("closure", () => {
  const pick = (needed: string[], extra: Partial<Parameters<typeof selectModules>[1]> = {}) => selectModules(index, { modules: [], needed, ...extra });

  test("ext4 pulls jbd2, mbcache, crc16 (modules.dep) and crc32c (softdep on the alias crypto-crc32c)", () => {
    const s = pick(["ext4"]);
    expect(s.names).toEqual(["crc16", "crc32c_generic", "crc32c_intel", "ext4", "jbd2", "mbcache"]);
    expect(s.files).toContain("kernel/fs/ext4/ext4.ko");
    expect(s.reasons.get("ext4")).toEqual(["needed"]);
    expect(s.reasons.get("jbd2")).toEqual(["dependency of ext4"]);
    expect(s.reasons.get("crc32c_intel")).toEqual(["soft dependency (pre) of ext4"]);
  });

  test("dm_crypt pulls dm_mod; raid1 pulls md_mod; raid456 its async_tx stack", () => {
    expect(pick(["dm-crypt"]).names).toEqual(["dm_crypt", "dm_mod"]);
    expect(pick(["raid1"]).names).toEqual(["md_mod", "raid1"]);
    expect(pick(["raid5"]).names).toEqual(expect.arrayContaining(["raid456", "md_mod", "async_tx", "raid6_pq", "xor", "libcrc32c", "crc32c_generic"]));
  });

  test("post soft dependencies are followed too", () => {
    expect(pick(["ipmi_msghandler"]).names).toEqual(["ipmi_devintf", "ipmi_msghandler"]);
  });

  test("built-ins are skipped and reported, not warned about", () => {
    const s = pick(["atkbd", "nfsd"]);
    expect(s.builtin).toEqual(["atkbd"]);
    expect(s.names).toContain("nfsd");
    expect(s.names).not.toContain("md5"); // nfsd's softdep crypto-md5 is built in
    expect(s.warnings).toEqual([]);
    expect(s.notes).toEqual([]);
  });

  test("a name that is no module of this kernel is a warning", () => {
    const s = pick(["ext4", "zfs"]);
    expect(s.warnings).toEqual(["kernel module 'zfs' (needed) does not exist for this kernel"]);
    expect(s.names).toContain("ext4");
  });

  test("needed names carry their reasons (features.ts's module → features map)", () => {
    const s = selectModules(index, { modules: [], needed: new Map([["xfs", ["xfs"]], ["dm_mod", ["lvm", "luks"]]]) });
    expect(s.reasons.get("xfs")).toEqual(["needed by xfs"]);
    expect(s.reasons.get("dm_mod")).toEqual(["needed by lvm, luks"]);
    expect(s.reasons.get("libcrc32c")).toEqual(["dependency of xfs"]);
  });
});

describe("MODULES modes", () => {
  test("the mode is read as ReaR reads the array", () => {
    expect(modulesMode([])).toBe("needed");
    expect(modulesMode([""])).toBe("needed");
    expect(modulesMode(["no_modules"])).toBe("none");
    expect(modulesMode(["foo", "no_modules"])).toBe("list");
    expect(modulesMode(["foo", "all_modules"])).toBe("all");
    expect(modulesMode(["foo", "loaded_modules"])).toBe("loaded");
    expect(modulesMode(["all_modules", "loaded_modules"])).toBe("all");
    expect(modulesMode(["e1000e"])).toBe("list");
  });

  test("no_modules: nothing, not even MODULES_LOAD", () => {
    const s = selectModules(index, { modules: ["no_modules"], load: ["ext4"], loaded });
    expect(s.names).toEqual([]);
  });

  test("all_modules: every module of modules.dep, less EXCLUDE_MODULES", () => {
    const s = selectModules(index, { modules: ["all_modules"], exclude: ["scsi_debug"] });
    expect(s.names.length).toBe(index.modules.size - 1);
    expect(s.names).not.toContain("scsi_debug");
    expect(s.reasons.get("ext4")).toEqual(["MODULES=all_modules"]);
  });

  test("loaded_modules: the loaded ones and MODULES_LOAD (with what they need), no classes", () => {
    const s = selectModules(index, { modules: ["loaded_modules"], load: ["dm-crypt"], loaded, classes: [STORAGE], needed: ["xfs"] });
    expect(s.names).toEqual([...new Set([...loaded, "dm_crypt"])].sort());
    expect(s.reasons.get("dm_crypt")).toEqual(["MODULES_LOAD"]);
    expect(s.reasons.get("ext4")).toEqual(["loaded"]);
    expect(s.names).not.toContain("xfs");
  });

  test("empty (our default): loaded + MODULES_LOAD + needed + the driver classes", () => {
    const s = selectModules(index, { modules: [], load: ["nbd"], loaded, needed: ["xfs"], classes: defaultDriverClasses({ luks: false }), exclude: ["scsi_debug"] });
    for (const n of [...loaded, "nbd", "xfs", "ahci", "sd_mod", "nvme", "virtio_scsi", "mptspi", "megaraid_sas", "usb_storage", "uas", "xhci_pci", "usbhid", "hid_generic", "sr_mod", "isofs", "vfat", "nls_iso8859_1", "nls_utf8", "squashfs", "overlay", "virtio_net", "e1000", "e1000e", "vmxnet3"]) {
      expect(s.names).toContain(n);
    }
    for (const n of ["scsi_debug", "bnx2", "iwlwifi", "amdgpu", "firewire_sbp2", "xts", "serpent_generic"]) expect(s.names).not.toContain(n);
    expect(s.reasons.get("ahci")).toEqual(["loaded", "class storage: disk controllers of a replacement machine"]);
    expect(s.builtin).toContain("af_packet");
    expect(s.warnings).toEqual([]);
  });

  test("SAN HBAs (Fibre Channel, FCoE, iSCSI offload) only when loaded", () => {
    const s = selectModules(index, { modules: [], loaded, classes: defaultDriverClasses({ luks: false }) });
    for (const n of ["lpfc", "qla2xxx", "bfa", "bnx2fc", "qedf", "fnic"]) expect(s.names).not.toContain(n);
    for (const n of ["megaraid_sas", "mpt3sas", "hpsa", "smartpqi", "iscsi_tcp"]) expect(s.names).toContain(n);
    const san = selectModules(index, { modules: [], loaded: [...loaded, "qla2xxx"], classes: defaultDriverClasses({ luks: false }) });
    expect(san.names).toContain("qla2xxx");
    expect(san.names).toContain("scsi_transport_fc");
  });

  test("the crypto class comes with LUKS: algorithms the crypto API loads by name", () => {
    const s = selectModules(index, { modules: [], needed: ["dm_crypt"], classes: defaultDriverClasses({ luks: true }) });
    for (const n of ["xts", "serpent_generic", "aesni_intel", "essiv", "algif_skcipher", "dm_crypt", "dm_mod"]) expect(s.names).toContain(n);
  });

  test("the network class can be widened to ReaR's", () => {
    const common = classMembers(index, defaultDriverClasses({ luks: false, network: "common" }).find((c) => c.name === "network")!);
    const ethernet = classMembers(index, NETWORK_ETHERNET);
    expect(common).toEqual(expect.arrayContaining(["virtio_net", "e1000", "e1000e", "vmxnet3", "r8169", "igb"]));
    expect(ethernet).toEqual(expect.arrayContaining([...common.filter((n) => n !== "virtio_net" && n !== "vmxnet3" && n !== "hv_netvsc" && n !== "xen_netfront"), "bnx2", "mlx5_core"]));
    expect(defaultDriverClasses({ luks: false, network: "none" }).some((c) => c.name.startsWith("network"))).toBe(false);
  });

  test("an explicit list: the default selection plus those (ReaR's MODULES=( moduleX ) adds to MODULES=())", () => {
    const s = selectModules(index, { modules: ["btrfs", "no_modules", "nonexistent"], loaded, classes: [STORAGE] });
    expect(s.mode).toBe("list");
    expect(s.names).toEqual(expect.arrayContaining(["btrfs", "xor", "raid6_pq", "ext4", "ahci"]));
    expect(s.reasons.get("btrfs")).toEqual(["MODULES"]);
    expect(s.warnings).toEqual(["kernel module 'nonexistent' (MODULES) does not exist for this kernel"]);
  });
});

describe("EXCLUDE_MODULES", () => {
  test("an excluded module is left out, with its exclusive dependencies", () => {
    const s = selectModules(index, { modules: [], needed: ["btrfs", "ext4"], exclude: ["btrfs"] });
    expect(s.names).toEqual(["crc16", "crc32c_generic", "crc32c_intel", "ext4", "jbd2", "mbcache"]);
    expect(s.warnings).toEqual([]);
  });

  test("excluding a dependency of a kept module warns and still excludes ('-' and '_' alike)", () => {
    const s = selectModules(index, { modules: [], needed: ["ext4", "dm-crypt"], exclude: ["jbd2", "dm-mod"] });
    expect(s.names).toEqual(["crc16", "crc32c_generic", "crc32c_intel", "dm_crypt", "ext4", "mbcache"]);
    expect(s.warnings).toEqual([
      "jbd2 is excluded (EXCLUDE_MODULES) but ext4 needs it: ext4 will not load in the rescue system",
      "dm_mod is excluded (EXCLUDE_MODULES) but dm_crypt needs it: dm_crypt will not load in the rescue system",
    ]);
  });

  test("excluding a soft dependency is only a note", () => {
    const s = selectModules(index, { modules: [], needed: ["ext4"], exclude: ["crc32c_intel"] });
    expect(s.names).not.toContain("crc32c_intel");
    expect(s.warnings).toEqual([]);
    expect(s.notes).toEqual([
      "crc32c_intel is excluded (EXCLUDE_MODULES); ext4 asks for it as a soft dependency",
      "crc32c_intel is excluded (EXCLUDE_MODULES); jbd2 asks for it as a soft dependency",
    ]);
  });

  test("also in all_modules", () => {
    const s = selectModules(index, { modules: ["all_modules"], exclude: ["md-mod"] });
    expect(s.names).not.toContain("md_mod");
    expect(s.warnings).toContain("md_mod is excluded (EXCLUDE_MODULES) but raid1 needs it: raid1 will not load in the rescue system");
  });
});

describe("firmware", () => {
  const available = [
    "rtl_nic/rtl8168d-1.fw",
    "rtl_nic/rtl8168e-1.fw.xz",
    "bnx2/bnx2-mips-09-6.2.1b.fw.zst",
    "iwlwifi-cc-a0-77.ucode",
    "brcm/brcmfmac43455-sdio.raspberrypi,4-model-b.txt",
    "brcm/brcmfmac43455-sdio.AW-CM256SM.txt",
    "brcm/brcmfmac43455-sdio.bin",
    "ql2500_fw.bin",
    "updates/ql2500_fw.bin",
    `${KV}/i915/skl_dmc_ver1_26.bin`,
    "i915/skl_dmc_ver1.bin",
    "i915/skl_dmc_ver1_26.bin",
    "amdgpu/navi10_sos.bin",
    "RTL8192E/boot.img",
  ];

  test("the setting as ReaR reads it: first element yes/no, else patterns; empty is ours", () => {
    expect(firmwareMode([])).toBe("declared");
    expect(firmwareMode([""])).toBe("declared");
    for (const v of ["yes", "Y", "true", "1", "t"]) expect(firmwareMode([v])).toBe("all");
    for (const v of ["no", "N", "false", "0", "f"]) expect(firmwareMode([v])).toBe("none");
    expect(firmwareMode(["yes", "*rtl*"])).toBe("all");
    expect(firmwareMode(["*rtl*", "no"])).toBe("patterns");
  });

  test("yes: all; no: none", () => {
    expect(selectFirmware(["yes"], [], available).files).toEqual([...available].sort());
    expect(selectFirmware(["no"], ["rtl_nic/rtl8168d-1.fw"], available).files).toEqual([]);
  });

  test("patterns are find -ipath on /lib/firmware/<path>: whole path, case-folded, '*' crosses '/'", () => {
    expect(selectFirmware(["*rtl*"], [], available).files).toEqual(["RTL8192E/boot.img", "rtl_nic/rtl8168d-1.fw", "rtl_nic/rtl8168e-1.fw.xz"]);
    expect(selectFirmware(["/lib/firmware/brcm/*.txt"], [], available).files).toEqual(["brcm/brcmfmac43455-sdio.AW-CM256SM.txt", "brcm/brcmfmac43455-sdio.raspberrypi,4-model-b.txt"]);
    // not a substring search, and a directory alone copies nothing
    expect(selectFirmware(["rtl_nic"], [], available).files).toEqual([]);
    expect(selectFirmware(["/lib/firmware/rtl_nic"], [], available).files).toEqual([]);
    expect(selectFirmware(["*/QL2500_FW.BIN"], [], available).files).toEqual(["ql2500_fw.bin", "updates/ql2500_fw.bin"]);
    expect(ipathRegExp("/lib/firmware/amdgpu/navi1[0-4]_*").test("/lib/firmware/amdgpu/navi10_sos.bin")).toBe(true);
    expect(ipathRegExp("*[!a-z].bin").test("/lib/firmware/x1.bin")).toBe(true);
    expect(ipathRegExp("*[!a-z].bin").test("/lib/firmware/xa.bin")).toBe(false);
  });

  test("empty (ours): what the modules declare, compressed names and the loader's directories included", () => {
    const s = selectFirmware([], ["rtl_nic/rtl8168d-1.fw", "rtl_nic/rtl8168e-1.fw", "bnx2/bnx2-mips-09-6.2.1b.fw", "ql2500_fw.bin", "rtl_nic/rtl8125a-3.fw"], available);
    expect(s.mode).toBe("declared");
    expect(s.files).toEqual(["bnx2/bnx2-mips-09-6.2.1b.fw.zst", "rtl_nic/rtl8168d-1.fw", "rtl_nic/rtl8168e-1.fw.xz", "updates/ql2500_fw.bin"]);
    expect(s.missing).toEqual(["rtl_nic/rtl8125a-3.fw"]);
  });

  test("the loader's order: updates/<kv>, updates, <kv>, the top; plain before .zst before .xz", () => {
    expect(firmwareCandidates("a.bin", KV)).toEqual([
      `updates/${KV}/a.bin`, "updates/a.bin", `${KV}/a.bin`, "a.bin",
      `updates/${KV}/a.bin.zst`, "updates/a.bin.zst", `${KV}/a.bin.zst`, "a.bin.zst",
      `updates/${KV}/a.bin.xz`, "updates/a.bin.xz", `${KV}/a.bin.xz`, "a.bin.xz",
    ]);
    expect(selectFirmware([], ["i915/skl_dmc_ver1_26.bin"], available, { kernelVersion: KV }).files).toEqual([`${KV}/i915/skl_dmc_ver1_26.bin`]);
    expect(selectFirmware([], ["i915/skl_dmc_ver1_26.bin"], available).files).toEqual(["i915/skl_dmc_ver1_26.bin"]);
  });

  test("declared globs match within one directory, case-sensitively", () => {
    expect(selectFirmware([], ["brcm/brcmfmac43455-sdio.*.txt"], available).files).toEqual(["brcm/brcmfmac43455-sdio.AW-CM256SM.txt", "brcm/brcmfmac43455-sdio.raspberrypi,4-model-b.txt"]);
    expect(selectFirmware([], ["*.img"], available).files).toEqual([]);
    expect(selectFirmware([], ["rtl8192e/*.img"], available).missing).toEqual(["rtl8192e/*.img"]);
  });

  test("a chosen link brings its target", () => {
    const links = new Map([["i915/skl_dmc_ver1.bin", "i915/skl_dmc_ver1_26.bin"]]);
    expect(selectFirmware([], ["i915/skl_dmc_ver1.bin"], available, { links }).files).toEqual(["i915/skl_dmc_ver1.bin", "i915/skl_dmc_ver1_26.bin"]);
    expect(selectFirmware(["*ver1.bin"], [], available, { links }).files).toEqual(["i915/skl_dmc_ver1.bin", "i915/skl_dmc_ver1_26.bin"]);
  });

  test("firmware declared by modules, from a reader of their .modinfo", () => {
    const fw: Record<string, string[]> = { "a.ko": ["x.fw", "y.fw"], "b.ko": ["y.fw"], "c.ko": [] };
    const d = firmwareDeclaredBy(["a.ko", "b.ko", "c.ko"], (p) => fw[p] ?? []);
    expect([...d]).toEqual([
      ["x.fw", ["a.ko"]],
      ["y.fw", ["a.ko", "b.ko"]],
    ]);
  });
});

describe("probeModules (a tree made from the fixture)", () => {
  test("reads the depmod files, modprobe.d softdeps, the loaded list and /lib/firmware with its links", () => {
    const root = mkdtempSync(join(tmpdir(), "rear-modules-"));
    try {
      const md = join(root, "lib/modules", KV);
      mkdirSync(md, { recursive: true });
      for (const f of ["modules.dep", "modules.builtin", "modules.builtin.modinfo", "modules.alias", "modules.softdep"]) writeFileSync(join(md, f), readFileSync(join(FIX, f)));
      mkdirSync(join(root, "etc/modprobe.d"), { recursive: true });
      writeFileSync(join(root, "etc/modprobe.d/local.conf"), "softdep virtio_blk pre: dm-mod\n");
      const fw = join(root, "lib/firmware");
      mkdirSync(join(fw, "i915"), { recursive: true });
      mkdirSync(join(fw, "rtl_nic"), { recursive: true });
      writeFileSync(join(fw, "i915/skl_dmc_ver1_26.bin"), "x".repeat(100));
      symlinkSync("skl_dmc_ver1_26.bin", join(fw, "i915/skl_dmc_ver1.bin"));
      symlinkSync("/nonexistent", join(fw, "dangling.bin"));
      symlinkSync("rtl_nic", join(fw, "rtl_link"));
      writeFileSync(join(fw, "rtl_nic/rtl8168d-1.fw"), "y");
      const p = probeModules({ root, kernelVersion: KV, procModules: join(FIX, "proc-modules") });
      expect(p.moduleDir).toBe(md);
      expect(p.running).toBe(false);
      expect(p.index.modules.size).toBe(4023);
      expect(p.loaded.length).toBe(79);
      expect(p.metaFiles).toEqual(["modules.builtin", "modules.builtin.modinfo"]);
      expect(p.index.softdeps.get("virtio_blk")).toEqual({ pre: ["dm-mod"], post: [] });
      expect(p.firmware).toEqual([
        { path: "dangling.bin", size: 0, link: "" },
        { path: "i915/skl_dmc_ver1.bin", size: 100, link: "i915/skl_dmc_ver1_26.bin" },
        { path: "i915/skl_dmc_ver1_26.bin", size: 100 },
        { path: "rtl_nic/rtl8168d-1.fw", size: 1 },
      ]);
      expect([...firmwareLinks(p.firmware)]).toEqual([["i915/skl_dmc_ver1.bin", "i915/skl_dmc_ver1_26.bin"]]);
      expect(() => probeModules({ root, kernelVersion: "0.0.0-none" })).toThrow(/modules\.dep does not exist/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe.if(haveTree)(`sizes (unpacked ${KV} in ${TREE})`, () => {
  test("the default selection against all_modules, and its firmware against all of /lib/firmware", async () => {
    const p = probeModules({ root: TREE, kernelVersion: KV, procModules: join(FIX, "proc-modules") });
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    const total = (paths: readonly string[]) => [...fileSizes(p.moduleDir, paths).values()].reduce((a, b) => a + b, 0);
    const needed = new Map([["ext4", ["fs ext4"]], ["vfat", ["fs vfat"]], ["dm_mod", ["lvm"]]]);
    const def = selectModules(p.index, { modules: [], loaded: p.loaded, needed, classes: defaultDriverClasses({ luks: false }), exclude: ["scsi_debug"] });
    const all = selectModules(p.index, { modules: ["all_modules"], exclude: ["scsi_debug"] });
    const loadedOnly = selectModules(p.index, { modules: ["loaded_modules"], loaded: p.loaded });
    console.log(`modules, default (KVM guest loaded set + ext4/vfat/dm_mod + classes): ${def.names.length} modules, ${mib(total(def.files))}`);
    console.log(`modules, loaded_modules: ${loadedOnly.names.length} modules, ${mib(total(loadedOnly.files))}`);
    console.log(`modules, all_modules: ${all.names.length} modules, ${mib(total(all.files))}`);
    for (const c of DRIVER_CLASSES) {
      const m = classMembers(p.index, c);
      console.log(`  class ${c.name}: ${m.length} modules, ${mib(total(m.map((n) => p.index.modules.get(n)!.path)))}`);
    }
    expect(def.names.length).toBeLessThan(all.names.length);
    if (p.firmware.length === 0) return;
    const fwOf = await readModuleFirmware(p.moduleDir, def.files);
    const declared = firmwareDeclaredBy(def.files, (m) => fwOf.get(m) ?? []);
    const sel = selectFirmware([], [...declared.keys()], p.firmware.map((f) => f.path), { kernelVersion: KV, links: firmwareLinks(p.firmware) });
    const size = new Map(p.firmware.map((f) => [f.path, f.size]));
    const fwTotal = (l: readonly string[]) => l.reduce((a, f) => a + (size.get(f) ?? 0), 0);
    console.log(`firmware, default: ${declared.size} names declared, ${sel.files.length} files, ${mib(fwTotal(sel.files))}; all of /lib/firmware: ${p.firmware.length} files, ${mib(fwTotal(p.firmware.map((f) => f.path)))}`);
  });
});
