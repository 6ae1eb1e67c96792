// Pieces of the scenario cycle: the UEFI boot entry that started a machine, where the power is cut.
import { describe, expect, test } from "bun:test";
import { bootCurrentEntry, powerCutAt, unlock } from "../../vm/lib/cycle.ts";

describe("bootCurrentEntry", () => {
  const out = `BootCurrent: 0004
Timeout: 0 seconds
BootOrder: 0004,0001,0000
Boot0000* UiApp\tFvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)
Boot0001* UEFI Misc Device\tPciRoot(0x0)/Pci(0x3,0x0){auto_created_boot_option}
Boot0004* Debian 12\tHD(1,GPT,0b3c1d2e-aaaa-bbbb-cccc-000000000001,0x800,0x100000)/File(\\EFI\\debian\\shimx64.efi)
`;
  test("names the entry BootCurrent points at", () => {
    expect(bootCurrentEntry(out)).toContain("File(\\EFI\\debian\\shimx64.efi)");
    expect(bootCurrentEntry(out.replace("BootCurrent: 0004", "BootCurrent: 0001"))).toStartWith("Boot0001* UEFI Misc Device");
  });
  test("nothing when BootCurrent is missing or names no entry", () => {
    expect(bootCurrentEntry("")).toBeUndefined();
    expect(bootCurrentEntry(out.replace("BootCurrent: 0004", "BootCurrent: 0009"))).toBeUndefined();
  });
});

describe("powerCutAt", () => {
  test("during the restore, and during finalize per firmware", () => {
    expect(powerCutAt("layout", "bios").text).toBe("Create LUKS volume");
    expect(powerCutAt("restore", "bios").text).toBe("Restoring from");
    expect(powerCutAt("finalize", "bios").text).toBe("Installing GRUB on");
    expect(powerCutAt("finalize", "uefi").text).toBe("Finalizing the recovered system");
  });
});

describe("unlock", () => {
  test("types the boot passphrase when the initramfs asks for it; nothing without one", () => {
    expect(unlock({ bootPassphrase: "pw" })).toEqual({ interact: [{ waitFor: "Please unlock disk", send: "pw\n" }] });
    expect(unlock({})).toEqual({});
  });
});
