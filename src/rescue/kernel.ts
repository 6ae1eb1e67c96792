// Which kernel the rescue system boots: KERNEL_FILE, else autodetected for the running kernel or the one
// given with -r (ReaR prep/GNU/Linux/400_guess_kernel.sh, same candidates in the same order).

import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";

/** The candidate files for kernel version `kv`, in ReaR's order. Pure. */
export function kernelCandidates(kv: string, machine = "x86_64"): string[] {
  return [
    `/boot/vmlinuz-${kv}`,
    `/boot/vmlinux-${kv}`,
    `/boot/efi/EFI/Slackware/vmlinuz`,
    `/boot/efi/efi/redhat/vmlinuz-${kv}`,
    `/boot/efi/efi/debian/vmlinuz-${kv}`,
    `/boot/vmlinuz-linux`,
    `/boot/vmlinuz26`,
    `/boot/kernel-genkernel-${machine}-${kv}`,
    `/boot/kernel-${kv}`,
  ];
}

/**
 * The version string a bzImage carries (the kernel's Documentation/arch/x86/boot.rst: the setup header
 * at 0x202 says "HdrS", and the 16-bit pointer at 0x20e + 0x200 locates "6.1.0-27-amd64 (debian-kernel@…) #1 …").
 */
export function bzImageVersion(head: Uint8Array): string | undefined {
  if (head.length < 0x210) return undefined;
  const magic = String.fromCharCode(head[0x202]!, head[0x203]!, head[0x204]!, head[0x205]!);
  if (magic !== "HdrS") return undefined;
  const off = (head[0x20e]! | (head[0x20f]! << 8)) + 0x200;
  if (off >= head.length) return undefined;
  let end = off;
  while (end < head.length && head[end] !== 0 && head[end] !== 0x20) end++;
  const v = new TextDecoder().decode(head.subarray(off, end));
  return /^[0-9]/.test(v) ? v : undefined;
}

export class KernelNotFound extends Error {}

/** Finds the kernel file (symlinks resolved), or throws KernelNotFound with what was tried. */
export function findKernelFile(kernelFile: string, kv: string, readHead: (p: string) => Uint8Array | undefined): { file: string; why: string } {
  if (kernelFile) {
    if (!existsSync(kernelFile)) throw new KernelNotFound(`KERNEL_FILE '${kernelFile}' does not exist`);
    return { file: realpathSync(kernelFile), why: `Using '${kernelFile}' (KERNEL_FILE) as kernel in the recovery system` };
  }
  const tried = kernelCandidates(kv);
  for (const c of tried.slice(0, 2)) if (existsSync(c)) return { file: realpathSync(c), why: `Using autodetected kernel '${c}' as kernel in the recovery system` };
  // any /boot file whose embedded version is kv (ReaR's get_kernel_version loop)
  let boot: string[] = [];
  try {
    boot = readdirSync("/boot").sort().map((n) => `/boot/${n}`);
  } catch {}
  for (const f of boot) {
    try {
      if (!statSync(f).isFile()) continue;
    } catch {
      continue;
    }
    const head = readHead(f);
    if (head && bzImageVersion(head) === kv) return { file: realpathSync(f), why: `Using autodetected kernel '${f}' (it says version ${kv}) as kernel in the recovery system` };
  }
  for (const c of tried.slice(2)) if (existsSync(c)) return { file: realpathSync(c), why: `Using autodetected kernel '${c}' as kernel in the recovery system` };
  throw new KernelNotFound(`Cannot autodetect what to use as KERNEL_FILE for kernel version ${kv} (tried ${tried.slice(0, 2).join(", ")}, every file in /boot, and ${tried.length - 2} distribution paths)`);
}
