// RECOVERY_UPDATE_URL placeholders, so one rescue image serves a fleet: the web server keeps one archive per
// machine and the URL names the machine by what the replacement hardware knows about itself. ReaR has
// none (issue 841 wished for "$MAC_ADDRESS.tar.gz"; bash expands such a variable when local.conf is
// read, on the original machine). Pure: the facts come in.

export interface MachineFacts {
  hostname: string;
  /** every network card's permanent address, aa:bb:cc:dd:ee:ff, in /sys/class/net order */
  macs: readonly string[];
  /** SMBIOS product_uuid (lower case) */
  uuid?: string;
  /** SMBIOS product_serial */
  serial?: string;
}

export const PLACEHOLDERS = ["hostname", "mac", "uuid", "serial"] as const;

/** An unknown {word} in the URL: refused by name, a typo never fetches something else. */
export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!).filter((w) => !(PLACEHOLDERS as readonly string[]).includes(w));
}

/** The MAC as it appears in a URL: lower case, dashes (as PXELINUX names its per-machine files). */
export const macWord = (mac: string) => mac.toLowerCase().replace(/:/g, "-");

/**
 * The URLs to try, in order: {mac} gives one URL per network card (the first that answers wins).
 * Throws when a placeholder cannot be filled on this machine (no SMBIOS serial, no network card).
 */
export function expandUrl(template: string, facts: MachineFacts): string[] {
  const unknown = unknownPlaceholders(template);
  if (unknown.length) {
    throw new Error(`RECOVERY_UPDATE_URL=${template}: unknown placeholder {${unknown[0]}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(" ")})`);
  }
  const need = (name: string, v: string | undefined, where: string) => {
    if (!v || !v.trim()) throw new Error(`RECOVERY_UPDATE_URL=${template}: {${name}} is unknown on this machine (${where} is empty)`);
    return encodeURIComponent(v.trim());
  };
  let base = template;
  if (base.includes("{hostname}")) base = base.replaceAll("{hostname}", need("hostname", facts.hostname, "the hostname"));
  if (base.includes("{uuid}")) base = base.replaceAll("{uuid}", need("uuid", facts.uuid?.toLowerCase(), "/sys/class/dmi/id/product_uuid"));
  if (base.includes("{serial}")) base = base.replaceAll("{serial}", need("serial", facts.serial, "/sys/class/dmi/id/product_serial"));
  if (!base.includes("{mac}")) return [base];
  const macs = [...new Set(facts.macs.map(macWord))];
  if (macs.length === 0) throw new Error(`RECOVERY_UPDATE_URL=${template}: {mac} is unknown on this machine (no network card with an address)`);
  return macs.map((m) => base.replaceAll("{mac}", m));
}
