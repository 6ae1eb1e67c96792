// The impure edge of the rescue network: runs `ip -j …`, reads sysfs, rt_tables, teamd's configuration,
// the DHCP facts (processes, systemd-networkd's state, NetworkManager) and the mapping files, and hands
// the raw texts to the pure code (parse.ts, dhcp.ts). Nothing here changes the machine.

import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { exec, which } from "../../sys/exec.ts";
import { DHCP_CLIENTS, type DhcpFacts, type NetworkdLink, networkFileDropins, parseStateFile } from "./dhcp.ts";
import type { NetworkModel } from "./model.ts";
import type { NetworkRaw } from "./parse.ts";

export interface NetworkProbeOptions {
  /** the command that runs ip: ["ip"] (default), or ["ip", "-n", "<netns>"] for a network namespace */
  ip?: string[];
  /** where /sys, /proc, /run and /etc are ("/" unless a test says otherwise) */
  root?: string;
  /** PATH for finding programs */
  path?: string;
  /** a log line */
  note(msg: string): void;
}

const C_ENV = () => ({ ...process.env, LC_ALL: "C" });

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

function listDir(p: string): string[] {
  try {
    return readdirSync(p).sort();
  } catch {
    return [];
  }
}

/** /sys/class/net/<if>/device exists for a NIC backed by hardware; device/driver names its driver. */
function readSysfs(root: string): Record<string, { device: boolean; driver?: string }> {
  const out: Record<string, { device: boolean; driver?: string }> = {};
  const dir = join(root, "sys/class/net");
  for (const name of listDir(dir)) {
    const device = existsSync(join(dir, name, "device"));
    let driver: string | undefined;
    try {
      driver = basename(readlinkSync(join(dir, name, "device/driver")));
    } catch {}
    // xen-netfront calls its driver vif (ReaR: 310_network_devices.sh)
    if (driver === "vif") driver = "xennet";
    out[name] = driver ? { device, driver } : { device };
  }
  return out;
}

/** rt_tables and its .d directories, where iproute2 looks for them (/etc first, then the distribution's). */
function readRtTables(root: string): string {
  const parts: string[] = [];
  for (const base of ["etc/iproute2", "usr/share/iproute2", "usr/lib/iproute2"]) {
    const t = readText(join(root, base, "rt_tables"));
    if (t !== undefined) parts.push(t);
    for (const f of listDir(join(root, base, "rt_tables.d"))) if (f.endsWith(".conf")) parts.push(readText(join(root, base, "rt_tables.d", f)) ?? "");
  }
  return parts.join("\n");
}

export async function probeNetwork(o: NetworkProbeOptions): Promise<NetworkRaw> {
  const root = o.root ?? "/";
  const ipArgv = o.ip ?? [which("ip", o.path) ?? "ip"];
  const run = async (args: string[], required: boolean): Promise<string> => {
    const r = await exec([...ipArgv, ...args], { env: C_ENV() });
    if (r.code === 0) return r.stdout;
    const msg = `'ip ${args.join(" ")}' exited ${r.code}: ${r.stderr.trim().split("\n").pop() ?? ""}`;
    if (required) throw new Error(`${msg} (the rescue network needs iproute2 with JSON output, 'ip -j')`);
    o.note(`network probe: ${msg}`);
    return "[]";
  };
  const [link, addr, route, route6, rule, rule6] = await Promise.all([
    run(["-j", "-d", "link", "show"], true),
    run(["-j", "addr", "show"], true),
    run(["-j", "route", "show", "table", "all"], true),
    // no IPv6 (ipv6.disable=1) is not an error
    run(["-j", "-6", "route", "show", "table", "all"], false),
    run(["-j", "rule", "show"], false),
    run(["-j", "-6", "rule", "show"], false),
  ]);
  const teams: Record<string, string> = {};
  let teamNames: string[] = [];
  try {
    teamNames = (JSON.parse(link) as { ifname?: string; linkinfo?: { info_kind?: string } }[]).filter((l) => l.linkinfo?.info_kind === "team").map((l) => l.ifname ?? "");
  } catch {}
  const teamdctl = teamNames.length ? which("teamdctl", o.path) : undefined;
  for (const t of teamNames) {
    if (!teamdctl) {
      o.note(`network probe: ${t} is a team device but teamdctl is not installed`);
      continue;
    }
    const r = await exec([teamdctl, t, "config", "dump", "actual"], { env: C_ENV() });
    if (r.code === 0) teams[t] = r.stdout.trim();
    else o.note(`network probe: 'teamdctl ${t} config dump actual' exited ${r.code}`);
  }
  return { link, addr, route, route6, rule, rule6, sysfs: readSysfs(root), rtTables: readRtTables(root), teams };
}

/** Names (comm) of the running processes. */
function readProcesses(root: string): string[] {
  const names = new Set<string>();
  for (const pid of listDir(join(root, "proc"))) {
    if (!/^[0-9]+$/.test(pid)) continue;
    const comm = readText(join(root, "proc", pid, "comm"));
    if (comm) names.add(comm.trim());
  }
  return [...names].sort();
}

/** systemd-networkd's state file of each UP interface, with the .network files it names. */
function readNetworkd(root: string, m: NetworkModel): NetworkdLink[] {
  const out: NetworkdLink[] = [];
  for (const i of m.interfaces) {
    if (!i.up || !i.index) continue;
    const state = readText(join(root, "run/systemd/netif/links", String(i.index)));
    if (state === undefined) continue;
    const s = parseStateFile(state);
    const paths = [s.get("NETWORK_FILE") ?? "", ...networkFileDropins(s.get("NETWORK_FILE_DROPINS") ?? "")].filter(Boolean);
    out.push({ ifname: i.name, state, networkFiles: paths.map((p) => readText(join(root, p)) ?? "") });
  }
  return out;
}

// nmcli -t -f UUID,NAME connection show --active:
//   5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03:Wired connection 1
async function readNetworkManager(o: NetworkProbeOptions): Promise<DhcpFacts["nmConnections"]> {
  const nmcli = which("nmcli", o.path);
  if (!nmcli) return [];
  const active = await exec([nmcli, "-t", "-f", "UUID,NAME", "connection", "show", "--active"], { env: C_ENV() });
  if (active.code !== 0) {
    o.note(`network probe: nmcli exited ${active.code} (NetworkManager not running?)`);
    return [];
  }
  const out: DhcpFacts["nmConnections"] = [];
  for (const line of active.stdout.split("\n")) {
    const m = /^([0-9a-fA-F-]{36}):(.*)$/.exec(line.trim());
    if (!m) continue;
    const r = await exec([nmcli, "-t", "-f", "ipv4.method,ipv6.method", "connection", "show", "uuid", m[1]!], { env: C_ENV() });
    if (r.code === 0) out.push({ name: m[2]!.replace(/\\:/g, ":"), methods: r.stdout });
  }
  return out;
}

/** The facts dhcp.ts decides on. DHCLIENT_BIN given as a path counts as installed when that program exists. */
export async function probeDhcpFacts(m: NetworkModel, dhclientBin: string, o: NetworkProbeOptions): Promise<DhcpFacts> {
  const root = o.root ?? "/";
  const clients: Record<string, string> = {};
  for (const c of DHCP_CLIENTS) {
    const p = which(c, o.path);
    if (p) clients[c] = p;
  }
  if (dhclientBin.includes("/") && which(dhclientBin)) clients[basename(dhclientBin)] = dhclientBin;
  return { processes: readProcesses(root), networkd: readNetworkd(root, m), nmConnections: await readNetworkManager(o), clients };
}

/** $CONFIG_DIR/mappings/ip_addresses and routes, when they exist. */
export function readNetworkMappings(configDir: string): { ipAddresses?: string; routes?: string } {
  const ipAddresses = readText(join(configDir, "mappings/ip_addresses"));
  const routes = readText(join(configDir, "mappings/routes"));
  return { ...(ipAddresses !== undefined ? { ipAddresses } : {}), ...(routes !== undefined ? { routes } : {}) };
}
