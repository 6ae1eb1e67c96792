import { describe, expect, test } from "bun:test";
import {
  backupLogName, joinRsh, parseRsyncStats, parseRsyncUrl, remotePath, remoteShell, restoreExcludeLines, rsyncBackupArgv, rsyncCaps, rsyncDisplay,
  rsyncExitMeaning, rsyncOptions, rsyncOutcome, rsyncRemote, rsyncRestoreArgv, RsyncUrlError, shQuote, splitRsh, sshArgv, takeRshOption,
} from "../../../src/backup/rsync-plan.ts";

const caps = (protocol: number, acls: boolean, xattrs: boolean) => ({ protocol, acls, xattrs });
const FULL = caps(31, true, true);

describe("rsync URLs (ReaR's lib/rsync-functions.sh)", () => {
  test("rsync://HOST/PATH is ssh; '::' selects the daemon, whose first path element is the module; the user is root when none is given", () => {
    expect(parseRsyncUrl("rsync://backup.example/srv/rear")).toEqual({ proto: "ssh", user: "root", host: "backup.example", path: "/srv/rear" });
    expect(parseRsyncUrl("rsync://bk@backup.example:2222/srv/rear")).toEqual({ proto: "ssh", user: "bk", host: "backup.example", port: 2222, path: "/srv/rear" });
    expect(parseRsyncUrl("rsync://backup.example::/rear/hosts")).toEqual({ proto: "rsync", user: "root", host: "backup.example", path: "rear/hosts" });
    expect(parseRsyncUrl("rsync://u@10.0.0.1:8730::/rear")).toEqual({ proto: "rsync", user: "u", host: "10.0.0.1", port: 8730, path: "rear" });
    expect(parseRsyncUrl("rsync://[fd00::5]:22/x")).toEqual({ proto: "ssh", user: "root", host: "fd00::5", port: 22, path: "/x" });
    expect(parseRsyncUrl("rsync://host")).toEqual({ proto: "ssh", user: "root", host: "host", path: "/" });
  });
  test("the old forms: [USER@]HOST:PATH is ssh (relative paths too), [USER@]HOST::MODULE/PATH the daemon", () => {
    expect(parseRsyncUrl("bk@srv:/data/rear")).toEqual({ proto: "ssh", user: "bk", host: "srv", path: "/data/rear" });
    expect(parseRsyncUrl("srv:backups")).toEqual({ proto: "ssh", user: "root", host: "srv", path: "backups" });
    expect(parseRsyncUrl("srv::rear/hosts")).toEqual({ proto: "rsync", user: "root", host: "srv", path: "rear/hosts" });
    expect(parseRsyncUrl("u@[fd00::5]:/x")).toEqual({ proto: "ssh", user: "u", host: "fd00::5", path: "/x" });
  });
  test("what is not an rsync URL is refused with the forms to write", () => {
    expect(() => parseRsyncUrl("nfs://srv/export")).toThrow(RsyncUrlError);
    expect(() => parseRsyncUrl("/just/a/path")).toThrow(/is not an rsync URL: write rsync:\/\/\[USER@\]HOST\[:PORT\]\/PATH \(ssh\)/);
    expect(() => parseRsyncUrl("rsync://srv::/")).toThrow(/names no rsync module/);
    expect(() => parseRsyncUrl("srv::")).toThrow(/names no rsync module/);
    expect(() => parseRsyncUrl("rsync://srv:http/x")).toThrow(/not a port/);
    expect(() => parseRsyncUrl("rsync://srv:70000/x")).toThrow(/port out of range/);
    expect(() => parseRsyncUrl("rsync:///x")).toThrow(/has no host/);
  });
  test("remote paths and what rsync is given (ReaR's rsync_remote_full): user@host:path, rsync://user@host:port/module/path", () => {
    const ssh = parseRsyncUrl("rsync://srv/data/");
    expect(remotePath(ssh, "web1", "backup")).toBe("/data/web1/backup");
    expect(rsyncRemote(ssh, "web1", "backup")).toBe("root@srv:/data/web1/backup");
    expect(rsyncRemote(ssh)).toBe("root@srv:/data");
    expect(rsyncRemote(parseRsyncUrl("rsync://srv"))).toBe("root@srv:/");
    expect(rsyncRemote(parseRsyncUrl("rsync://srv"), "web1")).toBe("root@srv:/web1");
    expect(rsyncRemote(parseRsyncUrl("srv:rel"), "web1")).toBe("root@srv:rel/web1");
    expect(rsyncRemote(parseRsyncUrl("rsync://[fd00::5]/x"), "h")).toBe("root@[fd00::5]:/x/h");
    expect(rsyncRemote(parseRsyncUrl("srv::rear"), "web1", "backup")).toBe("rsync://root@srv:873/rear/web1/backup");
    expect(rsyncRemote(parseRsyncUrl("rsync://bk@srv:8730::/rear/x"), "web1")).toBe("rsync://bk@srv:8730/rear/x/web1");
    expect(rsyncDisplay(parseRsyncUrl("rsync://bk@srv:2222/d"))).toBe("bk@srv (port 2222):/d");
  });
});

describe("the remote shell", () => {
  test("ssh with BatchMode=yes and the URL's port; the user's RSYNC_RSH or -e kept, their own BatchMode respected; not an ssh: as it is", () => {
    const u = parseRsyncUrl("rsync://srv:2222/d");
    expect(remoteShell(u, undefined)).toEqual(["ssh", "-o", "BatchMode=yes", "-p", "2222"]);
    expect(remoteShell(parseRsyncUrl("srv:/d"), "ssh -F '/tmp/my config'")).toEqual(["ssh", "-F", "/tmp/my config", "-o", "BatchMode=yes"]);
    expect(remoteShell(parseRsyncUrl("srv:/d"), "/usr/bin/ssh -o BatchMode=no")).toEqual(["/usr/bin/ssh", "-o", "BatchMode=no"]);
    expect(remoteShell(parseRsyncUrl("srv:/d"), "rsh -l bk")).toEqual(["rsh", "-l", "bk"]);
    expect(sshArgv(["ssh", "-o", "BatchMode=yes"], parseRsyncUrl("bk@srv:/d"), "rsync --version")).toEqual(["ssh", "-o", "BatchMode=yes", "bk@srv", "rsync --version"]);
  });
  test("rsync's own splitting of -e (spaces, quotes) and its reverse", () => {
    expect(splitRsh(`ssh  -i "/k ey" -o 'A=b c'`)).toEqual(["ssh", "-i", "/k ey", "-o", "A=b c"]);
    expect(splitRsh(`ssh -o ''`)).toEqual(["ssh", "-o", ""]);
    const words = ["ssh", "-F", "/tmp/my config", "-o", "x='y'", ""];
    expect(splitRsh(joinRsh(words))).toEqual(words);
  });
  test("a remote shell in BACKUP_RSYNC_OPTIONS is taken out (rear passes its own --rsh)", () => {
    expect(takeRshOption(["--archive", "-e", "ssh -p 2", "--stats"])).toEqual({ options: ["--archive", "--stats"], rsh: "ssh -p 2" });
    expect(takeRshOption(["--rsh=ssh -x", "-essh"]).rsh).toBe("ssh");
    expect(takeRshOption(["--archive"])).toEqual({ options: ["--archive"] });
  });
  test("words for the remote shell are quoted", () => {
    expect(shQuote("/data/web1/backup")).toBe("/data/web1/backup");
    expect(shQuote("/data/my dir/it's")).toBe(`'/data/my dir/it'\\''s'`);
  });
});

describe("what each rsync can keep, and the options of each direction", () => {
  test("rsync --version: protocol, ACLs and xattrs, or 'no ACLs'; no protocol line is 29 (ReaR)", () => {
    const v = "rsync  version 3.2.7  protocol version 31\nCapabilities:\n    64-bit files, socketpairs, symlinks, hardlinks, IPv6, atimes, batchfiles, inplace, append, ACLs,\n    xattrs, optional secluded-args, iconv, prealloc, stop-at, no crtimes\n";
    expect(rsyncCaps(v)).toEqual(FULL);
    expect(rsyncCaps("rsync  version 3.1.3  protocol version 31\n    socketpairs, hardlinks, symlinks, IPv6, batchfiles, inplace,\n    append, no ACLs, xattrs, iconv, symtimes, prealloc\n")).toEqual(caps(31, false, true));
    expect(rsyncCaps("rsync version 2.6.9\n")).toEqual(caps(29, false, false));
  });
  test("backup: BACKUP_RSYNC_OPTIONS + --relative + --acls --xattrs when both ends keep them; restore: without --relative/-R", () => {
    const def = ["--sparse", "--archive", "--hard-links", "--numeric-ids", "--stats"];
    const ssh = parseRsyncUrl("srv:/d");
    expect(rsyncOptions({ options: def, direction: "backup", local: FULL, remote: FULL, url: ssh }).options).toEqual([...def, "--relative", "--acls", "--xattrs"]);
    expect(rsyncOptions({ options: [...def, "-R"], direction: "restore", local: FULL, remote: FULL, url: ssh }).options).toEqual([...def, "--acls", "--xattrs"]);
    expect(rsyncOptions({ options: ["-aAX", "--relative"], direction: "backup", local: FULL, remote: FULL, url: ssh }).options).toEqual(["-aAX", "--relative"]);
    expect(rsyncOptions({ options: ["-a", "--no-acls"], direction: "restore", local: FULL, remote: FULL, url: ssh }).options).toEqual(["-a", "--no-acls", "--xattrs"]);
    const noAcl = rsyncOptions({ options: ["-a"], direction: "backup", local: FULL, remote: caps(31, false, true), url: ssh });
    expect(noAcl.options).toEqual(["-a", "--relative", "--xattrs"]);
    expect(noAcl.notes.join("\n")).toMatch(/ACLs are not kept: the rsync on srv has no ACL support/);
    expect(rsyncOptions({ options: ["-a"], direction: "backup", local: caps(31, false, false), remote: FULL, url: ssh }).options).toEqual(["-a", "--relative"]);
    expect(rsyncOptions({ options: ["-a"], direction: "backup", local: FULL, remote: caps(29, true, true), url: ssh }).options).toEqual(["-a", "--relative"]);
    // a daemon cannot be asked: its rsync is taken to keep them (an old one refuses the options)
    expect(rsyncOptions({ options: ["-a"], direction: "backup", local: FULL, url: parseRsyncUrl("srv::m") }).options).toEqual(["-a", "--relative", "--acls", "--xattrs"]);
  });
  test("an ssh login that is not root: -M--fake-super (ReaR), refused when the remote rsync cannot", () => {
    const bk = parseRsyncUrl("bk@srv:/d");
    const r = rsyncOptions({ options: ["-a"], direction: "backup", local: FULL, remote: FULL, url: bk });
    expect(r.options).toEqual(["-a", "--relative", "-M--fake-super", "--acls", "--xattrs"]);
    expect(r.notes[0]).toMatch(/rsync --fake-super/);
    expect(() => rsyncOptions({ options: ["-a"], direction: "backup", local: FULL, remote: caps(29, false, false), url: bk })).toThrow(/upgrade it to 3.x/);
    expect(() => rsyncOptions({ options: ["-a"], direction: "backup", local: FULL, remote: caps(31, true, false), url: bk })).toThrow(/has no xattrs/);
  });
});

describe("command lines, exit codes, statistics", () => {
  test("ReaR's 500_make_rsync_backup and 400_restore_rsync_backup", () => {
    expect(rsyncBackupArgv({ rsync: "/usr/bin/rsync", options: ["-a", "--relative"], rsh: "ssh -o BatchMode=yes", excludeFile: "/t/ex", include: ["/", "/home"], dest: "root@srv:/d/h/backup" })).toEqual([
      "/usr/bin/rsync", "-a", "--relative", "--rsh=ssh -o BatchMode=yes", "--one-file-system", "--delete-delay", "--delay-updates", "--stats", "--exclude-from=/t/ex", "--delete-excluded", "/", "/home", "root@srv:/d/h/backup",
    ]);
    expect(rsyncRestoreArgv({ rsync: "rsync", options: ["-a"], src: "rsync://root@srv:873/m/h/backup", target: "/mnt/local" })).toEqual(["rsync", "-a", "--exclude=.~tmp~/", "rsync://root@srv:873/m/h/backup/", "/mnt/local/"]);
    expect(rsyncRestoreArgv({ rsync: "rsync", options: [], rsh: "ssh", excludeFile: "/t/rx", src: "root@srv:/d/h/backup/", target: "/mnt/local/" })).toEqual(["rsync", "--rsh=ssh", "--exclude=.~tmp~/", "--exclude-from=/t/rx", "root@srv:/d/h/backup/", "/mnt/local/"]);
  });
  test("EXCLUDE_RESTORE as anchored patterns", () => {
    expect(restoreExcludeLines(["/home/old/", "var/cache", "", "/"])).toEqual(["/home/old", "/var/cache"]);
  });
  test("24 (vanished) is a warning, 23 and the others fail; ReaR's messages", () => {
    expect(rsyncOutcome(0)).toBe("ok");
    expect(rsyncOutcome(24)).toBe("vanished");
    expect(rsyncOutcome(23)).toBe("failed");
    expect(rsyncOutcome(255)).toBe("failed");
    expect(rsyncExitMeaning(23)).toBe("Partial transfer due to error");
    expect(rsyncExitMeaning(10)).toBe("Error in socket I/O");
    expect(rsyncExitMeaning(99)).toBe("Error 99");
  });
  test("--stats", () => {
    const out = "\nNumber of files: 1,234 (reg: 1,000, dir: 200, link: 34)\nNumber of created files: 3\nTotal file size: 67,108,870 bytes\nTotal transferred file size: 1,024 bytes\n";
    expect(parseRsyncStats(out)).toEqual({ files: 1234, bytes: 67108870, transferred: 1024 });
    expect(parseRsyncStats("")).toEqual({});
  });
  test("the backup log's name (ReaR's 700_copy_backup_log)", () => {
    expect(backupLogName("", new Date(2026, 0, 5, 7, 3))).toBe("backup-20260105.0703.log.gz");
    expect(backupLogName("mybk", new Date(2026, 11, 31, 23, 59))).toBe("mybk-20261231.2359.log.gz");
  });
});
