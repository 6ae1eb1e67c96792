import { describe, expect, test } from "bun:test";
import { archVars, detectVendor, osConfNames, vendorVars } from "../../../src/config/system.ts";
import { DEBIAN_OS_RELEASE } from "../../helpers/config.ts";

describe("ARCH and vendor, as ReaR", () => {
  test("x86_64 is Linux-i386", () => {
    expect(archVars("x86_64")).toMatchObject({ ARCH: "Linux-i386", REAL_ARCH: "Linux-x86_64", MACHINE: "i386", OS: "GNU/Linux" });
    expect(archVars("aarch64").ARCH).toBe("Linux-arm");
    expect(archVars("s390x").ARCH).toBe("Linux-s390");
    expect(archVars("ppc64le").ARCH).toBe("Linux-ppc64le");
  });
  test("Debian 12", () => {
    expect(detectVendor({ osRelease: DEBIAN_OS_RELEASE })).toEqual({ vendor: "Debian", version: "12" });
    // what `rear dump` of ReaR 2.7 prints on Debian 12
    expect(vendorVars("Debian", "12", "i386")).toEqual({
      OS_VENDOR: "Debian", OS_VERSION: "12", OS_VENDOR_VERSION: "Debian/12", OS_VENDOR_ARCH: "Debian/i386",
      OS_VENDOR_VERSION_ARCH: "Debian/12/i386", OS_MASTER_VENDOR: "", OS_MASTER_VERSION: "12",
      OS_MASTER_VENDOR_VERSION: "12", OS_MASTER_VENDOR_ARCH: "i386", OS_MASTER_VENDOR_VERSION_ARCH: "12/i386",
    });
  });
  test("Ubuntu's os-release mentions debian too; the last match wins", () => {
    const r = detectVendor({ osRelease: `NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n` });
    expect(r).toEqual({ vendor: "Ubuntu", version: "22.04" });
    expect(vendorVars("Ubuntu", "22.04", "i386").OS_MASTER_VENDOR_VERSION).toBe("Debian/22.04");
  });
  test("RHEL, SUSE; unquoted VERSION_ID", () => {
    expect(detectVendor({ osRelease: `NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.3"\n` }).vendor).toBe("RedHatEnterpriseServer");
    expect(vendorVars("RedHatEnterpriseServer", "7.9", "i386")).toMatchObject({ OS_MASTER_VENDOR: "Fedora", OS_MASTER_VERSION: "7" });
    expect(detectVendor({ osRelease: `NAME="SLES"\nVERSION_ID=15.5\nID="sles"\nID_LIKE="suse"\n` })).toEqual({ vendor: "SUSE_LINUX", version: "15.5" });
    expect(vendorVars("SUSE_LINUX", "15.5", "i386")).toMatchObject({ OS_MASTER_VENDOR: "SUSE", OS_MASTER_VERSION: "15" });
  });
  test("'search' in a URL is not Arch", () => {
    expect(detectVendor({ osRelease: `ID=debian\nVERSION_ID="12"\nSUPPORT_URL="https://example.org/research"\n` }).vendor).toBe("Debian");
    expect(detectVendor({ osRelease: `NAME="Arch Linux"\nID=arch\n` }).vendor).toBe("Arch_Linux");
  });
  test("no os-release: system-release", () => {
    expect(detectVendor({ systemRelease: "CentOS release 6.10 (Final)" })).toEqual({ vendor: "RedHatEnterpriseServer", version: "6.10" });
  });
  test("the conf files consulted, in order", () => {
    expect(osConfNames({ ...archVars("x86_64"), ...vendorVars("Debian", "12", "i386") })).toEqual([
      "Linux-i386", "GNU/Linux", "i386", "12", "12/i386", "Debian", "Debian/i386", "Debian/12", "Debian/12/i386",
    ]);
  });
});
