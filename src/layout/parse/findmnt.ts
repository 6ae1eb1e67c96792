// `findmnt -J -l -v -o SOURCE,TARGET,FSTYPE,OPTIONS,FSROOT,MAJ:MIN`. Sample:
//   {"filesystems": [{"source": "/dev/vda2", "target": "/", "fstype": "btrfs", "options": "rw,relatime,…,subvol=/@", "fsroot": "/@", "maj:min": "0:25"}]}
// Pure.

export interface FindmntRow {
  source?: string;
  target?: string;
  fstype?: string;
  options?: string;
  fsroot?: string;
  "maj:min"?: string;
}

export function findmntList(json: string | undefined): FindmntRow[] {
  if (!json) return [];
  try {
    const j = JSON.parse(json) as { filesystems?: FindmntRow[] };
    return j.filesystems ?? [];
  } catch {
    return [];
  }
}
