// The rescue system's network, for the rescue build: probe this machine (probe.ts), decide DHCP
// (dhcp.ts), render the boot scripts and files (render.ts). The build writes `files`, appends
// `setupConf` to /etc/scripts/setup.conf, copies `programs` (and `optionalPrograms` when they exist)
// with their libraries and includes `modules`.

import { ConfigError } from "../../engine/errors.ts";
import { isTrue } from "../../config/settings.ts";
import { DhcpConfigError, decideDhcp } from "./dhcp.ts";
import { parseNetwork } from "./parse.ts";
import { probeDhcpFacts, probeNetwork, readNetworkMappings } from "./probe.ts";
import { type NetworkConfig, type NetworkFiles, renderNetworkFiles } from "./render.ts";

export type { NetworkFiles, RescueFile } from "./render.ts";

export interface NetworkConfigSource {
  str(name: string): string;
  arr(name: string): readonly string[];
}

/** The variables of the configuration the rescue network reads. */
export function networkConfigFrom(cfg: NetworkConfigSource): NetworkConfig {
  return {
    useDhclient: cfg.str("USE_DHCLIENT"),
    dhclientBin: cfg.str("DHCLIENT_BIN"),
    useStaticNetworking: cfg.str("USE_STATIC_NETWORKING"),
    prepCommands: cfg.arr("NETWORKING_PREPARATION_COMMANDS"),
    excludeInterfaces: cfg.arr("EXCLUDE_NETWORK_INTERFACES").filter(Boolean),
    excludeAddresses: cfg.arr("EXCLUDE_IP_ADDRESSES").filter(Boolean),
    simplifyBonding: isTrue(cfg.str("SIMPLIFY_BONDING")),
    simplifyBridge: isTrue(cfg.str("SIMPLIFY_BRIDGE")),
    simplifyTeaming: isTrue(cfg.str("SIMPLIFY_TEAMING")),
  };
}

/**
 * Everything the rescue system needs for its network, from this machine and the configuration.
 * Throws ConfigError for what ReaR stops on (DHCLIENT_BIN unknown or missing, USE_DHCLIENT=yes without
 * a DHCP client).
 */
export async function networkFilesForRescue(cfg: NetworkConfigSource, configDir: string, opts: { note?: (msg: string) => void } = {}): Promise<NetworkFiles> {
  const note = opts.note ?? (() => {});
  const config = networkConfigFrom(cfg);
  const raw = await probeNetwork({ note });
  const parsed = parseNetwork(raw);
  const facts = await probeDhcpFacts(parsed.model, config.dhclientBin, { note });
  let dhcp;
  try {
    dhcp = decideDhcp(config.useDhclient, config.dhclientBin, facts);
  } catch (e) {
    if (e instanceof DhcpConfigError) throw new ConfigError(e.message, undefined, undefined, e.hint);
    throw e;
  }
  note(`rescue network: DHCP ${dhcp.use ? `on (${dhcp.why}), client ${dhcp.client}` : `off (${dhcp.why})`}`);
  const out = renderNetworkFiles({ model: parsed.model, config, dhcp, mappings: readNetworkMappings(configDir), availableClients: facts.clients });
  return { ...out, warnings: [...parsed.warnings, ...out.warnings], notes: [...parsed.notes, ...out.notes] };
}
