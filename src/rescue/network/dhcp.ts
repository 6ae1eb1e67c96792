// Does the rescue system use DHCP, and with which client? ReaR's prep/GNU/Linux/210_include_dhclient.sh:
// USE_DHCLIENT false ⇒ no; true ⇒ yes; empty ⇒ yes when this machine gets its addresses by DHCP
// (a DHCP client process runs, systemd-networkd does DHCP on an UP link, a NetworkManager connection
// uses method auto) or DHCLIENT_BIN is set. The facts come from probe.ts; this file decides. Pure.
//
// Unlike ReaR, a machine whose DHCP is done by systemd-networkd or NetworkManager themselves may have
// no DHCP client program at all (a minimal Debian has none): the rescue system cannot do DHCP then.
// That is said plainly in a warning, and the rescue system sets up the addresses this machine has
// now instead of starting with no network.

import { isFalse, isTrue } from "../../config/settings.ts";

/** Clients 58-start-dhcp.sh knows how to run, in the order they are preferred. */
export const DHCP_CLIENTS = ["dhclient", "dhcpcd", "udhcpc"] as const;
/** Process names that mean "this machine uses DHCP" (ReaR: dhcpcd dhclient dhcp6c dhclient6; and busybox's udhcpc). */
export const DHCP_PROCESSES = ["dhclient", "dhcpcd", "dhcp6c", "dhclient6", "udhcpc"] as const;

export interface NetworkdLink {
  ifname: string;
  /** /run/systemd/netif/links/<ifindex> */
  state: string;
  /** the .network file the state names (NETWORK_FILE) and its drop-ins (NETWORK_FILE_DROPINS), their texts */
  networkFiles: string[];
}

export interface DhcpFacts {
  /** names (comm) of the running processes */
  processes: string[];
  /** systemd-networkd's state of each UP link it manages */
  networkd: NetworkdLink[];
  /** NetworkManager: per active connection, `nmcli -t -f ipv4.method,ipv6.method connection show uuid <UUID>` */
  nmConnections: { name: string; methods: string }[];
  /** DHCP client programs found in PATH (and DHCLIENT_BIN when it is a path): name → path */
  clients: Record<string, string>;
}

export interface DhcpDecision {
  use: boolean;
  /** why (for the log) */
  why: string;
  /** the client program's name in the rescue system (DHCLIENT_BIN) and where it is on this machine */
  client?: string;
  clientPath?: string;
  warnings: string[];
}

export class DhcpConfigError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "DhcpConfigError";
  }
}

// /run/systemd/netif/links/2 (systemd-networkd; shortened):
//   # This is private data. Do not parse.
//   ADMIN_STATE=configured
//   OPER_STATE=routable
//   NETWORK_FILE=/etc/systemd/network/50-dhcp.network
//   NETWORK_FILE_DROPINS=""
//   DHCP_LEASE=/run/systemd/netif/leases/2
//   DHCP6_CLIENT_DUID=DUID-EN/Vendor:0000ab11…
/** KEY=value lines of a systemd state file (values unquoted). */
export function parseStateFile(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (line.startsWith("#") || i < 1) continue;
    m.set(line.slice(0, i).trim(), line.slice(i + 1).trim().replace(/^"(.*)"$/, "$1"));
  }
  return m;
}

/** The drop-in paths of NETWORK_FILE_DROPINS (colon-separated, colons inside a path escaped as \x3a). */
export function networkFileDropins(value: string): string[] {
  return value
    .split(":")
    .filter(Boolean)
    .map((p) => p.replace(/\\x3a/g, ":"));
}

// a .network file (systemd.network(5)):
//   [Match]
//   Name=eth0
//   [Network]
//   DHCP=yes
/** The DHCP= setting of [Network] in a .network file and its drop-ins (a later file wins). */
export function networkFileDhcp(texts: readonly string[]): string | undefined {
  let dhcp: string | undefined;
  for (const t of texts) {
    let section = "";
    for (const raw of t.split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("#") || line.startsWith(";")) continue;
      const s = /^\[(.+)\]$/.exec(line);
      if (s) {
        section = s[1]!;
        continue;
      }
      const kv = /^DHCP\s*=\s*(.*)$/.exec(line);
      if (section === "Network" && kv) dhcp = kv[1]!.trim();
    }
  }
  return dhcp;
}

/** systemd-networkd does DHCP on this link: it holds a lease, runs a DHCPv6 client, or its .network says DHCP=yes|ipv4|ipv6. */
export function networkdUsesDhcp(l: NetworkdLink): boolean {
  const s = parseStateFile(l.state);
  if (s.get("DHCP_LEASE") || s.get("DHCP4_ADDRESS") || s.get("DHCP6_CLIENT_DUID")) return true;
  const v = networkFileDhcp(l.networkFiles)?.toLowerCase();
  // ReaR: DHCP=(yes|ip) — yes, ipv4, ipv6; also the old "both" and boolean spellings
  return v !== undefined && /^(yes|true|on|1|ipv4|ipv6|both|v4|v6)$/.test(v);
}

// nmcli -t -f ipv4.method,ipv6.method connection show uuid <UUID>:
//   ipv4.method:auto
//   ipv6.method:auto
/**
 * A NetworkManager connection that gets its address by DHCP. ReaR counts ipv6.method auto too, but that
 * is NetworkManager's default (router advertisements) even for a fixed IPv4 address: IPv6 counts only
 * when IPv4 is disabled.
 */
export function nmConnectionUsesDhcp(methods: string): boolean {
  const m = new Map(methods.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
  const v4 = m.get("ipv4.method") ?? "";
  const v6 = m.get("ipv6.method") ?? "";
  if (v4 === "auto") return true;
  return (v4 === "disabled" || v4 === "") && (v6 === "auto" || v6 === "dhcp");
}

/** Why this machine is taken to use DHCP, or undefined (ReaR's dhcp_client_is_active). */
export function detectDhcp(f: DhcpFacts): string | undefined {
  const p = f.processes.find((x) => (DHCP_PROCESSES as readonly string[]).includes(x));
  if (p) return `a DHCP client process runs (${p})`;
  const n = f.networkd.find(networkdUsesDhcp);
  if (n) return `systemd-networkd does DHCP on ${n.ifname}`;
  const c = f.nmConnections.find((x) => nmConnectionUsesDhcp(x.methods));
  if (c) return `NetworkManager connection '${c.name}' uses DHCP`;
  return undefined;
}

/** The client for the rescue system: DHCLIENT_BIN, else one that runs now, else the first one found. */
function chooseClient(dhclientBin: string, f: DhcpFacts): { client?: string; clientPath?: string } {
  if (dhclientBin) {
    const name = dhclientBin.split("/").pop()!;
    if (!(DHCP_CLIENTS as readonly string[]).includes(name)) {
      throw new DhcpConfigError(`DHCLIENT_BIN='${dhclientBin}' is not a DHCP client the rescue system can run`, `use one of ${DHCP_CLIENTS.join(", ")}`);
    }
    // probe.ts puts a DHCLIENT_BIN given as a path under its name when that program exists
    const path = f.clients[name];
    if (!path || (dhclientBin.includes("/") && path !== dhclientBin)) {
      throw new DhcpConfigError(`DHCLIENT_BIN='${dhclientBin}' but no such program was found`, `install it or set DHCLIENT_BIN to one of: ${Object.keys(f.clients).join(", ") || "(none installed)"}`);
    }
    return { client: name, clientPath: path };
  }
  const running = DHCP_CLIENTS.find((c) => f.processes.includes(c) && f.clients[c]);
  const first = running ?? DHCP_CLIENTS.find((c) => f.clients[c]);
  return first ? { client: first, clientPath: f.clients[first]! } : {};
}

const INSTALL_HINT = "install a DHCP client (Debian/Ubuntu: isc-dhcp-client or dhcpcd-base; Fedora/RHEL: dhcpcd or dhcp-client; SUSE: dhcpcd) and run 'rear mkrescue' again";

/**
 * The decision. Throws DhcpConfigError for what ReaR stops on: DHCLIENT_BIN unknown or missing,
 * USE_DHCLIENT=yes with no client at all.
 */
export function decideDhcp(useDhclient: string, dhclientBin: string, f: DhcpFacts): DhcpDecision {
  if (isFalse(useDhclient)) return { use: false, why: `USE_DHCLIENT='${useDhclient}'`, warnings: [] };
  const chosen = chooseClient(dhclientBin, f);
  let why: string | undefined;
  if (isTrue(useDhclient)) why = `USE_DHCLIENT='${useDhclient}'`;
  else why = detectDhcp(f) ?? (dhclientBin ? `DHCLIENT_BIN='${dhclientBin}'` : undefined);
  if (!why) return { use: false, why: "no DHCP in use on this machine", warnings: [], ...chosen };
  if (!chosen.client) {
    if (isTrue(useDhclient)) throw new DhcpConfigError(`USE_DHCLIENT='${useDhclient}' but no DHCP client program (${DHCP_CLIENTS.join(", ")}) is installed`, INSTALL_HINT);
    return {
      use: false,
      why: `${why}, but no DHCP client program is installed`,
      warnings: [
        `This machine uses DHCP (${why}) but has no DHCP client program (${DHCP_CLIENTS.join(", ")}) the rescue system could run: ` +
          `the rescue system will set up the addresses this machine has now, statically. To use DHCP in the rescue system, ${INSTALL_HINT}; ` +
          `to keep the static addresses and silence this, set USE_DHCLIENT=no.`,
      ],
    };
  }
  return { use: true, why, ...chosen, warnings: [] };
}
