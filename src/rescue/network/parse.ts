// iproute2's JSON (`ip -j -d link show`, `ip -j addr show`, `ip -j [-6] route show table all`,
// `ip -j [-6] rule show`) and sysfs facts → the network model. Only what the rescue system replays
// stays: global addresses, routes someone made (not the kernel's), rules other than the default ones.
// ReaR reads the same from sysfs and `ip` text output (rescue/GNU/Linux/310_network_devices.sh,
// 350_routing.sh). Also the mapping files $CONFIG_DIR/mappings/ip_addresses and routes. Pure.

import type { InterfaceKind, NetAddress, NetInterface, NetRoute, NetRule, NetworkModel, NextHop } from "./model.ts";

/** The raw texts and facts probe.ts collects (and a fixture directory holds). */
export interface NetworkRaw {
  /** ip -j -d link show */
  link: string;
  /** ip -j addr show */
  addr: string;
  /** ip -j route show table all */
  route: string;
  /** ip -j -6 route show table all */
  route6: string;
  /** ip -j rule show */
  rule: string;
  /** ip -j -6 rule show */
  rule6?: string;
  /** /sys/class/net/<if>/device exists (a NIC backed by hardware) and its driver; absent: judged from `ip -d link` */
  sysfs?: Record<string, { device: boolean; driver?: string }>;
  /** the rt_tables files (/etc/iproute2/rt_tables, rt_tables.d/*.conf, …), concatenated */
  rtTables?: string;
  /** `teamdctl <team> config dump actual` per team device */
  teams?: Record<string, string>;
}

export interface ParsedNetwork {
  model: NetworkModel;
  /** what was left out and why (for the log) */
  notes: string[];
  /** what the user should know (a route or rule that cannot be replayed) */
  warnings: string[];
}

type J = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : typeof v === "string" && /^[0-9]+$/.test(v) ? Number(v) : undefined);
const obj = (v: unknown): J => (v && typeof v === "object" && !Array.isArray(v) ? (v as J) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function parseJsonArray(text: string, what: string): J[] {
  const t = text.trim();
  if (!t) return [];
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    throw new Error(`${what}: not iproute2 JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v)) throw new Error(`${what}: expected a JSON array`);
  return v.map(obj);
}

// rt_tables, e.g.:
//   # reserved values
//   255	local
//   254	main
//   100	uplink
/** Routing table names → numbers: the kernel's reserved ones and what rt_tables says. */
export function parseRtTables(text = ""): Map<string, string> {
  const m = new Map<string, string>([["unspec", "0"], ["default", "253"], ["main", "254"], ["local", "255"]]);
  for (const line of text.split("\n")) {
    const w = line.replace(/#.*/, "").trim().split(/\s+/);
    if (w.length >= 2 && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(w[0]!)) m.set(w[1]!, String(Number(w[0])));
  }
  return m;
}

// ip -j -d link show, one element (shortened):
//   {"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","SLAVE","UP","LOWER_UP"],"mtu":1500,
//    "master":"bond0","operstate":"UP","link_type":"ether","address":"52:54:00:12:34:56",
//    "permaddr":"52:54:00:12:34:57","parentbus":"pci","parentdev":"0000:00:03.0",
//    "linkinfo":{"info_slave_kind":"bond","info_slave_data":{"state":"ACTIVE","perm_hwaddr":"52:54:00:12:34:57"}}}
//   {"ifindex":5,"ifname":"bond0.100","link":"bond0","flags":[…],"operstate":"UP",
//    "linkinfo":{"info_kind":"vlan","info_data":{"protocol":"802.1Q","id":100,"flags":["REORDER_HDR"]}}}

/** Link kinds whose `link` is the interface they sit on (their sysfs lower_*); a veth's `link` is its peer. */
const STACKED_KINDS = new Set(["vlan", "macvlan", "macvtap", "ipvlan", "ipvtap"]);

/** ReaR's is_interface_up: operstate "up" or "down" decides; otherwise (unknown, dormant, …) the carrier. */
function isUp(l: J): boolean {
  const op = str(l.operstate)?.toUpperCase();
  if (op === "UP") return true;
  if (op === "DOWN" || op === "LOWERLAYERDOWN" || op === "NOTPRESENT") return false;
  const flags = list(l.flags).map(String);
  return flags.includes("UP") && flags.includes("LOWER_UP") && !flags.includes("NO-CARRIER");
}

function kindOf(l: J, name: string, raw: NetworkRaw): InterfaceKind {
  const k = str(obj(l.linkinfo).info_kind);
  if (k === "bridge" || k === "bond" || k === "team" || k === "vlan") return k;
  if (raw.sysfs) return raw.sysfs[name]?.device ? "physical" : "virtual";
  // no sysfs facts: a device with a parent bus is hardware; so is an Ethernet link the kernel has no kind for
  if (l.parentbus !== undefined) return "physical";
  const flags = list(l.flags).map(String);
  return k === undefined && str(l.link_type) === "ether" && !flags.includes("LOOPBACK") ? "physical" : "virtual";
}

/** Bond options worth writing: the mode and what differs from the kernel's defaults (iplink_bond.c names). */
function bondOptions(d: J): { mode: string; options: [string, string][] } {
  const mode = str(d.mode) ?? "balance-rr";
  const o: [string, string][] = [];
  const nz = (key: string, as = key) => {
    const v = num(d[key]);
    if (v) o.push([as, String(v)]);
  };
  const notDefault = (key: string, def: string, as = key) => {
    const v = str(d[key]);
    if (v !== undefined && v !== def) o.push([as, v]);
  };
  nz("miimon");
  nz("updelay");
  nz("downdelay");
  nz("arp_interval");
  const targets = list(d.arp_ip_target).map(String);
  if (targets.length) o.push(["arp_ip_target", targets.join(",")]);
  if (d.arp_validate !== null) notDefault("arp_validate", "none");
  if (str(d.primary)) o.push(["primary", str(d.primary)!]);
  notDefault("primary_reselect", "always");
  notDefault("fail_over_mac", "none");
  notDefault("xmit_hash_policy", "layer2");
  if (mode === "802.3ad") {
    notDefault("ad_lacp_rate", "slow", "lacp_rate");
    notDefault("ad_select", "stable");
  }
  nz("min_links");
  return { mode, options: o };
}

function teamRunner(config: string | undefined): string | undefined {
  if (!config) return undefined;
  try {
    return str(obj(obj(JSON.parse(config)).runner).name);
  } catch {
    return undefined;
  }
}

// ip -j addr show, one element (shortened):
//   {"ifindex":2,"ifname":"eth0","addr_info":[
//     {"family":"inet","local":"10.20.0.2","prefixlen":24,"broadcast":"10.20.0.255","scope":"global","label":"eth0"},
//     {"family":"inet","local":"10.20.0.3","prefixlen":24,"scope":"global","secondary":true,"label":"eth0:1"},
//     {"family":"inet6","local":"2001:db8:20::2","prefixlen":64,"scope":"global","nodad":true},
//     {"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}

const ADDRESS_FLAGS = ["noprefixroute", "nodad", "home", "mngtmpaddr"];

function addressesOf(a: J): NetAddress[] {
  const out: NetAddress[] = [];
  const ifname = str(a.ifname) ?? "";
  for (const x of list(a.addr_info).map(obj)) {
    const fam = str(x.family);
    if (fam !== "inet" && fam !== "inet6") continue;
    // ReaR: `ip a show dev <if> scope global`; IPv6 privacy addresses are random and short-lived
    if (str(x.scope) !== "global" || x.temporary === true) continue;
    const local = str(x.local);
    const plen = num(x.prefixlen);
    if (!local || plen === undefined) continue;
    const peer = str(x.address);
    const addr: NetAddress = {
      family: fam === "inet" ? 4 : 6,
      cidr: peer && peer !== local ? local : `${local}/${plen}`,
      flags: ADDRESS_FLAGS.filter((f) => x[f] === true),
    };
    if (peer && peer !== local) addr.peer = `${peer}/${plen}`;
    if (str(x.broadcast)) addr.broadcast = str(x.broadcast)!;
    const label = str(x.label);
    if (fam === "inet" && label && label !== ifname) addr.label = label;
    out.push(addr);
  }
  return out;
}

// ip -j route show table all (-6 likewise), elements (shortened):
//   {"dst":"default","gateway":"10.20.0.1","dev":"eth0","metric":100,"flags":[]}
//   {"dst":"10.20.0.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.20.0.2","flags":[]}
//   {"dst":"203.0.113.1","dev":"eth2","scope":"link","flags":[]}
//   {"dst":"10.50.0.0/16","flags":[],"nexthops":[{"gateway":"10.20.0.1","dev":"eth0","weight":1,"flags":[]},…]}
//   {"type":"blackhole","dst":"10.255.0.0/16","flags":[]}
//   {"dst":"default","gateway":"192.168.50.254","dev":"br0","table":"100","flags":["linkdown"]}
//   {"type":"local","dst":"10.20.0.2","dev":"eth0","table":"local","protocol":"kernel","scope":"host",…}

/** Route types the kernel makes for addresses (table local): never replayed. */
const KERNEL_TYPES = new Set(["local", "broadcast", "multicast", "anycast", "nat"]);
/** Routes the kernel or a router made (addresses, router advertisements, redirects): the rescue system makes them itself. */
const KERNEL_PROTOCOLS = new Set(["kernel", "ra", "redirect"]);
/** RTAX metrics `ip route add` takes as plain numbers (iproute.c mx_names). */
const NUMBER_METRICS = new Set(["mtu", "window", "ssthresh", "cwnd", "advmss", "reordering", "hoplimit", "initcwnd", "initrwnd", "quickack", "fastopen_no_cookie"]);

function describeRoute(r: J): string {
  return [str(r.type), str(r.dst), r.gateway ? `via ${str(r.gateway)}` : "", r.dev ? `dev ${str(r.dev)}` : "", r.table ? `table ${str(r.table)}` : ""].filter(Boolean).join(" ");
}

/**
 * The address family of a route. `ip route show table all` lists the IPv6 routes too (iproute2 does
 * not default to IPv4 for "all"): a route is IPv6 when it has an IPv6 address or a router preference
 * (which only IPv6 routes have).
 */
function routeFamily(r: J): 4 | 6 {
  const addrs = [r.dst, r.gateway, r.prefsrc, ...list(r.nexthops).map((n) => obj(n).gateway)].map(str);
  return r.pref !== undefined || addrs.some((a) => a?.includes(":")) ? 6 : 4;
}

function parseRoutes(text: string, family: 4 | 6, tables: Map<string, string>, out: ParsedNetwork): NetRoute[] {
  const routes: NetRoute[] = [];
  for (const r of parseJsonArray(text, family === 4 ? "ip -j route show table all" : "ip -j -6 route show table all")) {
    if (routeFamily(r) !== family) continue;
    const tableName = str(r.table) ?? "main";
    const table = tables.get(tableName) ?? (/^[0-9]+$/.test(tableName) ? tableName : undefined);
    const type = str(r.type);
    const protocol = str(r.protocol);
    if (table === "255" || (type && KERNEL_TYPES.has(type))) continue;
    if (protocol && KERNEL_PROTOCOLS.has(protocol)) continue;
    // ReaR drops scope link routes too (350_routing.sh), but those are the kernel's subnet routes, gone
    // already with the kernel protocol; a scope link route someone made is kept: it is how a gateway
    // outside the subnet becomes reachable (a /32 address with `ip route add <gw> dev eth0`)
    if (str(r.scope) === "host") continue;
    if (list(r.flags).includes("cache")) continue;
    if (r.encap !== undefined || r.nhid !== undefined || r.via !== undefined) {
      out.warnings.push(`route '${describeRoute(r)}' uses ${r.encap !== undefined ? "an encapsulation" : r.nhid !== undefined ? "a nexthop object" : "a gateway of the other address family"}, which the rescue system does not replay; add it to NETWORKING_PREPARATION_COMMANDS if needed`);
      continue;
    }
    if (table === undefined) {
      out.warnings.push(`route '${describeRoute(r)}': routing table '${tableName}' is not in rt_tables; the route is not replayed`);
      continue;
    }
    const flags = list(r.flags).map(String);
    const route: NetRoute = { family, table, dst: str(r.dst) ?? "default", onlink: flags.includes("onlink"), metrics: [] };
    if (type && type !== "unicast") route.type = type;
    if (str(r.gateway)) route.gateway = str(r.gateway)!;
    if (str(r.dev)) route.dev = str(r.dev)!;
    if (num(r.metric) !== undefined) route.metric = num(r.metric)!;
    if (str(r.prefsrc)) route.prefsrc = str(r.prefsrc)!;
    if (str(r.scope) && str(r.scope) !== "global") route.scope = str(r.scope)!;
    if (protocol && protocol !== "boot") route.protocol = protocol;
    if (str(r.pref) && str(r.pref) !== "medium") route.pref = str(r.pref)!;
    for (const [k, v] of Object.entries(obj(list(r.metrics)[0]))) {
      if (NUMBER_METRICS.has(k) && num(v) !== undefined) route.metrics.push([k, String(v)]);
      else if ((k === "rtt" || k === "rttvar" || k === "rto_min") && num(v) !== undefined) route.metrics.push([k, `${v}ms`]);
      else if (k === "congestion" && str(v)) route.metrics.push(["congctl", str(v)!]);
      else out.notes.push(`route '${describeRoute(r)}': metric ${k} is not replayed`);
    }
    if (r.nexthops !== undefined) {
      route.nexthops = list(r.nexthops).map(obj).map((n): NextHop => {
        const h: NextHop = { onlink: list(n.flags).includes("onlink") };
        if (str(n.gateway)) h.gateway = str(n.gateway)!;
        if (str(n.dev)) h.dev = str(n.dev)!;
        if (num(n.weight) !== undefined) h.weight = num(n.weight)!;
        return h;
      });
    }
    routes.push(route);
  }
  return routes;
}

// ip -j rule show (-6 likewise):
//   [{"priority":0,"src":"all","table":"local"},
//    {"priority":1000,"src":"192.168.50.0","srclen":24,"table":"100"},
//    {"priority":1001,"src":"all","fwmark":"0x10","table":"100"},
//    {"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}]

/** The rules every kernel has (ReaR: grep -Ev "from all lookup (local|main|default)"). */
function isDefaultRule(r: J): boolean {
  const keys = Object.keys(r).filter((k) => k !== "protocol");
  const plain = keys.every((k) => k === "priority" || k === "src" || k === "table") && str(r.src) === "all";
  return plain && ((r.priority === 0 && r.table === "local") || (r.priority === 32766 && r.table === "main") || (r.priority === 32767 && r.table === "default"));
}

/** Keys of a rule that only describe its state. */
const RULE_STATE_KEYS = new Set(["iif_detached", "oif_detached", "unresolved", "deleted", "protocol", "dscp_mask", "flowlabel_mask", "sport_mask", "dport_mask"]);

function ruleWords(r: J, tables: Map<string, string>): { words: string[]; table?: string } | { unknown: string[] } {
  const w: string[] = [];
  const used = new Set<string>(RULE_STATE_KEYS);
  const take = (...keys: string[]) => keys.forEach((k) => used.add(k));
  let table: string | undefined;
  if (r.priority !== undefined) (w.push("priority", String(r.priority)), take("priority"));
  if (r.not !== undefined) (w.push("not"), take("not"));
  if (str(r.src) && str(r.src) !== "all") w.push("from", r.srclen !== undefined ? `${str(r.src)}/${r.srclen}` : str(r.src)!);
  take("src", "srclen");
  if (str(r.dst) && str(r.dst) !== "all") w.push("to", r.dstlen !== undefined ? `${str(r.dst)}/${r.dstlen}` : str(r.dst)!);
  take("dst", "dstlen");
  if (r.tos !== undefined) (w.push("tos", String(r.tos)), take("tos"));
  if (r.dscp !== undefined) (w.push("dscp", String(r.dscp)), take("dscp"));
  if (r.fwmark !== undefined) (w.push("fwmark", r.fwmask !== undefined ? `${str(r.fwmark)}/${str(r.fwmask)}` : str(r.fwmark)!), take("fwmark", "fwmask"));
  if (r.iif !== undefined) (w.push("iif", String(r.iif)), take("iif"));
  if (r.oif !== undefined) (w.push("oif", String(r.oif)), take("oif"));
  if (r.l3mdev !== undefined) (w.push("l3mdev"), take("l3mdev"));
  if (r.uid_start !== undefined) (w.push("uidrange", `${r.uid_start}-${r.uid_end ?? r.uid_start}`), take("uid_start", "uid_end"));
  if (r.ipproto !== undefined) (w.push("ipproto", String(r.ipproto)), take("ipproto"));
  for (const p of ["sport", "dport"]) {
    if (r[p] !== undefined) (w.push(p, String(r[p])), take(p));
    if (r[`${p}_start`] !== undefined) (w.push(p, `${r[`${p}_start`]}-${r[`${p}_end`]}`), take(`${p}_start`, `${p}_end`));
  }
  if (r.tun_id !== undefined) (w.push("tun_id", String(r.tun_id)), take("tun_id"));
  if (r.flowlabel !== undefined) (w.push("flowlabel", r.flowlabel_mask !== undefined ? `${str(r.flowlabel)}/${str(r.flowlabel_mask)}` : str(r.flowlabel)!), take("flowlabel"));
  if (r.flow_to !== undefined) (w.push("realms", r.flow_from !== undefined ? `${r.flow_from}/${r.flow_to}` : String(r.flow_to)), take("flow_from", "flow_to"));
  if (r.table !== undefined) {
    const name = String(r.table);
    table = tables.get(name) ?? (/^[0-9]+$/.test(name) ? name : undefined);
    if (table === undefined) return { unknown: [`table ${name} (not in rt_tables)`] };
    w.push("lookup", table);
    take("table");
  }
  if (r.suppress_prefixlen !== undefined) (w.push("suppress_prefixlength", String(r.suppress_prefixlen)), take("suppress_prefixlen"));
  if (r.suppress_ifgroup !== undefined) (w.push("suppress_ifgroup", String(r.suppress_ifgroup)), take("suppress_ifgroup"));
  if (r.goto !== undefined) (w.push("goto", String(r.goto)), take("goto"));
  if (r.nop !== undefined) (w.push("nop"), take("nop"));
  if (r.action !== undefined) (w.push(String(r.action)), take("action"));
  const unknown = Object.keys(r).filter((k) => !used.has(k));
  if (unknown.length) return { unknown };
  return table === undefined ? { words: w } : { words: w, table };
}

function parseRules(text: string, family: 4 | 6, tables: Map<string, string>, out: ParsedNetwork): NetRule[] {
  const rules: NetRule[] = [];
  for (const r of parseJsonArray(text, family === 4 ? "ip -j rule show" : "ip -j -6 rule show")) {
    if (isDefaultRule(r)) continue;
    const w = ruleWords(r, tables);
    if ("unknown" in w) {
      // replaying a rule without one of its selectors would route more traffic than it did
      out.warnings.push(`policy rule ${JSON.stringify(r)} has ${w.unknown.join(", ")}, which the rescue system cannot replay; it is left out`);
      continue;
    }
    rules.push({ family, ...w });
  }
  return rules;
}

/** The whole model from the raw probe output. */
export function parseNetwork(raw: NetworkRaw): ParsedNetwork {
  const out: ParsedNetwork = { model: { interfaces: [], routes: [], rules: [] }, notes: [], warnings: [] };
  const tables = parseRtTables(raw.rtTables);
  const addrs = new Map(parseJsonArray(raw.addr, "ip -j addr show").map((a) => [str(a.ifname) ?? "", addressesOf(a)]));
  for (const l of parseJsonArray(raw.link, "ip -j -d link show")) {
    const name = str(l.ifname);
    if (!name) continue;
    const info = obj(l.linkinfo);
    const data = obj(info.info_data);
    const linkKind = str(info.info_kind);
    const i: NetInterface = { name, index: num(l.ifindex) ?? 0, kind: kindOf(l, name, raw), up: isUp(l), addresses: addrs.get(name) ?? [] };
    if (linkKind) i.linkKind = linkKind;
    if (num(l.mtu) !== undefined) i.mtu = num(l.mtu)!;
    // ReaR: `ethtool -P` (the permanent address), else bonding_slave/perm_hwaddr, else the address
    const mac = str(l.permaddr) ?? str(obj(info.info_slave_data).perm_hwaddr) ?? str(l.address);
    if (mac) i.mac = mac.toLowerCase();
    const driver = raw.sysfs?.[name]?.driver;
    if (driver) i.driver = driver;
    if (str(l.master)) i.master = str(l.master)!;
    if (linkKind && STACKED_KINDS.has(linkKind) && str(l.link)) i.parent = str(l.link)!;
    if (i.kind === "bridge") {
      const stp = (num(data.stp_state) ?? 0) !== 0;
      i.bridge = stp && num(data.forward_delay) !== undefined ? { stp, forwardDelay: num(data.forward_delay)! } : { stp };
    }
    if (i.kind === "bond") i.bond = bondOptions(data);
    if (i.kind === "vlan") {
      const id = num(data.id);
      if (id === undefined || !i.parent) {
        out.warnings.push(`VLAN ${name}: no VLAN id or parent interface in 'ip -d link'; it is not replayed`);
        i.kind = "virtual";
      } else {
        const p = str(data.protocol);
        i.vlan = p && p.toLowerCase() !== "802.1q" ? { id, protocol: p } : { id };
      }
    }
    if (i.kind === "team") {
      const config = raw.teams?.[name];
      const runner = teamRunner(config);
      i.team = { ...(config ? { config } : {}), ...(runner ? { runner } : {}) };
    }
    out.model.interfaces.push(i);
  }
  out.model.routes = [...parseRoutes(raw.route, 4, tables, out), ...parseRoutes(raw.route6, 6, tables, out)];
  out.model.rules = [...parseRules(raw.rule, 4, tables, out), ...(raw.rule6 ? parseRules(raw.rule6, 6, tables, out) : [])];
  return out;
}

/** Lines of a mapping file without comments and blank lines (ReaR's read_and_strip_file). */
function mappingLines(text: string): string[][] {
  return text
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean)
    .map((l) => l.split(/\s+/));
}

const IP_CIDR = /^[0-9a-fA-F.:]+(\/[0-9]{1,3})?$/;
const IFNAME = /^[^\s/]{1,15}$/;

// $CONFIG_DIR/mappings/ip_addresses (doc/mappings/ip_addresses.example):
//   eth0 192.168.1.10/24
//   eth1 dhcp
/** `<interface> <ip/cidr>|dhcp` lines: interface → its addresses (or "dhcp"). */
export function parseIpAddressMapping(text: string, warnings: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const w of mappingLines(text)) {
    const [dev, addr] = w;
    if (!dev || !addr || !IFNAME.test(dev) || !(addr === "dhcp" || IP_CIDR.test(addr))) {
      warnings.push(`mappings/ip_addresses: '${w.join(" ")}' is not '<interface> <ip/cidr>|dhcp'; ignored`);
      continue;
    }
    m.set(dev, [...(m.get(dev) ?? []), addr]);
  }
  return m;
}

export interface RouteMapping {
  dst: string;
  gateway: string;
  dev: string;
}

// $CONFIG_DIR/mappings/routes (doc/mappings/routes.example):
//   default 192.168.1.1 eth0
//   10.0.0.0/8 192.168.1.254 eth0
/** `<destination> <gateway> <device>` lines. */
export function parseRouteMapping(text: string, warnings: string[]): RouteMapping[] {
  const out: RouteMapping[] = [];
  for (const w of mappingLines(text)) {
    const [dst, gateway, dev] = w;
    if (!dst || !gateway || !dev || !(dst === "default" || IP_CIDR.test(dst)) || !IP_CIDR.test(gateway) || !IFNAME.test(dev)) {
      warnings.push(`mappings/routes: '${w.join(" ")}' is not '<destination> <gateway> <device>'; ignored`);
      continue;
    }
    out.push({ dst, gateway, dev });
  }
  return out;
}
