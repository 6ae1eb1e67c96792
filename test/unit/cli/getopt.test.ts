import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../../src/cli/getopt.ts";

describe("global options, getopt style", () => {
  test("bundled short options and the workflow", () => {
    expect(parseArgs(["-vd", "mkrescue"])).toMatchObject({ verbose: true, debug: true, workflow: "mkrescue", args: [] });
  });
  test("-D sets debugscripts x; --debugscripts SET", () => {
    expect(parseArgs(["-D", "dump"])).toMatchObject({ debug: true, verbose: true, debugscripts: "x" });
    expect(parseArgs(["--debugscripts", "xv", "dump"]).debugscripts).toBe("xv");
    expect(parseArgs(["--debugscripts=e", "dump"]).debugscripts).toBe("e");
  });
  test("option arguments: separate, attached, repeated -C", () => {
    expect(parseArgs(["-c", "/x", "-C", "a", "-Cb", "-r", "6.1", "dump"])).toMatchObject({ configDir: "/x", extraConfigs: ["a", "b"], kernelVersion: "6.1" });
  });
  test("an option argument starting with - is rejected", () => {
    expect(() => parseArgs(["-c", "-v", "dump"])).toThrow("-c requires an argument.");
    expect(() => parseArgs(["-C"])).toThrow("-C requires an argument.");
    expect(() => parseArgs(["--debugscripts", "-x"])).toThrow("--debugscripts requires an argument.");
  });
  test("unknown options before the workflow are errors", () => {
    expect(() => parseArgs(["-x", "dump"])).toThrow("invalid option -- 'x'");
    expect(() => parseArgs(["--frobnicate"])).toThrow("unrecognized option '--frobnicate'");
  });
  test("long options and abbreviations", () => {
    expect(parseArgs(["--non-interactive", "--expose-secrets", "--portable", "recover"])).toMatchObject({ nonInteractive: true, exposeSecrets: true, portable: true });
    expect(parseArgs(["--vers"]).version).toBe(true);
    expect(parseArgs(["--help"]).help).toBe(true);
  });
  test("global options after the workflow still count (getopt permutes); others are ARGS", () => {
    expect(parseArgs(["dump", "-v", "--json"])).toMatchObject({ verbose: true, workflow: "dump", args: ["--json"] });
    expect(parseArgs(["format", "--", "--efi", "-e", "/dev/sdb"])).toMatchObject({ exposeSecrets: false, workflow: "format", args: ["--efi", "-e", "/dev/sdb"] });
    expect(parseArgs(["--", "mkrescue"]).workflow).toBe("mkrescue");
  });
  test("no workflow", () => {
    expect(parseArgs([]).workflow).toBeUndefined();
    expect(parseArgs(["-v"]).workflow).toBeUndefined();
  });
});
