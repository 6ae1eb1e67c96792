// `rear dump`: the configuration files found, the system definition, and the settings of the chosen
// BACKUP and OUTPUT methods, as ReaR's lib/dump-workflow.sh prints them. Secrets are hidden unless
// -e/--expose-secrets. `rear dump --json` prints the whole evaluated configuration as one JSON object
// (each variable as the string or array of strings bash would hold; hidden secrets are null).

import type { Config } from "../../config/config.ts";
import { maskPasswords, mayHoldPassword } from "../../config/secret-values.ts";
import { unsupportedNotice } from "../../config/unsupported.ts";
import type { WorkflowCommand } from "./command.ts";

/** A value as ReaR's dump shows it: NAME="value", arrays as NAME=("a" "b"). */
function quote(s: string): string {
  if (/[\x00-\x1f\x7f]/.test(s)) {
    return `$'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}'`;
  }
  return `"${s.replace(/(["\\$`])/g, "\\$1")}"`;
}

export const SECRET_PLACEHOLDER = "<secret, not shown: use 'rear -e dump' to show it>";

export function formatVariable(config: Config, name: string, expose: boolean): string {
  const v = config.raw(name);
  const empty = v === undefined || (typeof v === "string" ? v === "" : v.length === 0);
  if (config.isSecret(name) && !expose && !empty) return `${name}=${SECRET_PLACEHOLDER}`;
  if (v === undefined) return `${name}=""`;
  const show = (x: string) => quote(!expose && mayHoldPassword(name) ? maskPasswords(x) : x);
  const mark = config.loaded.unsupported.includes(name) ? `   # ${unsupportedNotice(name)}` : "";
  return `${typeof v === "string" ? `${name}=${show(v)}` : `${name}=(${v.map(show).join(" ")})`}${mark}`;
}

const SYSTEM_VARS = [
  "ARCH", "OS", "OS_MASTER_VENDOR", "OS_MASTER_VERSION", "OS_MASTER_VENDOR_ARCH", "OS_MASTER_VENDOR_VERSION",
  "OS_MASTER_VENDOR_VERSION_ARCH", "OS_VENDOR", "OS_VERSION", "OS_VENDOR_ARCH", "OS_VENDOR_VERSION", "OS_VENDOR_VERSION_ARCH",
];

function withPrefix(config: Config, prefixes: string[], exclude: string[] = []): string[] {
  return config.names().filter((n) => prefixes.some((p) => n.startsWith(p)) && !exclude.includes(n)).sort();
}

export function renderDump(config: Config, expose: boolean): string {
  const L: string[] = [];
  const files = config.loaded.files;
  L.push("# Begin dumping out configuration and system information:");
  L.push(`# This is a '${config.str("REAL_ARCH")}' system, compatible with '${config.str("ARCH")}'.`);
  L.push("# Configuration tree:");
  for (const f of files) {
    const where = f.embedded ? " (built into rear)" : f.path && f.path !== f.label ? ` (${f.path})` : "";
    L.push(`  # ${f.label}${where} : ${f.used ? "OK" : "missing/empty"}`);
  }
  const how = config.loaded.evaluatedBy === "ts" ? "rear's reader (all files are declarative)" : `bash (${config.loaded.bashReason ?? "requested"})`;
  L.push(`  # evaluated by ${how}`);
  L.push("# System definition:");
  for (const n of SYSTEM_VARS) L.push(`  ${formatVariable(config, n, expose)}`);
  const backup = config.str("BACKUP");
  L.push(`# Backup with ${backup}:`);
  const backupVars = [
    ...withPrefix(config, [`${backup}_`]),
    ...withPrefix(config, ["BACKUP_"], ["BACKUP_PROG", ...withPrefix(config, ["BACKUP_PROG_"])]),
    ...(backup === "NETFS" ? ["BACKUP_PROG", ...withPrefix(config, ["BACKUP_PROG_"])] : []),
  ];
  for (const n of [...new Set(backupVars)]) L.push(`  ${formatVariable(config, n, expose)}`);
  const output = config.str("OUTPUT");
  L.push(`# Output to ${output}:`);
  for (const n of [...new Set([...withPrefix(config, [`${output}_`]), ...withPrefix(config, ["OUTPUT_"]), ...withPrefix(config, ["RESULT_MAIL"])])]) {
    L.push(`  ${formatVariable(config, n, expose)}`);
  }
  const other = config.loaded.unsupported.filter((n) => !L.some((l) => l.trimStart().startsWith(`${n}=`)));
  if (other.length) {
    L.push("# Set, but not supported by this version yet (no effect):");
    for (const n of other) L.push(`  ${formatVariable(config, n, expose)}`);
  }
  L.push("# End of dump configuration and system information.");
  return L.join("\n");
}

export function dumpJson(config: Config, expose: boolean): string {
  const obj: Record<string, string | string[] | null | Record<string, string>> = {};
  for (const [k, v] of config.entries()) {
    const empty = typeof v === "string" ? v === "" : v.length === 0;
    const masked = !expose && mayHoldPassword(k) ? (typeof v === "string" ? maskPasswords(v) : v.map(maskPasswords)) : v;
    obj[k] = config.isSecret(k) && !expose && !empty ? null : masked;
  }
  for (const [k, v] of config.loaded.assoc) obj[k] = v;
  if (config.loaded.unsupported.length) obj["(unsupported)"] = [...config.loaded.unsupported];
  return JSON.stringify(obj, null, 2);
}

export const dumpCommand: WorkflowCommand = {
  name: "dump",
  args: {
    json: { type: "boolean", description: "print the whole evaluated configuration as one JSON object" },
  },
  run(ctx, args) {
    ctx.log.userOutput(args.json ? dumpJson(ctx.config, ctx.cli.exposeSecrets) : renderDump(ctx.config, ctx.cli.exposeSecrets));
  },
};
