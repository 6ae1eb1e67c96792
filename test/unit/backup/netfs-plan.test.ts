import { describe, expect, test } from "bun:test";
import { archiveName, backupType, datedArchiveName, fullBackupDue, includeExcludeLists, isoVolumeMiB, parseDatedArchive, restoreChain, stampDate, volumeIsoLabel, layoutMountpoints } from "../../../src/backup/netfs-plan.ts";

const base = {
  mountpoints: ["/", "/boot/efi", "/home", "/.snapshots", "/scratch"],
  excludeMountpoints: ["/scratch"],
  include: ["/srv/extra"],
  exclude: ["/tmp/*", "/dev/shm/*"],
  onlyInclude: false,
  onlyExclude: false,
  manualInclude: false,
  alwaysExclude: ["/var/tmp/rear.XYZ", "/backup/host"],
};

describe("include and exclude lists (ReaR's 400_create_include_exclude_files.sh)", () => {
  test("the layout's mountpoints, not the excluded ones nor snapper's, plus BACKUP_PROG_INCLUDE", () => {
    const l = includeExcludeLists(base);
    expect(l.include).toEqual(["/", "/boot/efi", "/home", "/srv/extra"]);
    expect(l.exclude).toEqual(["/tmp/*", "/dev/shm/*", "/scratch/", "/var/tmp/rear.XYZ", "/backup/host"]);
    expect(l.notes.join("\n")).toMatch(/\/scratch is not backed up \(EXCLUDE_MOUNTPOINTS\)/);
    expect(l.notes.join("\n")).toMatch(/\/\.snapshots is not backed up/);
  });
  test("BACKUP_ONLY_INCLUDE / MANUAL_INCLUDE: only the given list; BACKUP_ONLY_EXCLUDE: only the given excludes (the work area still)", () => {
    expect(includeExcludeLists({ ...base, onlyInclude: true }).include).toEqual(["/srv/extra"]);
    expect(includeExcludeLists({ ...base, manualInclude: true }).include).toEqual(["/srv/extra"]);
    expect(includeExcludeLists({ ...base, onlyExclude: true }).exclude).toEqual(["/tmp/*", "/dev/shm/*", "/var/tmp/rear.XYZ", "/backup/host"]);
  });
});

describe("archive names and the restore chain", () => {
  test("the fixed name and BACKUP_TYPE", () => {
    expect(archiveName("backup", ".tar", ".gz")).toBe("backup.tar.gz");
    expect(archiveName("", ".tar", "")).toBe("backup.tar");
    expect(backupType("")).toBeUndefined();
    expect(backupType("Incremental")).toBe("incremental");
    expect(() => backupType("weekly")).toThrow(/BACKUP_TYPE='weekly'/);
  });
  test("dated names as ReaR's date +%Y-%m-%d-%H%M, parsed back", () => {
    const n = datedArchiveName(new Date(2026, 10, 23, 4, 5), "I", ".tar", ".gz");
    expect(n).toBe("2026-11-23-0405-I.tar.gz");
    expect(parseDatedArchive(n)).toEqual({ name: n, kind: "I", stamp: "2026-11-23-0405" });
    expect(parseDatedArchive("backup.tar.gz")).toBeUndefined();
    expect(parseDatedArchive(`${n}.sha256`)).toBeUndefined();
    expect(parseDatedArchive(`.${n}.partial-123`)).toBeUndefined();
    expect(stampDate("2026-11-23-0405").getTime()).toBe(new Date(2026, 10, 23, 4, 5).getTime());
  });
  const files = ["2026-11-10-0100-I.tar.gz.sha256", "2026-11-01-0100-F.tar.gz", "2026-11-02-0100-I.tar.gz", "2026-11-08-0100-F.tar.gz", "2026-11-09-0100-I.tar.gz", "2026-11-09-0200-D.tar.gz", "2026-11-10-0100-I.tar.gz", "2026-11-11-0100-D.tar.gz", "backup.log"];
  test("incremental: the latest full and every incremental after it, in order", () => {
    expect(restoreChain(files, "incremental")).toEqual(["2026-11-08-0100-F.tar.gz", "2026-11-09-0100-I.tar.gz", "2026-11-10-0100-I.tar.gz"]);
  });
  test("differential: the latest full and the latest differential after it", () => {
    expect(restoreChain(files, "differential")).toEqual(["2026-11-08-0100-F.tar.gz", "2026-11-11-0100-D.tar.gz"]);
    expect(restoreChain(["2026-11-08-0100-F.tar.gz"], "differential")).toEqual(["2026-11-08-0100-F.tar.gz"]);
    expect(restoreChain(["2026-11-09-0100-I.tar.gz"], "incremental")).toEqual([]);
  });
  test("a new full backup: none yet, a FULLBACKUPDAY, or the last one too old", () => {
    const monday = new Date(2026, 10, 23, 12); // 2026-11-23 is a Monday
    expect(fullBackupDue({ now: monday, fullBackupDays: [], outdatedDays: 7 }).due).toBe(true);
    expect(fullBackupDue({ now: monday, latestFull: new Date(2026, 10, 22), fullBackupDays: ["Mon"], outdatedDays: 7 })).toEqual({ due: true, why: "today is a FULLBACKUPDAY (Mon)" });
    expect(fullBackupDue({ now: monday, latestFull: new Date(2026, 10, 22), fullBackupDays: ["Sat", "Sun"], outdatedDays: 7 }).due).toBe(false);
    expect(fullBackupDue({ now: monday, latestFull: new Date(2026, 10, 14), fullBackupDays: [], outdatedDays: 7 }).why).toMatch(/9 days old/);
  });
});

describe("BACKUP=EXTERNAL", () => {
  test("the array is one command line; EXTERNAL_IGNORE_ERRORS codes count as success", async () => {
    const { evalLine, externalOk } = await import("../../../src/stages/backup/external.ts");
    expect(evalLine(["tar", "-czf", "/b/x.tgz", "", "-C", "/", "data"])).toBe("tar -czf /b/x.tgz -C / data");
    expect(externalOk(0, [])).toBe(true);
    expect(externalOk(1, ["1", "24"])).toBe(true);
    expect(externalOk(2, ["1", "24"])).toBe(false);
    expect(externalOk(2, [""])).toBe(false);
  });
});

describe("backup methods this version serves", () => {
  test("NETFS, RSYNC and EXTERNAL back up and restore, REQUESTRESTORE restores by other means; other internal methods say they are not built; external tools make their own backups", async () => {
    const { backupSupport } = await import("../../../src/stages/backup/method-check.ts");
    expect(backupSupport("NETFS", "mkbackup").ok).toBe(true);
    expect(backupSupport("EXTERNAL", "restoreonly").ok).toBe(true);
    expect(backupSupport("RSYNC", "mkbackuponly")).toEqual({ ok: true, why: "BACKUP=RSYNC" });
    expect(backupSupport("RSYNC", "restoreonly")).toEqual({ ok: true, why: "BACKUP=RSYNC" });
    expect(backupSupport("BORG", "mkbackuponly")).toEqual({ ok: false, why: "making BACKUP=BORG backups (this version makes NETFS, RSYNC and EXTERNAL ones)" });
    expect(backupSupport("TSM", "mkbackup").say).toBe("BACKUP=TSM: rear makes no backup; your backup software does (ReaR 2.7's mkbackup runs 'dsmc incremental' here; this version does not yet: let your TSM schedule or 'dsmc incremental' make it) (mkbackup makes the rescue system only)");
    expect(backupSupport("COVE", "mkbackuponly").say).toBe("BACKUP=COVE: rear makes no backup; the Cove Backup Manager does (it runs rear mkrescue and backs up the ISO with the files) (mkbackuponly has nothing to do)");
    expect(backupSupport("COVE", "recover").ok).toBe(true);
    expect(backupSupport("REQUESTRESTORE", "mkbackuponly").say).toMatch(/^BACKUP=REQUESTRESTORE: rear makes no backup; you restore one yourself/);
    expect(backupSupport("NETFS", "mkbackuponly").say).toBeUndefined();
    // REQUESTRESTORE: the files come by other means; rear waits for them (src/stages/backup/request-restore.ts)
    expect(backupSupport("REQUESTRESTORE", "restoreonly").ok).toBe(true);
    expect(backupSupport("BORG", "recover")).toEqual({ ok: false, why: "restoring BACKUP=BORG backups (this version restores NETFS, RSYNC, EXTERNAL and COVE ones, and waits for REQUESTRESTORE)" });
    expect(backupSupport("RSYNC", "mkrescue").ok).toBe(true);
  });
});

describe("ISO_MAX_SIZE (a backup over several ISOs)", () => {
  test("each volume: what the first ISO has left after kernel, initramfs, 15 MiB isolinux and 30 MiB UEFI, as ReaR", () => {
    expect(isoVolumeMiB("4400", 8 << 20, 90 << 20, true)).toBe(4400 - 98 - 15 - 30);
    expect(isoVolumeMiB("700", 8 << 20, 90 << 20, false)).toBe(700 - 98 - 15);
    expect(isoVolumeMiB("213", 1, 0, false)).toBe(213 - 1 - 15);
  });
  test("too small or not a number: says what is needed", () => {
    expect(() => isoVolumeMiB("200", 8 << 20, 90 << 20, true)).toThrow("ISO_MAX_SIZE=200 leaves 57 MiB for the backup beside the rescue system on the first ISO; at least 100 MiB are needed (set ISO_MAX_SIZE to 243 or more)");
    expect(() => isoVolumeMiB("4.4G", 0, 0, false)).toThrow("ISO_MAX_SIZE='4.4G' is not a size in MiB");
  });
  test("the further ISOs' labels", () => {
    expect(volumeIsoLabel("REAR-ISO", "01")).toBe("REAR-ISO_01");
  });
});

describe("layoutMountpoints", () => {
  test("file systems and mounted btrfs subvolumes, in layout order, once each (a subvolume has its own device number: tar --one-file-system does not enter it)", () => {
    const entries = [
      { kw: "fs", mountpoint: "/" },
      { kw: "btrfsdefaultsubvol", mountpoint: "/" },
      { kw: "btrfsmountedsubvol", mountpoint: "/home" },
      { kw: "btrfsmountedsubvol", mountpoint: "/var/lib/machines" },
      { kw: "btrfsmountedsubvol", mountpoint: "/.snapshots" },
      { kw: "fs", mountpoint: "/boot/efi" },
      { kw: "swap" },
    ];
    expect(layoutMountpoints(entries)).toEqual(["/", "/home", "/var/lib/machines", "/.snapshots", "/boot/efi"]);
    const l = includeExcludeLists({ ...base, excludeMountpoints: [], include: [], mountpoints: layoutMountpoints(entries) });
    expect(l.include).toEqual(["/", "/home", "/var/lib/machines", "/boot/efi"]);
  });
});
