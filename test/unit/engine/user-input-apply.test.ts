// UserInput (USER_INPUT_<ID>, -n, timeouts, questions that must not proceed by default) and the apply
// engine (order, done markers, resuming, fallbacks, optional steps, already-done effects, failures).

import { describe, expect, test } from "bun:test";
import { WorkflowError } from "../../../src/engine/errors.ts";
import { type UserInputDeps, UserInput } from "../../../src/engine/user-input.ts";
import type { Plan, Step } from "../../../src/layout/plan/types.ts";
import { type ApplyDeps, applyPlan, StepFailed } from "../../../src/recreate/apply.ts";

function ui(over: Partial<UserInputDeps> & { lines?: (string | undefined)[] } = {}) {
  const said: string[] = [];
  const asked: string[] = [];
  const lines = [...(over.lines ?? [])];
  const u = new UserInput({
    predefined: () => undefined, nonInteractive: false, canAsk: true, timeoutSecs: 300,
    read: (p) => {
      asked.push(p);
      return lines.shift();
    },
    say: (t) => said.push(t), log: () => {}, ...over,
  });
  return { u, said, asked };
}
const q = { id: "WIPE", prompt: "Wipe?", choices: ["Confirm", "View", "Abort"], default: 0 };

describe("UserInput", () => {
  test("USER_INPUT_<ID> answers by number or by text; a wrong one is an error naming the variable", () => {
    expect(ui({ predefined: () => "3" }).u.ask(q)).toEqual({ text: "Abort", choice: 2, how: "predefined" });
    expect(ui({ predefined: () => "view" }).u.ask(q).choice).toBe(1);
    expect(() => ui({ predefined: () => "9" }).u.ask(q)).toThrow("USER_INPUT_WIPE='9' is not one of the answers");
  });
  test("-n takes the default, also of a destructive question (unattended was asked for), but not twice", () => {
    const { u } = ui({ nonInteractive: true });
    expect(u.ask({ ...q, destructive: true })).toEqual({ text: "Confirm", choice: 0, how: "default" });
    expect(() => u.ask({ ...q, destructive: true })).toThrow("came again");
  });
  test("without a terminal a destructive question is not answered by its default", () => {
    expect(() => ui({ canAsk: false }).u.ask({ ...q, destructive: true })).toThrow(WorkflowError);
    expect(ui({ canAsk: false }).u.ask(q).how).toBe("default");
    expect(() => ui({ nonInteractive: true }).u.ask({ id: "X", prompt: "x?" })).toThrow("USER_INPUT_X");
  });
  test("on the terminal: numbers, a wrong answer asks again, a timeout takes the default unless destructive", () => {
    const a = ui({ lines: ["7", "2"] });
    expect(a.u.ask(q)).toEqual({ text: "View", choice: 1, how: "user" });
    expect(a.asked).toHaveLength(2);
    expect(a.said.join()).toContain("not one of the answers");
    expect(ui({ lines: [undefined] }).u.ask(q).how).toBe("default");
    expect(() => ui({ lines: [undefined] }).u.ask({ ...q, destructive: true })).toThrow("nothing was changed");
    // an empty line does not confirm a destructive question
    const d = ui({ lines: ["", "1"] });
    expect(d.u.ask({ ...q, destructive: true }).how).toBe("user");
  });
  test("a secret answer is never said", () => {
    const { u, said } = ui({ predefined: () => "hunter2" });
    u.ask({ id: "PW", prompt: "pw", secret: true });
    expect(said.join()).not.toContain("hunter2");
  });
});

const step = (id: string, more: Partial<Step> = {}): Step => ({ id, component: "c", action: "a", summary: `step ${id}`, argv: ["cmd", id], mutates: true, ...more });
const plan = (steps: Step[]): Plan => ({
  format: "rear-plan/1", layoutSha256: "", mapping: {}, wipe: [], steps, layout: [], unhandled: [], uuidChanges: [], luksKeys: [], mounts: [], targetRoot: "/mnt/local", doneDir: "/d",
});

function fake(results: Record<string, number> = {}, done: string[] = []) {
  const ran: string[] = [];
  const marks = new Set(done);
  const stdins: (string | undefined)[] = [];
  const deps: ApplyDeps = {
    run: async (argv, stdin) => {
      ran.push(argv.join(" "));
      stdins.push(stdin);
      return { code: results[argv.join(" ")] ?? 0, stdout: "", stderr: results[argv.join(" ")] ? "it broke\nbadly" : "" };
    },
    isDone: (id) => marks.has(id),
    markDone: (id) => void marks.add(id),
    exists: () => true,
    sleep: async () => {},
    passphrase: () => "secret",
    progress: () => {},
    log: () => {},
  };
  return { deps, ran, marks, stdins };
}

describe("applyPlan", () => {
  test("runs the steps in order, marks each, feeds stdin and the passphrase", async () => {
    const f = fake();
    const r = await applyPlan(plan([step("1", { stdin: "label: gpt\n" }), step("2", { secret: { kind: "luks-passphrase", name: "n", device: "/dev/x" } })]), f.deps, () => "");
    expect(f.ran).toEqual(["cmd 1", "cmd 2"]);
    expect(f.stdins).toEqual(["label: gpt\n", "secret"]);
    expect([...f.marks]).toEqual(["1", "2"]);
    expect(r).toEqual({ ran: 2, skipped: 0, found: 0 });
  });
  test("a rerun skips what is done; an effect already there only gets its marker", async () => {
    const f = fake({ "check 3": 1 }, ["1"]);
    const r = await applyPlan(plan([step("1"), step("2", { skipIf: ["check", "2"] }), step("3", { skipIf: ["check", "3"] })]), f.deps, () => "");
    expect(f.ran).toEqual(["check 2", "check 3", "cmd 3"]);
    expect(r).toEqual({ ran: 1, skipped: 1, found: 1 });
  });
  test("on a first run the checks are not asked: what is on the disks then is not this plan's doing", async () => {
    const f = fake();
    const r = await applyPlan(plan([step("1", { skipIf: ["check", "1"] }), step("2")]), f.deps, () => "");
    expect(f.ran).toEqual(["cmd 1", "cmd 2"]);
    expect(r).toEqual({ ran: 2, skipped: 0, found: 0 });
    // a precondition check (a stacked device another release already removed) counts on every run
    const g = fake();
    await applyPlan(plan([step("1", { skipIf: ["check", "1"], checkAlways: true }), step("2")]), g.deps, () => "");
    expect(g.ran).toEqual(["check 1", "cmd 2"]);
  });
  test("a step that prepares the next one runs on every pass and is never marked", async () => {
    const f = fake({}, ["1", "2"]);
    await applyPlan(plan([step("1", { always: true }), step("2")]), f.deps, () => "");
    expect(f.ran).toEqual(["cmd 1"]);
    expect(f.marks.has("1")).toBe(true); // only because it was given as done: apply never adds it
    const g = fake();
    await applyPlan(plan([step("1", { always: true })]), g.deps, () => "");
    expect([...g.marks]).toEqual([]);
  });
  test("the fallback is tried when the command fails; an optional failure goes on", async () => {
    const f = fake({ "cmd 1": 5, "cmd 2": 1 });
    await applyPlan(plan([step("1", { fallback: ["alt", "1"] }), step("2", { optional: true }), step("3")]), f.deps, () => "");
    expect(f.ran).toEqual(["cmd 1", "alt 1", "cmd 2", "cmd 3"]);
  });
  test("the first failure stops with the command, its stderr tail and what to do; its marker is not written", async () => {
    const f = fake({ "cmd 2": 3 });
    let err: unknown;
    try {
      await applyPlan(plan([step("1"), step("2"), step("3")]), f.deps, (i) => `${i} done; run again`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StepFailed);
    expect((err as StepFailed).message).toBe("Step 2/3 'step 2' failed: 'cmd 2' exited with 3: it broke / badly");
    expect((err as StepFailed).hint).toBe("1 done; run again");
    expect([...f.marks]).toEqual(["1"]);
    expect(f.ran).not.toContain("cmd 3");
  });
  test("a device that does not appear after its step fails the step", async () => {
    const f = fake();
    f.deps.exists = () => false;
    await expect(applyPlan(plan([step("1", { waitFor: ["/dev/vda1"] })]), f.deps, () => "")).rejects.toThrow("/dev/vda1 did not appear");
  });
});
