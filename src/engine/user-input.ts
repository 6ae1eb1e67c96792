// Questions to the user, automatable as ReaR's UserInput (reference §9.8): every question has an ID;
// USER_INPUT_<ID> (in the configuration or the environment) answers it without asking; -n/--non-interactive
// (or the rescue kernel option `unattended`) takes the default; a question on the terminal times out to
// its default after USER_INPUT_TIMEOUT seconds. Better than ReaR: a question without a safe default (the
// one that overwrites disks) never proceeds by timeout — it aborts — and a question that cannot be asked
// (no terminal, no answer given) says which USER_INPUT_<ID> answers it.

import { UserError, WorkflowError } from "./errors.ts";

export interface Question {
  /** ReaR's ID: USER_INPUT_<id> answers it */
  id: string;
  prompt: string;
  /** numbered choices; the answer may be the number or the text */
  choices?: string[];
  /** the choice (index) or text taken by -n and by a timeout; undefined: none is safe */
  default?: number | string;
  /** the default is taken by -n (unattended was asked for) but never by a timeout or for want of a
   *  terminal: the question that overwrites disks */
  destructive?: boolean;
  /** do not echo (passphrases) and never log the answer */
  secret?: boolean;
  /** seconds; default USER_INPUT_TIMEOUT */
  timeout?: number;
}

export interface Answer {
  text: string;
  /** the index of the choice, when there are choices */
  choice?: number;
  how: "predefined" | "user" | "default";
}

export interface UserInputDeps {
  /** USER_INPUT_<ID> from the configuration or the environment */
  predefined(id: string): string | undefined;
  nonInteractive: boolean;
  /** a terminal to ask on */
  canAsk: boolean;
  timeoutSecs: number;
  /** reads one line; undefined when the timeout passed */
  read(prompt: string, timeoutSecs: number, secret: boolean): string | undefined;
  /** shown to the user and logged */
  say(text: string): void;
  /** logged only */
  log(text: string): void;
}

export class UserInput {
  private readonly defaulted = new Set<string>();
  constructor(private readonly deps: UserInputDeps) {}

  ask(q: Question): Answer {
    const d = this.deps;
    const pre = d.predefined(q.id);
    if (pre !== undefined && pre !== "") {
      d.say(`UserInput: using the predefined answer in USER_INPUT_${q.id}${q.secret ? "" : `='${pre}'`}`);
      const a = this.resolve(q, pre);
      if (!a) throw new UserError(`USER_INPUT_${q.id}='${q.secret ? "…" : pre}' is not one of the answers to "${q.prompt}"`, q.choices ? `use a number 1-${q.choices.length} or one of: ${q.choices.join(" | ")}` : undefined);
      return { ...a, how: "predefined" };
    }
    if (d.nonInteractive || !d.canAsk) {
      if (q.default === undefined || (q.destructive && !d.nonInteractive)) {
        throw new WorkflowError(
          `Cannot ask "${q.prompt.split("\n")[0]}" ${d.nonInteractive ? "in non-interactive mode" : "without a terminal"} and it has no safe default (USER_INPUT_${q.id} answers it)`,
          `answer it with USER_INPUT_${q.id}=… in the environment or /etc/rear/local.conf${q.choices ? ` (${q.choices.map((c, i) => `${i + 1}=${c}`).join(", ")})` : ""}`,
        );
      }
      // asking the same question again after a default would loop for ever (ReaR errors too)
      if (this.defaulted.has(q.id)) throw new WorkflowError(`The question ${q.id} came again after its default answer was taken`, `answer it with USER_INPUT_${q.id}=…`);
      this.defaulted.add(q.id);
      const a = this.defaultOf(q)!;
      d.say(`UserInput: ${q.prompt} -> ${q.secret ? "(default)" : a.text} (default, ${d.nonInteractive ? "non-interactive" : "no terminal"})`);
      return { ...a, how: "default" };
    }
    for (;;) {
      const lines = [q.prompt, ...(q.choices ?? []).map((c, i) => `${i + 1}) ${c}`)];
      const def = this.defaultOf(q);
      const hint = def && !q.destructive ? ` (default '${def.choice !== undefined ? def.choice + 1 : def.text}' after ${q.timeout ?? d.timeoutSecs}s)` : "";
      const line = d.read(`${lines.join("\n")}\n(USER_INPUT_${q.id})${hint}: `, q.timeout ?? d.timeoutSecs, q.secret === true);
      if (line === undefined) {
        if (!def || q.destructive) throw new WorkflowError(`No answer to "${q.prompt}" within ${q.timeout ?? d.timeoutSecs} seconds: stopping, nothing was changed by it`, `run again and answer, or give USER_INPUT_${q.id}`);
        d.say(`UserInput: timeout, taking the default: ${q.secret ? "(hidden)" : def.text}`);
        return { ...def, how: "default" };
      }
      if (line.trim() === "" && def && !q.destructive) return { ...def, how: "default" };
      const a = this.resolve(q, line.trim());
      if (a) {
        d.log(`UserInput: ${q.id} answered ${q.secret ? "(hidden)" : `'${a.text}'`}`);
        return { ...a, how: "user" };
      }
      d.say(`'${line.trim()}' is not one of the answers; once more.`);
    }
  }

  private defaultOf(q: Question): Omit<Answer, "how"> | undefined {
    if (q.default === undefined) return undefined;
    if (typeof q.default === "number") return q.choices ? { text: q.choices[q.default]!, choice: q.default } : { text: String(q.default) };
    return this.resolve(q, q.default);
  }

  private resolve(q: Question, v: string): Omit<Answer, "how"> | undefined {
    if (!q.choices) return { text: v };
    if (/^[0-9]+$/.test(v)) {
      const i = Number(v) - 1;
      return i >= 0 && i < q.choices.length ? { text: q.choices[i]!, choice: i } : undefined;
    }
    const i = q.choices.findIndex((c) => c === v || c.toLowerCase().startsWith(v.toLowerCase()));
    return i >= 0 ? { text: q.choices[i]!, choice: i } : undefined;
  }
}
