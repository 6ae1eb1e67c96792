// The plan: what recreating the layout will do, as data (reference §5.5). A person reads it as
// diskrestore.sh, the apply engine runs its steps one by one with a done marker each, and tests compare
// it exactly (UUIDs that must be invented come from a seeded source).
// Pure.

import type { DocLine } from "../model.ts";

export interface Step {
  /** unique and stable: `NNN-action-component`, also the name of its done marker */
  id: string;
  /** the layout component (diskdeps naming) it belongs to */
  component: string;
  action: string;
  /** what it does, for people */
  summary: string;
  argv: string[];
  /** false for steps that only read or wait (udevadm settle) */
  mutates: boolean;
  /** fed to the command on stdin (an sfdisk script); never a secret */
  stdin?: string;
  /** the LUKS passphrase of this device is fed on stdin; asked for once per device when apply runs */
  secret?: { kind: "luks-passphrase"; name: string; device: string };
  /** tried when argv fails (ReaR: lvcreate -l 100%FREE when the exact size no longer fits) */
  fallback?: string[];
  /** runs on every pass and gets no done marker: it prepares the step after it, which may be redone */
  always?: boolean;
  /** a failure does not stop the plan (waiting for udev where none runs) */
  optional?: boolean;
  /** a check that exits 0 when the step's effect is already there (a run killed after the command but
   *  before its marker): then the step only gets its marker. Checked only when resuming the plan,
   *  unless `checkAlways`. */
  skipIf?: string[];
  /** skipIf says a precondition is gone rather than that this plan did it (a stacked device that
   *  releasing another one already removed): checked on every run */
  checkAlways?: boolean;
  /** device nodes that must exist afterwards (partitions after sfdisk); apply waits for them */
  waitFor?: string[];
}

export interface UuidChange {
  device: string;
  old: string;
  new: string;
  what: string;
}

export interface LuksKeyNote {
  /** the mapping name (home_crypt) and its LUKS device */
  name: string;
  device: string;
  /** the key file the restored system uses (crypttab); finalize adds it as a key */
  keyfile: string;
  /** the random key the volume was created with, until then */
  temporaryKey: string;
}

export const PLAN_FORMAT = "rear-plan/1";

export interface Plan {
  format: typeof PLAN_FORMAT;
  /** sha256 of the disklayout.conf the plan was made from */
  layoutSha256: string;
  /** saved disk → disk now */
  mapping: Record<string, string>;
  /** disks whose contents are destroyed */
  wipe: string[];
  steps: Step[];
  /** the layout as it will be after the plan: mapped and resized (compared with a probe afterwards) */
  layout: DocLine[];
  /** ids of active components the plan does not create (not supported): the user must do them */
  unhandled: { id: string; why: string }[];
  uuidChanges: UuidChange[];
  luksKeys: LuksKeyNote[];
  /** mountpoints under targetRoot, in mount order */
  mounts: string[];
  targetRoot: string;
  /** the directory of the done markers */
  doneDir: string;
}

/** UUIDs the plan must invent (a filesystem saved without one): random in real runs, seeded in tests. */
export interface UuidSource {
  next(): string;
}
