import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { tempConfigDir, type TempConfig } from "../../helpers/config.ts";
import { runRear, sandbox } from "../../helpers/run.ts";

let sb: ReturnType<typeof sandbox>;
let conf: TempConfig;
const host = hostname().split(".")[0];
beforeEach(() => {
  sb = sandbox();
  conf = tempConfigDir();
});
afterEach(() => {
  sb.cleanup();
  conf.cleanup();
});
const rear = (argv: string[], over = {}) => runRear(["-c", conf.dir, ...argv], { env: sb.env, ...over });

describe("CLI behaviour (ReaR's parity checklist 1-18)", () => {
  test("-V prints the version before reading any configuration", async () => {
    const r = await runRear(["-V"], { uid: 1000 });
    expect(r).toEqual({ code: 0, stdout: expect.stringMatching(/^Relax-and-Recover \S+ \/ \d{4}-\d\d-\d\d\n$/), stderr: "" });
  });
  test("no workflow shows the help; help lists every workflow and the exit codes", async () => {
    const r = await runRear([], { uid: 1000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: rear");
    expect(r.stdout).toContain(" mkrescue        create rescue media only\n");
    expect(r.stdout).toContain(" recover         recover the system\n");
    expect(r.stdout).toContain(" dump            dump configuration and system information\n");
    expect(r.stdout).toContain("Exit codes:");
    const v = await runRear(["-v", "help"], { uid: 1000 });
    for (const w of ["mkrescue", "mkbackup", "mkbackuponly", "recover", "restoreonly", "layoutonly", "mountonly", "checklayout", "savelayout", "dump", "format", "udev", "validate", "shell", "help"]) {
      expect(v.stdout).toMatch(new RegExp(`^ ${w} +\\S`, "m"));
    }
  });
  test("an unknown workflow", async () => {
    const r = await rear(["frobnicate"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("ERROR: The specified command 'frobnicate' does not exist!\n");
  });
  test("an unknown option", async () => {
    const r = await runRear(["-x", "dump"]);
    expect(r).toMatchObject({ code: 1, stderr: "rear: invalid option -- 'x'\nUse 'rear --help' or 'man rear' for more information.\n" });
  });
  test("not root", async () => {
    const r = await rear(["dump"], { uid: 1000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ERROR: Relax-and-Recover needs 'root' privileges");
  });
  test("recover is refused on the original system; -p lets a rescue workflow run (one not built yet says so)", async () => {
    const r = await rear(["recover"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("only supported inside the rescue system");
    const p = await rear(["-p", "opaladmin"]);
    expect(p.code).toBe(3);
    expect(p.stderr).toContain("The workflow 'opaladmin' is not implemented yet");
  });
  test("mkrescue is refused inside the rescue system", async () => {
    const r = await runRear(["mkrescue"], { env: sb.env, isRescueSystem: () => true });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot run inside the rescue system");
  });
  test("-c in the rescue system is refused; -c must be a directory", async () => {
    expect((await runRear(["-c", conf.dir, "dump"], { env: sb.env, isRescueSystem: () => true })).stderr).toContain("-c cannot be used inside the rescue system");
    expect((await runRear(["-c", "/nonexistent", "dump"], { env: sb.env })).stderr).toContain("-c /nonexistent: not a directory");
  });
  test("workflows not built yet say so and exit 3", async () => {
    const r = await rear(["validate"]);
    expect(r).toMatchObject({ code: 3, stdout: "" });
    expect(r.stderr).toBe("ERROR: The workflow 'validate' is not implemented yet in this version of rear\n");
  });
  test("-s lists the modules in order without running them", async () => {
    const r = await rear(["-s", "mkrescue"]);
    expect(r.code).toBe(0);
    const sources = r.stdout.split("\n").filter((l) => l.startsWith("Source "));
    expect(sources).toEqual([
      "Source init/100_check_stale_nfs_mounts", "Source init/950_check_missing_programs", "Source prep/100_rescue_preflight", "Source prep/400_save_directories", "Source layout/save/100_save_layout",
      "Source rescue/005_choose_features", "Source rescue/100_populate_rootfs", "Source build/390_copy_libraries", "Source build/400_copy_modules",
      "Source build/990_verify_rootfs", "Source pack/900_create_initramfs", "Source output/800_write_rescue_medium", "Source output/950_copy_result_files",
    ]);
    expect(r.stdout).not.toContain("not implemented");
    const b = await rear(["-s", "mkopalpba"]);
    expect(b.stdout).toContain("NOTE: the workflow 'mkopalpba' is not implemented yet");
  });
  test("-s merges hook scripts from the config dir into the order", async () => {
    conf.write("stages/init/500_mine.sh", "echo hi\n");
    conf.write("stages/init/050_early.sh", "true\n");
    conf.write("stages/init/notnumbered.sh", "true\n");
    const r = await rear(["-s", "dump"]);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("Source "))).toEqual([
      `Source ${conf.dir}/stages/init/050_early.sh`,
      "Source init/100_check_stale_nfs_mounts",
      `Source ${conf.dir}/stages/init/500_mine.sh`,
    ]);
    expect(r.stderr).toContain("Ignoring");
  });
  test("a configuration error names the file and line and exits 1", async () => {
    conf.write("local.conf", "OUTPUT=ISO\nBACKUP=NETFSX\n");
    const r = await rear(["dump"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`ERROR: ${conf.dir}/local.conf:2: BACKUP='NETFSX' is not known`);
  });
  test("TMPDIR may not be set in a configuration file", async () => {
    conf.write("local.conf", "TMPDIR=/somewhere\n");
    const r = await rear(["dump"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${conf.dir}/local.conf:1: Setting TMPDIR in a configuration file is not supported`);
  });
});

describe("dump", () => {
  test("shows the configuration tree and the method settings; hides secrets unless -e", async () => {
    conf.write("local.conf", "BACKUP=NETFS\nBACKUP_URL=file:///backup\n{ BACKUP_PROG_CRYPT_KEY='topsecret' ; } 2>>/dev/$SECRET_OUTPUT_DEV\n");
    const r = await rear(["dump"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("# Begin dumping out configuration and system information:");
    expect(r.stdout).toContain(`  # local.conf (${conf.dir}/local.conf) : OK`);
    expect(r.stdout).toContain(`  # site.conf (${conf.dir}/site.conf) : missing/empty`);
    expect(r.stdout).toContain('  ARCH="Linux-i386"');
    expect(r.stdout).toContain("# Backup with NETFS:");
    expect(r.stdout).toContain('  BACKUP_URL="file:///backup"');
    expect(r.stdout).toContain("BACKUP_PROG_CRYPT_KEY=<secret, not shown");
    expect(r.stdout).not.toContain("topsecret");
    const e = await rear(["-e", "dump"]);
    expect(e.stdout).toContain('BACKUP_PROG_CRYPT_KEY="topsecret"');
  });
  test("--json: the whole configuration, secrets null", async () => {
    conf.write("local.conf", "{ SSH_ROOT_PASSWORD='pw' ; } 2>>/dev/$SECRET_OUTPUT_DEV\nMY_LIST=( a 'b c' )\n");
    const r = await rear(["dump", "--json"]);
    const j = JSON.parse(r.stdout);
    expect(j.MY_LIST).toEqual(["a", "b c"]);
    expect(j.SSH_ROOT_PASSWORD).toBeNull();
    expect(j.OUTPUT).toBe("ISO");
    expect(j.CONFIG_DIR).toBe(conf.dir);
    expect(j.LOGFILE).toBe(`/var/log/rear/rear-${host}.log`.replace("/var", sb.varDir));
    expect(JSON.parse((await rear(["-e", "dump", "--json"])).stdout).SSH_ROOT_PASSWORD).toBe("pw");
  });
  test("unknown arguments are refused", async () => {
    const r = await rear(["dump", "--jsno"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("rear dump: unknown option '--jsno'");
  });
});

describe("step by step and LOGFILE", () => {
  test("-S asks before each module", async () => {
    const prompts: string[] = [];
    const r = await rear(["-S", "dump"], { readLine: (p: string) => (prompts.push(p), "") });
    expect(r.code).toBe(0);
    expect(prompts).toEqual(["Press ENTER to include 'init/100_check_stale_nfs_mounts' ..."]);
  });
  test("a LOGFILE set in the configuration receives a copy of the log at the end", async () => {
    const target = `${sb.tmp}/../my-rear.log`;
    conf.write("local.conf", `LOGFILE=${target}\n`);
    expect((await rear(["dump"])).code).toBe(0);
    expect(readFileSync(target, "utf8")).toContain("Including init/100_check_stale_nfs_mounts");
  });
});

describe("log file and work area", () => {
  test("lockless dump logs to .lockless, mode 0600, timestamped; the previous log is rotated", async () => {
    await rear(["dump"]);
    const log = `${sb.varDir}/log/rear/rear-${host}.log.lockless`;
    expect(statSync(log).mode & 0o777).toBe(0o600);
    const text = readFileSync(log, "utf8");
    expect(text).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} Relax-and-Recover /);
    expect(text).toContain("Including init/100_check_stale_nfs_mounts");
    await rear(["dump"]);
    expect(existsSync(`${log}.old`)).toBe(true);
  });
  test("the work area is removed at exit, kept with -d", async () => {
    await rear(["dump"]);
    expect(readdirSync(sb.tmp)).toEqual([]);
    const r = await rear(["-d", "dump"]);
    const kept = readdirSync(sb.tmp);
    expect(kept.length).toBe(1);
    expect(kept[0]).toMatch(/^rear\.[A-Za-z0-9]{15}$/);
    expect(r.stdout).toContain(`rm -Rf --one-file-system ${sb.tmp}/${kept[0]}`);
    expect(readdirSync(`${sb.tmp}/${kept[0]}`).sort()).toEqual(["rootfs", "tmp"]);
  });
  test("-d logs the configuration, secrets hidden", async () => {
    conf.write("local.conf", "{ SSH_ROOT_PASSWORD='pw123' ; } 2>>/dev/$SECRET_OUTPUT_DEV\n");
    await rear(["-d", "dump"]);
    const text = readFileSync(`${sb.varDir}/log/rear/rear-${host}.log.lockless`, "utf8");
    expect(text).toContain("Including init/998_dump_variables");
    expect(text).toContain("SSH_ROOT_PASSWORD=<secret, not shown");
    expect(text).not.toContain("pw123");
  });
});

describe("mkrescue --json (a backup agent runs rear)", () => {
  test("messages go to stderr, one JSON object to stdout; a Cove Backup Manager that is not there is the error", async () => {
    conf.write("local.conf", "BACKUP=COVE\nOUTPUT=ISO\nCOVE_INSTALL_DIR=/nonexistent/MXB\n");
    const r = await rear(["-v", "mkrescue", "--json"]);
    expect(r.code).toBe(2);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ workflow: "mkrescue", exitCode: 2, ok: false, outcome: "failed", files: [] });
    expect(j.error.message).toBe("The Backup Manager is either not installed or corrupted: bin/BackupFP, bin/ClientTool, bin/ProcessController are missing or not executable in /nonexistent/MXB (COVE_INSTALL_DIR); no rescue image was made");
    expect(r.stderr).toContain("Running rear mkrescue");
    expect(r.stderr).toContain("ERROR: The Backup Manager is either not installed or corrupted");
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
  });
  test("BACKUP=COVE without COVE_INSTALL_DIR: a configuration error, exit 1", async () => {
    conf.write("local.conf", "BACKUP=COVE\nOUTPUT=ISO\n");
    const r = await rear(["mkrescue", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, outcome: "usage", error: { message: "BACKUP=COVE needs COVE_INSTALL_DIR, the Backup Manager's install directory" } });
  });
  test("--json is not a flag of other workflows", async () => {
    const r = await rear(["savelayout", "--json"]);
    expect(r.code).toBe(1);
  });
});
