// Settings of ReaR's default.conf that nothing in this version implements yet. Set to anything other
// than its default, each is named once at default verbosity ("… has no effect"), and `rear dump` marks
// it, so no setting is silently ignored. A test keeps this list true: every variable of default.conf is
// either read by some module (its name appears quoted in src/) or listed here. Pure.

import type { Value } from "./shell-eval.ts";

const words = (s: string): string[] => s.trim().split(/\s+/);

export const UNSUPPORTED = new Set(words(`
  AUTOEXCLUDE_AUTOFS BACKUP_DUPLICITY_NAME BACKUP_INTEGRITY_CHECK BACKUP_MOUNTCMD BACKUP_PROG_CRYPT_OPTIONS
  BACKUP_PROG_OPTIONS_CREATE_ARCHIVE BACKUP_PROG_OPTIONS_RESTORE_ARCHIVE BACKUP_PROG_WARN_PARTIAL_TRANSFER
  BACKUP_RESTORE_MOVE_AWAY_DIRECTORY BACKUP_RESTORE_MOVE_AWAY_FILES BACKUP_SELINUX_DISABLE BACKUP_UMOUNTCMD
  BORGBACKUP_ARCHIVE_PREFIX BORGBACKUP_COMPRESSION BORGBACKUP_ENC_TYPE BORGBACKUP_HOST BORGBACKUP_PORT
  BORGBACKUP_PRUNE_KEEP_DAILY BORGBACKUP_PRUNE_KEEP_HOURLY BORGBACKUP_PRUNE_KEEP_LAST BORGBACKUP_PRUNE_KEEP_MONTHLY
  BORGBACKUP_PRUNE_KEEP_WEEKLY BORGBACKUP_PRUNE_KEEP_WITHIN BORGBACKUP_PRUNE_KEEP_YEARLY BORGBACKUP_REMOTE_PATH
  BORGBACKUP_REPO BORGBACKUP_USERNAME CDROM_SIZE CLONE_ALL_USERS_GROUPS CLONE_GROUPS CLONE_USERS
  DISABLE_DEPRECATION_ERRORS DRLM_MANAGED EFIBOOTMGR_CREATE_ENTRIES EFI_STUB EXCLUDE_BACKUP EXCLUDE_DEVICE_MAPPING
     GRUB_RESCUE GRUB_RESCUE_USER LANG_RECOVER
  NETFS_RESTORE_CAPABILITIES OBDR_BLOCKSIZE OUTPUT_LFTP_OPTIONS OUTPUT_LFTP_USERNAME 
  OUTPUT_UMOUNTCMD OUTPUT_URL_FILES_PATTERNS PING   
   PROGRESS_MODE PROGRESS_WAIT_SECONDS   
        
      RAWDISK_BOOT_EXCLUDE_SYSLINUX_EFI
    
    REAR_MAX_RETRIES
  REAR_SLEEP_DELAY REBOOT_COMMANDS REBOOT_COMMANDS_LABEL  RECOVERY_COMMANDS RECOVERY_COMMANDS_LABEL
  REQUIRED_PROGS_OBDR RESTORE_ESP_FROM_RESCUE_SYSTEM RESULT_FILES RESULT_MAILFROM
  RESULT_MAILSUBJECT RESULT_MAILTO RESULT_SENDMAIL RESULT_SENDMAIL_OPTIONS SERIAL_CONSOLE_DEVICES
  SERIAL_CONSOLE_DEVICES_KERNEL SERIAL_CONSOLE_DEVICE_GRUB SERIAL_CONSOLE_DEVICE_SYSLINUX TAPE_BLOCKSIZE TAPE_DEVICE
  TIMESYNC TIMESYNC_SOURCE TRUSTED_FILE_OWNERS     UEFI_BOOTLOADER
  USB_BOOTLOADER USB_BOOT_PART_SIZE  USB_DEVICE_BOOT_LABEL 
     USB_DEVICE_PARTED_LABEL
  USB_FILES     USER_INPUT_MAX_CHARS
  USER_INPUT_PROMPT USER_INPUT_UNATTENDED_TIMEOUT USE_RESOLV_CONF USE_SERIAL_CONSOLE WAIT_SECS
`));

/** OUTPUT_URL schemes ReaR uploads with lftp (output/default/950_copy_result_files.sh): not built yet
 *  (sftp:// is: mounted with sshfs, src/output/url.ts sftpAsSshfs). */
export const LFTP_SCHEMES = /^(fish|ftp|ftps|hftp|http|https):/;

function same(a: Value | undefined, b: Value | undefined): boolean {
  return JSON.stringify(a ?? "") === JSON.stringify(b ?? "");
}

/** The unsupported settings whose value differs from default.conf's. */
export function unsupportedInUse(values: ReadonlyMap<string, Value>, defaults: ReadonlyMap<string, Value>): string[] {
  return [...UNSUPPORTED].filter((n) => values.has(n) && !same(values.get(n), defaults.get(n))).sort();
}

/** The one-line notice for a setting nothing implements. */
export function unsupportedNotice(name: string): string {
  return `${name} is not supported by this version yet; it has no effect`;
}
