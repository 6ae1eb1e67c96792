// The rescue network: parse (iproute2 JSON → model), plan and render (model → 60/62 scripts,
// /etc/mac-addresses, setup.conf), and the DHCP decision. The fixture machines' rendered files are
// snapshots in test/fixtures/network/<case>/rendered/<variant>/; REAR_UPDATE_FIXTURES=1 rewrites them.

import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DhcpConfigError, type DhcpDecision, type DhcpFacts, decideDhcp, detectDhcp, networkdUsesDhcp, nmConnectionUsesDhcp } from "../../../src/rescue/network/dhcp.ts";
import { networkConfigFrom } from "../../../src/rescue/network/index.ts";
import type { NetworkModel } from "../../../src/rescue/network/model.ts";
import { type NetworkRaw, parseNetwork } from "../../../src/rescue/network/parse.ts";
import { planDevices } from "../../../src/rescue/network/plan.ts";
import { DEVICES_SCRIPT, IP_OPTION_FUNCTIONS, MAC_ADDRESSES, type NetworkConfig, type NetworkFiles, ROUTING_SCRIPT, renderNetworkFiles } from "../../../src/rescue/network/render.ts";

const FIXTURES = join(import.meta.dir, "../../fixtures/network");
const SKEL = join(import.meta.dir, "../../../skel/etc/scripts/system-setup.d");
const UPDATE = process.env.REAR_UPDATE_FIXTURES === "1";

function loadRaw(name: string): NetworkRaw {
  const dir = join(FIXTURES, name);
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : undefined);
  const teams: Record<string, string> = {};
  if (existsSync(join(dir, "team"))) for (const f of readdirSync(join(dir, "team"))) teams[f.replace(/\.json$/, "")] = readFileSync(join(dir, "team", f), "utf8").trim();
  const raw: NetworkRaw = { link: read("link.json")!, addr: read("addr.json")!, route: read("route.json")!, route6: read("route6.json") ?? "[]", rule: read("rule.json") ?? "[]", teams };
  const rule6 = read("rule6.json");
  if (rule6 !== undefined) raw.rule6 = rule6;
  const sysfs = read("sysfs.json");
  if (sysfs !== undefined) raw.sysfs = JSON.parse(sysfs) as NetworkRaw["sysfs"];
  const rt = read("rt_tables");
  if (rt !== undefined) raw.rtTables = rt;
  return raw;
}

const model = (name: string): NetworkModel => {
  const p = parseNetwork(loadRaw(name));
  expect(p.warnings).toEqual([]);
  return p.model;
};

const BASE: NetworkConfig = {
  useDhclient: "", dhclientBin: "", useStaticNetworking: "", prepCommands: [], excludeInterfaces: [], excludeAddresses: [],
  simplifyBonding: false, simplifyBridge: false, simplifyTeaming: false,
};
const NO_DHCP: DhcpDecision = { use: false, why: "no DHCP in use on this machine", warnings: [] };
const DHCLIENT: DhcpDecision = { use: true, why: "a DHCP client process runs (dhclient)", client: "dhclient", clientPath: "/usr/sbin/dhclient", warnings: [] };

interface Variant {
  name: string;
  config?: Partial<NetworkConfig>;
  dhcp?: DhcpDecision;
  mappings?: { ipAddresses?: string; routes?: string };
}

function render(name: string, v: Variant): NetworkFiles {
  return renderNetworkFiles({ model: model(name), config: { ...BASE, ...v.config }, dhcp: v.dhcp ?? NO_DHCP, mappings: v.mappings ?? {} });
}

const script = (f: NetworkFiles, path: string) => f.files[path]!.text;
/** the saved part of 60: what comes after `echo saved` */
const saved60 = (f: NetworkFiles) => script(f, DEVICES_SCRIPT).split("echo saved >/run/rear-setup/network")[1]!;

const VARIANTS: Record<string, Variant[]> = {
  "bridge-static": [
    { name: "default" },
    { name: "simplify-bridge", config: { simplifyBridge: true } },
    {
      name: "excludes",
      config: {
        excludeInterfaces: ["eth2"],
        excludeAddresses: ["10.20.0.3", "2001:db8:20::2/64"],
        prepCommands: ["modprobe e1000e", "ethtool -s eth0 speed 1000 duplex full autoneg off", "echo 'it''s \"quoted\" $HOME'", ""],
      },
    },
    {
      name: "mappings",
      mappings: {
        ipAddresses: "# the clone gets other addresses\neth0 10.30.0.2/24\neth0 10.30.0.3/24\nbr0 dhcp\n\neth9 10.9.9.9/24\neth2 10.0.0.1/24;reboot\n",
        routes: "default 10.30.0.1 eth0\n10.40.0.0/16 10.30.0.254 eth0  # office\n2001:db8:77::/48 2001:db8:30::1 eth0\n",
      },
      dhcp: { ...NO_DHCP, client: "dhclient", clientPath: "/usr/sbin/dhclient" },
    },
    { name: "dhcp", dhcp: DHCLIENT },
  ],
  "bond-vlan": [{ name: "default" }, { name: "simplify-bonding", config: { simplifyBonding: true } }],
  "team-bridge": [{ name: "default" }, { name: "simplify-all", config: { simplifyBridge: true, simplifyTeaming: true } }],
  "host-virtio": [{ name: "default" }],
};

function checkSnapshot(name: string, v: Variant, f: NetworkFiles): void {
  const dir = join(FIXTURES, name, "rendered", v.name);
  const summary = `${JSON.stringify({ programs: f.programs, optionalPrograms: f.optionalPrograms, modules: f.modules, warnings: f.warnings, notes: f.notes, otherFiles: Object.keys(f.files).filter((p) => ![DEVICES_SCRIPT, ROUTING_SCRIPT, MAC_ADDRESSES].includes(p)) }, null, 1)}\n`;
  const want: Record<string, string> = {
    "60-network-devices.sh": script(f, DEVICES_SCRIPT),
    "62-routing.sh": script(f, ROUTING_SCRIPT),
    "mac-addresses": script(f, MAC_ADDRESSES),
    "setup.conf": `${f.setupConf.join("\n")}\n`,
    "summary.json": summary,
  };
  if (UPDATE || !existsSync(join(dir, "60-network-devices.sh"))) {
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(want)) writeFileSync(join(dir, file), text);
    if (!UPDATE) throw new Error(`${dir}: no reviewed snapshot yet; written now, review it`);
  }
  for (const [file, text] of Object.entries(want)) expect(`${file}:\n${text}`).toBe(`${file}:\n${readFileSync(join(dir, file), "utf8")}`);
}

describe("rendered network files of the fixture machines (snapshots)", () => {
  for (const [name, variants] of Object.entries(VARIANTS)) {
    for (const v of variants) test(`${name}: ${v.name}`, () => checkSnapshot(name, v, render(name, v)));
  }
});

describe("parse: ip -j output to the model", () => {
  test("bridge-static (real capture): kinds, state, exclusions by ReaR's rule", () => {
    const m = model("bridge-static");
    const by = Object.fromEntries(m.interfaces.map((i) => [i.name, i]));
    expect(Object.fromEntries(m.interfaces.map((i) => [i.name, [i.kind, i.up]]))).toEqual({
      lo: ["virtual", true], eth0: ["physical", true], eth1: ["physical", true], eth2: ["physical", true], eth3: ["physical", false],
      vethd: ["virtual", true], br0: ["bridge", true], docker0: ["bridge", true], tap0: ["virtual", false],
    });
    expect(by.br0!.bridge).toEqual({ stp: true, forwardDelay: 200 });
    expect(by.eth1!.master).toBe("br0");
    expect(by.eth0!.mtu).toBe(9000);
    expect(by.eth0!.addresses).toEqual([
      { family: 4, cidr: "10.20.0.2/24", broadcast: "10.20.0.255", flags: [] },
      { family: 4, cidr: "10.20.0.3/24", broadcast: "10.20.0.255", label: "eth0:1", flags: [] },
      { family: 6, cidr: "2001:db8:20::2/64", flags: ["nodad"] },
    ]);
    // link-local and loopback addresses are not global
    expect(by.lo!.addresses).toEqual([]);
  });

  test("bridge-static: routes without the kernel's, IPv4 and IPv6 apart although 'table all' lists both", () => {
    const m = model("bridge-static");
    const line = (r: NetworkModel["routes"][number]) => `${r.family} ${r.table} ${r.type ?? ""} ${r.dst} ${r.gateway ?? ""} ${r.dev ?? ""}`.replace(/ +/g, " ").trim();
    expect(m.routes.map(line)).toEqual([
      "4 100 default 192.168.50.254 br0",
      "4 100 10.60.0.0/16 192.168.50.253 br0",
      "4 254 default 10.20.0.1 eth0",
      "4 254 default 203.0.113.1 eth2",
      "4 254 10.50.0.0/16",
      "4 254 blackhole 10.255.0.0/16",
      "4 254 172.16.0.0/12 192.168.50.1 br0",
      "4 254 203.0.113.1 eth2",
      "6 100 2001:db8:99::/48 2001:db8:20::fe eth0",
      "6 254 default 2001:db8:20::1 eth0",
    ]);
    const mp = m.routes.find((r) => r.dst === "10.50.0.0/16")!;
    expect(mp.nexthops).toEqual([{ gateway: "10.20.0.1", dev: "eth0", weight: 1, onlink: false }, { gateway: "192.168.50.1", dev: "br0", weight: 2, onlink: false }]);
    expect(m.routes.find((r) => r.dst === "203.0.113.1")!.scope).toBe("link");
  });

  test("bridge-static: rules other than the default three", () => {
    expect(model("bridge-static").rules).toEqual([
      { family: 4, words: ["priority", "1000", "from", "192.168.50.0/24", "lookup", "100"], table: "100" },
      { family: 4, words: ["priority", "1001", "fwmark", "0x10", "lookup", "100"], table: "100" },
      { family: 6, words: ["priority", "1000", "from", "2001:db8:20::/64", "lookup", "100"], table: "100" },
    ]);
  });

  test("bond-vlan: bond options, VLANs, permanent MACs, IPv6 privacy addresses and RA routes left out", () => {
    const m = model("bond-vlan");
    const by = Object.fromEntries(m.interfaces.map((i) => [i.name, i]));
    expect(by.bond0!.bond).toEqual({ mode: "active-backup", options: [["miimon", "100"], ["primary", "eth0"]] });
    expect(by["bond0.100"]!).toMatchObject({ kind: "vlan", parent: "bond0", vlan: { id: 100 } });
    expect(by["eth2.200"]!).toMatchObject({ kind: "vlan", parent: "eth2", vlan: { id: 200, protocol: "802.1ad" } });
    // a bond slave shows the bond's MAC: its own is permaddr
    expect(by.eth1!.mac).toBe("52:54:00:6b:10:02");
    expect(by.bond0!.addresses.map((a) => a.cidr)).toEqual(["192.168.1.10/24", "2001:db8:1:0:5054:ff:fe6b:1001/64"]);
    expect(m.routes.filter((r) => r.family === 6)).toEqual([]);
    expect(m.routes.find((r) => r.dst === "10.200.0.0/16")!.metrics).toEqual([["mtu", "1400"]]);
  });

  test("host-virtio (real capture): the virtio NIC is physical, ifb devices are not", () => {
    const m = model("host-virtio");
    expect(m.interfaces.map((i) => `${i.name}:${i.kind}${i.driver ? `:${i.driver}` : ""}`)).toEqual(["lo:virtual", "ifb0:virtual", "ifb1:virtual", "eth0:physical:virtio_net"]);
  });

  test("without sysfs facts a NIC is judged by its parent bus or by being an Ethernet link without a kind", () => {
    const raw = loadRaw("bond-vlan");
    delete raw.sysfs;
    const m = parseNetwork(raw).model;
    expect(m.interfaces.filter((i) => i.kind === "physical").map((i) => i.name)).toEqual(["eth0", "eth1", "eth2", "eth3"]);
  });

  test("routing table names come from rt_tables; an unknown one is a warning", () => {
    const raw: NetworkRaw = {
      link: "[]", addr: "[]", route6: "[]",
      route: JSON.stringify([{ dst: "default", gateway: "10.0.0.1", dev: "eth0", table: "uplink", flags: [] }, { dst: "default", gateway: "10.0.0.2", dev: "eth0", table: "nosuch", flags: [] }]),
      rule: JSON.stringify([{ priority: 100, src: "10.0.0.0", srclen: 8, table: "uplink" }, { priority: 32766, src: "all", table: "main" }]),
      rtTables: "# reserved\n255\tlocal\n200 uplink\n",
    };
    const p = parseNetwork(raw);
    expect(p.model.routes.map((r) => r.table)).toEqual(["200"]);
    expect(p.model.rules[0]!.words).toEqual(["priority", "100", "from", "10.0.0.0/8", "lookup", "200"]);
    expect(p.warnings.join("\n")).toContain("routing table 'nosuch' is not in rt_tables");
  });

  test("a rule or route the replay cannot reproduce is left out with a warning, never replayed wider", () => {
    const raw: NetworkRaw = {
      link: "[]", addr: "[]", route6: "[]",
      route: JSON.stringify([{ dst: "10.1.0.0/16", encap: "mpls", dev: "eth0", flags: [] }, { dst: "10.2.0.0/16", nhid: 12, flags: [] }]),
      rule: JSON.stringify([{ priority: 50, src: "all", some_new_selector: "x", table: "main" }, { priority: 60, src: "all", iif: "eth0", uid_start: 1000, uid_end: 2000, action: "prohibit" }]),
    };
    const p = parseNetwork(raw);
    expect(p.model.routes).toEqual([]);
    expect(p.model.rules).toEqual([{ family: 4, words: ["priority", "60", "iif", "eth0", "uidrange", "1000-2000", "prohibit"] }]);
    expect(p.warnings).toHaveLength(3);
    expect(p.warnings[2]).toContain("some_new_selector");
  });

  test("not iproute2 JSON is an error that says so", () => {
    expect(() => parseNetwork({ link: "1: lo: <LOOPBACK,UP>", addr: "[]", route: "[]", route6: "[]", rule: "[]" })).toThrow("ip -j -d link show: not iproute2 JSON");
  });
});

describe("60-network-devices.sh and 62-routing.sh", () => {
  const f = render("bridge-static", { name: "default" });
  const s60 = script(f, DEVICES_SCRIPT);
  const s62 = script(f, ROUTING_SCRIPT);

  test("noip returns before anything is set up, in both scripts", () => {
    expect(s60.indexOf("if cmdline_has noip; then")).toBeLessThan(s60.indexOf("if setup_ip_option; then"));
    expect(s62).toContain("cmdline_has noip && return 0");
    // 62 only replays routes after 60 applied the saved setup
    expect(s62).toMatch(/case "\$done" in\n\s+saved\) ;;/);
  });

  test("ip=: ReaR's ip= nm= gw= netdev= and the kernel's/dracut's colon form; DHCP forms are left to 58", () => {
    expect(s60).toContain("addr=${F[0]} mask=$(cmdline_value nm) gw=$(cmdline_value gw) dev=$(cmdline_value netdev)");
    expect(s60).toContain("addr=${F[0]} gw=${F[2]:-$(cmdline_value gw)} mask=${F[3]:-$(cmdline_value nm)} host=${F[4]} dev=${F[5]:-$(cmdline_value netdev)}");
    expect(s60).toContain("ip_option_is_dhcp && return 1");
    // without netdev=: the first NIC of the original system
    expect(s60).toContain("dev=${dev:-eth1}");
  });

  test("58-start-dhcp.sh parses ip= with the very same functions", () => {
    expect(readFileSync(join(SKEL, "58-start-dhcp.sh"), "utf8")).toContain(IP_OPTION_FUNCTIONS);
    expect(s60).toContain(IP_OPTION_FUNCTIONS);
  });

  test("NETWORKING_PREPARATION_COMMANDS come verbatim before the DHCP check, which comes before the saved setup", () => {
    const e = render("bridge-static", VARIANTS["bridge-static"]![2]!);
    const t = script(e, DEVICES_SCRIPT);
    expect(t).toContain(`    modprobe e1000e\n    ethtool -s eth0 speed 1000 duplex full autoneg off\n    echo 'it''s "quoted" $HOME'\n`);
    expect(t.indexOf("modprobe e1000e")).toBeLessThan(t.indexOf("if dhcp_in_charge; then"));
    expect(t.indexOf("if dhcp_in_charge; then")).toBeLessThan(t.indexOf("echo saved"));
  });

  test("exclusions: EXCLUDE_NETWORK_INTERFACES and EXCLUDE_IP_ADDRESSES (with or without prefix length); routes over an excluded interface go", () => {
    const e = render("bridge-static", VARIANTS["bridge-static"]![2]!);
    const t = saved60(e);
    expect(t).not.toContain("eth2");
    expect(t).not.toContain("10.20.0.3");
    expect(t).not.toContain("2001:db8:20::2/64");
    expect(t).toContain("ip addr add 10.20.0.2/24 broadcast 10.20.0.255 dev eth0");
    expect(script(e, ROUTING_SCRIPT)).not.toContain("eth2");
    expect(e.notes).toContain("eth2: not set up, in EXCLUDE_NETWORK_INTERFACES");
    expect(e.notes).toContain("route default via 203.0.113.1 dev eth2: not replayed, eth2 is not set up");
  });

  test("virtual interfaces stay out: docker0 (virtual ports only), vethd, tap0, lo; and a NIC that is down", () => {
    const t = saved60(f);
    for (const n of ["docker0", "vethd", "tap0", " lo", "eth3", "172.17.0.1"]) expect(t).not.toContain(n);
    expect(script(f, MAC_ADDRESSES).split("\n").filter(Boolean).map((l) => l.split(" ")[0])).toEqual(["eth1", "eth0", "eth2"]);
  });

  test("mappings/ip_addresses replaces an interface's addresses, 'dhcp' starts the client on it; bad lines are warnings", () => {
    const e = render("bridge-static", VARIANTS["bridge-static"]![3]!);
    const t = saved60(e);
    expect(t).toContain("ip addr add 10.30.0.2/24 dev eth0\n    ip addr add 10.30.0.3/24 dev eth0\n");
    expect(t).not.toContain("10.20.0.2");
    expect(t).not.toContain("192.168.50.10");
    expect(t).toContain("START_DHCP_ON=br0\n    . /etc/scripts/system-setup.d/58-start-dhcp.sh");
    expect(e.programs).toContain("dhclient");
    expect(e.files["/etc/scripts/dhclient-script"]!.mode).toBe(0o755);
    expect(e.warnings).toContain("mappings/ip_addresses: 'eth2 10.0.0.1/24;reboot' is not '<interface> <ip/cidr>|dhcp'; ignored");
    expect(e.warnings).toContain("mappings/ip_addresses names 'eth9', which is not set up in the rescue system (not UP, not a NIC, or excluded)");
  });

  test("mappings/routes replaces the saved routes and rules (ReaR's 350_routing.sh)", () => {
    const e = render("bridge-static", VARIANTS["bridge-static"]![3]!);
    const t = script(e, ROUTING_SCRIPT);
    expect(t).toContain("    ip route add default via 10.30.0.1 dev eth0\n    ip route add 10.40.0.0/16 via 10.30.0.254 dev eth0\n    ip -6 route add 2001:db8:77::/48 via 2001:db8:30::1 dev eth0\n");
    expect(t).not.toContain("ip rule");
    expect(t).not.toContain("table 100");
  });

  test("with DHCP the saved part is still written (for USE_STATIC_NETWORKING or by hand) and skipped at boot", () => {
    const e = render("bridge-static", { name: "dhcp", dhcp: DHCLIENT });
    expect(e.setupConf).toEqual(["# network: DHCP in the rescue system (58-start-dhcp.sh), decided by rear mkrescue: a DHCP client process runs (dhclient)", "USE_DHCLIENT=yes", "DHCLIENT_BIN=dhclient", "USE_STATIC_NETWORKING=''"]);
    expect(saved60(e)).toContain("ip link add name br0 type bridge stp_state 1 forward_delay 200");
    expect(script(e, DEVICES_SCRIPT)).toContain("is_true \"$USE_DHCLIENT\" && ! is_true \"$USE_STATIC_NETWORKING\"");
    expect(e.programs).toEqual(["ip", "dhclient"]);
  });

  test("a DHCP client found but not used is still offered (booting with 'dhcp')", () => {
    const e = renderNetworkFiles({ model: model("host-virtio"), config: BASE, dhcp: NO_DHCP, mappings: {}, availableClients: { dhcpcd: "/usr/sbin/dhcpcd" } });
    expect(e.optionalPrograms).toEqual(["dhcpcd"]);
    expect(Object.keys(e.files)).toContain("/etc/scripts/dhcpcd-hook");
    expect(e.programs).toEqual(["ip"]);
  });

  test("SIMPLIFY_BONDING leaves an 802.3ad bond alone (the switch is set up for it)", () => {
    const m = model("bond-vlan");
    m.interfaces.find((i) => i.name === "bond0")!.bond!.mode = "802.3ad";
    const p = planDevices(m, { ...BASE, simplifyBonding: true });
    expect(p.lines).toContainEqual({ argv: ["ip", "link", "add", "name", "bond0", "type", "bond", "mode", "802.3ad", "miimon", "100", "primary", "eth0"] });
    expect(p.notes.join("\n")).toContain("bond0: not simplified, bonding mode 802.3ad");
  });

  test("SIMPLIFY_BONDING: the VLAN on the bond moves to the first slave (ReaR: bond0.100 becomes eth0.100) and so do its routes", () => {
    const e = render("bond-vlan", { name: "simplify-bonding", config: { simplifyBonding: true } });
    expect(saved60(e)).toContain("ip link add link eth0 name eth0.100 type vlan id 100");
    expect(script(e, ROUTING_SCRIPT)).toContain("ip route add 10.200.0.0/16 via 10.100.0.1 dev eth0.100 mtu 1400");
    expect(script(e, ROUTING_SCRIPT)).toContain("ip route add default via 192.168.1.1 dev eth0 metric 300");
  });

  test("SIMPLIFY_TEAMING leaves an lacp team alone; a team needs its teamd configuration", () => {
    const m = model("team-bridge");
    const team = m.interfaces.find((i) => i.name === "team0")!;
    team.team = { config: team.team!.config!.replace('"activebackup"', '"lacp"'), runner: "lacp" };
    const p = planDevices(m, { ...BASE, simplifyTeaming: true });
    expect(p.lines.some((l) => "argv" in l && l.argv[0] === "teamd")).toBe(true);
    expect(p.programs).toEqual(["teamd"]);
    delete team.team.config;
    const q = planDevices(m, { ...BASE });
    expect(q.warnings.join("\n")).toContain("team0: team device, but its teamd configuration could not be read");
  });

  test("names that need it are quoted for the shell", () => {
    const m = model("host-virtio");
    const eth0 = m.interfaces.find((i) => i.name === "eth0")!;
    eth0.name = "it's";
    const p = planDevices(m, BASE);
    const e = renderNetworkFiles({ model: m, config: BASE, dhcp: NO_DHCP, mappings: {} });
    expect(p.macs[0]![0]).toBe("it's");
    expect(saved60(e)).toContain(`ip link set dev 'it'\\''s' mtu 1400 up`);
  });
});

describe("networkConfigFrom", () => {
  test("reads the variables as the configuration holds them", () => {
    const vals: Record<string, string | string[]> = {
      USE_DHCLIENT: "", DHCLIENT_BIN: "dhcpcd", USE_STATIC_NETWORKING: "y", NETWORKING_PREPARATION_COMMANDS: ["ip link set eth0 up", ""],
      EXCLUDE_NETWORK_INTERFACES: ["docker0", ""], EXCLUDE_IP_ADDRESSES: [], SIMPLIFY_BONDING: "yes", SIMPLIFY_BRIDGE: "no", SIMPLIFY_TEAMING: "",
    };
    const cfg = {
      str: (n: string) => (Array.isArray(vals[n]) ? (vals[n] as string[])[0] ?? "" : ((vals[n] as string | undefined) ?? "")),
      arr: (n: string) => (Array.isArray(vals[n]) ? (vals[n] as string[]) : vals[n] ? [vals[n] as string] : []),
    };
    expect(networkConfigFrom(cfg)).toEqual({
      useDhclient: "", dhclientBin: "dhcpcd", useStaticNetworking: "y", prepCommands: ["ip link set eth0 up", ""], excludeInterfaces: ["docker0"], excludeAddresses: [],
      simplifyBonding: true, simplifyBridge: false, simplifyTeaming: false,
    });
  });
});

describe("DHCP decision (ReaR's 210_include_dhclient.sh)", () => {
  const none: DhcpFacts = { processes: ["bash", "sshd", "systemd"], networkd: [], nmConnections: [], clients: {} };
  const lease = "# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\nNETWORK_FILE=/etc/systemd/network/50-dhcp.network\nNETWORK_FILE_DROPINS=\"\"\nDHCP_LEASE=/run/systemd/netif/leases/2\n";

  test("USE_DHCLIENT=no: off, whatever the machine does", () => {
    expect(decideDhcp("no", "", { ...none, processes: ["dhclient"], clients: { dhclient: "/sbin/dhclient" } })).toMatchObject({ use: false, why: "USE_DHCLIENT='no'" });
  });

  test("empty: on when a DHCP client runs, with that client", () => {
    const d = decideDhcp("", "", { ...none, processes: ["dhcpcd", "sshd"], clients: { dhclient: "/sbin/dhclient", dhcpcd: "/usr/sbin/dhcpcd" } });
    expect(d).toEqual({ use: true, why: "a DHCP client process runs (dhcpcd)", client: "dhcpcd", clientPath: "/usr/sbin/dhcpcd", warnings: [] });
  });

  test("empty and nothing uses DHCP: off, but the client found is still named for booting with 'dhcp'", () => {
    expect(decideDhcp("", "", { ...none, clients: { dhclient: "/sbin/dhclient" } })).toEqual({ use: false, why: "no DHCP in use on this machine", client: "dhclient", clientPath: "/sbin/dhclient", warnings: [] });
  });

  test("a minimal Debian: systemd-networkd does DHCP and there is no client program: said plainly, static setup instead", () => {
    const d = decideDhcp("", "", { ...none, networkd: [{ ifname: "ens3", state: lease, networkFiles: ["[Match]\nName=ens3\n[Network]\nDHCP=yes\n"] }] });
    expect(d.use).toBe(false);
    expect(d.warnings).toHaveLength(1);
    expect(d.warnings[0]).toContain("This machine uses DHCP (systemd-networkd does DHCP on ens3) but has no DHCP client program");
    expect(d.warnings[0]).toContain("isc-dhcp-client");
    expect(d.warnings[0]).toContain("USE_DHCLIENT=no");
  });

  test("USE_DHCLIENT=yes without any client program stops, as ReaR", () => {
    expect(() => decideDhcp("yes", "", none)).toThrow(DhcpConfigError);
  });

  test("DHCLIENT_BIN: must be a client the rescue system can run, and installed", () => {
    expect(() => decideDhcp("", "dhcp6c", { ...none, clients: {} })).toThrow("not a DHCP client the rescue system can run");
    expect(() => decideDhcp("", "dhclient", none)).toThrow("no such program was found");
    expect(() => decideDhcp("", "/opt/x/dhclient", { ...none, clients: { dhclient: "/sbin/dhclient" } })).toThrow("no such program was found");
    // set, but USE_DHCLIENT empty and no DHCP in use: ReaR turns DHCP on for it
    expect(decideDhcp("", "udhcpc", { ...none, clients: { udhcpc: "/bin/udhcpc" } })).toMatchObject({ use: true, why: "DHCLIENT_BIN='udhcpc'", client: "udhcpc" });
  });

  test("systemd-networkd: a lease, a DHCPv6 client, or DHCP= in the .network file (a later drop-in wins)", () => {
    expect(networkdUsesDhcp({ ifname: "e", state: lease, networkFiles: [] })).toBe(true);
    expect(networkdUsesDhcp({ ifname: "e", state: "DHCP6_CLIENT_DUID=DUID-EN/Vendor:0000ab11\n", networkFiles: [] })).toBe(true);
    const state = "NETWORK_FILE=/etc/systemd/network/10.network\n";
    expect(networkdUsesDhcp({ ifname: "e", state, networkFiles: ["[Network]\nDHCP=ipv4\n"] })).toBe(true);
    expect(networkdUsesDhcp({ ifname: "e", state, networkFiles: ["[Network]\nDHCP=ipv4\n", "[Network]\nDHCP=no\n"] })).toBe(false);
    expect(networkdUsesDhcp({ ifname: "e", state, networkFiles: ["[Network]\nAddress=10.0.0.2/24\n[DHCPv4]\nDHCP=yes\n"] })).toBe(false);
  });

  test("NetworkManager: ipv4.method auto; ipv6 auto only counts when IPv4 is disabled", () => {
    expect(nmConnectionUsesDhcp("ipv4.method:auto\nipv6.method:auto\n")).toBe(true);
    expect(nmConnectionUsesDhcp("ipv4.method:manual\nipv6.method:auto\n")).toBe(false);
    expect(nmConnectionUsesDhcp("ipv4.method:disabled\nipv6.method:dhcp\n")).toBe(true);
    expect(detectDhcp({ ...none, nmConnections: [{ name: "lo", methods: "ipv4.method:manual\nipv6.method:manual\n" }, { name: "Wired connection 1", methods: "ipv4.method:auto\nipv6.method:auto\n" }] })).toBe(
      "NetworkManager connection 'Wired connection 1' uses DHCP",
    );
  });
});
