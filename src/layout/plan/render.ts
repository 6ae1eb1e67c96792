// diskrestore.sh: the plan as a bash script a person can read, edit and run (ReaR's LAYOUT_CODE,
// reference §5.5). One block per component, one `if step …` per step; a step writes its done marker
// when it succeeded, and a step whose marker exists is skipped — the markers are the same files the
// apply engine writes, so after a failure either one carries on where the other stopped.
// Pure.

import type { Plan, Step } from "./types.ts";

/** bash single-quoting when needed. */
export function shellQuote(s: string): string {
  if (s !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const cmd = (argv: readonly string[]) => argv.map(shellQuote).join(" ");

function heredocTag(text: string): string {
  let tag = "EOF";
  while (text.split("\n").includes(tag)) tag += "_";
  return tag;
}

function stepBlock(s: Step): string[] {
  const out: string[] = [];
  const q = shellQuote(s.summary);
  // a step that runs on every pass has no marker
  out.push(s.always ? `if echo ${shellQuote(`Preparing: ${s.summary}`)}; then` : `if step ${s.id} ${q}; then`);
  let run = cmd(s.argv);
  if (s.secret) run = `luks_passphrase ${shellQuote(s.secret.name)} ${shellQuote(s.secret.device)} && luks_print ${shellQuote(s.secret.name)} | ${run}`;
  if (s.fallback) run = `${run} || { echo "  retrying: ${s.fallback.join(" ").replace(/["$`\\]/g, "")}"; ${cmd(s.fallback)}; }`;
  const fail = s.optional ? "true" : `failed ${s.id}`;
  // already there (a run stopped after the command but before its marker): only the marker is missing
  if (s.skipIf) {
    const check = s.checkAlways ? `${cmd(s.skipIf)} >/dev/null 2>&1` : `{ [ -n "$RESUMING" ] && ${cmd(s.skipIf)} >/dev/null 2>&1; }`;
    run = `${check} || ${s.fallback || s.secret ? `{ ${run}; }` : run}`;
  }
  if (s.stdin !== undefined) {
    const tag = heredocTag(s.stdin);
    out.push(`  ${run} <<'${tag}' || ${fail}`);
    out.push(...s.stdin.replace(/\n$/, "").split("\n"));
    out.push(tag);
  } else out.push(`  ${run} || ${fail}`);
  if (s.waitFor?.length) out.push(`  wait_for ${s.waitFor.map(shellQuote).join(" ")} || failed ${s.id}`);
  if (!s.always) out.push(`  done_step ${s.id}`);
  out.push("fi");
  return out;
}

export interface RenderInfo {
  hostname: string;
  layoutFile: string;
  version: string;
  /** the first comment line's "name: what it does" (default: diskrestore.sh recreating the layout) */
  title?: string;
  /** when the steps' "already there" checks count: only when resuming (default), or always (mount.sh) */
  checks?: "resume" | "always";
}

export function renderDiskrestore(plan: Plan, info: RenderInfo): string {
  const L: string[] = [];
  L.push("#!/bin/bash");
  L.push(`# ${info.title ?? "diskrestore.sh: recreates the disk layout"} of ${info.hostname} from ${info.layoutFile}`);
  L.push(`# Made by rear ${info.version} (plan ${plan.format}, layout sha256 ${plan.layoutSha256.slice(0, 16)}).`);
  L.push("#");
  L.push("# Each step runs once: when it succeeds its done marker is written to $DONE_DIR, and a step whose");
  L.push("# marker exists is skipped. After a failure, or after editing this file, run it again (or run");
  L.push("# 'rear layoutonly' / 'rear recover' again): only what is left is done. Remove a marker to redo");
  L.push("# its step. Nothing in this file is a secret: LUKS passphrases are asked for when needed (or");
  L.push("# read from LUKS_PASSPHRASE_<name> in the environment).");
  const map = Object.entries(plan.mapping).filter(([a, b]) => a !== b);
  if (map.length) {
    L.push("#");
    L.push("# Disk mapping (saved => now):");
    for (const [a, b] of map) L.push(`#   ${a} => ${b}`);
  }
  if (plan.wipe.length) L.push("#", `# Disks completely overwritten: ${plan.wipe.join(" ")}`);
  if (plan.unhandled.length) {
    L.push("#", "# NOT recreated by this script (add the commands yourself):");
    for (const u of plan.unhandled) L.push(`#   ${u.id}: ${u.why}`);
  }
  L.push("");
  L.push("set -o pipefail");
  L.push(`DONE_DIR=\${DONE_DIR:-${plan.doneDir}}`);
  L.push('mkdir -p "$DONE_DIR"');
  if (info.checks === "always") {
    L.push("# a step whose effect is there already (mounted, open, active) is only marked done");
    L.push("RESUMING=1");
  } else {
    L.push("# a step whose effect is there although its marker is not (a run stopped between the two) is only");
    L.push("# recognised when resuming: on a first run, what is on the disks is not ours");
    L.push('RESUMING=; [ -n "$(ls -A "$DONE_DIR")" ] && RESUMING=1');
  }
  L.push('step() { if [ -e "$DONE_DIR/$1" ]; then echo "Skipping (done): $2"; return 1; fi; echo "Running: $2"; }');
  L.push('done_step() { : > "$DONE_DIR/$1"; }');
  L.push('failed() { echo "diskrestore.sh: step $1 failed; fix the cause (or edit this file) and run it again" >&2; exit 1; }');
  L.push("wait_for() { local d i; for d in \"$@\"; do for ((i = 0; i < 100; i++)); do [ -b \"$d\" ] && break; sleep 0.1; done; [ -b \"$d\" ] || { echo \"$d did not appear\" >&2; return 1; }; done; }");
  if (plan.steps.some((s) => s.secret)) {
    L.push("# asks once per LUKS device (in this shell, not in a pipe); LUKS_PASSPHRASE_<name> in the environment answers");
    L.push("luks_passphrase() {");
    L.push('  local var="LUKS_PASSPHRASE_${1//[^A-Za-z0-9_]/_}"');
    L.push('  if [ -z "${!var:-}" ]; then');
    L.push('    local p1 p2');
    L.push('    while :; do');
    L.push('      read -r -s -p "Passphrase for the LUKS volume on $2 ($1): " p1 </dev/tty; echo >/dev/tty');
    L.push('      read -r -s -p "Repeat it: " p2 </dev/tty; echo >/dev/tty');
    L.push('      [ -n "$p1" ] && [ "$p1" = "$p2" ] && break');
    L.push('      echo "Empty or not the same, once more." >/dev/tty');
    L.push("    done");
    L.push('    printf -v "$var" "%s" "$p1"; export "${var?}"');
    L.push("  fi");
    L.push("}");
    L.push('luks_print() { local var="LUKS_PASSPHRASE_${1//[^A-Za-z0-9_]/_}"; printf "%s" "${!var}"; }');
  }
  let comp = "";
  for (const s of plan.steps) {
    if (s.component !== comp) {
      comp = s.component;
      L.push("", `### ${comp}`);
    }
    L.push(...stepBlock(s));
  }
  L.push("", 'echo "Disk layout created."', "");
  return L.join("\n");
}
