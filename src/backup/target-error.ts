// What a failed file operation on the backup target means for the user: one line naming the path, and
// what to do. Node's own messages ("EROFS: read-only file system, open '…/.backup.tar.gz.partial-123'")
// name a temporary file and no remedy. Pure.

export interface TargetProblem {
  message: string;
  hint: string;
}

const UNCHANGED = "the previous backup there is unchanged";

/**
 * `code` is the errno name of the failure, `path` the file or directory rear was writing (the target
 * directory, not a temporary name), `url` BACKUP_URL. Undefined for errors that are not about the target.
 */
export function targetProblem(code: string | undefined, path: string, url: string): TargetProblem | undefined {
  switch (code) {
    case "EROFS":
      return { message: `Cannot write the backup to ${path}: its filesystem is mounted read-only`, hint: `remount it read-write (mount -o remount,rw) or set BACKUP_URL to a writable place; ${UNCHANGED}` };
    case "EACCES":
    case "EPERM":
      return { message: `Cannot write the backup to ${path}: permission denied`, hint: `check the owner, mode and attributes of ${path} (ls -ld, lsattr -d; an NFS export may squash root), or set BACKUP_URL elsewhere; ${UNCHANGED}` };
    case "ENOSPC":
    case "EDQUOT":
    case "EFBIG":
      return { message: `The backup target is full: no space left for the backup in ${path}`, hint: `free space at ${url} or back up less (BACKUP_PROG_EXCLUDE); ${UNCHANGED}` };
    case "ENOTDIR":
    case "EEXIST":
      return { message: `Cannot write the backup to ${path}: a part of that path is a file, not a directory`, hint: `point BACKUP_URL (${url}) at a directory` };
    case "ENOENT":
      return { message: `Cannot write the backup to ${path}: it does not exist (any more)`, hint: `create it, or check that the filesystem meant for backups is mounted there` };
    case "EIO":
      return { message: `Cannot write the backup to ${path}: input/output error`, hint: `the target's disk or network failed: see dmesg; ${UNCHANGED}` };
    case "ESTALE":
    case "ENOTCONN":
      return { message: `Cannot write the backup to ${path}: the network filesystem went away (${code})`, hint: `check the server and the mount, then run the backup again; ${UNCHANGED}` };
    default:
      return undefined;
  }
}
