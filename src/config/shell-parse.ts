// A reader for the declarative subset of bash that ReaR configuration files are mostly written in:
//
//   # comment
//   OUTPUT=ISO                          BACKUP_URL="nfs://server/export"   export BORG_PASSPHRASE='x'
//   COPY_AS_IS+=( /etc/foo "$HOME/.x" ) KERNEL_CMDLINE+=" net.ifnames=0"   A=${A:-default}
//   { SSH_ROOT_PASSWORD='secret' ; } 2>>/dev/$SECRET_OUTPUT_DEV           unset X
//
// Anything beyond that (command substitution, if/case, functions, globs in arrays, `type -P x && …`,
// brace expansion, `declare`, …) makes the parser throw NeedsBash: the loader then evaluates the whole
// chain with a real bash, so both paths always give what bash would hold. The rule is therefore:
// when in doubt, refuse. Pure: no I/O.

export class NeedsBash extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly file?: string,
  ) {
    super(`${file ? `${file}:` : "line "}${line}: ${reason}`);
    this.name = "NeedsBash";
  }
}

/** A piece of a word. `q` = quoted: not subject to field splitting or globbing. */
export type Part =
  | { t: "lit"; v: string; q: boolean }
  | { t: "param"; name: string; index?: "@" | "*" | number; op?: ":-" | "-" | ":+" | "+"; arg?: Part[]; q: boolean };

export type Word = Part[];

export type Stmt =
  | { t: "assign"; line: number; name: string; append: boolean; exported: boolean; scalar?: Word; array?: Word[] }
  | { t: "export"; line: number; name: string }
  | { t: "unset"; line: number; name: string };

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BLANK = new Set([" ", "\t"]);
// Characters that end an unquoted word.
const WORD_END = new Set([" ", "\t", "\n", ";", "&", "|", "<", ">", "(", ")"]);

class Parser {
  pos = 0;
  line = 1;
  constructor(private readonly s: string) {}

  private peek(o = 0): string {
    return this.s[this.pos + o] ?? "";
  }
  private next(): string {
    const c = this.s[this.pos++] ?? "";
    if (c === "\n") this.line++;
    return c;
  }
  private fail(reason: string): never {
    throw new NeedsBash(reason, this.line);
  }

  /** Skip blanks and backslash-newline continuations (not newlines). */
  private skipBlanks(): void {
    for (;;) {
      const c = this.peek();
      if (BLANK.has(c)) this.pos++;
      else if (c === "\\" && this.peek(1) === "\n") {
        this.pos += 2;
        this.line++;
      } else return;
    }
  }
  private skipComment(): void {
    if (this.peek() === "#") while (this.pos < this.s.length && this.peek() !== "\n") this.pos++;
  }

  parse(): Stmt[] {
    const out: Stmt[] = [];
    for (;;) {
      this.skipBlanks();
      this.skipComment();
      const c = this.peek();
      if (c === "") return out;
      if (c === "\n" || c === ";") {
        this.next();
        continue;
      }
      if (c === "{" && (BLANK.has(this.peek(1)) || this.peek(1) === "\n")) {
        this.parseSecretGroup(out);
        continue;
      }
      this.parseSimpleCommand(out, false);
    }
  }

  /** ReaR's idiom that keeps a secret out of `set -x` traces: `{ VAR='x' ; } 2>>/dev/$SECRET_OUTPUT_DEV`. */
  private parseSecretGroup(out: Stmt[]): void {
    this.next(); // {
    const inner: Stmt[] = [];
    for (;;) {
      this.skipBlanks();
      this.skipComment();
      const c = this.peek();
      if (c === "") this.fail("unterminated { … } group");
      if (c === "\n" || c === ";") {
        this.next();
        continue;
      }
      if (c === "}") {
        this.next();
        break;
      }
      this.parseSimpleCommand(inner, true);
    }
    this.skipBlanks();
    const redir = /^2>>?[ \t]*\/dev\/\$(SECRET_OUTPUT_DEV|\{SECRET_OUTPUT_DEV\})(?=[ \t\n;#]|$)/.exec(this.s.slice(this.pos));
    if (!redir) this.fail("{ … } group other than ReaR's secret idiom");
    this.pos += redir[0].length;
    this.endOfCommand();
    out.push(...inner);
  }

  private endOfCommand(): void {
    this.skipBlanks();
    this.skipComment();
    const c = this.peek();
    if (c !== "" && c !== "\n" && c !== ";") this.fail(`unexpected '${c}'`);
  }

  private parseSimpleCommand(out: Stmt[], inGroup: boolean): void {
    const line = this.line;
    let command: string | undefined;
    const pending: Stmt[] = [];
    for (;;) {
      this.skipBlanks();
      const c = this.peek();
      if (c === "" || c === "\n" || c === ";" || c === "#" || (inGroup && c === "}")) break;
      if (WORD_END.has(c)) this.fail(`unsupported operator '${c}'`);
      const assign = /^([A-Za-z_][A-Za-z0-9_]*)(\+?)=/.exec(this.s.slice(this.pos));
      if (assign && (command === undefined || command === "export")) {
        this.pos += assign[0].length;
        const name = assign[1]!;
        const append = assign[2] === "+";
        if (command === undefined && this.isDynamic(name)) this.fail(`assignment to bash's special variable ${name}`);
        if (this.peek() === "(") {
          this.next();
          pending.push({ t: "assign", line, name, append, exported: command === "export", array: this.parseArrayBody() });
        } else {
          pending.push({ t: "assign", line, name, append, exported: command === "export", scalar: this.parseWord("assign") });
        }
        continue;
      }
      const startLine = this.line;
      const word = this.parseWord("arg");
      const text = literalText(word);
      if (command === undefined) {
        if (pending.length > 0) this.fail("a command with variable assignments before it");
        if (text !== "export" && text !== "unset") this.fail(`command '${text ?? "…"}'`);
        command = text;
        continue;
      }
      if (text === undefined || !NAME_RE.test(text)) this.fail(`${command} of a non-name argument`);
      if (command === "export" && text.startsWith("-")) this.fail("export with options");
      pending.push(command === "export" ? { t: "export", line: startLine, name: text } : { t: "unset", line: startLine, name: text });
    }
    if (command === "unset" && pending.length === 0) this.fail("unset without a name");
    out.push(...pending);
  }

  private isDynamic(name: string): boolean {
    return BASH_SPECIAL.has(name) || name.startsWith("BASH");
  }

  /** Elements of `( … )` up to the closing parenthesis; newlines and comments allowed inside. */
  private parseArrayBody(): Word[] {
    const words: Word[] = [];
    for (;;) {
      this.skipBlanks();
      const c = this.peek();
      if (c === "") this.fail("unterminated array ( …");
      if (c === "\n") {
        this.next();
        continue;
      }
      if (c === "#") {
        this.skipComment();
        continue;
      }
      if (c === ")") {
        this.next();
        return words;
      }
      if (WORD_END.has(c)) this.fail(`unsupported '${c}' inside an array`);
      if (/^\[[^\]]*\]=/.test(this.s.slice(this.pos))) this.fail("indexed array element [i]=");
      words.push(this.parseWord("array"));
    }
  }

  /**
   * One word. ctx "assign": the value of NAME=; no globbing or brace expansion happens there in bash.
   * ctx "array"/"arg": globs and braces would expand, so unquoted *?[{ are refused.
   */
  private parseWord(ctx: "assign" | "array" | "arg"): Word {
    const parts: Word = [];
    let lit = "";
    const flush = () => {
      if (lit) parts.push({ t: "lit", v: lit, q: false });
      lit = "";
    };
    const start = this.pos;
    for (;;) {
      const c = this.peek();
      if (c === "" || WORD_END.has(c) || (ctx === "array" && c === ")")) break;
      if (c === "\\") {
        this.next();
        const d = this.next();
        if (d === "\n") continue; // line continuation
        if (d === "") this.fail("backslash at end of file");
        flush();
        parts.push({ t: "lit", v: d, q: true });
        continue;
      }
      if (c === "'") {
        flush();
        parts.push({ t: "lit", v: this.readSingleQuoted(), q: true });
        continue;
      }
      if (c === '"') {
        this.next();
        flush();
        parts.push(...this.parseDoubleQuoted());
        continue;
      }
      if (c === "$") {
        flush();
        const p = this.parseDollar(false);
        if (p) parts.push(p);
        else lit += this.next();
        continue;
      }
      if (c === "`") this.fail("command substitution `…`");
      if (c === "~" && (this.pos === start || (ctx === "assign" && this.s[this.pos - 1] === ":"))) this.fail("tilde expansion");
      if (ctx !== "assign" && (c === "*" || c === "?" || c === "[" || c === "{" || c === "}")) this.fail(`'${c}' would be expanded by bash (glob or brace)`);
      if (ctx !== "assign" && c === "=" && this.pos === start) this.fail("word starting with '='");
      lit += this.next();
    }
    flush();
    return parts;
  }

  /** At a "'": the text up to the closing quote, verbatim. */
  private readSingleQuoted(): string {
    this.next();
    const end = this.s.indexOf("'", this.pos);
    if (end < 0) this.fail("unterminated single quote");
    const v = this.s.slice(this.pos, end);
    for (const ch of v) if (ch === "\n") this.line++;
    this.pos = end + 1;
    return v;
  }

  private parseDoubleQuoted(): Part[] {
    const parts: Part[] = [];
    let lit = "";
    let sawAny = false;
    const flush = (force = false) => {
      if (lit || force) parts.push({ t: "lit", v: lit, q: true });
      lit = "";
    };
    for (;;) {
      const c = this.next();
      if (c === "") this.fail("unterminated double quote");
      if (c === '"') break;
      if (c === "\\") {
        const d = this.peek();
        if (d === "\n") {
          this.next();
          continue;
        }
        if (d === "$" || d === "`" || d === '"' || d === "\\") {
          lit += this.next();
          continue;
        }
        lit += "\\";
        continue;
      }
      if (c === "`") this.fail("command substitution `…`");
      if (c === "$") {
        this.pos--;
        const p = this.parseDollar(true);
        if (p) {
          flush();
          parts.push(p);
          sawAny = true;
        } else lit += this.next();
        continue;
      }
      lit += c;
    }
    // "" is an empty string, which still makes a (quoted, empty) field.
    flush(parts.length === 0 && !sawAny);
    return parts;
  }

  /** At a '$': returns the expansion, or undefined when the '$' is literal. */
  private parseDollar(quoted: boolean): Part | undefined {
    const n = this.peek(1);
    if (n === "(") this.fail("command or arithmetic substitution $(…)");
    if (n === "'" || n === '"') this.fail(`$${n}…${n} quoting`);
    if (/[0-9$?!#*@-]/.test(n)) this.fail(`special parameter $${n}`);
    if (/[A-Za-z_]/.test(n)) {
      this.pos++;
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.pos))!;
      this.pos += m[0].length;
      return this.param(m[0], undefined, undefined, undefined, quoted);
    }
    if (n !== "{") return undefined;
    this.pos += 2;
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.pos));
    if (!m) this.fail("${…} form other than ${NAME…}");
    this.pos += m[0].length;
    let index: "@" | "*" | number | undefined;
    if (this.peek() === "[") {
      const im = /^\[(@|\*|[0-9]+)\]/.exec(this.s.slice(this.pos));
      if (!im) this.fail("array subscript other than [@], [*] or a number");
      this.pos += im[0].length;
      index = im[1] === "@" || im[1] === "*" ? im[1] : Number(im[1]);
    }
    if (this.peek() === "}") {
      this.pos++;
      return this.param(m[0], index, undefined, undefined, quoted);
    }
    const om = /^(:-|:\+|-|\+)/.exec(this.s.slice(this.pos));
    if (!om) this.fail(`parameter expansion operator '${this.peek()}'`);
    if (index === "@" || index === "*") this.fail("operator on an array expansion");
    this.pos += om[0].length;
    const arg = this.parseOperand(quoted);
    return this.param(m[0], index, om[0] as ":-" | "-" | ":+" | "+", arg, quoted);
  }

  private param(name: string, index: "@" | "*" | number | undefined, op: ":-" | "-" | ":+" | "+" | undefined, arg: Part[] | undefined, q: boolean): Part {
    if (this.isDynamic(name)) this.fail(`bash's special variable $${name}`);
    const p: Part = { t: "param", name, q };
    if (index !== undefined) p.index = index;
    if (op !== undefined) p.op = op;
    if (arg !== undefined) p.arg = arg;
    return p;
  }

  /** The word after :- etc., up to the matching '}'. */
  private parseOperand(quoted: boolean): Part[] {
    const parts: Part[] = [];
    let lit = "";
    const flush = () => {
      if (lit) parts.push({ t: "lit", v: lit, q: quoted });
      lit = "";
    };
    for (;;) {
      const c = this.peek();
      if (c === "") this.fail("unterminated ${…");
      if (c === "}") {
        this.next();
        flush();
        return parts;
      }
      if (c === "\\") {
        this.next();
        const d = this.next();
        if (d === "\n") continue;
        flush();
        parts.push({ t: "lit", v: d, q: true });
        continue;
      }
      if (c === "$") {
        flush();
        const p = this.parseDollar(quoted);
        if (p) parts.push(p);
        else lit += this.next();
        continue;
      }
      if (c === "'" || c === '"') {
        // Quote semantics inside ${x:-…} differ between quoted and unquoted contexts; leave it to bash.
        if (quoted) this.fail("quotes inside a quoted ${…:-…}");
        flush();
        this.next();
        if (c === "'") {
          this.pos--;
          parts.push({ t: "lit", v: this.readSingleQuoted(), q: true });
        } else parts.push(...this.parseDoubleQuoted());
        continue;
      }
      if (c === "`") this.fail("command substitution `…`");
      if (!quoted && /[*?[{~\n]/.test(c)) this.fail(`'${c}' inside an unquoted \${…:-…}`);
      if (c === "\n") this.line++;
      lit += c;
      this.pos++;
    }
  }
}

/** The text of a word made only of literal parts, else undefined. */
function literalText(w: Word): string | undefined {
  let s = "";
  for (const p of w) {
    if (p.t !== "lit") return undefined;
    s += p.v;
  }
  return s;
}

/**
 * Variables bash sets or treats specially. Reading one (unless the config set it) or assigning one
 * sends the file to bash, because only bash knows its value or side effect.
 */
export const BASH_SPECIAL = new Set([
  "BASH", "BASHOPTS", "BASHPID", "COMP_WORDBREAKS", "DIRSTACK", "EPOCHREALTIME", "EPOCHSECONDS", "EUID",
  "FUNCNAME", "GROUPS", "HISTCMD", "HOSTTYPE", "IFS", "LINENO", "MACHTYPE", "OLDPWD", "OPTARG", "OPTERR",
  "OPTIND", "OSTYPE", "PIPESTATUS", "PPID", "PS1", "PS2", "PS4", "PWD", "RANDOM", "SECONDS", "SHELLOPTS",
  "SHLVL", "SRANDOM", "UID", "COLUMNS", "LINES", "HISTFILE", "HISTSIZE", "HISTFILESIZE", "_",
]);

export function parseShell(text: string): Stmt[] {
  return new Parser(text).parse();
}
