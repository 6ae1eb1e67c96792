// What every stage module and workflow command receives.

import type { CliOptions } from "../cli/getopt.ts";
import type { Config } from "../config/config.ts";
import type { Paths } from "../config/paths.ts";
import type { ExitTasks } from "./exit-tasks.ts";
import type { Logger } from "./log.ts";
import type { WorkArea } from "./work-area.ts";
import type { WorkflowDef } from "./workflows.ts";

export interface Context {
  cli: CliOptions;
  workflow: WorkflowDef;
  /** the words after the workflow name */
  args: string[];
  config: Config;
  paths: Paths;
  log: Logger;
  exitTasks: ExitTasks;
  /** undefined for workflows that need none (help) */
  workArea?: WorkArea;
  recoveryMode: boolean;
  /** the environment for child processes (hook scripts, tools) */
  env: Record<string, string | undefined>;
  /** reads one line from the user (prompts of -S); undefined at end of input */
  readLine(prompt: string): string | undefined;
  /** mutable results handed from one module to the next (layout, plan, …) */
  state: Record<string, unknown>;
}
