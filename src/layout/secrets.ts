// Secrets a layout file may hold: ReaR's `password=` option of `crypt` (the LUKS passphrase, read by
// 160_include_luks_code.sh) and of `opaldisk` (the OPAL admin password). They are shown as
// `password=<hidden>` wherever rear prints or logs a layout line — showlayout, error messages, plan.json —
// unless -e (--expose-secrets) asks for them, as ReaR's save_original_file garbles them in its copies.
// Pure.

import type { DocLine, Entry, LayoutDoc } from "./model.ts";

export const HIDDEN = "<hidden>";

/** The entry with every password option replaced by <hidden> (the same object when it has none). */
export function hideEntrySecrets(e: Entry): Entry {
  if (e.kw === "crypt" && e.opts.password !== undefined) return { ...e, opts: { ...e.opts, password: HIDDEN } };
  if (e.kw === "other" && e.fields.some((f) => f.startsWith("password="))) return { ...e, fields: e.fields.map((f) => (f.startsWith("password=") ? `password=${HIDDEN}` : f)) };
  return e;
}

export function hideLineSecrets(l: DocLine): DocLine {
  if (l.t !== "entry") return l.t === "comment" ? { t: "comment", text: hideTextSecrets(l.text) } : l;
  const entry = hideEntrySecrets(l.entry);
  return entry === l.entry ? l : { ...l, entry };
}

export function hideDocSecrets(doc: LayoutDoc): LayoutDoc {
  return { lines: doc.lines.map(hideLineSecrets) };
}

/** A raw line of text (an error message quoting a line, a comment): `password=…` up to the next blank. */
export function hideTextSecrets(text: string): string {
  return text.replace(/(^|[\s#'"])password=\S*/g, `$1password=${HIDDEN}`);
}

export function hasSecrets(doc: LayoutDoc): boolean {
  return doc.lines.some((l) => l.t === "entry" && hideEntrySecrets(l.entry) !== l.entry);
}
