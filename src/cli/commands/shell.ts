// `rear shell`: an interactive bash with the whole configuration set (exported ones in the
// environment), for looking around and for developing hook scripts. Prompt as ReaR's: `REAR host:dir #`.

import { writeFileSync } from "node:fs";
import { configPrelude } from "../../engine/bash-run.ts";
import { exec } from "../../sys/exec.ts";
import { encodeBytes } from "../../sys/bytes.ts";
import { bashQuote } from "../../config/bash-eval.ts";
import type { WorkflowCommand } from "./command.ts";

export const shellCommand: WorkflowCommand = {
  name: "shell",
  args: {},
  async run(ctx) {
    const rc = `${ctx.workArea!.tmpDir}/rear-shell.bashrc`;
    // the rc file holds the configuration with its secrets: it removes itself once bash read it
    writeFileSync(rc, encodeBytes(`${configPrelude(ctx)}\nPS1='REAR \\h:\\w # '\nrm -f -- ${bashQuote(rc)}\n`), { mode: 0o600 });
    ctx.log.log("Starting an interactive bash with rear's configuration");
    const r = await exec(["bash", "--rcfile", rc, "-i"], { env: ctx.env, interactive: true });
    return r.code === 0 ? 0 : r.code;
  },
};
