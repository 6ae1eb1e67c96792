// Downloads (RECOVERY_UPDATE_URL, the COVE installer) against a real server on 127.0.0.1 that sends slowly:
// an attempt ends when no byte came for the stall time, not after a fixed time for the whole transfer (a
// big archive on a slow link took longer than any fixed limit, and every retry started over).

import { afterAll, describe, expect, test } from "bun:test";
import { fetchOnce } from "../../src/update/download.ts";

const servers: { stop(force?: boolean): void }[] = [];
afterAll(() => servers.forEach((s) => s.stop(true)));

/** A server whose body comes in `n` pieces, `gapMs` apart. */
function trickle(n: number, gapMs: number): string {
  const s = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      let i = 0;
      const body = new ReadableStream({
        async pull(c) {
          if (i === n) return c.close();
          await Bun.sleep(gapMs);
          c.enqueue(new Uint8Array(1024).fill(i++));
        },
      });
      return new Response(body);
    },
  });
  servers.push(s);
  return `http://127.0.0.1:${s.port}/a.tar.gz`;
}

describe("download: a stall timeout, not a total one", () => {
  test("a transfer that takes 3 s but never pauses 1 s arrives whole with a 1 s stall limit", async () => {
    const r = await fetchOnce(trickle(10, 300), { plainHttpOk: true, waitSeconds: 0, stallSeconds: 1 });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.bytes.length).toBe(10 * 1024);
  }, 20_000);
  test("a transfer that pauses longer than the limit is given up, to be tried again, saying how far it came", async () => {
    const r = await fetchOnce(trickle(3, 1500), { plainHttpOk: true, waitSeconds: 0, stallSeconds: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.retry).toBe(true);
      expect(r.outcome).toMatch(/^(the transfer stalled: no data for 1 s after \d+ bytes|no answer within 1 s)$/);
    }
  }, 20_000);
});
