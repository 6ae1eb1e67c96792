// The settings table: every variable of conf/default.conf with its type (and, for the method
// variables, the allowed values). default.conf is the one source of the default values and their
// documentation; a test checks that it and this table name the same variables. The configuration
// stays open to variables this table does not know (users' own, and the many of ReaR's backup agents).

import { z } from "zod";
import type { Value } from "./shell-eval.ts";
import { PLACEHOLDERS, unknownPlaceholders } from "../update/placeholders.ts";

export type SettingType = "string" | "array" | "bool" | "int" | "enum" | "words";
export interface Setting {
  type: SettingType;
  values?: readonly string[];
  secret?: boolean;
}

export const BACKUP_METHODS = [
  "NETFS", "RSYNC", "BORG", "EXTERNAL", "REQUESTRESTORE", "DUPLICITY", "BLOCKCLONE", "TSM", "NBU", "GALAXY",
  "GALAXY7", "GALAXY10", "GALAXY11", "DP", "NSR", "BACULA", "BAREOS", "SESAM", "AVA", "CDM", "PPDM", "VEEAM",
  "NBKDC", "FDRUPSTREAM", "COVE", "RBME", "YUM", "ZYPPER", "DUPLY", "NFS4SERVER", "OPALPBA",
] as const;
export const OUTPUT_METHODS = ["ISO", "USB", "PXE", "RAWDISK", "RAMDISK", "OBDR", "PORTABLE"] as const;

const words = (s: string): string[] => s.trim().split(/\s+/);

const ARRAYS = words(`
  AUTOEXCLUDE_PATH AUTOEXCLUDE_USB_PATH AUTORESIZE_EXCLUDE_PARTITIONS BACKUP_PROG_COMPRESS_OPTIONS
  BACKUP_PROG_EXCLUDE BACKUP_PROG_INCLUDE BACKUP_PROG_OPTIONS BACKUP_RESTORE_MOVE_AWAY_FILES BACKUP_RSYNC_OPTIONS
  CHECK_CONFIG_FILES CLONE_GROUPS CLONE_USERS COPY_AS_IS COPY_AS_IS_EXCLUDE COPY_KERNEL_PARAMETERS
  DIRECTORY_ENTRIES_TO_RECOVER DISABLE_DEPRECATION_ERRORS EFIBOOTMGR_CREATE_ENTRIES EXCLUDE_BACKUP
  EXCLUDE_COMPONENTS EXCLUDE_DEVICE_MAPPING EXCLUDE_IP_ADDRESSES EXCLUDE_MD EXCLUDE_MODULES EXCLUDE_MOUNTPOINTS
  EXCLUDE_NETWORK_INTERFACES EXCLUDE_RECREATE EXCLUDE_RESTORE EXCLUDE_VG EXTERNAL_IGNORE_ERRORS
  FILES_TO_PATCH_PATTERNS FIRMWARE_FILES FULLBACKUPDAY ISO_FILES LIBS LOCKLESS_WORKFLOWS MODULES MODULES_LOAD
  NETFS_RESTORE_CAPABILITIES NETWORKING_PREPARATION_COMMANDS ONLY_INCLUDE_VG OUTPUT_LFTP_OPTIONS
  OUTPUT_URL_FILES_PATTERNS POST_RECOVERY_COMMANDS PRE_RECOVERY_COMMANDS PROGS REBOOT_COMMANDS RECOVERY_COMMANDS
  RECOVERY_UPDATE_PATHS REQUIRED_PROGS REQUIRED_PROGS_COVE REQUIRED_PROGS_OBDR RESULT_FILES RESULT_MAILTO RESULT_SENDMAIL_OPTIONS SERIAL_CONSOLE_DEVICES
  SERIAL_CONSOLE_DEVICES_KERNEL SIMULTANEOUS_RUNNABLE_WORKFLOWS TRUSTED_FILES TRUSTED_FILE_OWNERS TRUSTED_OWNERS
  USB_FILES USE_RESOLV_CONF WRITE_PROTECTED_FS_LABEL_PATTERNS WRITE_PROTECTED_IDS WRITE_PROTECTED_ID_TYPES
`);

/** ReaR's is_true / is_false words; the empty value is allowed too (it usually means "automatic"). */
const BOOLS = words(`
  AUTOEXCLUDE_AUTOFS AUTOEXCLUDE_DISKS AUTOEXCLUDE_MULTIPATH BACKUP_ONLY_EXCLUDE BACKUP_ONLY_INCLUDE COVE_INCLUDE_AGENT
  BACKUP_PROG_CRYPT_ENABLED BACKUP_PROG_WARN_PARTIAL_TRANSFER BACKUP_SELINUX_DISABLE DRLM_MANAGED EFI_STUB
  GRUB_RESCUE KEEP_OLD_OUTPUT_COPY MANUAL_INCLUDE NETFS_KEEP_OLD_BACKUP_COPY RAWDISK_BOOT_EXCLUDE_GRUB2_EFI
  RAWDISK_BOOT_EXCLUDE_SYSLINUX_EFI RAWDISK_BOOT_EXCLUDE_SYSLINUX_LEGACY REBUILD_INITRAMFS
  RESTORE_ESP_FROM_RESCUE_SYSTEM SIMPLIFY_BONDING SIMPLIFY_BRIDGE SIMPLIFY_TEAMING SSH_UNPROTECTED_PRIVATE_KEYS
  UDEV_BEEP UDEV_EJECT UDEV_SUSPEND UDEV_UID_LED USE_DHCLIENT USE_SERIAL_CONSOLE USE_STATIC_NETWORKING USING_UEFI_BOOTLOADER
`);

/** Whole numbers (or empty). */
const INTS = words(`
  AUTOINCREASE_DISK_SIZE_THRESHOLD_PERCENTAGE AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE BACKUP_RSYNC_RETENTION_DAYS
  BORGBACKUP_PORT CDROM_SIZE COVE_POLL_INTERVAL COVE_RESTORE_TIMEOUT COVE_WAIT_IDLE FULLBACKUP_OUTDATED_DAYS GRUB2_TIMEOUT ISO_FILE_SIZE_LIMIT ISO_MAX_SIZE
  ISO_SYSLINUX_TIMEOUT OBDR_BLOCKSIZE PROGRESS_WAIT_SECONDS REAR_MAX_RETRIES RECOVERY_UPDATE_WAIT REAR_SLEEP_DELAY TAPE_BLOCKSIZE
  USB_BOOT_PART_SIZE USB_DEVICE_FILESYSTEM_PERCENTAGE USB_PARTITION_ALIGN_BLOCK_SIZE USB_RETAIN_BACKUP_NR
  USB_UEFI_PART_SIZE USER_INPUT_INTERRUPT_TIMEOUT USER_INPUT_MAX_CHARS USER_INPUT_TIMEOUT
  USER_INPUT_UNATTENDED_TIMEOUT WAIT_SECS
`);

const ENUMS: Record<string, readonly string[]> = {
  BACKUP: BACKUP_METHODS,
  OUTPUT: OUTPUT_METHODS,
  PROGRESS_MODE: ["ANSI", "plain"],
  REAR_INITRD_COMPRESSION: ["", "gzip", "zstd", "fast", "best", "lzma", "xz", "lz4"],
  BACKUP_TYPE: ["", "incremental", "differential"],
  ISO_DEFAULT: ["boothd", "boothd0", "boothd1", "manual", "automatic", "unattended"],
  PXE_CREATE_LINKS: ["", "MAC", "IP"],
  GRUB2_DEFAULT_BOOT: ["", "rear", "rear_secure_boot", "chainloader", "reboot", "exit"],
};

const STRINGS = words(`
  AUTORESIZE_PARTITIONS BACKUP_DUPLICITY_NAME BACKUP_INTEGRITY_CHECK BACKUP_MOUNTCMD BACKUP_OPTIONS
  BACKUP_PROG BACKUP_PROG_ARCHIVE BACKUP_PROG_COMPRESS_SUFFIX BACKUP_PROG_CRYPT_OPTIONS BACKUP_PROG_DECRYPT_OPTIONS
  BACKUP_PROG_OPTIONS_CREATE_ARCHIVE BACKUP_PROG_OPTIONS_RESTORE_ARCHIVE BACKUP_PROG_SUFFIX
  BACKUP_RESTORE_MOVE_AWAY_DIRECTORY BACKUP_UMOUNTCMD BACKUP_URL BOOTLOADER BORGBACKUP_ARCHIVE_PREFIX
  BORGBACKUP_COMPRESSION BORGBACKUP_ENC_TYPE BORGBACKUP_HOST BORGBACKUP_PRUNE_KEEP_DAILY
  BORGBACKUP_PRUNE_KEEP_HOURLY BORGBACKUP_PRUNE_KEEP_LAST BORGBACKUP_PRUNE_KEEP_MONTHLY BORGBACKUP_PRUNE_KEEP_WEEKLY
  BORGBACKUP_PRUNE_KEEP_WITHIN BORGBACKUP_PRUNE_KEEP_YEARLY BORGBACKUP_REMOTE_PATH BORGBACKUP_REPO
  BORGBACKUP_USERNAME CLONE_ALL_USERS_GROUPS COVE_INSTALL_DIR COVE_INSTALLER_CA COVE_INSTALLER_URL COVE_REAL_INSTALL_DIR COVE_REAL_INSTALL_DIR_MODE
  COVE_TIMESTAMP COVE_TRY_OVERLAYFS DISKS_TO_BE_WIPED KERNEL_CMDLINE_COVE
   GRUB2_INSTALL_DEVICES GRUB_RESCUE_USER ISO_DIR ISO_ISOLINUX_BIN ISO_MKISOFS_BIN
  ISO_MKISOFS_OPTS ISO_PREFIX ISO_RECOVER_MODE ISO_VOLID KEEP_BUILD_DIR KERNEL_CMDLINE KERNEL_FILE KEYMAP
  LANG_RECOVER LOGFILE LUKS_CRYPTSETUP_OPTIONS MESSAGE_PREFIX MIGRATION_MODE MKFS_XFS_OPTIONS NETFS_PREFIX
  NON_FATAL_BINARIES_WITH_MISSING_LIBRARY OUTPUT_LFTP_USERNAME OUTPUT_MOUNTCMD OUTPUT_OPTIONS OUTPUT_PREFIX
  OUTPUT_PREFIX_PXE OUTPUT_UMOUNTCMD OUTPUT_URL PING
  PXE_CONFIG_GRUB_STYLE PXE_CONFIG_PATH PXE_CONFIG_PREFIX PXE_CONFIG_URL 
  PXE_HTTP_URL PXE_RECOVER_MODE PXE_REMOVE_OLD_LINKS PXE_TFTP_IP PXE_TFTP_PATH PXE_TFTP_PREFIX
  PXE_TFTP_UPLOAD_URL PXE_TFTP_URL RAMDISK_SUFFIX RAWDISK_FAT_VOLUME_LABEL RAWDISK_GPT_PARTITION_NAME
  RAWDISK_IMAGE_COMPRESSION_COMMAND RAWDISK_IMAGE_NAME RAWDISK_INSTALL_GPT_PARTITION_NAME REBOOT_COMMANDS_LABEL
  RECOVERY_COMMANDS_LABEL RECOVERY_UPDATE_CA RECOVERY_UPDATE_SHA256 RECOVERY_UPDATE_SIGNERS RECOVERY_UPDATE_URL REQUESTRESTORE_ABORT_FILE REQUESTRESTORE_COMMAND
  REQUESTRESTORE_FINISHED_FILE REQUESTRESTORE_TEXT RESULT_MAILFROM RESULT_MAILSUBJECT RESULT_SENDMAIL RSYNC_PREFIX
  SECURE_BOOT_BOOTLOADER SERIAL_CONSOLE_DEVICE_GRUB SERIAL_CONSOLE_DEVICE_SYSLINUX SSH_FILES TAPE_DEVICE TIMESYNC
  TIMESYNC_SOURCE UDEV_WORKFLOW UEFI_BOOTLOADER USB_BOOTLOADER USB_DEVICE USB_DEVICE_BOOT_LABEL
  USB_DEVICE_FILESYSTEM USB_DEVICE_FILESYSTEM_LABEL USB_DEVICE_FILESYSTEM_PARAMS USB_DEVICE_PARTED_LABEL USB_RECOVER_MODE USB_SUFFIX
  USER_INPUT_PROMPT
`);

/** Command lines ReaR evaluates as `eval "${VAR[@]}"`: a string or an array both work there
 *  (default.conf itself shows PRE_RECOVERY_SCRIPT=( 'echo Hello' ';' 'sleep 3' )). */
const WORDS = words(`EXTERNAL_BACKUP EXTERNAL_CHECK EXTERNAL_RESTORE PRE_RECOVERY_SCRIPT POST_RECOVERY_SCRIPT PRE_BACKUP_SCRIPT POST_BACKUP_SCRIPT`);

/** Secrets: hidden in the log and in `rear dump` unless -e/--expose-secrets. */
export const SECRETS = words(`BACKUP_PROG_CRYPT_KEY COVE_TOKEN OUTPUT_LFTP_PASSWORD SSH_ROOT_PASSWORD TTY_ROOT_PASSWORD`);
/** Variables secret by their name: LUKS_PASSPHRASE_<mapping name> (the passphrase an unattended recover gives a LUKS volume). */
export const isSecretByName = (name: string): boolean => /^LUKS_PASSPHRASE_[A-Za-z0-9_]+$/.test(name);

function buildTable(): Map<string, Setting> {
  const t = new Map<string, Setting>();
  const add = (name: string, s: Setting) => {
    if (t.has(name)) throw new Error(`settings table: ${name} declared twice`);
    t.set(name, s);
  };
  for (const n of ARRAYS) add(n, { type: "array" });
  for (const n of BOOLS) add(n, { type: "bool" });
  for (const n of INTS) add(n, { type: "int" });
  for (const n of STRINGS) add(n, { type: "string" });
  for (const n of WORDS) add(n, { type: "words" });
  for (const [n, values] of Object.entries(ENUMS)) add(n, { type: "enum", values });
  for (const n of SECRETS) add(n, { type: "string", secret: true });
  return t;
}
export const SETTINGS: ReadonlyMap<string, Setting> = buildTable();

/**
 * Variables rear itself sets before default.conf is read (documented at the top of default.conf).
 * They are part of the evaluated configuration but have no default there.
 */
export const FRAMEWORK_VARS = words(`
  PROGRAM VERSION RELEASE_DATE HOSTNAME CONFIG_DIR VAR_DIR LOG_DIR SHARE_DIR REAR_DIR_PREFIX WORKFLOW
  ARCH REAL_ARCH MACHINE REAL_MACHINE OS OS_VENDOR OS_VERSION KERNEL_VERSION VERBOSE DEBUG DEBUGSCRIPTS
  DEBUGSCRIPTS_ARGUMENT SIMULATE STEPBYSTEP NON_INTERACTIVE EXPOSE_SECRETS PORTABLE RECOVERY_MODE TARGET_FS_ROOT
  DISKLAYOUT_FILE SECRET_OUTPUT_DEV OS_VENDOR_VERSION OS_VENDOR_ARCH OS_VENDOR_VERSION_ARCH OS_MASTER_VENDOR
  OS_MASTER_VERSION OS_MASTER_VENDOR_VERSION OS_MASTER_VENDOR_ARCH OS_MASTER_VENDOR_VERSION_ARCH
`);

const TRUE_WORDS = /^(t|y|yes|true|1)$/i;
const FALSE_WORDS = /^(f|n|no|false|0)$/i;

/** ReaR's is_true: only an explicit true word is true. */
export const isTrue = (v: string | undefined): boolean => v !== undefined && TRUE_WORDS.test(v);
/** ReaR's is_false: only an explicit false word is false (empty is neither). */
export const isFalse = (v: string | undefined): boolean => v !== undefined && FALSE_WORDS.test(v);

/** Edit distance with transpositions (BAKCUP is one edit from BACKUP), for "did you mean". */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/**
 * The setting a variable name is a typo of (`BAKCUP` → BACKUP, `OUTPUT_UR` → OUTPUT_URL), or undefined:
 * at most two edits away and not itself a setting. Your own variables stay allowed; a near miss is named.
 */
export function settingTypo(name: string): string | undefined {
  if (SETTINGS.has(name) || FRAMEWORK_VARS.includes(name) || name.length < 4) return undefined;
  let best: string | undefined;
  // one edit for short names, two for longer ones (ISO_VOLIDS, SSH_ROOT_PASSWD)
  let bestD = name.length < 8 ? 2 : 3;
  for (const k of SETTINGS.keys()) {
    // a setting with a suffix of its own is ReaR's per-method convention (COPY_AS_IS_TSM, LIBS_NBU)
    if (name.startsWith(`${k}_`) || Math.abs(k.length - name.length) > 2) continue;
    const d = distance(name, k);
    if (d < bestD) (bestD = d), (best = k);
  }
  return best;
}

export function didYouMean(value: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of choices) {
    if (c.toUpperCase() === value.toUpperCase()) return c;
    const dd = distance(value.toUpperCase(), c.toUpperCase());
    if (dd < bestD) {
      bestD = dd;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(value.length / 3)) ? best : undefined;
}

/** Checks of single settings beyond their type: a mistake found where it was written (mkrescue, dump), not
 *  in the rescue system in the middle of a disaster. */
const VALUE_CHECKS: Record<string, (v: string) => string | undefined> = {
  RECOVERY_UPDATE_URL: (v) => {
    if (v === "") return undefined;
    if (!/^https?:\/\/[^/\s]+/i.test(v)) return `RECOVERY_UPDATE_URL='${v}' is not an https:// URL (http:// only with RECOVERY_UPDATE_SHA256 or RECOVERY_UPDATE_SIGNERS)`;
    const unknown = unknownPlaceholders(v);
    return unknown.length ? `RECOVERY_UPDATE_URL='${v}': unknown placeholder {${unknown[0]}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(" ")})` : undefined;
  },
  // the Backup Manager's installer is a program run as root in the rescue system: https only (ReaR's pull request: curl -fsSL)
  COVE_INSTALLER_URL: (v) => (v === "" || /^https:\/\/[^/\s]+/i.test(v) ? undefined : `COVE_INSTALLER_URL='${v}' is not an https:// URL (the installer runs as root: it is downloaded over https only)`),
  RECOVERY_UPDATE_SHA256: (v) => {
    const bad = v.split(/[\s,]+/).filter(Boolean).find((w) => !/^[0-9a-fA-F]{64}$/.test(w));
    return bad ? `RECOVERY_UPDATE_SHA256: '${bad}' is not a sha256 (64 hex digits)` : undefined;
  },
};

function schemaFor(name: string, s: Setting): z.ZodType {
  const str = z.string({ error: `${name} must be a single value, not an array` });
  switch (s.type) {
    case "array":
      return z.array(z.string(), { error: `${name} is an array: assign it as ${name}=( … ) or ${name}+=( … )` });
    case "string": {
      const check = VALUE_CHECKS[name];
      return check ? str.refine((v) => check(v) === undefined, { error: (iss) => check(String(iss.input)) ?? `${name} is not valid` }) : str;
    }
    case "words":
      return z.union([z.string(), z.array(z.string())]);
    case "bool":
      return str.refine((v) => v === "" || isTrue(v) || isFalse(v), {
        error: (iss) => `${name}='${String(iss.input)}' is not a yes/no value (use y, yes, true, 1 or n, no, false, 0)`,
      });
    case "int":
      return str.regex(/^[0-9]*$/, { error: (iss) => `${name}='${String(iss.input)}' is not a whole number` });
    case "enum":
      return str.refine((v) => s.values!.includes(v), {
        error: (iss) => {
          const v = String(iss.input);
          if (v.trim() === "") return `${name} is empty; set it to one of ${s.values!.filter((x) => x !== "").join(" ")}`;
          const dym = didYouMean(v, s.values!.filter((x) => x !== ""));
          return `${name}='${v}' is not known; use one of ${s.values!.filter((x) => x !== "").join(" ")}${dym ? ` (did you mean ${dym}?)` : ""}`;
        },
      });
  }
}

/** The zod schema of the whole configuration: known settings typed, unknown variables allowed. */
export const configSchema = z.looseObject(
  Object.fromEntries([...SETTINGS].map(([name, s]) => [name, schemaFor(name, s).optional()])),
);

export interface SettingProblem {
  name: string;
  message: string;
}

/** The value bash's `$VAR` gives: a scalar itself, an array its first element ("" for an empty one). */
function scalarOf(v: Value): string {
  return typeof v === "string" ? v : (v[0] ?? "");
}

/**
 * Checks the evaluated variables against the table. A single-value setting written as an array is
 * taken as bash takes `$VAR`: its first element (ReaR's own talk writes
 * SECURE_BOOT_BOOTLOADER=( /boot/efi/EFI/*\/shimx64.efi ), a glob that bash expands with nullglob).
 */
export function validateSettings(vars: ReadonlyMap<string, Value>): SettingProblem[] {
  const obj: Record<string, Value> = {};
  for (const [k, v] of vars) {
    const s = SETTINGS.get(k);
    obj[k] = s && s.type !== "array" && s.type !== "words" ? scalarOf(v) : v;
  }
  const r = configSchema.safeParse(obj);
  if (r.success) return [];
  return r.error.issues.map((i) => ({ name: String(i.path[0] ?? ""), message: i.message }));
}

/** Notices for single-value settings given as arrays of more than one element (bash's $VAR uses the first). */
export function arrayNotices(vars: ReadonlyMap<string, Value>): SettingProblem[] {
  const out: SettingProblem[] = [];
  for (const [k, v] of vars) {
    const s = SETTINGS.get(k);
    if (!s || s.type === "array" || s.type === "words" || !Array.isArray(v) || v.length <= 1) continue;
    out.push({ name: k, message: `${k} takes one value but is an array of ${v.length} (${v.map((x) => `'${x}'`).join(" ")}): rear uses the first, '${v[0]}', as bash's $${k} does` });
  }
  return out;
}
