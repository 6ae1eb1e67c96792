// `rear showlayout [FILE] [--json] [--format disklayout]` (new in this rear; lockless, read-only, no root
// needed to read a FILE): prints a layout file — by default the saved disklayout.conf — as a tree of
// components; `--json` prints the parsed model, `--format disklayout` the file written back from the
// model (the identity for a well-formed file). A malformed line is reported as FILE:LINE, exit 1, and
// so is a layout that could not be recreated (overlapping partitions, a device nothing declares, a
// dependency cycle, …: layout/validate.ts), the same check layoutonly and recover make before they
// touch a disk. A LUKS `password=` is shown as `password=<hidden>` unless -e.

import { FileReadError, LAYOUT_MAX_BYTES, readRegularFile } from "../../sys/read-file.ts";
import { UserError } from "../../engine/errors.ts";
import { LayoutSyntaxError, readDisklayout } from "../../layout/disklayout/read.ts";
import { writeDisklayout } from "../../layout/disklayout/write.ts";
import { hideDocSecrets } from "../../layout/secrets.ts";
import { renderTree } from "../../layout/show.ts";
import { checkLayout, formatProblems } from "../../layout/validate.ts";

export interface ShowlayoutResult {
  stdout: string;
  stderr: string;
}

export function showlayout(args: string[], defaultFile: string, opts: { exposeSecrets: boolean } = { exposeSecrets: false }): ShowlayoutResult {
  let json = false;
  let format: string | undefined;
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--json") json = true;
    else if (a === "--format") format = args[++i];
    else if (a.startsWith("--format=")) format = a.slice(9);
    else if (a.startsWith("-")) throw new UserError(`rear showlayout: unknown option '${a}'`, "usage: rear showlayout [FILE] [--json] [--format tree|disklayout]");
    else if (file === undefined) file = a;
    else throw new UserError(`rear showlayout: unexpected argument '${a}'`, "usage: rear showlayout [FILE] [--json] [--format tree|disklayout]");
  }
  if (format !== undefined && format !== "tree" && format !== "disklayout") throw new UserError(`rear showlayout: unknown format '${format}'`, "use --format tree or --format disklayout");
  const path = file ?? defaultFile;
  let text: string | undefined;
  try {
    text = readRegularFile(path, LAYOUT_MAX_BYTES);
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    throw new UserError(`rear showlayout: ${e.message}`, e.code === "EACCES" ? "run it as root, or give a copy of the file" : "give a disklayout.conf");
  }
  if (text === undefined) {
    throw new UserError(`rear showlayout: cannot read ${path}: no such file`, file ? undefined : "save the layout first with 'rear savelayout' (or mkrescue/mkbackup), or give a FILE");
  }
  let r;
  try {
    r = readDisklayout(text, path);
  } catch (e) {
    if (e instanceof LayoutSyntaxError) throw new UserError(e.message);
    throw e;
  }
  const known = r.doc.lines.some((l) => l.t === "entry" && l.entry.kw !== "other");
  if (!known && r.warnings.length) throw new UserError(`rear showlayout: ${path} does not look like a disklayout.conf (no disk, part, lvm, fs … line; ${r.warnings[0]})`);
  const problems = checkLayout(r.doc);
  if (problems.length) throw new UserError(formatProblems(path, problems), "correct these lines: 'rear layoutonly' and 'rear recover' refuse this layout before they touch a disk");
  const stderr = r.warnings.map((w) => `WARNING: ${w}\n`).join("");
  const doc = opts.exposeSecrets ? r.doc : hideDocSecrets(r.doc);
  if (json) return { stdout: `${JSON.stringify({ file: path, lines: doc.lines }, null, 1)}\n`, stderr };
  if (format === "disklayout") return { stdout: writeDisklayout(doc), stderr };
  return { stdout: `${renderTree(doc)}\n`, stderr };
}
