// ReaR's exit tasks (AddExitTask): run in reverse order when rear ends, whether it succeeds, fails or
// is interrupted (SIGINT/SIGTERM). Each task runs once; one failing does not stop the others.

export interface ExitTask {
  label: string;
  run(): void | Promise<void>;
}

export class ExitTasks {
  private tasks: ExitTask[] = [];
  private ran = false;

  add(label: string, run: ExitTask["run"]): ExitTask {
    const t = { label, run };
    this.tasks.push(t);
    return t;
  }
  remove(t: ExitTask): void {
    this.tasks = this.tasks.filter((x) => x !== t);
  }
  labels(): string[] {
    return this.tasks.map((t) => t.label);
  }

  /** Runs all tasks, last added first. Returns the errors (the caller logs them). */
  async runAll(onError: (label: string, e: unknown) => void = () => {}): Promise<void> {
    if (this.ran) return;
    this.ran = true;
    for (const t of [...this.tasks].reverse()) {
      try {
        await t.run();
      } catch (e) {
        onError(t.label, e);
      }
    }
    this.tasks = [];
  }
}
