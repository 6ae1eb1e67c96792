// What the rescue system sets up, in order: ReaR's algorithm of rescue/GNU/Linux/310_network_devices.sh
// (devices) and 350_routing.sh (rules, routes) over the model, as `ip` command lines. render.ts writes
// them into the boot scripts. Pure.
//
// Kept are the interfaces that are UP, backed by a physical NIC (directly or through the bridges, bonds,
// teams and VLANs stacked on it) and not in EXCLUDE_NETWORK_INTERFACES. Each one is handled once:
//   physical  ⇒ `ip link set dev <if> mtu <n> up`, its MAC recorded for 55-migrate-network-devices.sh
//   bridge    ⇒ `ip link add name <br> type bridge stp_state <0|1>`, its UP ports handled, then `master <br>`;
//               SIMPLIFY_BRIDGE: its first UP port takes its place (and its addresses)
//   bond      ⇒ `ip link add name <bond> type bond mode <mode> …`, its slaves handled, down, `master <bond>`;
//               SIMPLIFY_BONDING (not for 802.3ad, which the switch is set up for): the first slave
//   team      ⇒ `teamd -d -c '<config>'` with its ports down; SIMPLIFY_TEAMING (not for lacp): the first port
//   vlan      ⇒ its parent handled first, `ip link add link <parent> name <vlan> type vlan id <id>`;
//               on a simplified parent it becomes <new parent>.<id>
// then the interface's global addresses (or those $CONFIG_DIR/mappings/ip_addresses gives it), minus
// EXCLUDE_IP_ADDRESSES, go onto the interface it became.

import { MAIN_TABLE, interfaceByName, linkedToPhysical, lowerInterfaces, type NetInterface, type NetRoute, type NetworkModel } from "./model.ts";
import type { RouteMapping } from "./parse.ts";

/** A line of the generated setup: a command (argv) or a comment. */
export type Line = { argv: string[] } | { comment: string } | { blank: true };

export interface DeviceOptions {
  excludeInterfaces: readonly string[];
  excludeAddresses: readonly string[];
  simplifyBonding: boolean;
  simplifyBridge: boolean;
  simplifyTeaming: boolean;
  /** $CONFIG_DIR/mappings/ip_addresses: interface → addresses or "dhcp" */
  ipMapping?: ReadonlyMap<string, readonly string[]>;
}

export interface DevicePlan {
  lines: Line[];
  /** /etc/mac-addresses: physical interfaces set up, with their permanent MAC */
  macs: [string, string][];
  /** simplified interfaces: original name → the interface that took its place */
  mapped: Map<string, string>;
  /** the names (as set up) of every interface set up */
  configured: Set<string>;
  /** the addresses (without prefix length) set up */
  addresses: Set<string>;
  /** interfaces that mappings/ip_addresses gives to DHCP */
  dhcpDevices: string[];
  /** kernel modules the setup needs: bridge, bonding, 8021q, team, NIC drivers */
  modules: string[];
  /** programs the setup runs besides ip (teamd) */
  programs: string[];
  notes: string[];
  warnings: string[];
}

type Result = "ok" | "ignored" | "error";

const ip = (...w: (string | undefined | false)[]): Line => ({ argv: ["ip", ...w.filter((x): x is string => typeof x === "string")] });
const comment = (text: string): Line => ({ comment: text });

export function planDevices(m: NetworkModel, o: DeviceOptions): DevicePlan {
  const byName = interfaceByName(m);
  const p: DevicePlan = { lines: [], macs: [], mapped: new Map(), configured: new Set(), addresses: new Set(), dhcpDevices: [], modules: [], programs: [], notes: [], warnings: [] };
  const handled = new Set<string>();
  const generatedVlans = new Set<string>();
  const addModule = (x: string) => p.modules.includes(x) || p.modules.push(x);
  const mappedAs = (n: string): string => {
    const t = p.mapped.get(n);
    return t === undefined ? n : mappedAs(t);
  };
  const excluded = (n: string) => o.excludeInterfaces.includes(n);
  // ReaR's is_interface_up (which also says no to an excluded interface) and is_linked_to_physical
  const usable = (n: string) => !excluded(n) && byName.get(n)?.up === true && linkedToPhysical(m, n);

  /** link state and MTU of an interface that was set up (ReaR's setup_device_params) */
  const params = (i: NetInterface, out: Line[], state: "up" | "down" | "none" = i.up ? "up" : "down") => {
    const dev = mappedAs(i.name);
    p.configured.add(dev);
    const mtu = i.mtu !== undefined ? ["mtu", String(i.mtu)] : [];
    if (state === "none" && mtu.length === 0) return;
    out.push(ip("link", "set", "dev", dev, ...mtu, state !== "none" && state));
  };

  /** a simplified bridge, bond or team: its first usable lower interface is handled and takes its place */
  const simplify = (i: NetInterface, option: string, out: Line[]): Result => {
    for (const l of lowerInterfaces(m, i.name)) {
      if (!usable(l)) continue;
      const sub: Line[] = [];
      const r = handle(l, sub);
      if (r === "error") continue;
      out.push(comment(`${i.name}: ${i.kind} simplified (${option}): ${mappedAs(l)} takes its place`), ...sub);
      p.mapped.set(i.name, mappedAs(l));
      return "ok";
    }
    p.warnings.push(`${i.name}: no UP lower interface to take its place (${option}); it is not set up`);
    return "error";
  };

  /** handles the usable lower interfaces of i; `then` adds what joins each one to i */
  const lowers = (i: NetInterface, out: Line[], asPort: boolean, then: (l: string) => Line[]): number => {
    let n = 0;
    for (const l of lowerInterfaces(m, i.name)) {
      if (!usable(l)) continue;
      const r = handle(l, out, asPort);
      if (r === "error") continue;
      n++;
      out.push(...then(mappedAs(l)));
    }
    return n;
  };

  const handlePhysical = (i: NetInterface, out: Line[], asPort: boolean): Result => {
    // ReaR: skip fake interfaces without a MAC address
    if (!i.mac || i.mac === "00:00:00:00:00:00") {
      p.warnings.push(`${i.name}: a NIC without a MAC address; not set up`);
      return "error";
    }
    p.macs.push([i.name, i.mac]);
    if (i.driver) addModule(i.driver);
    out.push(comment(`${i.name}: NIC${i.driver ? ` (${i.driver})` : ""}, MAC ${i.mac}`));
    // a bond or team port stays down: the bond or teamd brings it up
    params(i, out, asPort ? "none" : undefined);
    return "ok";
  };

  const handleBridge = (i: NetInterface, out: Line[]): Result => {
    if (o.simplifyBridge) return simplify(i, "SIMPLIFY_BRIDGE", out);
    addModule("bridge");
    const stp = i.bridge?.stp ? "1" : "0";
    const ports = lowerInterfaces(m, i.name).filter(usable);
    out.push(comment(`${i.name}: bridge over ${ports.join(" ") || "(no UP port)"}, STP ${i.bridge?.stp ? "on" : "off"}`));
    const fd = i.bridge?.stp && i.bridge.forwardDelay !== undefined ? ["forward_delay", String(i.bridge.forwardDelay)] : [];
    out.push(ip("link", "add", "name", i.name, "type", "bridge", "stp_state", stp, ...fd));
    const n = lowers(i, out, false, (l) => [ip("link", "set", "dev", l, "master", i.name)]);
    if (n === 0) {
      p.warnings.push(`${i.name}: no UP port that is a NIC; the bridge is not set up`);
      return "error";
    }
    params(i, out);
    return "ok";
  };

  const handleBond = (i: NetInterface, out: Line[]): Result => {
    const mode = i.bond?.mode ?? "balance-rr";
    if (o.simplifyBonding && mode !== "802.3ad") return simplify(i, "SIMPLIFY_BONDING", out);
    if (o.simplifyBonding) p.notes.push(`${i.name}: not simplified, bonding mode 802.3ad (IEEE 802.3ad) needs the switch's setup kept`);
    addModule("bonding");
    const slaves = lowerInterfaces(m, i.name).filter(usable);
    out.push(comment(`${i.name}: bond (${mode}) over ${slaves.join(" ") || "(no UP slave)"}`));
    out.push(ip("link", "add", "name", i.name, "type", "bond", "mode", mode, ...(i.bond?.options ?? []).flat()));
    // a NIC must be down to be enslaved
    const n = lowers(i, out, true, (l) => [ip("link", "set", "dev", l, "down"), ip("link", "set", "dev", l, "master", i.name)]);
    if (n === 0) {
      p.warnings.push(`${i.name}: no UP slave that is a NIC; the bond is not set up`);
      return "error";
    }
    params(i, out);
    return "ok";
  };

  const handleTeam = (i: NetInterface, out: Line[]): Result => {
    const runner = i.team?.runner ?? "";
    if (o.simplifyTeaming && runner !== "lacp") return simplify(i, "SIMPLIFY_TEAMING", out);
    if (o.simplifyTeaming) p.notes.push(`${i.name}: not simplified, teaming runner lacp (IEEE 802.3ad) needs the switch's setup kept`);
    if (!i.team?.config) {
      p.warnings.push(`${i.name}: team device, but its teamd configuration could not be read ('teamdctl ${i.name} config dump actual'); it is not set up (SIMPLIFY_TEAMING=yes would use its first port)`);
      return "error";
    }
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(i.team.config) as Record<string, unknown>;
    } catch {
      p.warnings.push(`${i.name}: its teamd configuration is not JSON; it is not set up`);
      return "error";
    }
    addModule("team");
    if (runner) addModule(`team_mode_${runner}`);
    if (!p.programs.includes("teamd")) p.programs.push("teamd");
    const ports = lowerInterfaces(m, i.name).filter(usable);
    out.push(comment(`${i.name}: team (runner ${runner || "?"}) over ${ports.join(" ") || "(no UP port)"}`));
    const renamed: Record<string, unknown> = {};
    // teamd enslaves the ports its configuration names: they must be down, and carry their new names
    const n = lowers(i, out, true, (l) => [ip("link", "set", "dev", l, "down")]);
    const cfgPorts = (config.ports ?? {}) as Record<string, unknown>;
    for (const [port, v] of Object.entries(cfgPorts)) renamed[mappedAs(port)] = v;
    if (n === 0) {
      p.warnings.push(`${i.name}: no UP port that is a NIC; the team is not set up`);
      return "error";
    }
    const conf = JSON.stringify({ ...config, device: i.name, ...(config.ports ? { ports: renamed } : {}) });
    out.push({ argv: ["teamd", "-d", "-c", conf] });
    params(i, out);
    return "ok";
  };

  const handleVlan = (i: NetInterface, out: Line[]): Result => {
    const parent = i.parent!;
    const id = i.vlan!.id;
    if (!byName.has(parent)) {
      p.warnings.push(`${i.name}: VLAN on '${parent}', which is not there; it is not set up`);
      return "error";
    }
    if (handle(parent, out) === "error") return "error";
    addModule("8021q");
    const newParent = mappedAs(parent);
    if (newParent !== parent) {
      out.push(comment(`${i.name}: on ${parent}, which ${newParent} took the place of: it is ${newParent}.${id} now`));
      p.mapped.set(i.name, `${newParent}.${id}`);
    }
    const name = mappedAs(i.name);
    if (generatedVlans.has(name)) {
      p.notes.push(`VLAN ${id} on ${newParent} is set up already`);
      return "ignored";
    }
    generatedVlans.add(name);
    out.push(comment(`${name}: VLAN ${id} on ${newParent}`));
    out.push(ip("link", "add", "link", newParent, "name", name, "type", "vlan", "id", String(id), ...(i.vlan?.protocol ? ["protocol", i.vlan.protocol] : [])));
    params(i, out);
    return "ok";
  };

  function handle(name: string, out: Line[], asPort = false): Result {
    if (handled.has(name)) return "ignored";
    handled.add(name);
    const i = byName.get(name)!;
    const r =
      i.kind === "physical" ? handlePhysical(i, out, asPort)
      : i.kind === "bridge" ? handleBridge(i, out)
      : i.kind === "bond" ? handleBond(i, out)
      : i.kind === "team" ? handleTeam(i, out)
      : i.kind === "vlan" ? handleVlan(i, out)
      : "error";
    if (r === "error" && i.kind === "virtual") p.warnings.push(`${name}: a ${i.linkKind ?? "virtual"} interface on a NIC; not set up (not supported yet)`);
    return r;
  }

  /** ReaR's ipaddr_setup */
  const addresses = (i: NetInterface, out: Line[]) => {
    const dev = mappedAs(i.name);
    const isExcluded = (a: string) => o.excludeAddresses.includes(a) || o.excludeAddresses.includes(a.split("/")[0]!);
    const mappedAddrs = o.ipMapping?.get(i.name);
    if (mappedAddrs) {
      out.push(comment(`${i.name}: ${mappedAddrs.includes("dhcp") ? "DHCP (started at the end) and " : ""}addresses from mappings/ip_addresses`));
      for (const a of mappedAddrs) {
        if (a === "dhcp") {
          if (!p.dhcpDevices.includes(dev)) p.dhcpDevices.push(dev);
        } else if (isExcluded(a)) p.notes.push(`${a}: excluded by EXCLUDE_IP_ADDRESSES although mappings/ip_addresses gives it to ${i.name}`);
        else {
          out.push(ip("addr", "add", a, "dev", dev));
          p.addresses.add(a.split("/")[0]!);
        }
      }
      return;
    }
    for (const a of i.addresses) {
      if (isExcluded(a.cidr)) {
        p.notes.push(`${a.cidr} on ${i.name}: excluded by EXCLUDE_IP_ADDRESSES`);
        continue;
      }
      // a label must start with the interface name: it goes when the interface became another one
      const label = a.label && dev === i.name ? ["label", a.label] : [];
      p.addresses.add(a.cidr.split("/")[0]!);
      out.push(ip("addr", "add", a.cidr, ...(a.peer ? ["peer", a.peer] : []), ...(a.broadcast ? ["broadcast", a.broadcast] : []), ...label, ...a.flags, "dev", dev));
    }
  };

  // ReaR walks /sys/class/net in name order; here the ports come after their bridge, bond or team, so
  // that each is set up within its master's block
  const order = [...m.interfaces].sort((a, b) => Number(!!a.master) - Number(!!b.master) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const i of order) {
    if (!linkedToPhysical(m, i.name)) {
      p.notes.push(`${i.name}: not set up, not backed by a NIC`);
      continue;
    }
    if (excluded(i.name)) {
      p.notes.push(`${i.name}: not set up, in EXCLUDE_NETWORK_INTERFACES`);
      continue;
    }
    if (!i.up) {
      p.notes.push(`${i.name}: not set up, its link is not up`);
      continue;
    }
    const block: Line[] = [];
    // the handlers said why
    if (handle(i.name, block) === "error") continue;
    addresses(i, block);
    if (block.length) p.lines.push(...(p.lines.length ? [{ blank: true } as const] : []), ...block);
  }
  for (const dev of o.ipMapping?.keys() ?? []) {
    if (!handled.has(dev)) p.warnings.push(`mappings/ip_addresses names '${dev}', which is not set up in the rescue system (not UP, not a NIC, or excluded)`);
  }
  return p;
}

export interface RoutePlan {
  lines: Line[];
  /** the routes came from $CONFIG_DIR/mappings/routes */
  fromMapping: boolean;
  notes: string[];
}

/** Gateway-less routes first, then routes via a gateway, defaults last: a gateway must be reachable when its route is added. */
function routeRank(r: NetRoute): number {
  if (!r.gateway && !r.nexthops) return 0;
  return r.dst === "default" ? 2 : 1;
}

function tableRank(t: string): number {
  return t === MAIN_TABLE ? -1 : /^[0-9]+$/.test(t) ? Number(t) : 1e10;
}

/** ReaR's 350_routing.sh: the mapping file's routes, or the policy rules and the routes of every table. */
export function planRoutes(m: NetworkModel, d: DevicePlan, mapping: readonly RouteMapping[]): RoutePlan {
  const p: RoutePlan = { lines: [], fromMapping: mapping.length > 0, notes: [] };
  if (mapping.length) {
    p.lines.push(comment("routes from mappings/routes"));
    for (const r of mapping) p.lines.push(ip(...(r.gateway.includes(":") ? ["-6"] : []), "route", "add", r.dst, "via", r.gateway, "dev", r.dev));
    return p;
  }
  const dev = (n: string) => d.mapped.get(n) ?? n;
  const mapDev = (n: string): string => {
    const t = dev(n);
    return t === n ? n : mapDev(t);
  };
  if (m.rules.length) p.lines.push(comment("policy routing rules (not the kernel's default ones)"));
  for (const r of m.rules) {
    const words = r.words.map((w, k) => (k > 0 && (r.words[k - 1] === "iif" || r.words[k - 1] === "oif") ? mapDev(w) : w));
    p.lines.push(ip(r.family === 6 && "-6", "rule", "add", ...words));
  }
  const routes = m.routes
    .map((r, k) => ({ r, k }))
    .sort((a, b) => a.r.family - b.r.family || tableRank(a.r.table) - tableRank(b.r.table) || routeRank(a.r) - routeRank(b.r) || a.k - b.k);
  let lastTable = "";
  for (const { r } of routes) {
    const describe = `${r.family === 6 ? "IPv6 " : ""}route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}`;
    if (r.dev && !d.configured.has(mapDev(r.dev))) {
      p.notes.push(`${describe}: not replayed, ${r.dev} is not set up`);
      continue;
    }
    const hops = (r.nexthops ?? []).filter((h) => !h.dev || d.configured.has(mapDev(h.dev)));
    if (r.nexthops && hops.length === 0) {
      p.notes.push(`${describe}: not replayed, none of its nexthops' interfaces is set up`);
      continue;
    }
    const key = `${r.family}/${r.table}`;
    if (key !== lastTable) {
      p.lines.push(comment(`IPv${r.family} routes, table ${r.table === MAIN_TABLE ? "main" : r.table}`));
      lastTable = key;
    }
    const argv: string[] = [...(r.family === 6 ? ["-6"] : []), "route", "add", ...(r.type ? [r.type] : []), r.dst];
    if (r.gateway) argv.push("via", r.gateway);
    if (r.dev) argv.push("dev", mapDev(r.dev));
    if (r.onlink) argv.push("onlink");
    if (r.table !== MAIN_TABLE) argv.push("table", r.table);
    if (r.metric !== undefined) argv.push("metric", String(r.metric));
    // `src` must be an address of this machine: not one EXCLUDE_IP_ADDRESSES left out
    if (r.prefsrc && d.addresses.has(r.prefsrc)) argv.push("src", r.prefsrc);
    else if (r.prefsrc) p.notes.push(`${describe}: replayed without 'src ${r.prefsrc}', an address not set up`);
    if (r.scope) argv.push("scope", r.scope);
    if (r.pref) argv.push("pref", r.pref);
    for (const [k, v] of r.metrics) argv.push(k, v);
    for (const h of hops) {
      argv.push("nexthop");
      if (h.gateway) argv.push("via", h.gateway);
      if (h.dev) argv.push("dev", mapDev(h.dev));
      if (h.weight !== undefined) argv.push("weight", String(h.weight));
      if (h.onlink) argv.push("onlink");
    }
    p.lines.push(ip(...argv));
  }
  return p;
}
