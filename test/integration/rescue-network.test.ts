// The rescue network end to end, in network namespaces (root): a machine's network is built in
// namespace A and captured by probe.ts; the 60/62 scripts rendered from it run in a fresh namespace B
// that has only the same NICs (veths) — and B ends up with A's interfaces, addresses, routes and
// rules. The kernel options noip, ip=… (ReaR's and the kernel's form) and dhcp are run against the
// scripts too, and 55-migrate-network-devices.sh against a made-up /sys. Every namespace is ours and
// deleted at the end; no packet leaves them.

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNetwork } from "../../src/rescue/network/parse.ts";
import { planDevices } from "../../src/rescue/network/plan.ts";
import type { NetworkModel } from "../../src/rescue/network/model.ts";
import { probeNetwork } from "../../src/rescue/network/probe.ts";
import { DEVICES_SCRIPT, type NetworkConfig, ROUTING_SCRIPT, renderNetworkFiles } from "../../src/rescue/network/render.ts";
import { must, run } from "./sys.ts";

const ROOT = join(import.meta.dir, "../..");
const FUNCTIONS = join(ROOT, "skel/etc/scripts/functions.sh");
const SKEL_STEPS = join(ROOT, "skel/etc/scripts/system-setup.d");
const isRoot = process.getuid?.() === 0;
const tag = `${process.pid % 100000}`;
const NS = { a: `rearit-a-${tag}`, ap: `rearit-ap-${tag}`, b: `rearit-b-${tag}`, bp: `rearit-bp-${tag}`, c: `rearit-c-${tag}`, cp: `rearit-cp-${tag}` };
const NICS = ["eth0", "eth1", "eth2"];
const BASE: NetworkConfig = {
  useDhclient: "", dhclientBin: "", useStaticNetworking: "", prepCommands: [], excludeInterfaces: [], excludeAddresses: [],
  simplifyBonding: false, simplifyBridge: false, simplifyTeaming: false,
};

let tmp = "";

/** `ip -n NS …` lines; fails loudly */
function ipn(ns: string, script: string): void {
  for (const line of script.trim().split("\n")) {
    const l = line.trim();
    if (l && !l.startsWith("#")) must(["ip", "-n", ns, ...l.split(/\s+/)]);
  }
}

/** NICs (veths) in ns with their other ends up in peer, so that their links are up */
function addNics(ns: string, peer: string, names: string[]): void {
  for (const n of names) {
    must(["ip", "-n", ns, "link", "add", n, "type", "veth", "peer", "name", `p-${n}`, "netns", peer]);
    must(["ip", "-n", peer, "link", "set", `p-${n}`, "up"]);
  }
  must(["ip", "-n", ns, "link", "set", "lo", "up"]);
}

/** the original machine: test/fixtures/network/capture-bridge-static.sh, less the parts that are not replayed */
function buildOriginal(): void {
  addNics(NS.a, NS.ap, [...NICS, "vethd"]);
  ipn(NS.a, `
    link set eth0 mtu 9000 up
    addr add 10.20.0.2/24 brd + dev eth0
    addr add 10.20.0.3/24 brd + label eth0:1 dev eth0
    addr add 2001:db8:20::2/64 dev eth0 nodad
    link add name br0 type bridge stp_state 1 forward_delay 200
    link set eth1 master br0
    link set eth1 up
    link set br0 up
    addr add 192.168.50.10/24 brd + dev br0
    link set eth2 up
    addr add 198.51.100.5/32 dev eth2
    link add name docker0 type bridge
    link set vethd master docker0
    link set vethd up
    link set docker0 up
    addr add 172.17.0.1/16 dev docker0
    route add default via 10.20.0.1 dev eth0 metric 100
    route add 172.16.0.0/12 via 192.168.50.1 dev br0 src 192.168.50.10
    route add 10.50.0.0/16 nexthop via 10.20.0.1 dev eth0 weight 1 nexthop via 192.168.50.1 dev br0 weight 2
    route add blackhole 10.255.0.0/16
    route add 203.0.113.1 dev eth2 scope link
    route add default via 203.0.113.1 dev eth2 metric 200
    route add default via 192.168.50.254 dev br0 table 100
    route add 10.60.0.0/16 via 192.168.50.253 dev br0 table 100
    -6 route add default via 2001:db8:20::1 dev eth0 metric 1024
    -6 route add 2001:db8:99::/48 via 2001:db8:20::fe dev eth0 table 100
    rule add from 192.168.50.0/24 lookup 100 priority 1000
    rule add fwmark 0x10 lookup 100 priority 1001
    -6 rule add from 2001:db8:20::/64 lookup 100 priority 1000
  `);
}

/** the links that should be up are up (the kernel updates operstate asynchronously; STP holds a bridge 2 x forward_delay) */
async function waitUp(ns: string, names: string[]): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const links = JSON.parse(must(["ip", "-n", ns, "-j", "link", "show"])) as { ifname: string; operstate: string }[];
    if (names.every((n) => links.find((l) => l.ifname === n)?.operstate === "UP")) return;
    await Bun.sleep(250);
  }
  throw new Error(`${ns}: ${names.join(" ")} not all up`);
}

async function capture(ns: string) {
  const raw = await probeNetwork({ ip: ["ip", "-n", ns], note: () => {} });
  // a namespace has no hardware NICs: the veths stand for them
  raw.sysfs = Object.fromEntries(NICS.map((n) => [n, { device: true, driver: "veth" }]));
  const p = parseNetwork(raw);
  expect(p.warnings).toEqual([]);
  return p.model;
}

/** runs setup steps as system-setup does (functions.sh, setup.conf, each step in a subshell) inside ns, with its own /run */
function runSteps(ns: string, steps: string[], opts: { cmdline?: string; setupConf?: string[] } = {}) {
  const conf = join(tmp, `setup-${ns}.conf`);
  writeFileSync(conf, `${(opts.setupConf ?? []).join("\n")}\n`);
  const script = [
    "mount -t tmpfs tmpfs /run",
    `. ${FUNCTIONS}`,
    `. ${conf}`,
    ...steps.map((s) => `( . ${s} ) || setup_warn "${s} failed"`),
  ].join("\n");
  return run(["ip", "netns", "exec", ns, "bash", "-c", script], { env: { REAR_CMDLINE: opts.cmdline ?? "" } });
}

/** the part of a model the replay must reproduce: the interfaces set up, their addresses, routes over them, rules */
function replayable(m: NetworkModel, configured: Set<string>) {
  const ifs = m.interfaces
    .filter((i) => configured.has(i.name))
    .map((i) => ({ name: i.name, kind: i.kind, up: i.up, mtu: i.mtu, master: i.master, bridge: i.bridge, addresses: i.addresses }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const routes = m.routes
    .filter((r) => (!r.dev || configured.has(r.dev)) && (r.nexthops ?? []).every((h) => !h.dev || configured.has(h.dev)))
    .map((r) => JSON.stringify(r))
    .sort();
  return { ifs, routes, rules: m.rules.map((r) => JSON.stringify(r)).sort() };
}

function writeRendered(dir: string, files: Record<string, { text: string }>): void {
  for (const [p, f] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), f.text);
  }
}

/** namespace C back to an unconfigured veth0 */
function resetC(): void {
  run(["ip", "-n", NS.c, "addr", "flush", "dev", "veth0"]);
  run(["ip", "-n", NS.c, "route", "flush", "dev", "veth0"]);
  run(["ip", "-n", NS.c, "-6", "route", "flush", "dev", "veth0"]);
}

describe.skipIf(!isRoot)("rescue network in network namespaces (root)", () => {
  let original: NetworkModel;
  let rendered = "";

  afterEach(() => {
    if (run(["ip", "-n", NS.c, "link", "show", "veth0"]).code === 0) resetC();
  });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "rear-net-"));
    for (const ns of Object.values(NS)) must(["ip", "netns", "add", ns]);
    buildOriginal();
    await waitUp(NS.a, [...NICS, "br0"]);
    original = await capture(NS.a);
    rendered = join(tmp, "rescue");
    writeRendered(rendered, renderNetworkFiles({ model: original, config: BASE, dhcp: { use: false, why: "test", warnings: [] }, mappings: {} }).files);
  }, 60_000);

  afterAll(() => {
    for (const ns of Object.values(NS)) run(["ip", "netns", "del", ns]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("the rendered 60/62 scripts, run in an empty namespace with the same NICs, reproduce the original's network", async () => {
    addNics(NS.b, NS.bp, NICS);
    const r = runSteps(NS.b, [join(rendered, DEVICES_SCRIPT), join(rendered, ROUTING_SCRIPT)]);
    expect(r.stderr).toBe("");
    await waitUp(NS.b, [...NICS, "br0"]);
    const replayed = await capture(NS.b);
    const configured = planDevices(original, BASE).configured;
    expect([...configured].sort()).toEqual(["br0", "eth0", "eth1", "eth2"]);
    expect(replayable(replayed, configured)).toEqual(replayable(original, configured));
    // what was not to be replayed is not there
    const names = replayed.interfaces.map((i) => i.name);
    expect(names).not.toContain("docker0");
  });

  test("kernel option noip: nothing is set up", () => {
    addNics(NS.c, NS.cp, ["veth0"]);
    const r = runSteps(NS.c, [join(rendered, DEVICES_SCRIPT), join(rendered, ROUTING_SCRIPT)], { cmdline: "quiet noip" });
    expect(r.stdout).toContain("rescue: kernel option noip: the network is not set up");
    expect(must(["ip", "-n", NS.c, "-j", "addr", "show", "scope", "global"]).includes("local")).toBe(false);
    expect(JSON.parse(must(["ip", "-n", NS.c, "-j", "route", "show"]))).toEqual([]);
    expect(must(["ip", "-n", NS.c, "-br", "link"])).not.toContain("br0");
  });

  test("kernel option ip=<client>::<gw>:<netmask>::<device>:off (kernel/dracut): that address and default route, nothing saved", () => {
    const r = runSteps(NS.c, [join(rendered, DEVICES_SCRIPT), join(rendered, ROUTING_SCRIPT)], { cmdline: "ip=10.9.8.7::10.9.8.1:255.255.255.0::veth0:off" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("kernel option ip=: 10.9.8.7/255.255.255.0 on veth0, gateway 10.9.8.1");
    // (iproute2 prints the addresses a scope filter drops as empty objects)
    const addrs = JSON.parse(must(["ip", "-n", NS.c, "-j", "addr", "show", "dev", "veth0", "scope", "global"])) as { addr_info: { local?: string; prefixlen?: number }[] }[];
    expect(addrs[0]!.addr_info.filter((a) => a.local).map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["10.9.8.7/24"]);
    expect(must(["ip", "-n", NS.c, "route", "show", "default"]).trim()).toBe("default via 10.9.8.1 dev veth0");
    expect(must(["ip", "-n", NS.c, "-br", "link"])).not.toContain("br0");
    expect(must(["ip", "-n", NS.c, "rule", "show"])).not.toContain("lookup 100");
  });

  test("ReaR's ip=<address> nm= gw= netdev= and an IPv6 address in brackets", () => {
    let r = runSteps(NS.c, [join(rendered, DEVICES_SCRIPT)], { cmdline: "ip=10.9.8.8 nm=25 gw=10.9.8.1 netdev=veth0" });
    expect(r.stderr).toBe("");
    expect(must(["ip", "-n", NS.c, "-o", "addr", "show", "dev", "veth0", "scope", "global"])).toContain("inet 10.9.8.8/25");
    expect(must(["ip", "-n", NS.c, "route", "show", "default"]).trim()).toBe("default via 10.9.8.1 dev veth0");
    resetC();
    r = runSteps(NS.c, [join(rendered, DEVICES_SCRIPT)], { cmdline: "ip=[2001:db8:5::7]::[2001:db8:5::1]:64::veth0:none" });
    expect(r.stderr).toBe("");
    expect(must(["ip", "-n", NS.c, "-o", "addr", "show", "dev", "veth0", "scope", "global"])).toContain("inet6 2001:db8:5::7/64");
    expect(must(["ip", "-n", NS.c, "-6", "route", "show", "default"])).toContain("default via 2001:db8:5::1 dev veth0");
  });

  test("kernel option dhcp (or ip=dhcp): the saved setup is left to DHCP; 58 says when there is no client", () => {
    for (const cmdline of ["dhcp", "ip=veth0:dhcp"]) {
      const r = runSteps(NS.c, [join(SKEL_STEPS, "58-start-dhcp.sh"), join(rendered, DEVICES_SCRIPT), join(rendered, ROUTING_SCRIPT)], { cmdline });
      expect(r.stdout).toContain("DHCP sets up the network: the saved network setup is not used");
      // this machine has no DHCP client, so the warning; with one, 58 would start it in the background
      if (!["dhclient", "dhcpcd", "udhcpc"].some((c) => run(["bash", "-c", `type -P ${c}`]).code === 0)) expect(r.stderr).toContain("there is no DHCP client program");
      expect(must(["ip", "-n", NS.c, "-br", "link"])).not.toContain("br0");
    }
    // USE_DHCLIENT from setup.conf, overruled by a static ip= option
    const r = runSteps(NS.c, [join(SKEL_STEPS, "58-start-dhcp.sh"), join(rendered, DEVICES_SCRIPT)], { cmdline: "ip=10.9.8.9::::::off netdev=veth0", setupConf: ["USE_DHCLIENT=yes"] });
    expect(r.stderr).toBe("");
    expect(must(["ip", "-n", NS.c, "-o", "addr", "show", "scope", "global"])).toContain("inet 10.9.8.9/24");
  });

  test("every rendered fixture script is valid bash", () => {
    const base = join(ROOT, "test/fixtures/network");
    let n = 0;
    for (const c of readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      const dir = join(base, c.name, "rendered");
      let variants: string[] = [];
      try {
        variants = readdirSync(dir);
      } catch {}
      for (const v of variants) for (const f of ["60-network-devices.sh", "62-routing.sh"]) {
        const r = run(["bash", "-n", join(dir, v, f)]);
        expect(`${c.name}/${v}/${f}: ${r.stderr}`).toBe(`${c.name}/${v}/${f}: `);
        n++;
      }
    }
    expect(n).toBeGreaterThan(10);
    for (const f of readdirSync(SKEL_STEPS).filter((f) => /^5[58]-/.test(f))) expect(run(["bash", "-n", join(SKEL_STEPS, f)]).stderr).toBe("");
  });
});

describe("55-migrate-network-devices.sh on a made-up /sys", () => {
  const roots: string[] = [];
  let root = "";
  const SCRIPT60 = "# eth0: NIC\nip link set dev eth0 mtu 1500 up\nip link add link eth0 name eth0.100 type vlan id 100\nip addr add 10.0.0.1/24 label eth0:1 dev eth0\nip link set dev eth1 up\nip link set dev eth10 up\n";
  const SCRIPT62 = "ip route add default via 10.0.0.254 dev eth0\nip route add 10.1.0.0/16 via 10.0.1.254 dev eth1\n";

  /** a rescue root: NICs here (name → MAC), /etc/mac-addresses of the original, the 60/62 scripts */
  function makeRoot(here: Record<string, string>, original: string, macMapping?: string): string {
    const r = mkdtempSync(join(tmpdir(), "rear-mig-"));
    roots.push(r);
    mkdirSync(join(r, "sys/devices/pci0000:00/0000:00:03.0"), { recursive: true });
    for (const [name, mac] of Object.entries(here)) {
      const d = join(r, "sys/class/net", name);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "address"), `${mac}\n`);
      symlinkSync("../../../devices/pci0000:00/0000:00:03.0", join(d, "device"));
    }
    mkdirSync(join(r, "sys/class/net/lo"), { recursive: true });
    writeFileSync(join(r, "sys/class/net/lo/address"), "00:00:00:00:00:00\n");
    mkdirSync(join(r, "etc/scripts/system-setup.d"), { recursive: true });
    writeFileSync(join(r, "etc/mac-addresses"), original);
    writeFileSync(join(r, "etc/scripts/system-setup.d/60-network-devices.sh"), SCRIPT60);
    writeFileSync(join(r, "etc/scripts/system-setup.d/62-routing.sh"), SCRIPT62);
    if (macMapping !== undefined) {
      mkdirSync(join(r, "etc/rear/mappings"), { recursive: true });
      writeFileSync(join(r, "etc/rear/mappings/mac"), macMapping);
    }
    return r;
  }

  function migrate(r: string, cmdline = "") {
    const script = `. ${FUNCTIONS}\n. ${join(SKEL_STEPS, "55-migrate-network-devices.sh")}`;
    const out = run(["bash", "-c", script], { env: { REAR_TEST_ROOT: r, REAR_CMDLINE: cmdline }, stdin: "" });
    return { ...out, s60: readFileSync(join(r, "etc/scripts/system-setup.d/60-network-devices.sh"), "utf8"), s62: readFileSync(join(r, "etc/scripts/system-setup.d/62-routing.sh"), "utf8") };
  }

  afterAll(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  test("the same MACs under the same names: nothing changes", () => {
    root = makeRoot({ eth0: "52:54:00:00:00:01", eth1: "52:54:00:00:00:02" }, "eth0 52:54:00:00:00:01\neth1 52:54:00:00:00:02\n");
    const r = migrate(root);
    expect(r.stderr).toBe("");
    expect(r.s60).toBe(SCRIPT60);
    expect(r.s62).toBe(SCRIPT62);
  });

  test("swapped names are renamed through placeholders; whole names only (eth10 stays), VLAN and label follow", () => {
    root = makeRoot({ eth0: "52:54:00:00:00:02", eth1: "52:54:00:00:00:01" }, "eth0 52:54:00:00:00:01\neth1 52:54:00:00:00:02\n");
    const r = migrate(root);
    expect(r.stderr).toBe("");
    expect(r.s60).toBe("# eth1: NIC\nip link set dev eth1 mtu 1500 up\nip link add link eth1 name eth1.100 type vlan id 100\nip addr add 10.0.0.1/24 label eth1:1 dev eth1\nip link set dev eth0 up\nip link set dev eth10 up\n");
    expect(r.s62).toBe("ip route add default via 10.0.0.254 dev eth1\nip route add 10.1.0.0/16 via 10.0.1.254 dev eth0\n");
    // a rename is not a MAC mapping for the recovered system
    expect(() => readFileSync(join(root, "etc/rear/mappings/mac"), "utf8")).toThrow();
    // once per boot
    expect(migrate(root).s60).toBe(r.s60);
  });

  test("new hardware: the only missing NIC becomes the only unused one, recorded in mappings/mac", () => {
    root = makeRoot({ ens3: "52:54:00:aa:00:01", ens4: "52:54:00:00:00:02" }, "eth0 52:54:00:00:00:01\neth1 52:54:00:00:00:02\n");
    const r = migrate(root);
    expect(r.stdout).toContain("the only missing NIC eth0 (52:54:00:00:00:01) is the only unused NIC here, ens3");
    expect(r.s62).toBe("ip route add default via 10.0.0.254 dev ens3\nip route add 10.1.0.0/16 via 10.0.1.254 dev ens4\n");
    expect(readFileSync(join(root, "etc/rear/mappings/mac"), "utf8")).toBe("52:54:00:00:00:01 52:54:00:aa:00:01 eth0\n");
  });

  test("mappings/mac says which NIC takes a missing one's place; 'unattended' decides the rest without asking", () => {
    root = makeRoot(
      { ens3: "52:54:00:aa:00:01", ens4: "52:54:00:aa:00:02", ens5: "52:54:00:aa:00:03" },
      "eth0 52:54:00:00:00:01\neth1 52:54:00:00:00:02\n",
      "# old new\n52:54:00:00:00:02 52:54:00:AA:00:03 eth1\n",
    );
    const r = migrate(root, "unattended");
    expect(r.stdout).toContain("eth1 (52:54:00:00:00:02) is ens5 here, as /etc/rear/mappings/mac says");
    expect(r.stdout).toContain("eth0 (52:54:00:00:00:01) is not here; unattended: ens3 takes its place");
    expect(r.s62).toBe("ip route add default via 10.0.0.254 dev ens3\nip route add 10.1.0.0/16 via 10.0.1.254 dev ens5\n");
  });

  test("asked at the console (no answer: the first unused NIC)", () => {
    root = makeRoot({ ens3: "52:54:00:aa:00:01", ens4: "52:54:00:aa:00:02" }, "eth0 52:54:00:00:00:01\neth1 52:54:00:00:00:02\n");
    const r = migrate(root);
    expect(r.stdout).toContain("The NIC eth0 (52:54:00:00:00:01) of the original system is not here. Which NIC takes its place?");
    expect(r.stdout).toContain("  1) ens3 (52:54:00:aa:00:01)");
    expect(r.s62).toBe("ip route add default via 10.0.0.254 dev ens3\nip route add 10.1.0.0/16 via 10.0.1.254 dev ens4\n");
  });
});
