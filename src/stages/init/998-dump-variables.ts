// ReaR's init/default/998_dump_variables.sh: in debug mode, the whole configuration goes into the log
// so a failed run can be understood from the log alone. Secrets are shown only with -e.

import type { Module } from "../../engine/module.ts";
import { formatVariable } from "../../cli/commands/dump.ts";

export const dumpVariables: Module = {
  stage: "init",
  order: 998,
  name: "dump_variables",
  what: "init/default/998_dump_variables.sh",
  when: (ctx) => ctx.cli.debug,
  run(ctx) {
    const lines = ctx.config.names().map((n) => formatVariable(ctx.config, n, ctx.cli.exposeSecrets));
    ctx.log.log(`Configuration variables:\n${lines.join("\n")}`);
  },
};
