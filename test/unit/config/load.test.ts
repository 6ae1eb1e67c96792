import { describe, expect, test } from "bun:test";
import { configError, loader } from "../../helpers/config.ts";
import { FakeIo } from "../../helpers/fake-io.ts";

const D = "/etc/rear";

function load(files: Record<string, string | { text: string; uid?: number; mode?: number }>, opts = {}) {
  const io = new FakeIo(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === "string" ? { text: v } : v])));
  return { io, r: () => loader(io, D, opts).load() };
}

const err = configError;

describe("load order (ReaR's usr/sbin/rear)", () => {
  test("default → os.conf → <workflow>.conf → OS confs → site → local → -C", () => {
    const { r } = load(
      {
        [`${D}/os.conf`]: "ORDER=os",
        [`${D}/dump.conf`]: "ORDER+=,workflow",
        [`${D}/site.conf`]: "ORDER+=,site\nOUTPUT=USB",
        [`${D}/local.conf`]: "ORDER+=,local",
        [`${D}/extra.conf`]: "ORDER+=,extra",
        "/abs/more.conf": "ORDER+=,abs",
        [`${D}/rescue.conf`]: "ORDER+=,rescue",
      },
      { extraConfigs: ["extra", "/abs/more.conf"] },
    );
    const c = r();
    expect(c.vars.get("ORDER")?.value).toBe("os,workflow,site,local,extra,abs");
    expect(c.vars.get("OUTPUT")?.value).toBe("USB");
    expect(c.evaluatedBy).toBe("ts");
    expect(c.files.map((f) => `${f.label}:${f.used ? "OK" : "-"}`)).toEqual([
      "default.conf:OK", "os.conf:OK", "dump.conf:OK", "Linux-i386.conf:OK", "GNU/Linux.conf:OK", "i386.conf:-", "12.conf:-",
      "12/i386.conf:-", "Debian.conf:-", "Debian/i386.conf:-", "Debian/12.conf:-", "Debian/12/i386.conf:-", "site.conf:OK",
      "local.conf:OK", "/etc/rear/extra.conf:OK", "/abs/more.conf:OK",
    ]);
    expect(c.userFiles).toEqual(["/etc/rear/os.conf", "/etc/rear/dump.conf", "/etc/rear/site.conf", "/etc/rear/local.conf", "/etc/rear/extra.conf", "/abs/more.conf"]);
  });
  test("rescue.conf only in recovery mode", () => {
    const files = { [`${D}/local.conf`]: "X=local", [`${D}/rescue.conf`]: "X+=,rescue" };
    expect(load(files).r().vars.get("X")?.value).toBe("local");
    expect(load(files, { recoveryMode: true }).r().vars.get("X")?.value).toBe("local,rescue");
  });
  test("the built-in OS confs apply (GNU/Linux.conf adds to KERNEL_CMDLINE)", () => {
    const c = load({}).r();
    expect(c.vars.get("KERNEL_CMDLINE")?.value).toBe(" selinux=0");
    expect(c.vars.get("REQUIRED_PROGS")?.value).toContain("sfdisk");
    expect(c.vars.get("OS_VENDOR_VERSION")?.value).toBe("Debian/12");
  });
  test("os.conf pins the vendor", () => {
    const c = load({ [`${D}/os.conf`]: "OS_VENDOR=SUSE_LINUX\nOS_VERSION=15.5" }).r();
    expect(c.vars.get("OS_MASTER_VENDOR")?.value).toBe("SUSE");
    expect(c.files.some((f) => f.label === "SUSE/15.conf")).toBe(true);
  });
  test("environment overrides for ${VAR:-default} settings", () => {
    const c = load({}, { env: { PATH: "/bin", USER_INPUT_TIMEOUT: "7", MIGRATION_MODE: "true" } }).r();
    expect(c.vars.get("USER_INPUT_TIMEOUT")?.value).toBe("7");
    expect(c.vars.get("WAIT_SECS")?.value).toBe("7");
    expect(c.vars.get("MIGRATION_MODE")?.value).toBe("true");
  });
  test("environment-only variables are not configuration", () => {
    const c = load({ [`${D}/local.conf`]: "MINE=$HOME" }, { env: { PATH: "/bin", HOME: "/root", UNRELATED: "x" } }).r();
    expect(c.vars.has("UNRELATED")).toBe(false);
    expect(c.vars.get("MINE")?.value).toBe("/root");
  });
  test("secrets: from the table and from the idiom", () => {
    const c = load({ [`${D}/local.conf`]: "{ MY_TOKEN='t' ; } 2>>/dev/$SECRET_OUTPUT_DEV" }).r();
    expect(c.secrets.has("MY_TOKEN")).toBe(true);
    expect(c.secrets.has("SSH_ROOT_PASSWORD")).toBe(true);
  });
  test("a file that needs bash sends the whole chain to bash", () => {
    const { io, r } = load({ [`${D}/local.conf`]: "type -P curl && PROGS+=( curl )" });
    expect(() => r()).toThrow(/bash is not run in unit tests/);
    expect(io.bashCalls.length).toBe(1);
    expect(io.bashCalls[0]).toContain("source /etc/rear/local.conf");
    expect(io.bashCalls[0]).toContain("__REAR_EMBEDDED_0__"); // default.conf travels inside the script
  });
});

describe("errors name the file and line", () => {
  test("CR line endings", () => {
    const e = err(load({ [`${D}/local.conf`]: "OUTPUT=ISO\r\nBACKUP=NETFS\r\n" }).r);
    expect(e.message).toBe("/etc/rear/local.conf:1: contains a carriage return (DOS line endings)");
    expect(e.hint).toContain("sed -i");
  });
  test("an array assigned a scalar", () => {
    const e = err(load({ [`${D}/site.conf`]: "\n\nCOPY_AS_IS=/etc/foo" }).r);
    expect(e.message).toBe("/etc/rear/site.conf:3: COPY_AS_IS is an array but is assigned a single value");
  });
  test("unknown BACKUP with a suggestion, at its line", () => {
    const e = err(load({ [`${D}/local.conf`]: "OUTPUT=ISO\nBACKUP=NFTS" }).r);
    expect(e.message).toMatch(/^\/etc\/rear\/local.conf:2: BACKUP='NFTS' is not known; use one of NETFS .* \(did you mean NETFS\?\)$/);
  });
  test("unknown OUTPUT", () => {
    expect(err(load({ [`${D}/local.conf`]: "OUTPUT=iso" }).r).message).toContain("(did you mean ISO?)");
  });
  test("a bad boolean and a bad number", () => {
    expect(err(load({ [`${D}/local.conf`]: "AUTOEXCLUDE_DISKS=maybe" }).r).message).toContain("AUTOEXCLUDE_DISKS='maybe' is not a yes/no value");
    expect(err(load({ [`${D}/local.conf`]: "USER_INPUT_TIMEOUT=5m" }).r).message).toContain("is not a whole number");
  });
  test("-C file not found", () => {
    expect(err(load({}, { extraConfigs: ["nope"] }).r).message).toContain("'-C nope' not found (looked for /etc/rear/nope and /etc/rear/nope.conf)");
  });
});

describe("trusted files (ReaR 2.9's trusted sourcing)", () => {
  test("a file owned by another user is refused", () => {
    const e = err(load({ [`${D}/local.conf`]: { text: "A=1", uid: 1000 } }).r);
    expect(e.message).toContain("/etc/rear/local.conf: is owned by uid 1000, not by a trusted owner");
    expect(e.hint).toContain("chown root");
  });
  test("a group-writable file is refused", () => {
    expect(err(load({ [`${D}/local.conf`]: { text: "A=1", mode: 0o664 } }).r).message).toContain("is writable by group or others (mode 664)");
  });
  test("site.conf can trust another owner or file", () => {
    expect(load({ [`${D}/site.conf`]: "TRUSTED_OWNERS+=( backup )", [`${D}/local.conf`]: { text: "A=1", uid: 34 } }).r().vars.get("A")?.value).toBe("1");
    expect(load({ [`${D}/site.conf`]: "TRUSTED_FILES=( /etc/rear/local.conf )", [`${D}/local.conf`]: { text: "A=2", mode: 0o666 } }).r().vars.get("A")?.value).toBe("2");
  });
  test("a file cannot trust itself", () => {
    expect(() => load({ [`${D}/local.conf`]: { text: "TRUSTED_FILES=( /etc/rear/local.conf )", mode: 0o666 } }).r()).toThrow(/writable by group or others/);
  });
});
