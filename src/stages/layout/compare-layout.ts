// checklayout (ReaR layout/precompare/default/110_check_layout_file.sh, layout/compare/default/500 and
// 510): a saved layout must exist; the current one (made by layout/save into the work area) is
// compared with it entry by entry, then the checksums of the configuration files. Exit code 1 when
// anything changed, as ReaR. `-v` prints the difference; `rear checklayout --json` prints it as JSON.

import { existsSync, readFileSync } from "node:fs";
import { readLayoutFile } from "../../recreate/saved-layout.ts";
import { dirname, join } from "node:path";
import { UserError, WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { compareLayouts, type LayoutDiff } from "../../layout/compare.ts";
import { hideTextSecrets } from "../../layout/secrets.ts";
import { LayoutSyntaxError, readDisklayout } from "../../layout/disklayout/read.ts";
import { LayoutJson } from "../../layout/model.ts";
import { checkConfigFiles, md5sums, type SavedLayout } from "./save-layout.ts";

const savedFile = (ctx: { config: { str(n: string): string }; paths: { varDir: string } }) => ctx.config.str("DISKLAYOUT_FILE") || `${ctx.paths.varDir}/layout/disklayout.conf`;

export const checkLayoutFile: Module = {
  stage: "layout/precompare",
  order: 110,
  name: "check_layout_file",
  what: "layout/precompare/default/110_check_layout_file.sh",
  run(ctx) {
    const f = savedFile(ctx);
    if (!existsSync(f) || readLayoutFile(f).trim() === "") {
      throw new WorkflowError(`No (non-empty) ${f} file (needs to be created before e.g. via 'rear mkrescue/mkbackup' or 'rear savelayout')`);
    }
  },
};

type Identity = Record<string, { serial?: string; wwn?: string } | undefined>;

function identities(json: unknown): Identity {
  const r = LayoutJson.safeParse(json);
  return r.success ? (r.data.facts as Identity) : {};
}

export const compareLayout: Module = {
  stage: "layout/compare",
  order: 500,
  name: "compare_layout",
  what: "layout/compare/default/500_compare_layout.sh, 510_compare_files.sh",
  run(ctx) {
    const f = savedFile(ctx);
    const cur = ctx.state.layout as SavedLayout;
    let saved;
    try {
      saved = readDisklayout(readLayoutFile(f), f).doc;
    } catch (e) {
      if (e instanceof LayoutSyntaxError) throw new UserError(e.message, "fix the line or save the layout again with 'rear savelayout'");
      throw e;
    }
    let savedJson: unknown;
    try {
      savedJson = JSON.parse(readFileSync(join(dirname(f), "layout.json"), "utf8"));
    } catch {}
    const diff: LayoutDiff = compareLayouts(saved, cur.doc, { saved: identities(savedJson), current: identities(cur.json) });
    if (diff.same) {
      ctx.log.logPrint(diff.renamed ? `Disk layout is identical (only disk names changed: ${Object.entries(diff.renamed).map(([a, b]) => `${a} is now ${b}`).join(", ")})` : "Disk layout is identical");
    } else {
      ctx.log.logPrint("Disk layout has changed");
      // a LUKS password= the user put into the saved file stays out of the terminal and the log
      for (const l of diff.removed) ctx.log.logPrint(`- ${hideTextSecrets(l)}`);
      for (const l of diff.added) ctx.log.logPrint(`+ ${hideTextSecrets(l)}`);
    }
    // configuration files (not part of the layout, but of what recover relies on)
    const sumsFile = `${ctx.paths.varDir}/layout/config/files.md5sum`;
    let filesChanged: string[] = [];
    if (existsSync(sumsFile)) {
      const old = readFileSync(sumsFile, "utf8");
      const now = md5sums(checkConfigFiles(ctx, cur.bootloader));
      if (old !== now) {
        const o = new Set(old.split("\n").filter(Boolean));
        const n = new Set(now.split("\n").filter(Boolean));
        filesChanged = [...new Set([...o].filter((x) => !n.has(x)).concat([...n].filter((x) => !o.has(x))).map((x) => x.slice(34)))].sort();
        ctx.log.logPrint("Configuration files have changed.");
        for (const x of filesChanged) ctx.log.logPrint(`  ${x}`);
      }
    }
    const changed = !diff.same || filesChanged.length > 0;
    if (ctx.args.includes("--json")) {
      process.stdout.write(`${JSON.stringify({ changed, layout: { same: diff.same, removed: diff.removed.map(hideTextSecrets), added: diff.added.map(hideTextSecrets), ...(diff.renamed ? { renamed: diff.renamed } : {}) }, configFilesChanged: filesChanged }, null, 1)}\n`);
    }
    if (changed) ctx.state.exitCode = 1;
  },
};
