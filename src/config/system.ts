// ARCH / OS / vendor detection, as ReaR's conf/default.conf and lib/config-functions.sh
// (SetOSVendorAndVersion). Pure: the caller passes uname's machine and the release files' texts.

export interface ReleaseFiles {
  osRelease?: string; // /etc/os-release
  systemRelease?: string; // /etc/system-release
  suseRelease?: string; // /etc/SuSE-release
  redhatRelease?: string; // /etc/redhat-release
  slackwareVersion?: string; // /etc/slackware-version
}

/** ReaR folds x86 into "i386" (so ARCH is Linux-i386 on x86_64), arm*|aarch* into "arm", s390* into "s390". */
export function machineOf(realMachine: string): string {
  if (/^(x86_64|i686|i586)$/.test(realMachine)) return "i386";
  if (/^(arm|aarch)/.test(realMachine)) return "arm";
  if (/^s390/.test(realMachine)) return "s390";
  return realMachine;
}

export interface ArchVars {
  REAL_MACHINE: string;
  MACHINE: string;
  ARCH: string;
  REAL_ARCH: string;
  OS: string;
}

export function archVars(realMachine: string, kernelName = "Linux"): ArchVars {
  const MACHINE = machineOf(realMachine);
  return {
    REAL_MACHINE: realMachine,
    MACHINE,
    ARCH: `${kernelName}-${MACHINE}`,
    REAL_ARCH: `${kernelName}-${realMachine}`,
    // `uname -o` prints GNU/Linux with coreutils; ReaR's GNU/Linux.conf and stage dirs rely on it.
    OS: "GNU/Linux",
  };
}

/** Value of KEY= in an os-release style file, with shell quotes removed. */
export function osReleaseField(text: string, key: string): string | undefined {
  for (const raw of text.split("\n")) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(raw);
    if (!m || m[1] !== key) continue;
    let v = (m[2] ?? "").trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    return v.replace(/\\(["$`\\])/g, "$1");
  }
  return undefined;
}

function firstTwoNumbers(text: string): string {
  const nums = text.match(/[0-9]+/g) ?? [];
  const major = nums[0] ?? "";
  const minor = nums[1] ?? major; // ReaR: `head -2 | tail -1` repeats the major when there is one number
  return `${major}.${minor}`;
}

/**
 * ReaR's vendor guess. Successive case-insensitive matches over /etc/os-release where the last match
 * wins (so Ubuntu, whose os-release also says "debian", ends up Ubuntu). Runs only while OS_VENDOR is
 * still "generic" or OS_VERSION still "none" (os.conf can pin both). Unlike ReaR we read VERSION_ID
 * properly when it is unquoted, and match "arch" only as a word (ReaR's bare grep also hits "search").
 * Returns undefined for the vendor when nothing matched: the caller then asks lsb_release.
 */
export function detectVendor(files: ReleaseFiles): { vendor?: string; version?: string } {
  let vendor: string | undefined;
  let version: string | undefined;
  const os = files.osRelease;
  if (os !== undefined) {
    if (/fedora/i.test(os)) vendor = "Fedora";
    if (/(centos|redhat|scientific|oracle|\brhel\b)/i.test(os)) vendor = "RedHatEnterpriseServer"; // ReaR lacks rhel
    if (/suse/i.test(os)) vendor = "SUSE_LINUX";
    if (/debian/i.test(os)) vendor = "Debian";
    if (/(ubuntu|linuxmint)/i.test(os)) vendor = "Ubuntu";
    if (/\barch\b|archlinux/i.test(os)) vendor = "Arch_Linux";
    version = osReleaseField(os, "VERSION_ID") ?? "";
  }
  if (!vendor && files.systemRelease !== undefined) {
    const s = files.systemRelease;
    if (/fedora/i.test(s)) vendor = "Fedora";
    if (/(centos|redhat|scientific|oracle)/i.test(s)) vendor = "RedHatEnterpriseServer";
    if (/suse/i.test(s)) vendor = "SUSE_LINUX";
    if (/mandriva/i.test(s)) vendor = "Mandriva";
    version = firstTwoNumbers(s);
  }
  if (!vendor) {
    if (files.suseRelease !== undefined) {
      vendor = "SUSE_LINUX";
      const field = (k: string) => /\S+\s*=\s*(\S+)/.exec(files.suseRelease!.split("\n").find((l) => l.includes(k)) ?? "")?.[1] ?? "";
      version = `${field("VERSION")}.${field("PATCHLEVEL")}`;
    }
    if (files.redhatRelease !== undefined) {
      vendor = "RedHatEnterpriseServer";
      version = firstTwoNumbers(files.redhatRelease);
    }
    if (files.slackwareVersion !== undefined) {
      vendor = "Slackware";
      version = files.slackwareVersion.replace(/slackware\s*/i, "").trim();
    }
  }
  return { vendor, version };
}

export interface VendorVars {
  OS_VENDOR: string;
  OS_VERSION: string;
  OS_VENDOR_VERSION: string;
  OS_VENDOR_ARCH: string;
  OS_VENDOR_VERSION_ARCH: string;
  OS_MASTER_VENDOR: string;
  OS_MASTER_VERSION: string;
  OS_MASTER_VENDOR_VERSION: string;
  OS_MASTER_VENDOR_ARCH: string;
  OS_MASTER_VENDOR_VERSION_ARCH: string;
}

/** The derived OS_* variables, as the end of ReaR's SetOSVendorAndVersion. */
export function vendorVars(vendor: string, version: string, machine: string): VendorVars {
  const vv = `${vendor}/${version}`.toLowerCase();
  let master = "";
  let masterVersion = version;
  if (/(oracle|centos|fedora|redhat|scientific)/.test(vv)) {
    master = "Fedora";
    const m = /^([5-7])\./.exec(version);
    if (m) masterVersion = m[1]!;
  } else if (/(ubuntu|linuxmint)/.test(vv)) {
    master = "Debian";
  } else if (/archlinux/.test(vv)) {
    master = "Arch";
  } else if (/suse/.test(vv)) {
    master = "SUSE";
    masterVersion = version.split(".")[0]!;
  }
  return {
    OS_VENDOR: vendor,
    OS_VERSION: version,
    OS_VENDOR_VERSION: `${vendor}/${version}`,
    OS_VENDOR_ARCH: `${vendor}/${machine}`,
    OS_VENDOR_VERSION_ARCH: `${vendor}/${version}/${machine}`,
    OS_MASTER_VENDOR: master,
    OS_MASTER_VERSION: masterVersion,
    OS_MASTER_VENDOR_VERSION: master ? `${master}/${masterVersion}` : masterVersion,
    OS_MASTER_VENDOR_ARCH: master ? `${master}/${machine}` : machine,
    OS_MASTER_VENDOR_VERSION_ARCH: master ? `${master}/${masterVersion}/${machine}` : `${masterVersion}/${machine}`,
  };
}

/** The conf/<X>.conf names ReaR consults after the vendor is known, in order (empty values skipped). */
export function osConfNames(v: Record<string, string | undefined>): string[] {
  const keys = [
    "ARCH", "OS", "OS_MASTER_VENDOR", "OS_MASTER_VENDOR_ARCH", "OS_MASTER_VENDOR_VERSION",
    "OS_MASTER_VENDOR_VERSION_ARCH", "OS_VENDOR", "OS_VENDOR_ARCH", "OS_VENDOR_VERSION", "OS_VENDOR_VERSION_ARCH",
  ];
  return keys.map((k) => v[k] ?? "").filter((x) => x !== "");
}
