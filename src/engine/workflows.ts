// ReaR's workflows (usr/share/rear/lib/*-workflow.sh) as data: their stages in order, where they may
// run, how they lock, and whether this version implements them. Every workflow first runs stage
// "init", as in ReaR. Function workflows (help, dump, shell, …) have no stages of their own.

export const STAGES = [
  "init", "prep", "layout/save", "layout/precompare", "layout/compare", "layout/prepare", "layout/recreate",
  "layout/prep-for-mount", "layout/do-mount", "rescue", "build", "pack", "output", "backup", "setup", "verify",
  "check", "restore", "final-mount", "finalize", "wrapup", "format",
] as const;
export type StageName = (typeof STAGES)[number];

/** What kind of machine a workflow may run on (init/default/002_check_rear_recover_mode.sh). */
export type Placement = "normal" | "rescue" | "both";

export interface WorkflowSettings {
  BACKUP_URL?: string;
  OUTPUT?: string;
}

export interface WorkflowDef {
  name: string;
  description: string;
  /** listed by `rear help` only with -v (as ReaR) */
  advanced?: boolean;
  /** not listed at all (ReaR's mkboot) */
  hidden?: boolean;
  /** stages after init, or undefined for a function workflow */
  stages?: (s: WorkflowSettings) => StageName[];
  placement: Placement;
  /** false: the workflow is known but not built yet; running it says so and exits 3 */
  implemented: boolean;
  /** ReaR forces VERBOSE for these */
  forceVerbose?: boolean;
  /** runs without root (help only; --version never reaches a workflow) */
  noRoot?: boolean;
  /** needs no work area (ReaR: help has no BUILD_DIR) */
  noWorkArea?: boolean;
}

const isIsoBackup = (s: WorkflowSettings) => /^iso:/.test(s.BACKUP_URL ?? "") && s.OUTPUT === "ISO";
/** OUTPUT=PORTABLE makes no rescue image: the rescue, build and pack stages do not run (ReaR runs them and throws the initramfs away). */
const rescueStages = (s: WorkflowSettings) => (s.OUTPUT === "PORTABLE" ? [] : (["rescue", "build", "pack"] as const));

export const WORKFLOWS: readonly WorkflowDef[] = [
  {
    name: "mkrescue", description: "create rescue media only", placement: "normal", implemented: true,
    stages: (s) => ["prep", "layout/save", ...rescueStages(s), "output"],
  },
  {
    name: "mkbackup", description: "create rescue media and backup system", placement: "normal", implemented: true,
    // With BACKUP_URL=iso://… the backup must exist before the ISO is made (ReaR's mkbackup-workflow.sh).
    stages: (s) => ["prep", "layout/save", ...rescueStages(s), ...(isIsoBackup(s) ? (["backup", "output"] as const) : (["output", "backup"] as const))],
  },
  {
    name: "mkbackuponly", description: "backup system without creating rescue media", placement: "normal", implemented: true,
    stages: () => ["prep", "layout/save", "backup"],
  },
  {
    name: "recover", description: "recover the system", placement: "rescue", implemented: true, forceVerbose: true,
    stages: () => ["setup", "verify", "layout/prepare", "layout/recreate", "restore", "finalize", "wrapup"],
  },
  {
    name: "restoreonly", description: "only restore the backup", placement: "rescue", implemented: true,
    stages: () => ["setup", "verify", "restore", "wrapup"],
  },
  {
    name: "layoutonly", description: "only recreate the disk layout and mount it at /mnt/local (--dry-run: only show the plan; --restart: start over)", advanced: true, placement: "rescue", implemented: true,
    stages: () => ["setup", "layout/prepare", "layout/recreate"],
  },
  {
    name: "mountonly", description: "use ReaR as live media to mount and repair the system", placement: "rescue", implemented: true, forceVerbose: true,
    stages: () => ["setup", "check", "layout/prep-for-mount", "layout/do-mount", "final-mount", "wrapup"],
  },
  {
    name: "finalizeonly", description: "only finalize the recovered system mounted at /mnt/local (boot loader, initramfs)", advanced: true, placement: "rescue", implemented: true, forceVerbose: true,
    stages: () => ["setup", "verify", "layout/prepare", "finalize", "wrapup"],
  },
  {
    name: "checklayout", description: "check if the disk layout has changed", placement: "normal", implemented: true,
    stages: () => ["layout/precompare", "prep", "layout/save", "layout/compare"],
  },
  {
    name: "savelayout", description: "save the disk layout", advanced: true, placement: "normal", implemented: true,
    stages: () => ["prep", "layout/save"],
  },
  {
    name: "showlayout", description: "show a layout file (default: the saved one) as a tree; --json, --format disklayout",
    placement: "both", implemented: true, noRoot: true, noWorkArea: true,
  },
  { name: "dump", description: "dump configuration and system information", placement: "both", implemented: true },
  { name: "format", description: "format and label medium for use with ReaR", placement: "normal", implemented: true, stages: () => ["format"] },
  { name: "udev", description: "udev handler (run when a REAR-000 USB disk is plugged in)", advanced: true, placement: "normal", implemented: true, noWorkArea: true },
  { name: "validate", description: "submit validation information", placement: "normal", implemented: false, forceVerbose: true },
  { name: "shell", description: "start a bash within rear; development tool", advanced: true, placement: "both", implemented: true, forceVerbose: true },
  { name: "help", description: "show the usage and the list of commands", advanced: true, placement: "both", implemented: true, noRoot: true, noWorkArea: true },
  {
    name: "mkopalpba", description: "create a pre-boot authentication (PBA) image to boot from TCG Opal 2-compliant self-encrypting disks",
    placement: "normal", implemented: false, stages: () => ["prep", "rescue", "build", "pack", "output"],
  },
  { name: "opaladmin", description: "administrate TCG Opal 2-compliant self-encrypting disks", placement: "both", implemented: false },
  {
    name: "capturelayout", description: "save the raw output of every layout probe into a directory (test fixtures)", hidden: true,
    placement: "both", implemented: true,
  },
  {
    name: "mkboot", description: "create a boot medium without a layout (development)", hidden: true, placement: "normal", implemented: false,
    stages: () => ["prep", "rescue", "build", "pack", "output"],
  },
];

export function findWorkflow(name: string): WorkflowDef | undefined {
  return WORKFLOWS.find((w) => w.name === name);
}

/** Why a workflow may not run here, or undefined. ReaR's 002_check_rear_recover_mode.sh; -p skips it,
 *  and so does --dry-run of the layout workflows (it only reads: "what would recover do on this machine"). */
export function placementError(w: WorkflowDef, recoveryMode: boolean, portable: boolean, args: readonly string[] = []): string | undefined {
  if (portable) return undefined;
  if (args.includes("--dry-run") && (w.name === "layoutonly" || w.name === "recover")) return undefined;
  if (recoveryMode && w.placement === "normal") {
    return `The workflow '${w.name}' cannot run inside the rescue system (it is for the original system)`;
  }
  if (!recoveryMode && w.placement === "rescue") {
    return `The workflow '${w.name}' is only supported inside the rescue system (boot the rescue medium, or use -p/--portable)`;
  }
  return undefined;
}
