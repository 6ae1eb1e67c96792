import { describe, expect, test } from "bun:test";
import { NeedsBash, parseShell } from "../../../src/config/shell-parse.ts";
import { ShellEvaluator, type Vars } from "../../../src/config/shell-eval.ts";

function run(text: string, init: Record<string, string | string[]> = {}): Record<string, string | string[] | undefined> {
  const vars: Vars = new Map(Object.entries(init).map(([k, v]) => [k, { value: v, exported: false }]));
  vars.set("PATH", { value: "/usr/bin:/bin", exported: true });
  new ShellEvaluator(vars).run(parseShell(text));
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of vars) if (k !== "PATH") out[k] = v.value;
  return out;
}

function needsBash(text: string): string {
  try {
    run(text);
  } catch (e) {
    if (e instanceof NeedsBash) return e.reason;
    throw e;
  }
  throw new Error(`expected NeedsBash for: ${text}`);
}

describe("declarative subset", () => {
  test("scalars, quotes, comments", () => {
    expect(run(`A=1\nB="two words" # comment\nC='$lit'\nD=a#b\nE=`)).toEqual({ A: "1", B: "two words", C: "$lit", D: "a#b", E: "" });
  });
  test("arrays with newlines, comments and continuation", () => {
    expect(run(`A=( a 'b c'\n  # note\n  d \\\n e )`)).toEqual({ A: ["a", "b c", "d", "e"] });
  });
  test("append to scalar and array, and across kinds", () => {
    expect(run(`A=x\nA+=y\nB=( 1 )\nB+=( 2 3 )\nC=s\nC+=( t )\nD=( p q )\nD+=r\nE+=( new )`)).toEqual({
      A: "xy", B: ["1", "2", "3"], C: ["s", "t"], D: ["pr", "q"], E: ["new"],
    });
  });
  test("scalar assignment to an array sets element 0", () => {
    expect(run(`A=( a b c )\nA=z`)).toEqual({ A: ["z", "b", "c"] });
  });
  test("default-value expansions", () => {
    expect(run(`E=\nA=\${U:-d}\nB=\${E:-d}\nC=\${E-d}\nD=\${U-d}\nF=\${E:+set}\nG=\${U+set}\nH=\${A:+set}`)).toEqual({
      E: "", A: "d", B: "d", C: "", D: "d", F: "", G: "", H: "set",
    });
  });
  test("field splitting only for unquoted expansions in arrays", () => {
    expect(run(`S=" a  b "\nA=( $S "$S" x$S )\nB=$S`)).toEqual({ S: " a  b ", A: ["a", "b", " a  b ", "x", "a", "b"], B: " a  b " });
  });
  test('"${A[@]}" keeps elements, ${A[*]} joins', () => {
    expect(run(`A=( "a b" "" c )\nB=( "\${A[@]}" )\nC="\${A[*]}"\nD=( \${A[@]} )\nE=( "\${EMPTY[@]}" )\nF=\${A[2]}`)).toEqual({
      A: ["a b", "", "c"], B: ["a b", "", "c"], C: "a b  c", D: ["a", "b", "c"], E: [], F: "c",
    });
  });
  test("double-quote escapes", () => {
    expect(run(`A="a\\"b\\\\c\\$d\\\`e\\f"`)).toEqual({ A: 'a"b\\c$d`e\\f' });
  });
  test("export and unset", () => {
    const vars: Vars = new Map([["PATH", { value: "/bin", exported: true }]]);
    new ShellEvaluator(vars).run(parseShell(`export A=1 B\nC=2\nexport C\nD=4\nunset D`));
    expect(vars.get("A")).toEqual({ value: "1", exported: true });
    expect(vars.get("B")).toEqual({ value: undefined, exported: true });
    expect(vars.get("C")).toEqual({ value: "2", exported: true });
    expect(vars.has("D")).toBe(false);
  });
  test("ReaR's secret idiom", () => {
    expect(run(`{ SSH_ROOT_PASSWORD='pw' ; } 2>>/dev/$SECRET_OUTPUT_DEV\n{ K="\${K:-x}"; } 2>/dev/\${SECRET_OUTPUT_DEV}`)).toEqual({ SSH_ROOT_PASSWORD: "pw", K: "x" });
  });
  test("several assignments on a line, and semicolons", () => {
    expect(run(`A=1 B=2; C=3`)).toEqual({ A: "1", B: "2", C: "3" });
  });
  test("scalar assignments do not glob or brace-expand", () => {
    expect(run(`A=/etc/*\nB={a,b}`)).toEqual({ A: "/etc/*", B: "{a,b}" });
  });
});

describe("anything else goes to bash", () => {
  const cases: [string, RegExp][] = [
    ["A=$(uname -m)", /command or arithmetic substitution/],
    ["A=`date`", /command substitution/],
    ["if true; then A=1; fi", /command 'if'/],
    ["type -P curl && PROGS+=( curl )", /command 'type'/],
    ["A=( /etc/* )", /glob/],
    ["A=( {a,b} )", /glob or brace/],
    ["A=~/x", /tilde/],
    ["A=$((1+2))", /substitution/],
    ["A=${#B}", /\$\{…\} form/],
    ["A=${B/x/y}", /operator/],
    ["declare -A M", /command 'declare'/],
    ["A[3]=x", /glob|command/],
    ["f() { :; }", /command|operator/],
    ["A=$RANDOM", /special variable/],
    ["A=$1", /special parameter/],
    ["IFS=:", /special variable/],
    ["A=x cmd", /command/],
    ["A='unterminated", /unterminated/],
    ["A=( a", /unterminated array/],
    ["A=$'x'", /quoting/],
  ];
  for (const [text, re] of cases) test(text, () => expect(needsBash(text)).toMatch(re));

  test("an unquoted expansion with glob characters inside an array", () => {
    expect(needsBash(`P='/etc/*'\nA=( $P )`)).toMatch(/glob characters/);
  });
  test("bash's own variables, unset in the environment", () => {
    expect(needsBash(`A=$TERM`)).toMatch(/bash would give it a value/);
  });
});
