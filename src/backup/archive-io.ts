// The bytes of a backup archive between tar and the target: written by rear itself (not by tar's
// --file) so that one pass computes the SHA-256 of what is stored, encrypts when asked, counts for the
// progress display and splits into volumes when asked (ReaR's `split -d -b`: name.00, name.01, …).
// Everything lands under temporary names in the target directory; commit() gives them their names only
// when the whole archive is written. The manifest beside it (`<archive>.sha256`) is sha256sum's format,
// one line per stored file, so `sha256sum -c` checks it too.

import { closeSync, createReadStream, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { readHead } from "../rescue/elf.ts";

export interface StoredFile {
  /** the file name in the archive directory */
  name: string;
  bytes: number;
  sha256: string;
}

/** Volume names as ReaR's `split -d`: two digits, more when needed. */
export function volumeName(archive: string, index: number): string {
  return `${archive}.${String(index).padStart(2, "0")}`;
}

export function manifestText(files: readonly StoredFile[]): string {
  return files.map((f) => `${f.sha256}  ${f.name}\n`).join("");
}

/** The files of archive `name` a manifest lists (the archive itself, or its volumes in order), with their sums. */
export function parseManifest(text: string, name: string): { name: string; sha256: string }[] {
  const out: { name: string; sha256: string }[] = [];
  for (const l of text.split("\n")) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(l.trim());
    if (!m) continue;
    const file = m[2]!;
    if (file === name || (file.startsWith(`${name}.`) && /^[0-9]{2,}$/.test(file.slice(name.length + 1)))) out.push({ name: file, sha256: m[1]! });
  }
  return out.sort((a, b) => (a.name.length - b.name.length) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The volumes of a split archive without a manifest (ReaR's split), in order. */
export function splitVolumes(entries: readonly string[], name: string): string[] {
  return entries.filter((e) => e.startsWith(`${name}.`) && /^[0-9]{2,}$/.test(e.slice(name.length + 1))).sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
}

export class TargetFullError extends Error {}

/** Writes an archive's bytes to temporary files in `dir`, hashing as it goes. */
export class ArchiveWriter {
  private fd: number | undefined;
  private current: { partial: string; name: string; bytes: number; hash: Bun.CryptoHasher } | undefined;
  private readonly done: (StoredFile & { partial: string })[] = [];
  private aborted = false;
  bytes = 0;
  /** the first bytes written (what archive-check.ts looks at: an encrypted archive's header) */
  head: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly dir: string,
    private readonly name: string,
    /** split into volumes of this many bytes; 0: one file */
    private readonly volumeBytes = 0,
    private readonly tag = String(process.pid),
  ) {}

  private partialOf(file: string): string {
    return join(this.dir, `.${file}.partial-${this.tag}`);
  }

  private open(): void {
    // after abort() (a failed or interrupted backup), a late chunk must not create the file again
    if (this.aborted) throw new Error("the backup was stopped");
    const file = this.volumeBytes ? volumeName(this.name, this.done.length) : this.name;
    const partial = this.partialOf(file);
    this.fd = openSync(partial, "w", 0o600);
    this.current = { partial, name: file, bytes: 0, hash: new Bun.CryptoHasher("sha256") };
  }

  private closeCurrent(): void {
    if (this.fd === undefined || !this.current) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    this.done.push({ name: this.current.name, partial: this.current.partial, bytes: this.current.bytes, sha256: this.current.hash.digest("hex") });
    this.current = undefined;
  }

  private writeAll(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.fd!, data, off, data.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") throw new TargetFullError(`${(e as Error).message} (after ${this.bytes + off} bytes)`);
        throw e;
      }
    }
  }

  /** Creates the first file now: a target that cannot be written to fails before the backup program runs. */
  start(): void {
    if (this.fd === undefined && this.done.length === 0) this.open();
  }

  write(data: Uint8Array): void {
    if (this.head.length < 65536) this.head = Buffer.concat([this.head, data.subarray(0, 65536 - this.head.length)]);
    let rest = data;
    while (rest.length) {
      if (this.fd === undefined) this.open();
      const c = this.current!;
      const room = this.volumeBytes ? this.volumeBytes - c.bytes : rest.length;
      const part = rest.subarray(0, Math.min(room, rest.length));
      this.writeAll(part);
      c.hash.update(part);
      c.bytes += part.length;
      this.bytes += part.length;
      rest = rest.subarray(part.length);
      if (this.volumeBytes && c.bytes >= this.volumeBytes) this.closeCurrent();
    }
  }

  /** Ends the last file (an empty archive is one empty file); the stored files, still under their temporary names. */
  finish(): StoredFile[] {
    if (this.fd === undefined && this.done.length === 0) this.open();
    this.closeCurrent();
    return this.done.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 }));
  }

  /**
   * Gives the files their names. Two files cannot be swapped at once, so the manifest bridges the
   * moment between: first it lists the previous archive's sum and the new one's, then the archive is
   * renamed over the previous one, then the manifest lists the new sum only — killed at any point, the
   * archive there matches its manifest (the previous backup or the new one, never neither). Volumes of a
   * previous archive beyond the new last one are removed (a reader without the manifest would take
   * them for part of it). `step` (tests) is called before each step.
   */
  commit(step: (n: number) => void = () => {}): StoredFile[] {
    const files = this.finish();
    const manifest = join(this.dir, `${this.name}.sha256`);
    const tmp = this.partialOf(`${this.name}.sha256`);
    const writeManifest = (text: string) => {
      const fd = openSync(tmp, "w", 0o600);
      writeSync(fd, text);
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, manifest);
    };
    const previous = existsSync(manifest) ? readFileSync(manifest, "utf8").split("\n").filter((l) => l && parseManifest(l, this.name).length) : [];
    step(1);
    if (previous.length) writeManifest(`${previous.join("\n")}\n${manifestText(files)}`);
    step(2);
    for (const f of this.done) renameSync(f.partial, join(this.dir, f.name));
    step(3);
    writeManifest(manifestText(files));
    step(4);
    const mine = new Set(files.map((f) => f.name));
    for (const e of splitVolumes(readdirSync(this.dir), this.name)) if (!mine.has(e)) rmSync(join(this.dir, e), { force: true });
    if (this.volumeBytes) rmSync(join(this.dir, this.name), { force: true }); // an unsplit archive of the same name from before
    return files;
  }

  /**
   * Removes what was written (a failed or interrupted backup; also an exit task, so that SIGTERM leaves
   * no `.partial-PID` file). Never throws: it runs on the way out of an error (a read-only target
   * refuses even the removal of a file that is not there).
   */
  abort(): void {
    this.aborted = true;
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {}
      this.fd = undefined;
    }
    for (const p of [...this.done.map((f) => f.partial), ...(this.current ? [this.current.partial] : []), this.partialOf(`${this.name}.sha256`)]) {
      try {
        rmSync(p, { force: true });
      } catch {}
    }
  }
}

/** The stored files of archive `name` in `dir`: as its manifest lists them, else the file, else ReaR's split volumes. */
export function archiveFiles(dir: string, name: string): { files: { path: string; bytes: number; sha256s?: string[] }[]; manifest?: string } {
  const manifest = join(dir, `${name}.sha256`);
  if (existsSync(manifest)) {
    // a file listed twice (a backup stopped while it replaced the previous one): either sum is its own
    const sums = new Map<string, string[]>();
    for (const l of parseManifest(readFileSync(manifest, "utf8"), name)) sums.set(l.name, [...(sums.get(l.name) ?? []), l.sha256]);
    if (sums.size) return { manifest, files: [...sums].map(([n, s]) => ({ path: join(dir, n), sha256s: s, bytes: existsSync(join(dir, n)) ? statSync(join(dir, n)).size : -1 })) };
    // a manifest without a line for this archive: the files as found, with no sum to check (the caller says so)
    return { manifest, files: unlisted(dir, name).map((f) => ({ ...f, sha256s: [] })) };
  }
  return { files: unlisted(dir, name) };
}

/** The archive file, else ReaR's split volumes. */
function unlisted(dir: string, name: string): { path: string; bytes: number }[] {
  if (existsSync(join(dir, name))) return [{ path: join(dir, name), bytes: statSync(join(dir, name)).size }];
  const vols = existsSync(dir) ? splitVolumes(readdirSync(dir), name) : [];
  return vols.map((v) => ({ path: join(dir, v), bytes: statSync(join(dir, v)).size }));
}

/** The bytes of the stored files, one after the other (a split archive is one stream). */
export async function* readFiles(paths: readonly string[], chunk = 4 << 20): AsyncGenerator<Uint8Array> {
  for (const p of paths) for await (const c of createReadStream(p, { highWaterMark: chunk })) yield c as Buffer;
}

/** The first `n` bytes of a stream of files. */
export function readHeadOf(paths: readonly string[], n: number): Buffer {
  const parts: Uint8Array[] = [];
  let got = 0;
  for (const p of paths) {
    const h = readHead(p, n - got);
    if (!h) throw new Error(`cannot read ${p}`);
    parts.push(h);
    got += h.length;
    if (got >= n) break;
  }
  return Buffer.concat(parts);
}
