// Signed recovery updates with a tool admins already have: `ssh-keygen -Y sign -f KEY -n rear-update
// ARCHIVE` writes ARCHIVE.sig; rear fetches URL.sig beside the archive and accepts the archive only when
// a key of RECOVERY_UPDATE_SIGNERS (an allowed-signers file, ssh-keygen(1) "ALLOWED SIGNERS") made it for
// the namespace rear-update. And the sha256 pin (RECOVERY_UPDATE_SHA256).

import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execSync } from "../sys/exec.ts";

export const SIGNATURE_NAMESPACE = "rear-update";

export const sha256Hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** RECOVERY_UPDATE_SHA256: one or more hex digests (one per machine's archive, or old and new). */
export function pinProblem(bytes: Uint8Array, pins: readonly string[]): string | undefined {
  const got = sha256Hex(bytes);
  const want = pins.map((p) => p.trim().toLowerCase()).filter(Boolean);
  for (const p of want) if (!/^[0-9a-f]{64}$/.test(p)) return `RECOVERY_UPDATE_SHA256: '${p}' is not a sha256 (64 hex digits)`;
  return want.includes(got) ? undefined : `its sha256 is ${got}, not ${want.length === 1 ? want[0] : `one of ${want.join(", ")}`} (RECOVERY_UPDATE_SHA256)`;
}

/** Checks the signature with ssh-keygen; the signer's principal, or the reason it was refused. */
export function verifySignature(bytes: Uint8Array, signature: Uint8Array, signersFile: string): { ok: true; principal: string } | { ok: false; why: string } {
  const dir = mkdtempSync(join(tmpdir(), "rear-sig-"));
  try {
    const sig = join(dir, "update.sig");
    writeFileSync(sig, signature, { mode: 0o600 });
    const found = execSync(["ssh-keygen", "-Y", "find-principals", "-s", sig, "-f", signersFile]);
    if (found.code === 127) return { ok: false, why: "ssh-keygen is not installed (package openssh-client / openssh-clients / openssh)" };
    const principal = found.stdout.split("\n").map((l) => l.trim()).find(Boolean);
    if (found.code !== 0 || !principal) {
      return { ok: false, why: `no key of ${signersFile} made this signature${found.stderr.trim() ? ` (${found.stderr.trim().split("\n").pop()})` : ""}` };
    }
    const v = execSync(["ssh-keygen", "-Y", "verify", "-f", signersFile, "-I", principal, "-n", SIGNATURE_NAMESPACE, "-s", sig], { stdin: bytes });
    if (v.code !== 0) return { ok: false, why: `the signature does not match the archive or was not made for '${SIGNATURE_NAMESPACE}' (${(v.stderr || v.stdout).trim().split("\n").pop()})` };
    return { ok: true, principal };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
