// `rear capturelayout DIR` (hidden, for developers): saves the raw output of every layout probe into
// DIR, one file per probe. Such a directory is a test fixture (test/fixtures/machines/<name>/probe):
// layout extraction is tested on what real machines print, without running anything.

import { mkdirSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { UserError } from "../../engine/errors.ts";
import { collectProbes, writeProbeDir } from "../../layout/probe/collect.ts";
import type { WorkflowCommand } from "./command.ts";

export const capturelayoutCommand: WorkflowCommand = {
  name: "capturelayout",
  args: { dir: { type: "positional", required: false, description: "an empty or new directory" } },
  async run(ctx, args) {
    const dir = args.dir as string | undefined;
    if (!dir) throw new UserError("rear capturelayout: which directory? Usage: rear capturelayout DIR", "DIR must be new or empty");
    const abs = resolve(dir);
    mkdirSync(abs, { recursive: true });
    if (readdirSync(abs).length > 0) throw new UserError(`rear capturelayout: ${abs} is not empty`, "give a new or empty directory");
    const t0 = performance.now();
    const data = await collectProbes({ note: (m) => ctx.log.log(m) });
    writeProbeDir(abs, data);
    ctx.log.logPrint(`Saved ${Object.keys(data).length} probe outputs in ${abs} (${Math.round(performance.now() - t0)} ms)`);
  },
};
