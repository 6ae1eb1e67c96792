// Evaluates the statements of shell-parse.ts with bash's semantics for the subset it accepts:
// field splitting of unquoted expansions inside arrays (default IFS), "${A[@]}" giving one word per
// element, `A=x` on an array setting element 0, `A+=( … )` on a scalar making it element 0, and so on.
// Whatever could differ from bash (a glob character coming out of an unquoted expansion, an unset
// variable that bash itself would define) throws NeedsBash. Pure.

import { NeedsBash, type Part, type Stmt, type Word } from "./shell-parse.ts";

export type Value = string | string[];
export interface Var {
  /** undefined: declared (e.g. `export X`) but unset, which bash does not list */
  value: Value | undefined;
  exported: boolean;
}
export type Vars = Map<string, Var>;

/** Variables bash gives a value of its own when the environment lacks them. */
const BASH_DEFAULTED = new Set(["PATH", "TERM", "SHELL", "HOSTNAME"]);

type Expansion = { kind: "arg" } | { kind: "list"; list: string[] } | { kind: "str"; str: string };

class Fields {
  fields: string[] = [];
  cur = "";
  /** the current field exists even if empty (a quoted part was seen) */
  has = false;

  addQuoted(s: string): void {
    this.cur += s;
    this.has = true;
  }
  /** Unquoted text: split on blanks, tabs and newlines (default IFS). */
  addUnquoted(s: string, line: number): void {
    if (/[*?[]/.test(s)) throw new NeedsBash("an unquoted expansion that contains glob characters", line);
    const pieces = s.split(/[ \t\n]+/);
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) this.end();
      const piece = pieces[i]!;
      if (piece) {
        this.cur += piece;
        this.has = true;
      }
    }
  }
  end(): void {
    if (this.has || this.cur) this.fields.push(this.cur);
    this.cur = "";
    this.has = false;
  }
  done(): string[] {
    this.end();
    return this.fields;
  }
}

export class ShellEvaluator {
  constructor(readonly vars: Vars) {}

  private lookup(name: string, line: number): Var | undefined {
    const v = this.vars.get(name);
    if ((v === undefined || v.value === undefined) && BASH_DEFAULTED.has(name)) {
      throw new NeedsBash(`$${name} is unset here but bash would give it a value`, line);
    }
    return v?.value === undefined ? undefined : v;
  }

  /** What a parameter expands to before splitting: a string, a list ("${A[@]}"), or its operand word. */
  private paramValue(p: Extract<Part, { t: "param" }>, line: number): Expansion {
    const v = this.lookup(p.name, line);
    const val = v?.value;
    if (p.index === "@") return { kind: "list", list: val === undefined ? [] : typeof val === "string" ? [val] : val };
    if (p.index === "*") return { kind: "str", str: (val === undefined ? [] : typeof val === "string" ? [val] : val).join(" ") };
    let s: string | undefined;
    if (typeof p.index === "number") s = typeof val === "string" ? (p.index === 0 ? val : undefined) : val?.[p.index];
    else s = typeof val === "string" ? val : val?.[0];
    if (!p.op) return { kind: "str", str: s ?? "" };
    const set = s !== undefined;
    const nonEmpty = set && s !== "";
    if (p.op === ":-") return nonEmpty ? { kind: "str", str: s! } : { kind: "arg" };
    if (p.op === "-") return set ? { kind: "str", str: s! } : { kind: "arg" };
    if (p.op === ":+") return nonEmpty ? { kind: "arg" } : { kind: "str", str: "" };
    return set ? { kind: "arg" } : { kind: "str", str: "" };
  }

  private emit(parts: Part[], f: Fields, line: number): void {
    for (const p of parts) {
      if (p.t === "lit") {
        if (p.q) f.addQuoted(p.v);
        else {
          f.cur += p.v;
          if (p.v) f.has = true;
        }
        continue;
      }
      const r = this.paramValue(p, line);
      if (r.kind === "arg") {
        this.emit(p.arg ?? [], f, line);
        continue;
      }
      if (r.kind === "list") {
        // "${A[@]}": one field per element; unquoted ${A[@]}: each element split further.
        r.list.forEach((el, i) => {
          if (i > 0) f.end();
          if (p.q) f.addQuoted(el);
          else f.addUnquoted(el, line);
        });
        continue;
      }
      if (p.q) f.addQuoted(r.str);
      else f.addUnquoted(r.str, line);
    }
  }

  /** A word in an array or argument position: zero or more fields. */
  fields(w: Word, line: number): string[] {
    const f = new Fields();
    this.emit(w, f, line);
    return f.done();
  }

  /** A word as the value of NAME=: no splitting; "${A[@]}" joined with spaces. */
  scalar(w: Word, line: number): string {
    let out = "";
    const walk = (parts: Part[]) => {
      for (const p of parts) {
        if (p.t === "lit") {
          out += p.v;
          continue;
        }
        const r = this.paramValue(p, line);
        if (r.kind === "arg") walk(p.arg ?? []);
        else if (r.kind === "list") out += r.list.join(" ");
        else out += r.str;
      }
    };
    walk(w);
    return out;
  }

  run(stmts: Stmt[]): void {
    for (const s of stmts) this.exec(s);
  }

  exec(s: Stmt): void {
    const old = this.vars.get(s.name);
    if (s.t === "unset") {
      this.vars.delete(s.name);
      return;
    }
    if (s.t === "export") {
      if (old) old.exported = true;
      else this.vars.set(s.name, { value: undefined, exported: true });
      return;
    }
    const exported = (old?.exported ?? false) || s.exported;
    const oldVal = old?.value;
    if (s.array) {
      const items = s.array.flatMap((w) => this.fields(w, s.line));
      let value: string[];
      if (!s.append) value = items;
      else if (oldVal === undefined) value = items;
      else if (typeof oldVal === "string") value = [oldVal, ...items];
      else value = [...oldVal, ...items];
      this.vars.set(s.name, { value, exported });
      return;
    }
    const v = this.scalar(s.scalar ?? [], s.line);
    if (Array.isArray(oldVal)) {
      // bash: assigning a scalar to an array variable sets (or appends to) element 0
      const arr = [...oldVal];
      arr[0] = s.append ? (arr[0] ?? "") + v : v;
      this.vars.set(s.name, { value: arr, exported });
      return;
    }
    this.vars.set(s.name, { value: s.append ? (oldVal ?? "") + v : v, exported });
  }
}
