// Builds a ConfigLoader over a temporary config dir, for tests.

import { mkdtempSync, writeFileSync, chmodSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { embeddedConfs } from "../../src/assets.ts";
import { ConfigLoader, type ConfigIo, type LoadOptions } from "../../src/config/load.ts";
import { ConfigError } from "../../src/engine/errors.ts";
import type { Value } from "../../src/config/shell-eval.ts";
import { archVars } from "../../src/config/system.ts";

export const DEBIAN_OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;

export function testSeed(configDir: string, extra: Record<string, Value> = {}): Record<string, Value> {
  return {
    PROGRAM: "rear", VERSION: "test", RELEASE_DATE: "2026-01-01", HOSTNAME: "testhost",
    CONFIG_DIR: configDir, VAR_DIR: "/var/lib/rear", LOG_DIR: "/var/log/rear", SHARE_DIR: "", REAR_DIR_PREFIX: "",
    WORKFLOW: "dump", ...archVars("x86_64"), OS_VENDOR: "generic", OS_VERSION: "none", KERNEL_VERSION: "6.1.0-test",
    VERBOSE: "", DEBUG: "", SIMULATE: "", RECOVERY_MODE: "", TARGET_FS_ROOT: "/mnt/local", SECRET_OUTPUT_DEV: "null",
    ...extra,
  };
}

export interface TempConfig {
  dir: string;
  write(name: string, text: string, mode?: number): string;
  cleanup(): void;
}

export function tempConfigDir(): TempConfig {
  const dir = mkdtempSync(join(tmpdir(), "rear-test-conf."));
  chmodSync(dir, 0o755);
  return {
    dir,
    write(name, text, mode = 0o644) {
      const p = join(dir, name);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
      chmodSync(p, mode);
      return p;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function loader(io: ConfigIo, dir: string, opts: Partial<LoadOptions> = {}): ConfigLoader {
  return new ConfigLoader(
    {
      configDir: dir,
      workflow: "dump",
      extraConfigs: [],
      recoveryMode: false,
      seed: testSeed(dir),
      env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", HOME: "/root" },
      release: { osRelease: DEBIAN_OS_RELEASE },
      embedded: embeddedConfs(),
      trustedUids: [0],
      ...opts,
    },
    io,
  );
}

/** The ConfigError `fn` throws (anything else is rethrown; no error fails the test). */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}
