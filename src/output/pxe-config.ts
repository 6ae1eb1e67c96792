// OUTPUT=PXE's boot configurations and link names (ReaR's output/PXE/default/810_create_pxelinux_cfg.sh and
// make_pxelinux_config / make_pxelinux_config_grub in lib/bootloader-functions.sh), plus an iPXE script
// (new: HTTP boot, which ReaR lacks). Paths are relative to the TFTP (or HTTP) root. Pure.

export interface PxeMenuInput {
  host: string;
  version: string;
  /** relative to the TFTP root: <OUTPUT_PREFIX_PXE>/<host>.kernel */
  kernel: string;
  initrd: string;
  cmdline: string;
  /** PXE_RECOVER_MODE: "" | automatic | unattended (appended to the kernel line, as ReaR) */
  recoverMode: string;
  /** PXE_TFTP_IP: the server GRUB loads from (empty: the one it booted from) */
  tftpIp: string;
}

const words = (...parts: string[]): string => parts.map((p) => p.trim()).filter(Boolean).join(" ");

/** The kernel's line: ReaR's `root=/dev/ram0 vga=normal rw $KERNEL_CMDLINE $PXE_RECOVER_MODE`. */
export function pxeKernelLine(m: Pick<PxeMenuInput, "cmdline" | "recoverMode">): string {
  return words("root=/dev/ram0 vga=normal rw", m.cmdline, m.recoverMode);
}

/** pxelinux.cfg/<PXE_CONFIG_PREFIX><host>: the rescue system is the default; with a recover mode it starts at once. */
export function pxelinuxConfig(m: PxeMenuInput): string {
  return [
    `# Relax-and-Recover ${m.version} rescue system for ${m.host} (written by rear mkrescue)`,
    "default rear",
    m.recoverMode ? "prompt 0" : "prompt 1",
    m.recoverMode ? "timeout 50" : "timeout 300",
    "say ----------------------------------------------------------",
    `say rear = disaster recover ${m.host} with Relax-and-Recover${m.recoverMode ? ` (${m.recoverMode})` : ""}`,
    "label rear",
    `  kernel ${m.kernel}`,
    `  append ${words(`initrd=${m.initrd}`, pxeKernelLine(m))}`,
    "",
  ].join("\n");
}

/** PXE_CONFIG_GRUB_STYLE: GRUB's network config (UEFI PXE), loaded as grub.cfg-01-<mac>. */
export function pxeGrubConfig(m: PxeMenuInput): string {
  const src = m.tftpIp ? `(tftp,${m.tftpIp})` : "($root)";
  return [
    `# Relax-and-Recover ${m.version} rescue system for ${m.host} (written by rear mkrescue)`,
    `set default=0`,
    `set timeout=${m.recoverMode ? 5 : 300}`,
    `menuentry "Relax-and-Recover: recover ${m.host}${m.recoverMode ? ` (${m.recoverMode})` : ""}" {`,
    "  insmod tftp",
    ...(m.tftpIp ? [`  set net_default_server=${m.tftpIp}`] : []),
    `  echo "Loading the Relax-and-Recover rescue system ..."`,
    `  linux ${src}/${m.kernel} ${pxeKernelLine(m)}`,
    `  initrd ${src}/${m.initrd}`,
    "}",
    "",
  ].join("\n");
}

/** An iPXE script: over HTTP (PXE_HTTP_URL, e.g. http://server/rear) or TFTP from PXE_TFTP_IP. */
export function ipxeScript(m: PxeMenuInput, httpUrl: string): string {
  const base = httpUrl ? httpUrl.replace(/\/+$/, "") : m.tftpIp ? `tftp://${m.tftpIp}` : "tftp://${next-server}";
  return [
    "#!ipxe",
    `# Relax-and-Recover ${m.version} rescue system for ${m.host} (written by rear mkrescue)`,
    `echo Loading the Relax-and-Recover rescue system for ${m.host} ...`,
    `kernel ${base}/${m.kernel} initrd=${m.initrd.split("/").pop()} ${pxeKernelLine(m)}`,
    `initrd ${base}/${m.initrd}`,
    "boot",
    "",
  ].join("\n");
}

/** pxelinux's per-MAC name: 01-aa-bb-cc-dd-ee-ff (ARP type 1, Ethernet). */
export function macLinkName(mac: string): string | undefined {
  const m = mac.trim().toLowerCase();
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m) || m === "00:00:00:00:00:00") return undefined;
  return `01-${m.replace(/:/g, "-")}`;
}

/** pxelinux's per-IP names: the address in upper-case hex, and its first 6 digits (the /24), as gethostip -x. */
export function ipLinkNames(ip: string): string[] {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return [];
  const hex = parts.map((p) => p.toString(16).toUpperCase().padStart(2, "0")).join("");
  return [hex, hex.slice(0, 6)];
}
