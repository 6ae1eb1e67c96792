// Where glibc's ld.so looks on its own for an ELF class and machine: its compiled-in ("trusted",
// "system") directories and what $LIB and $PLATFORM expand to (ld.so(8) "Dynamic string tokens").
// Debian and Ubuntu build glibc for multiarch: slibdir /lib/<triplet>, so
//   `ld.so --help`  →  /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu, /lib, /usr/lib  and $LIB = lib/x86_64-linux-gnu
// other distributions use /lib64 + /usr/lib64 for 64-bit (/lib + /usr/lib for 32-bit) and $LIB = lib64.
// Which of the two a tree is, is read from the tree itself: multiarch when /lib/<triplet> or
// /usr/lib/<triplet> is there.

import { EM_386, EM_AARCH64, EM_ARM, EM_LOONGARCH, EM_MIPS, EM_PPC, EM_PPC64, EM_RISCV, EM_S390, EM_SPARCV9, EM_X86_64 } from "./elf.ts";
import type { RootFs } from "./root-path.ts";

export interface ElfKind {
  class: 32 | 64;
  machine: number;
  bigEndian: boolean;
}

/** The Debian multiarch triplet (dpkg-architecture's DEB_HOST_MULTIARCH) of an ELF kind. */
export function tripletOf(k: ElfKind): string | undefined {
  switch (k.machine) {
    case EM_X86_64: return k.class === 64 ? "x86_64-linux-gnu" : "x86_64-linux-gnux32";
    case EM_386: return "i386-linux-gnu";
    case EM_AARCH64: return k.bigEndian ? "aarch64_be-linux-gnu" : "aarch64-linux-gnu";
    case EM_ARM: return "arm-linux-gnueabihf";
    case EM_PPC64: return k.bigEndian ? "powerpc64-linux-gnu" : "powerpc64le-linux-gnu";
    case EM_PPC: return "powerpc-linux-gnu";
    case EM_S390: return k.class === 64 ? "s390x-linux-gnu" : "s390-linux-gnu";
    case EM_RISCV: return k.class === 64 ? "riscv64-linux-gnu" : undefined;
    case EM_LOONGARCH: return "loongarch64-linux-gnu";
    case EM_SPARCV9: return "sparc64-linux-gnu";
    case EM_MIPS: return k.class === 64 ? (k.bigEndian ? "mips64-linux-gnuabi64" : "mips64el-linux-gnuabi64") : k.bigEndian ? "mips-linux-gnu" : "mipsel-linux-gnu";
    default: return undefined;
  }
}

// glibc's slibdir on a distribution without multiarch (the per-architecture sysdeps/unix/sysv/linux configure fragments).
function plainLibDir(k: ElfKind): string {
  if (k.machine === EM_X86_64 && k.class === 32) return "libx32";
  if (k.class === 32) return "lib";
  if (k.machine === EM_RISCV) return "lib64/lp64d";
  return "lib64";
}

function isMultiarch(fs: RootFs, k: ElfKind): string | undefined {
  const t = tripletOf(k);
  return t && (fs.listDir(`/lib/${t}`) || fs.listDir(`/usr/lib/${t}`)) ? t : undefined;
}

/** The directories ld.so searches last, after the cache (ld.so(8) step 6). */
export function defaultDirsOf(fs: RootFs, k: ElfKind): string[] {
  const t = isMultiarch(fs, k);
  if (t) return [`/lib/${t}`, `/usr/lib/${t}`, "/lib", "/usr/lib"];
  const d = plainLibDir(k);
  return [`/${d}`, `/usr/${d}`];
}

/** $LIB: slibdir without its leading "/" (glibc's DL_DST_LIB). */
export function libTokenOf(fs: RootFs, k: ElfKind): string {
  const t = isMultiarch(fs, k);
  return t ? `lib/${t}` : plainLibDir(k);
}

/**
 * $PLATFORM: the kernel's AT_PLATFORM for the machine. It names the CPU the program runs on (glibc on
 * x86_64 even says "haswell" on such a CPU), which a rescue system cannot know; the base name is used.
 */
export function platformOf(k: ElfKind): string | undefined {
  switch (k.machine) {
    case EM_X86_64: return "x86_64";
    case EM_386: return "i686";
    case EM_AARCH64: return "aarch64";
    case EM_S390: return k.class === 64 ? "s390x" : "s390";
    case EM_RISCV: return "riscv64";
    case EM_LOONGARCH: return "loongarch";
    default: return undefined;
  }
}

/** The ELF kind of the running program (for lookups that have no ELF object to start from). */
export function hostKind(): ElfKind | undefined {
  const be = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;
  switch (process.arch as string) {
    case "x64": return { class: 64, machine: EM_X86_64, bigEndian: false };
    case "ia32": return { class: 32, machine: EM_386, bigEndian: false };
    case "arm64": return { class: 64, machine: EM_AARCH64, bigEndian: be };
    case "arm": return { class: 32, machine: EM_ARM, bigEndian: be };
    case "ppc64": return { class: 64, machine: EM_PPC64, bigEndian: be };
    case "s390x": return { class: 64, machine: EM_S390, bigEndian: true };
    case "riscv64": return { class: 64, machine: EM_RISCV, bigEndian: false };
    case "loong64": return { class: 64, machine: EM_LOONGARCH, bigEndian: false };
    default: return undefined;
  }
}
