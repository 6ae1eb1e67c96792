// mkfs.xfs options from the saved `xfs_info` (ReaR's xfs_parse in lib/filesystems-functions.sh), so the
// new filesystem has the old geometry and features. Sample input:
//   meta-data=/dev/mapper/vg0-data   isize=512    agcount=4, agsize=32768 blks
//            =                       sectsz=512   attr=2, projid32bit=1
//            =                       crc=1        finobt=1, sparse=1, rmapbt=0
//            =                       reflink=1    bigtime=1 inobtcount=1 nrext64=0
//   data     =                       bsize=4096   blocks=131072, imaxpct=25
//            =                       sunit=0      swidth=0 blks
//   naming   =version 2              bsize=4096   ascii-ci=0, ftype=1
//   log      =internal log           bsize=4096   blocks=16384, version=2
//            =                       sectsz=512   sunit=0 blks, lazy-count=1
//   realtime =none                   extsz=4096   blocks=0, rtextents=0
// Features a newer xfsprogs does not know make mkfs.xfs fail: the plan then falls back to mkfs.xfs
// defaults (with the same UUID and label), as ReaR does.
// Pure.

export function parseXfsInfo(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = "";
  for (const line of text.split("\n")) {
    const m = /^([a-z-]+)?\s*=(.*)$/.exec(line);
    if (!m) continue;
    if (m[1]) section = m[1];
    const rest = m[2]!;
    const sec = (out[section] ??= {});
    for (const kv of rest.matchAll(/([a-z0-9-]+)=([^\s,]+)/g)) {
      // "log =internal log" and "naming =version 2" are values of the section itself
      if (!(kv[1]! in sec)) sec[kv[1]!] = kv[2]!;
    }
    const head = /^(internal|external|version|none)\b\s*([^\s]*)/.exec(rest.trim());
    if (head && !("kind" in sec)) sec.kind = head[0];
  }
  return out;
}

/** The mkfs.xfs geometry options (without -f, uuid and label). */
export function xfsGeometryOptions(text: string): string[] {
  const x = parseXfsInfo(text);
  const meta = x["meta-data"] ?? {};
  const data = x.data ?? {};
  const naming = x.naming ?? {};
  const log = x.log ?? {};
  const args: string[] = [];
  const group = (flag: string, pairs: [string, string | undefined][]) => {
    const kv = pairs.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => `${k}=${v}`);
    if (kv.length) args.push(flag, kv.join(","));
  };
  const crc = meta.crc;
  group("-b", [["size", data.bsize]]);
  group("-s", [["size", meta.sectsz]]);
  group("-i", [["size", meta.isize], ["sparse", crc === "1" ? meta.sparse : undefined], ["nrext64", meta.nrext64]]);
  group("-d", [["agcount", meta.agcount], ...(data.sunit && data.sunit !== "0" ? ([["sunit", String(Number(data.sunit) * (Number(data.bsize) / 512 || 8))], ["swidth", String(Number(data.swidth) * (Number(data.bsize) / 512 || 8))]] as [string, string][]) : [])]);
  group("-m", crc === "1" ? [["crc", crc], ["finobt", meta.finobt], ["rmapbt", meta.rmapbt], ["reflink", meta.reflink], ["bigtime", meta.bigtime], ["inobtcount", meta.inobtcount]] : [["crc", crc]]);
  group("-n", [["size", naming.bsize], ["ftype", crc === "1" ? undefined : naming.ftype]]);
  const internal = (log.kind ?? "").startsWith("internal");
  group("-l", [
    ["size", internal && log.blocks && log.bsize ? String(Number(log.blocks) * Number(log.bsize)) : undefined],
    ["version", log.version],
    ["lazy-count", log.version === "2" ? log["lazy-count"] : undefined],
  ]);
  return args;
}
