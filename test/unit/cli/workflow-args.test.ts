// Each workflow declares what it takes after its name; everything else is an error before anything runs.

import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../../src/cli/getopt.ts";
import { renderWorkflowHelp } from "../../../src/cli/help.ts";
import { parseWorkflowWords, synopsis, WORKFLOW_ARGS } from "../../../src/cli/workflow-args.ts";
import { UserError } from "../../../src/engine/errors.ts";
import { WORKFLOWS } from "../../../src/engine/workflows.ts";

function fails(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e.message;
    throw e;
  }
  throw new Error("expected a UserError");
}

describe("workflow arguments", () => {
  test("the flags a workflow declares, exactly", () => {
    expect([...parseWorkflowWords("layoutonly", ["--dry-run", "--restart"]).flags]).toEqual(["--dry-run", "--restart"]);
    expect(fails(() => parseWorkflowWords("layoutonly", ["--dryrun"]))).toBe("rear layoutonly: unknown option '--dryrun' (did you mean --dry-run?); it takes --dry-run, --restart");
    expect(fails(() => parseWorkflowWords("layoutonly", ["--dry"]))).toContain("unknown option '--dry'"); // no abbreviations
    expect(fails(() => parseWorkflowWords("layoutonly", ["--dry-run=1"]))).toContain("takes no value");
    expect(fails(() => parseWorkflowWords("layoutonly", ["--dry-run", "--dry-run"]))).toContain("given twice");
    expect(fails(() => parseWorkflowWords("mkbackuponly", ["--bogus"]))).toBe("rear mkbackuponly: unknown option '--bogus'; it takes no options");
    expect(fails(() => parseWorkflowWords("mkrescue", ["now"]))).toBe("rear mkrescue: takes no arguments (got 'now')");
  });
  test("options with values and positionals", () => {
    const p = parseWorkflowWords("showlayout", ["f.conf", "--format=disklayout", "--json"]);
    expect(p.positional).toEqual(["f.conf"]);
    expect(p.options.get("--format")).toBe("disklayout");
    expect(fails(() => parseWorkflowWords("showlayout", ["--format", "xml"]))).toContain("'xml' is not a valid value of --format");
    expect(fails(() => parseWorkflowWords("showlayout", ["--format"]))).toContain("needs a value");
    expect(fails(() => parseWorkflowWords("showlayout", ["a", "b"]))).toContain("unexpected argument 'b'");
  });
  test("after --: only the workflow's own options (rear format -- --efi DEVICE)", () => {
    expect([...parseWorkflowWords("format", [], ["--efi", "/dev/sdx"]).flags]).toEqual(["--efi"]);
    expect(fails(() => parseWorkflowWords("format", [], ["--efl", "/dev/sdx"]))).toContain("unknown option '--efl' after '--'");
    expect(fails(() => parseWorkflowWords("checklayout", [], ["--json"]))).toContain("takes no options after '--'");
    expect(fails(() => parseWorkflowWords("mkrescue", [], ["now"]))).toBe("rear mkrescue: takes no arguments (got 'now')");
    expect(fails(() => parseWorkflowWords("showlayout", ["a.conf"], ["b.conf"]))).toContain("unexpected argument 'b.conf'");
  });
  test("every workflow has a synopsis and a help page; hidden ones are not shown", () => {
    for (const w of WORKFLOWS) {
      expect(synopsis(w.name)).toStartWith(`rear [OPTIONS] ${w.name}`);
      if (!w.hidden) expect(renderWorkflowHelp(w.name)).toContain(`Usage: ${synopsis(w.name)}`);
    }
    for (const n of Object.keys(WORKFLOW_ARGS)) expect(WORKFLOWS.some((w) => w.name === n)).toBe(true);
    expect(renderWorkflowHelp("layoutonly")).toContain("--dry-run");
    expect(renderWorkflowHelp("opaladmin")).toContain("not implemented yet");
    expect(renderWorkflowHelp("recover")).toContain("--restart");
    expect(renderWorkflowHelp("nope")).toBeUndefined();
  });
});

describe("getopt after the workflow", () => {
  test("-dry-run is not -d -r y-run", () => {
    const o = parseArgs(["layoutonly", "-dry-run"]);
    expect(o.args).toEqual(["-dry-run"]);
    expect(o.debug).toBe(false);
    expect(parseArgs(["mkrescue", "-v", "-r", "6.1"]).kernelVersion).toBe("6.1");
  });
  test("long options after the workflow only by their full name", () => {
    expect(parseArgs(["layoutonly", "--p"]).args).toEqual(["--p"]);
    expect(parseArgs(["layoutonly", "--portable"]).portable).toBe(true);
    expect(parseArgs(["--port", "layoutonly"]).portable).toBe(true); // before it, getopt's abbreviations
  });
  test("--debugscripts takes only bash set flags", () => {
    expect(parseArgs(["--debugscripts", "xv", "dump"]).debugscripts).toBe("xv");
    for (const bad of ["x;rm -rf /", "$(id)", "x v", "-x"]) expect(() => parseArgs(["--debugscripts", bad, "dump"])).toThrow();
  });
  test("the words after -- are kept apart", () => {
    const o = parseArgs(["format", "--", "--efi", "/dev/sdx"]);
    expect(o.args).toEqual(["--efi", "/dev/sdx"]);
    expect(o.afterDashDash).toEqual(["--efi", "/dev/sdx"]);
  });
});
