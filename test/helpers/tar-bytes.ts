// ustar archives built in memory for unit tests (no tar program may run there): any path, type and mode,
// hostile ones included, exactly as a tar program would store them.

export interface TarSpec {
  path: string;
  type?: "file" | "dir" | "symlink" | "hardlink" | "chardev" | "blockdev" | "fifo";
  mode?: number;
  data?: string | Uint8Array;
  linkpath?: string;
}

const TYPEFLAG = { file: "0", hardlink: "1", symlink: "2", chardev: "3", blockdev: "4", dir: "5", fifo: "6" } as const;

function field(h: Uint8Array, off: number, len: number, v: string): void {
  const b = new TextEncoder().encode(v);
  if (b.length > len) throw new Error(`tar-bytes: ${v} does not fit ${len} bytes`);
  h.set(b, off);
}
const octal = (n: number, len: number) => `${n.toString(8).padStart(len - 1, "0")}\0`;

export function tarBytes(entries: readonly TarSpec[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const type = e.type ?? "file";
    const data = type === "file" ? (typeof e.data === "string" ? new TextEncoder().encode(e.data) : (e.data ?? new Uint8Array())) : new Uint8Array();
    const h = new Uint8Array(512);
    let name = e.path;
    let prefix = "";
    if (new TextEncoder().encode(name).length > 100) {
      const cut = name.lastIndexOf("/", 154);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    }
    field(h, 0, 100, name);
    field(h, 100, 8, octal(e.mode ?? (type === "dir" ? 0o755 : 0o644), 8));
    field(h, 108, 8, octal(0, 8));
    field(h, 116, 8, octal(0, 8));
    field(h, 124, 12, octal(data.length, 12));
    field(h, 136, 12, octal(1_700_000_000, 12));
    field(h, 148, 8, "        ");
    field(h, 156, 1, TYPEFLAG[type]);
    if (e.linkpath) field(h, 157, 100, e.linkpath);
    field(h, 257, 6, "ustar\0");
    field(h, 263, 2, "00");
    field(h, 265, 32, "root");
    field(h, 297, 32, "root");
    if (prefix) field(h, 345, 155, prefix);
    let sum = 0;
    for (const x of h) sum += x;
    field(h, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    blocks.push(h);
    if (data.length) {
      const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
      padded.set(data);
      blocks.push(padded);
    }
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) (out.set(b, o), (o += b.length));
  return out;
}
