// Where a recover is: one small record, kept in the rescue system ($VAR_DIR/recover/state.json, for a
// run again after a failure) and, once the layout is made, on the recreated root filesystem as well
// (/.rear-recover-state.json, for a run again after a power cut: the rescue system's RAM is gone then,
// the disks are not). A recover run again continues after the last thing that finished: the layout is
// not made again, a restore that did not finish is redone into the same filesystems, finalize steps
// that finished are not repeated. ReaR has no such record: its recover always starts over.
// Pure.

export const STATE_FORMAT = "rear-recover-state/1";
/** on the recreated root filesystem; removed when the recover finished */
export const TARGET_STATE_FILE = ".rear-recover-state.json";

export interface RecoverState {
  format: typeof STATE_FORMAT;
  /** the layout and the disk mapping this recover works with: another layout or mapping starts over */
  layoutSha256: string;
  mapping: Record<string, string>;
  startedAt: string;
  layoutDoneAt?: string;
  restoreStartedAt?: string;
  restoreDoneAt?: string;
  /** ids of the finalize steps that finished, in order */
  finalizeDone: string[];
  /** fs_uuid_mapping as layout/recreate wrote it (old → new UUIDs the layout could not keep) */
  uuidMapping?: string;
}

export function newState(layoutSha256: string, mapping: Readonly<Record<string, string>>, now: Date): RecoverState {
  return { format: STATE_FORMAT, layoutSha256, mapping: { ...mapping }, startedAt: now.toISOString(), finalizeDone: [] };
}

const isStringMap = (v: unknown): v is Record<string, string> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");

/** The state from its JSON text, or undefined when it is not one (damaged, another format). */
export function parseState(text: string): RecoverState | undefined {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof j !== "object" || j === null) return undefined;
  const o = j as Record<string, unknown>;
  const optStr = (k: string) => o[k] === undefined || typeof o[k] === "string";
  if (o.format !== STATE_FORMAT || typeof o.layoutSha256 !== "string" || !isStringMap(o.mapping) || typeof o.startedAt !== "string") return undefined;
  if (!Array.isArray(o.finalizeDone) || !o.finalizeDone.every((x) => typeof x === "string")) return undefined;
  if (!["layoutDoneAt", "restoreStartedAt", "restoreDoneAt", "uuidMapping"].every(optStr)) return undefined;
  return o as unknown as RecoverState;
}

const sameMapping = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) => {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
};

/** Why a state cannot be continued with this layout and mapping, or undefined when it can. */
export function mismatch(s: RecoverState, layoutSha256: string, mapping: Readonly<Record<string, string>>): string | undefined {
  if (s.layoutSha256 !== layoutSha256) return "it was made from another disklayout.conf";
  if (!sameMapping(s.mapping, mapping)) return "it mapped the disks differently";
  return undefined;
}

/** The last thing that finished, for "resuming after …"; undefined when nothing did. */
export function resumePoint(s: RecoverState): string | undefined {
  if (s.finalizeDone.length) return `the finalize step '${s.finalizeDone[s.finalizeDone.length - 1]}' (restore finished ${s.restoreDoneAt ?? "?"})`;
  if (s.restoreDoneAt) return `the restore (finished ${s.restoreDoneAt})`;
  if (s.layoutDoneAt) return `the disk layout (made ${s.layoutDoneAt})${s.restoreStartedAt ? `; the restore that began ${s.restoreStartedAt} is done again` : ""}`;
  return undefined;
}

export const withFinalizeDone = (s: RecoverState, id: string): RecoverState => (s.finalizeDone.includes(id) ? s : { ...s, finalizeDone: [...s.finalizeDone, id] });
