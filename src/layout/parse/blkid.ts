// `blkid -o export` output. Sample:
//   DEVNAME=/dev/vda1
//   UUID=0b4c…
//   TYPE=ext4
//   PARTUUID=…
//   (blank line between devices)
// Pure.

export interface BlkidRecord {
  [key: string]: string | undefined;
}

/** `blkid -o export`: KEY=value lines, records separated by a blank line. blkid escapes blanks and other
 *  special characters in values with a backslash (`LABEL=my\ label`): the values come back unescaped. */
export function parseBlkidExport(text: string): BlkidRecord[] {
  const out: BlkidRecord[] = [];
  let cur: BlkidRecord = {};
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (Object.keys(cur).length) out.push(cur);
      cur = {};
      continue;
    }
    const i = line.indexOf("=");
    if (i > 0) cur[line.slice(0, i)] = line.slice(i + 1).replace(/\\(.)/g, "$1");
  }
  if (Object.keys(cur).length) out.push(cur);
  return out;
}
