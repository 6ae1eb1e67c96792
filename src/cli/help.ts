// `rear help` / `rear -h`: usage, options, the workflows with one line each, and the exit codes.

import { ExitCode } from "../engine/errors.ts";
import { findWorkflow, WORKFLOWS } from "../engine/workflows.ts";
import { argLines, synopsis } from "./workflow-args.ts";

/** `rear help WORKFLOW`: its synopsis, what it does, its arguments, where it runs. */
export function renderWorkflowHelp(name: string): string | undefined {
  const w = findWorkflow(name);
  if (!w || w.hidden) return undefined;
  const where = { normal: "on the original system", rescue: "inside the rescue system (or anywhere with -p)", both: "anywhere" }[w.placement];
  const args = argLines(name);
  return [
    `Usage: ${synopsis(name)}`,
    "",
    `${w.name}: ${w.description}${w.implemented ? "" : " (not implemented yet in this version: it exits with code 3)"}`,
    `Runs ${where}${w.noRoot ? "" : ", as root"}.`,
    ...(args.length ? ["", "Arguments:", ...args] : ["", "It takes no arguments."]),
    "",
    "OPTIONS are rear's global options: see 'rear help'.",
  ].join("\n");
}

export function renderHelp(opts: { verbose: boolean; recoveryMode: boolean; kernelVersion: string }): string {
  const L: string[] = [];
  L.push("Usage: rear [-h|--help] [-V|--version] [-dsSv] [-D|--debugscripts SET] [-c DIR] [-C CONFIG] [-r KERNEL] [-n|--non-interactive] [-e|--expose-secrets] [-p|--portable] [--] COMMAND [ARGS...]");
  L.push("");
  L.push("Relax-and-Recover comes with ABSOLUTELY NO WARRANTY; for details see");
  L.push("the GNU General Public License at: http://www.gnu.org/licenses/gpl.html");
  L.push("");
  L.push("Available options:");
  L.push(" -h --help           usage information (this text)");
  L.push(" -c DIR              alternative config directory; instead of /etc/rear");
  L.push(" -C CONFIG           additional config file; absolute path or relative to config directory");
  L.push(" -d                  debug mode; run many commands verbosely with debug messages in log file (also sets -v)");
  L.push(" -D                  debugscript mode; log executed commands and trace hook scripts with 'set -x' (also sets -v and -d)");
  L.push(" --debugscripts SET  same as -d -v -D but debugscript mode with 'set -SET'");
  L.push(` -r KERNEL           kernel version to use; currently '${opts.kernelVersion}'`);
  L.push(" -s                  simulation mode; show what modules are run (without executing them)");
  L.push(" -S                  step-by-step mode; acknowledge each module individually");
  L.push(" -v                  verbose mode; show messages what Relax-and-Recover is doing on the terminal");
  L.push(" -n --non-interactive  non-interactive mode; questions take their default after a short timeout");
  L.push(" -e --expose-secrets   do not hide secret values in the log and in 'rear dump'");
  L.push(" -p --portable       portable mode; run recover and friends from a normal system (PORTABLE output)");
  L.push(" -V --version        version information");
  L.push("");
  L.push("List of commands:");
  const rescueOnly = new Set(["recover", "layoutonly", "restoreonly", "finalizeonly", "mountonly", "opaladmin", "shell", "dump", "help"]);
  for (const w of [...WORKFLOWS].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (w.hidden || (w.advanced && !opts.verbose)) continue;
    if (opts.recoveryMode && !rescueOnly.has(w.name)) continue;
    const args = synopsis(w.name).slice(`rear [OPTIONS] ${w.name}`.length).trim();
    L.push(` ${w.name.padEnd(15)} ${w.description}${w.implemented ? "" : " (not implemented yet)"}${args ? `\n ${"".padEnd(15)}   arguments: ${args}` : ""}`);
  }
  if (!opts.verbose) L.push("Use 'rear -v help' for more advanced commands.");
  L.push("Use 'rear help COMMAND' for the arguments a command takes.");
  L.push("");
  L.push("Exit codes:");
  L.push(` ${ExitCode.OK}    success`);
  L.push(` ${ExitCode.USAGE}    usage or configuration error, unknown command, not root, refused here, already running;`);
  L.push("      checklayout: the layout or configuration changed");
  L.push(` ${ExitCode.FAILED}    the workflow failed (see the log)`);
  L.push(` ${ExitCode.NOT_IMPLEMENTED}    the workflow is not implemented yet in this version`);
  L.push(` ${ExitCode.INTERRUPTED}  interrupted (Ctrl-C)`);
  L.push(` ${ExitCode.TERMINATED}  terminated (SIGTERM)`);
  return L.join("\n");
}
