// A filesystem on a device rear does not describe (a mounted loop image: a backup disk image, a test
// target) is saved commented out with why, not as an active line the layout check refuses.

import { describe, expect, test } from "bun:test";
import { readDisklayout } from "../../../src/layout/disklayout/read.ts";
import { writeDisklayout } from "../../../src/layout/disklayout/write.ts";
import { applyExclusions } from "../../../src/layout/exclude.ts";
import { checkLayout } from "../../../src/layout/validate.ts";
import { EXCLUSION_DEFAULTS } from "./fixture-helpers.ts";

const TEXT = `disk /dev/vda 10737418240 gpt
part /dev/vda 10735321088 1048576 rootfs none /dev/vda1
fs /dev/vda1 / ext4 uuid=11111111-2222-3333-4444-555555555555 label= options=rw
fs /dev/loop0 /srv/backup ext4 uuid=66666666-2222-3333-4444-555555555555 label= options=rw
swap /dev/zram0 uuid= label=
`;

describe("devices rear does not describe", () => {
  test("a filesystem or swap on a loop/zram device is commented out, with why; the rest stays", () => {
    const { doc } = readDisklayout(TEXT, "t.conf");
    expect(checkLayout(doc).length).toBeGreaterThan(0); // as extracted, nothing would create /dev/loop0
    const r = applyExclusions(doc, EXCLUSION_DEFAULTS);
    const out = writeDisklayout(r.doc);
    expect(out).toContain("#fs /dev/loop0 /srv/backup ext4");
    expect(out).toContain("#swap /dev/zram0");
    expect(out).toMatch(/^fs \/dev\/vda1 \/ ext4/m);
    expect(r.excluded.find((x) => x.id === "fs:/srv/backup")?.reason).toBe("filesystem /srv/backup on /dev/loop0, a device rear does not describe");
    expect(checkLayout(r.doc)).toEqual([]);
  });
  test("a loop device the layout declares (REAR_LAYOUT_INCLUDE_LOOP=1 in tests) keeps its filesystem", () => {
    const { doc } = readDisklayout(`disk /dev/loop0 104857600 loop\nfs /dev/loop0 /srv/x ext4 uuid=66666666-2222-3333-4444-555555555555 label= options=rw\n`, "t.conf");
    const r = applyExclusions(doc, { ...EXCLUSION_DEFAULTS, AUTOEXCLUDE_DISKS: false });
    expect(writeDisklayout(r.doc)).toMatch(/^fs \/dev\/loop0 \/srv\/x/m);
  });
});
