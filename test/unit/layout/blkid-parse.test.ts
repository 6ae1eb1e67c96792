// `blkid -o export` as blkid 2.38 prints it: a blank in a value is escaped (`LABEL=my\ label`, as
// `mkfs.ext4 -L 'my label'` then `blkid -p -o export` showed on this host); the parser gives it back plain.
import { describe, expect, test } from "bun:test";
import { parseBlkidExport } from "../../../src/layout/parse/blkid.ts";

describe("blkid -o export", () => {
  test("records split at blank lines; escaped values unescaped", () => {
    const text = "DEVNAME=/dev/vda1\nLABEL=my\\ label\nTYPE=ext4\n\nDEVNAME=/dev/vda2\nPART_ENTRY_NAME=Rescue\\ System\nTYPE=vfat\n";
    expect(parseBlkidExport(text)).toEqual([
      { DEVNAME: "/dev/vda1", LABEL: "my label", TYPE: "ext4" },
      { DEVNAME: "/dev/vda2", PART_ENTRY_NAME: "Rescue System", TYPE: "vfat" },
    ]);
    expect(parseBlkidExport("LABEL=a\\\\b\n")).toEqual([{ LABEL: "a\\b" }]);
  });
});
