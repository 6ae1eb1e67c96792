// Classes of kernel drivers the rescue system takes whole, as data: directories of /lib/modules/<kv>
// (prefixes of the paths modules.dep names) and module names. They stand in for hardware the running
// system does not show today: the replacement machine of a disaster recovery may have another disk
// controller, and the person at its console another keyboard. Everything the machine uses now is
// covered anyway, by its loaded modules.
//
// ReaR's counterpart is rescue/GNU/Linux/230_storage_and_network_modules.sh: every module under
// drivers/{block,firewire,ide,ata,md,message,scsi,usb/storage,s390/*}, drivers/net (wireless included),
// crypto, drivers/{virtio,xen}, extra and weak-updates, unconditionally, on top of the fixed list in
// build/GNU/Linux/400_copy_modules.sh. Ours keeps the storage part (a rescue system that cannot see the
// disks cannot restore anything), trims what a console and the network need to what is common, takes
// the crypto algorithms only when LUKS is used, and lets the caller widen the network part to ReaR's.
// Pure data.

export interface DriverClass {
  name: string;
  /** one line for the log: why the class is there */
  why: string;
  /** path prefixes relative to /lib/modules/<kv>, ending in '/' */
  dirs: readonly string[];
  /** module names (normalised or not) */
  modules: readonly string[];
  /** path prefixes inside `dirs` that the class leaves out (a loaded module of them still comes with the loaded modules) */
  skip?: readonly string[];
}

/**
 * Disk controllers and what sits on them. drivers/scsi is the biggest part (~22 MiB on Debian 12) but is
 * the SAN and RAID HBAs (qla2xxx, lpfc, megaraid_sas, mpt3sas, smartpqi, hpsa …) of the servers ReaR
 * restores onto; drivers/message is VMware's LSI Logic controller (mptspi/mptsas). Left out on purpose:
 * drivers/firewire (no FireWire disks on machines that run current kernels; a loaded firewire_sbp2 still
 * comes with the loaded modules), drivers/nvme/target and drivers/target (the storage *server* side),
 * drivers/nvdimm (pmem; loaded when used).
 */
export const STORAGE: DriverClass = {
  name: "storage",
  why: "disk controllers of a replacement machine",
  dirs: [
    "kernel/drivers/block/",
    "kernel/drivers/ata/",
    "kernel/drivers/scsi/",
    "kernel/drivers/nvme/host/",
    "kernel/drivers/md/",
    "kernel/drivers/virtio/",
    "kernel/drivers/mmc/",
    "kernel/drivers/ufs/",
    "kernel/drivers/message/",
    "kernel/drivers/usb/storage/",
    "kernel/drivers/usb/host/",
    "kernel/drivers/s390/block/",
    "kernel/drivers/s390/scsi/",
  ],
  modules: [],
  // Fibre Channel, FCoE and iSCSI-offload HBAs (~13 MiB of drivers/scsi): a machine that boots from a
  // SAN has its HBA driver loaded, so it comes with the loaded modules; a replacement machine for a
  // local-disk server does not grow a SAN. Software iSCSI (iscsi_tcp) and the RAID/SAS HBAs stay.
  skip: [
    "kernel/drivers/scsi/lpfc/", "kernel/drivers/scsi/qla2xxx/", "kernel/drivers/scsi/qla4xxx/", "kernel/drivers/scsi/bfa/",
    "kernel/drivers/scsi/csiostor/", "kernel/drivers/scsi/cxgbi/", "kernel/drivers/scsi/be2iscsi/", "kernel/drivers/scsi/bnx2fc/",
    "kernel/drivers/scsi/bnx2i/", "kernel/drivers/scsi/qedf/", "kernel/drivers/scsi/qedi/", "kernel/drivers/scsi/fnic/",
    "kernel/drivers/scsi/snic/", "kernel/drivers/scsi/fcoe/", "kernel/drivers/scsi/libfc/", "kernel/drivers/scsi/elx/",
  ],
};

/**
 * A keyboard at the rescue console. hid_generic drives any USB keyboard (they all speak the HID boot
 * protocol); the ~120 vendor hid-* drivers of drivers/hid (4.7 MiB) only add media keys and LEDs, and
 * the one the machine uses now is loaded anyway. USB host controllers come with the storage class.
 * drivers/input/serio holds hyperv_keyboard; i2c-hid drives the keyboards of some recent laptops.
 */
export const KEYBOARD: DriverClass = {
  name: "keyboard",
  why: "a keyboard at the rescue console",
  dirs: ["kernel/drivers/input/keyboard/", "kernel/drivers/input/serio/", "kernel/drivers/hid/i2c-hid/"],
  modules: ["hid", "hid_generic", "usbhid", "xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd"],
};

/**
 * What the rescue system boots from and mounts: the ISO (sr_mod, isofs), a USB stick (usb_storage, uas),
 * the ESP and FAT media (vfat with the code pages its mount options name by default: cp437 and
 * iso8859-1, plus utf8), the REAR_INITRD_OVERLAY squashfs and overlay, loop devices, efivarfs for
 * efibootmgr in recover.
 */
export const BOOT_MEDIA: DriverClass = {
  name: "boot-media",
  why: "the media the rescue system boots from and the ESP",
  dirs: [],
  modules: [
    "cdrom", "sr_mod", "isofs", "usb_storage", "uas",
    "vfat", "fat", "nls_cp437", "nls_iso8859_1", "nls_utf8",
    "squashfs", "overlay", "loop", "efivarfs",
  ],
};

/**
 * The network cards a backup server is most often reached through: the virtual NICs of the common
 * hypervisors (KVM virtio_net, VMware vmxnet3 and e1000/e1000e, Hyper-V hv_netvsc, Xen xen-netfront,
 * AWS ena, Google gve) and the commonest physical ones (Intel igb/igc/ixgbe/e1000e, Realtek r8169,
 * Broadcom tg3). af_packet is what dhclient opens (ReaR's fixed list has it; it is built in on most
 * kernels). NETWORK_ETHERNET and NETWORK_ALL widen this.
 */
export const NETWORK: DriverClass = {
  name: "network",
  why: "common network cards",
  dirs: [],
  modules: ["af_packet", "virtio_net", "e1000", "e1000e", "vmxnet3", "hv_netvsc", "xen_netfront", "ena", "gve", "igb", "igc", "ixgbe", "r8169", "tg3"],
};

/** Every wired network driver (drivers/net/ethernet, ~34 MiB on Debian 12): a restore onto unknown hardware over the network. */
export const NETWORK_ETHERNET: DriverClass = {
  name: "network-ethernet",
  why: "every wired network card",
  dirs: ["kernel/drivers/net/ethernet/", "kernel/drivers/s390/net/"],
  modules: NETWORK.modules,
};

/** ReaR's NETWORK_DRIVERS: all of drivers/net, wireless and WWAN included (~77 MiB on Debian 12). */
export const NETWORK_ALL: DriverClass = {
  name: "network-all",
  why: "all network drivers, as ReaR",
  dirs: ["kernel/drivers/net/", "kernel/drivers/s390/net/"],
  modules: NETWORK.modules,
};

/**
 * Crypto algorithms, for LUKS. dm-crypt and cryptsetup ask the crypto API for an algorithm by name
 * ("xts(aes)", "sha256", "argon2" …) and the kernel loads "crypto-<name>" through modprobe: no module
 * depends on them, so no dependency closure finds them. The whole of kernel/crypto and the arch
 * accelerated versions is ~3.4 MiB on Debian 12, cheaper than guessing the cipher of every keyslot.
 */
export const CRYPTO: DriverClass = {
  name: "crypto",
  why: "crypto algorithms LUKS may name (loaded by name, not by dependency)",
  dirs: ["kernel/crypto/", "kernel/arch/x86/crypto/", "kernel/arch/arm64/crypto/", "kernel/arch/powerpc/crypto/", "kernel/arch/s390/crypto/", "kernel/drivers/s390/crypto/"],
  modules: ["dm_crypt"],
};

/**
 * Drivers installed outside the kernel package: extra/ (vendor and kmod packages) and weak-updates/
 * (RHEL/SLES kABI-compatible driver updates, often for a storage controller), as ReaR includes them.
 * Not updates/: that is where DKMS puts its builds on Debian and Ubuntu (nvidia, virtualbox, zfs), large
 * and rarely needed to restore; the ones the machine uses are loaded and come with the loaded modules.
 */
export const EXTRA: DriverClass = {
  name: "extra",
  why: "out-of-tree drivers installed for this machine",
  dirs: ["extra/", "weak-updates/"],
  modules: [],
};

export const DRIVER_CLASSES: readonly DriverClass[] = [STORAGE, KEYBOARD, BOOT_MEDIA, NETWORK, NETWORK_ETHERNET, NETWORK_ALL, CRYPTO, EXTRA];

export type NetworkDrivers = "common" | "ethernet" | "all" | "none";

/** The classes of the default (MODULES=()) selection: crypto only when LUKS is used; the network part as chosen. */
export function defaultDriverClasses(o: { luks: boolean; network?: NetworkDrivers }): DriverClass[] {
  const net = { common: [NETWORK], ethernet: [NETWORK_ETHERNET], all: [NETWORK_ALL], none: [] }[o.network ?? "common"];
  return [STORAGE, KEYBOARD, BOOT_MEDIA, ...net, ...(o.luks ? [CRYPTO] : []), EXTRA];
}

/** A class by its name (for a configuration that names classes). */
export function driverClass(name: string): DriverClass | undefined {
  return DRIVER_CLASSES.find((c) => c.name === name);
}
