// Error classes and exit codes. Every error the user can see says what went wrong and what to do.

/** Documented exit codes (README "Exit codes", `rear help`). */
export const ExitCode = {
  OK: 0,
  /** usage or configuration error, unknown workflow, not root, refused placement, already running;
   *  also `checklayout`: the layout changed (as ReaR) */
  USAGE: 1,
  /** the workflow failed while running (ReaR exits 143 here because its Error() kills itself) */
  FAILED: 2,
  /** the workflow exists in ReaR but this version does not implement it yet */
  NOT_IMPLEMENTED: 3,
  /** interrupted by SIGINT (Ctrl-C) */
  INTERRUPTED: 130,
  /** terminated by SIGTERM */
  TERMINATED: 143,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake the user can fix: bad option, bad config, wrong place to run. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: number = ExitCode.USAGE,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** A configuration problem, located at a file and line when known. */
export class ConfigError extends UserError {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
    hint?: string,
  ) {
    super(file ? `${file}${line ? `:${line}` : ""}: ${message}` : message, hint);
    this.name = "ConfigError";
  }
}

/** An external command failed. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stderrTail: string,
    readonly what?: string,
  ) {
    super(
      `${what ? `${what}: ` : ""}'${argv.join(" ")}' failed with exit code ${code ?? "signal"}` +
        (stderrTail ? `: ${stderrTail.trim().split("\n").slice(-3).join(" / ")}` : ""),
    );
    this.name = "CommandError";
  }
}

/** A workflow error during a stage (ReaR's Error()). */
export class WorkflowError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, ExitCode.FAILED);
    this.name = "WorkflowError";
  }
}

/** The workflow or feature is not built yet: say so, never pretend. */
export class NotImplementedError extends UserError {
  constructor(what: string) {
    super(`${what} is not implemented yet in this version of rear`, undefined, ExitCode.NOT_IMPLEMENTED);
    this.name = "NotImplementedError";
  }
}

/** A bug in rear itself (ReaR's BugError). */
export class BugError extends Error {
  constructor(message: string) {
    super(`BUG in rear: ${message}. Please report it with the log file.`);
    this.name = "BugError";
  }
}
