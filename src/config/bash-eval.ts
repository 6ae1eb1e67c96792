// The bash path of the configuration reader: when any file of the chain holds more than the
// declarative subset (if/case, $(…), functions, globs, `type -P x && PROGS+=(x)`), the whole chain is
// evaluated by a real bash, exactly as ReaR sources it (nullglob, extglob, LC_ALL=C), and the result
// is read back: every variable with its `${VAR@a}` attributes (what `declare -p` prints) and its value(s),
// NUL-separated so that no value can be misread.

import type { Value, Vars } from "./shell-eval.ts";

/** One step of the chain, as bash sees it. */
export type BashStep =
  | { kind: "file"; path: string } // a user file: sourced by path so bash's messages name it
  | { kind: "text"; name: string; text: string } // an embedded file (default.conf …)
  | { kind: "assign"; values: Record<string, string> }; // values computed by rear between files

/** Quote a string for bash (single quotes; works for any content). */
export function bashQuote(s: string): string {
  if (s !== "" && /^[A-Za-z0-9_./:=@%+,-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `NAME=value` or `NAME=( … )` for a variable, as bash input. */
export function bashAssignment(name: string, value: Value): string {
  return Array.isArray(value) ? `${name}=(${value.map(bashQuote).join(" ")})` : `${name}=${bashQuote(value)}`;
}

/**
 * The script that evaluates the chain. It prints, NUL-separated:
 *   S <names bash had before we set anything> E
 *   F <file>                       before each step (to locate an early exit)
 *   R <code>                       the step returned non-zero: evaluation stopped (ReaR: "Failed to Source")
 *   s <name> <attrs> <value>        a scalar
 *   a <name> <attrs> <n> <v1…vn>    an indexed array
 *   A <name> <attrs> <n> <k1 v1…>   an associative array
 *   D                               end
 */
export function renderBashScript(seed: Map<string, Value>, exported: Set<string>, steps: BashStep[]): string {
  const L: string[] = [];
  // Our records go to fd 3 (the original stdout); whatever the configuration prints goes to stderr.
  L.push("exec 3>&1 1>&2");
  L.push("printf 'S\\0' >&3; printf '%s\\0' $(compgen -v) >&3; printf 'E\\0' >&3");
  L.push("shopt -s nullglob extglob");
  for (const [k, v] of seed) L.push(`${exported.has(k) ? "export " : ""}${bashAssignment(k, v)}`);
  steps.forEach((st, i) => {
    if (st.kind === "file") {
      L.push(`printf 'F\\0%s\\0' ${bashQuote(st.path)} >&3`);
      L.push(`source ${bashQuote(st.path)}`);
      L.push(`__rear_rc=$?; if (( __rear_rc )); then printf 'R\\0%s\\0' "$__rear_rc" >&3; exit 0; fi`);
    } else if (st.kind === "text") {
      L.push(`printf 'F\\0%s\\0' ${bashQuote(st.name)} >&3`);
      // A quoted here-document keeps the text verbatim; eval runs it in this shell like `source`.
      const tag = `__REAR_EMBEDDED_${i}__`;
      L.push(`IFS= read -r -d '' __rear_text <<'${tag}'\n${st.text}\n${tag}`);
      L.push(`eval "$__rear_text"`);
      L.push(`__rear_rc=$?; if (( __rear_rc )); then printf 'R\\0%s\\0' "$__rear_rc" >&3; exit 0; fi`);
    } else {
      for (const [k, v] of Object.entries(st.values)) L.push(bashAssignment(k, v));
    }
  });
  L.push(`unset __rear_text
exec 1>&3
printf 'F\\0(end)\\0'
for __rear_n in $(compgen -v); do
  case $__rear_n in __rear_*) continue ;; esac
  eval "__rear_a=\\\${$__rear_n@a}"
  case $__rear_a in
    *a*) eval "__rear_v=(\\"\\\${$__rear_n[@]}\\")"
         printf 'a\\0%s\\0%s\\0%s\\0' "$__rear_n" "$__rear_a" "\${#__rear_v[@]}"
         (( \${#__rear_v[@]} )) && printf '%s\\0' "\${__rear_v[@]}" ;;
    *A*) eval "__rear_k=(\\"\\\${!$__rear_n[@]}\\")"
         printf 'A\\0%s\\0%s\\0%s\\0' "$__rear_n" "$__rear_a" "\${#__rear_k[@]}"
         for __rear_i in "\${__rear_k[@]}"; do eval "__rear_x=\\\${$__rear_n[\\$__rear_i]}"; printf '%s\\0%s\\0' "$__rear_i" "$__rear_x"; done ;;
    *) [[ -v $__rear_n ]] && printf 's\\0%s\\0%s\\0%s\\0' "$__rear_n" "$__rear_a" "\${!__rear_n}" ;;
  esac
done
printf 'D\\0'`);
  return L.join("\n") + "\n";
}

export interface BashResult {
  /** names bash knew before the seed: its own variables plus the environment's */
  startNames: Set<string>;
  vars: Vars;
  /** associative arrays, which have no place in Vars */
  assoc: Map<string, Record<string, string>>;
  /** the last step that started; "(end)" when all ran */
  lastStep: string;
  /** the exit status of the step that returned non-zero (then lastStep names it) */
  failedWith?: number;
  complete: boolean;
}

export function parseBashOutput(out: string): BashResult {
  const tok = out.split("\0");
  let i = 0;
  const next = () => tok[i++] ?? "";
  const res: BashResult = { startNames: new Set(), vars: new Map(), assoc: new Map(), lastStep: "", complete: false };
  if (next() !== "S") return res;
  for (let t = next(); t !== "E" && i < tok.length; t = next()) res.startNames.add(t);
  while (i < tok.length) {
    const kind = next();
    if (kind === "F") res.lastStep = next();
    else if (kind === "R") {
      res.failedWith = Number(next());
      break;
    }
    else if (kind === "s") {
      const name = next();
      const attrs = next();
      res.vars.set(name, { value: next(), exported: attrs.includes("x") });
    } else if (kind === "a") {
      const name = next();
      const attrs = next();
      const n = Number(next());
      const value: string[] = [];
      for (let k = 0; k < n; k++) value.push(next());
      res.vars.set(name, { value, exported: attrs.includes("x") });
    } else if (kind === "A") {
      const name = next();
      next();
      const n = Number(next());
      const obj: Record<string, string> = {};
      for (let k = 0; k < n; k++) {
        const key = next();
        obj[key] = next();
      }
      res.assoc.set(name, obj);
    } else if (kind === "D") {
      res.complete = true;
      break;
    } else if (kind === "") continue;
    else break;
  }
  return res;
}

/** `<file>: line <n>: syntax error …` as bash prints it for a sourced file. */
export function findSyntaxError(stderr: string): { file: string; line: number; message: string } | undefined {
  for (const l of stderr.split("\n")) {
    const m = /^(.*?): line ([0-9]+): (syntax error.*)$/.exec(l);
    if (m) return { file: m[1]!, line: Number(m[2]), message: m[3]! };
  }
  return undefined;
}
