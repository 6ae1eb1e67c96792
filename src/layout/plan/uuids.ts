// UUID sources for the plan: crypto-random for real runs, a seeded sequence for tests (systemd-repart's
// --seed), so a plan made twice from the same input is the same plan.
// Pure.

import type { UuidSource } from "./types.ts";

const hex = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, "0")).join("");

function format(b: number[]): string {
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A deterministic v4-shaped UUID sequence from a seed string (xorshift32 over the seed's hash). */
export function seededUuids(seed: string): UuidSource {
  let s = 2166136261;
  for (const c of seed) s = Math.imul(s ^ c.charCodeAt(0), 16777619) >>> 0;
  if (s === 0) s = 1;
  const byte = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s & 0xff;
  };
  return { next: () => format(Array.from({ length: 16 }, byte)) };
}

export function randomUuids(): UuidSource {
  return { next: () => crypto.randomUUID() };
}
