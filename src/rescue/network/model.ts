// The network of the original system as the rescue system replays it: interfaces (NICs, bridges,
// bonds, teams, VLANs) with their state and global addresses, routes and policy rules. Filled by
// parse.ts from `ip -j …`; planned by plan.ts; written as shell by render.ts. Pure data.

/** How an interface is set up again. "virtual" is everything else (veth, tun, dummy, macvlan, …). */
export type InterfaceKind = "physical" | "bridge" | "bond" | "team" | "vlan" | "virtual";

export interface NetAddress {
  family: 4 | 6;
  /** the address and its prefix length, as `ip addr add` takes it: 10.0.0.2/24 */
  cidr: string;
  /** the other end of a point-to-point address (`ip addr add … peer …`) */
  peer?: string;
  broadcast?: string;
  /** an IPv4 label other than the interface name (old-style aliases: eth0:1) */
  label?: string;
  /** noprefixroute, nodad, home, mngtmpaddr: flags `ip addr add` takes back */
  flags: string[];
}

export interface NetInterface {
  name: string;
  index: number;
  kind: InterfaceKind;
  /** the kernel's link kind (info_kind of `ip -d link`): veth, tun, bridge, bond, … */
  linkKind?: string;
  /** ReaR's is_interface_up: operstate up, or (operstate neither up nor down) carrier */
  up: boolean;
  mtu?: number;
  /** the permanent MAC address (a bond slave shows its bond's MAC otherwise) */
  mac?: string;
  /** the NIC driver (kernel module) of a physical interface */
  driver?: string;
  /** the bridge, bond or team this interface is a port of */
  master?: string;
  /** the interface a VLAN (macvlan, ipvlan) sits on */
  parent?: string;
  bridge?: { stp: boolean; forwardDelay?: number };
  /** bond options as `ip link add … type bond` takes them, mode first */
  bond?: { mode: string; options: [string, string][] };
  vlan?: { id: number; protocol?: string };
  /** `teamdctl <team> config dump actual` (JSON) and its runner */
  team?: { config?: string; runner?: string };
  /** global addresses (scope global; IPv6 privacy addresses left out) */
  addresses: NetAddress[];
}

export interface NextHop {
  gateway?: string;
  dev?: string;
  weight?: number;
  onlink: boolean;
}

export interface NetRoute {
  family: 4 | 6;
  /** the routing table by number (254 is main); a name only when rt_tables did not know it */
  table: string;
  /** unicast (not written), blackhole, unreachable, prohibit, throw */
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  prefsrc?: string;
  scope?: string;
  protocol?: string;
  onlink: boolean;
  /** IPv6 router preference other than medium */
  pref?: string;
  /** route metrics (mtu, advmss, initcwnd, …) as `ip route add` takes them */
  metrics: [string, string][];
  nexthops?: NextHop[];
}

export interface NetRule {
  family: 4 | 6;
  /** the selector and action words of `ip rule add`, priority first: ["priority","1000","from","10.0.0.0/24","lookup","100"] */
  words: string[];
  /** the table the rule looks up (by number), when it has one */
  table?: string;
}

export interface NetworkModel {
  interfaces: NetInterface[];
  routes: NetRoute[];
  rules: NetRule[];
}

export const MAIN_TABLE = "254";

export function interfaceByName(m: NetworkModel): Map<string, NetInterface> {
  return new Map(m.interfaces.map((i) => [i.name, i]));
}

/**
 * The lower interfaces of an interface: a bridge's, bond's or team's ports, a VLAN's parent. ReaR reads
 * them from the sysfs lower_* links (rescue/GNU/Linux/310_network_devices.sh, get_lower_interfaces).
 */
export function lowerInterfaces(m: NetworkModel, name: string): string[] {
  const i = m.interfaces.find((x) => x.name === name);
  if (!i) return [];
  const ports = m.interfaces.filter((x) => x.master === name).map((x) => x.name);
  return i.parent ? [i.parent, ...ports] : ports;
}

/** ReaR's is_linked_to_physical: a physical NIC, or something stacked on one (recursively). */
export function linkedToPhysical(m: NetworkModel, name: string, seen: Set<string> = new Set()): boolean {
  if (seen.has(name)) return false;
  seen.add(name);
  const i = m.interfaces.find((x) => x.name === name);
  if (!i) return false;
  if (i.kind === "physical") return true;
  return lowerInterfaces(m, name).some((l) => linkedToPhysical(m, l, seen));
}
