// The network as the rescue system has it, in one line: what a failed download needs next to its error
// (the interfaces with their addresses, and the routes), so that nobody has to reboot to find out.

import { exec } from "./exec.ts";

export async function networkState(env?: Record<string, string | undefined>): Promise<string> {
  const a = await exec(["ip", "-br", "addr"], { quiet: true, ...(env ? { env } : {}) });
  const r = await exec(["ip", "route"], { quiet: true, ...(env ? { env } : {}) });
  const addrs = a.code === 0 ? a.stdout.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " ")).filter((l) => l && !l.startsWith("lo ")).join(", ") : `ip -br addr failed (exit ${a.code})`;
  const routes = r.code === 0 ? r.stdout.trim().split("\n").map((l) => l.trim()).filter(Boolean).join(", ") : `ip route failed (exit ${r.code})`;
  return `interfaces: ${addrs || "none but lo"}; routes: ${routes || "none"}`;
}
