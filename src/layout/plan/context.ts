// What the step builders share while a plan is made: the input, the steps so far, and what they record
// for later stages. Pure.

import type { LayoutDoc } from "../model.ts";
import type { TargetProbe } from "../targets.ts";
import type { LuksKeyNote, Step, UuidChange, UuidSource } from "./types.ts";

export interface PlanInput {
  /** the layout to recreate, already mapped onto the disks of now and resized */
  doc: LayoutDoc;
  /** layout.json facts, keyed by (mapped) component id */
  facts: Record<string, Record<string, unknown>>;
  targets: TargetProbe;
  /** saved disk → disk now (identity when nothing moved) */
  mapping: Record<string, string>;
  /** disks to wipe before they are partitioned (DISKS_TO_BE_WIPED rules applied by the caller) */
  wipe: string[];
  /** saved xfs_info text by (mapped) device */
  xfsInfo: Record<string, string>;
  /** vgcfgbackup files by VG name (without /dev/), where they exist */
  lvmCfg: Record<string, string>;
  /** vgcfgrestore may be used (nothing changed: same disks, no resize) */
  allowVgcfgrestore: boolean;
  uuids: UuidSource;
  /** LUKS_CRYPTSETUP_OPTIONS, split into words */
  cryptsetupOptions: string[];
  /** MKFS_XFS_OPTIONS / MKFS_XFS_OPTIONS_<DEV>: replaces the saved geometry */
  xfsOptions(device: string): string[] | undefined;
  /** where the filesystems are mounted: /mnt/local */
  targetRoot: string;
  /** VAR_DIR/layout/recreate: done markers, temporary key files, btrfs top-level mounts */
  workDir: string;
  /** sha256 of the disklayout.conf */
  layoutSha256: string;
  /** the disklayout.conf the layout came from, to name it in errors */
  layoutFile?: string;
}

export class PlanContext {
  readonly steps: Step[] = [];
  readonly uuidChanges: UuidChange[] = [];
  readonly luksKeys: LuksKeyNote[] = [];
  readonly mounts: string[] = [];
  readonly unhandled: { id: string; why: string }[] = [];
  constructor(readonly input: PlanInput) {}

  facts(id: string): Record<string, unknown> | undefined {
    return this.input.facts[id];
  }

  add(component: string, action: string, summary: string, argv: string[], more: Partial<Omit<Step, "id" | "component" | "action" | "summary" | "argv">> = {}): Step {
    const n = String(this.steps.length + 1).padStart(3, "0");
    const slug = component.replace(/^\/dev\//, "").replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "") || "root";
    const step: Step = { id: `${n}-${action}-${slug}`, component, action, summary, argv, mutates: more.mutates ?? true, ...more };
    this.steps.push(step);
    return step;
  }

  /** the mount directory under the target root: / → /mnt/local, /home → /mnt/local/home */
  target(mountpoint: string): string {
    return mountpoint === "/" ? this.input.targetRoot : `${this.input.targetRoot}${mountpoint}`;
  }
}
