// Names shared by the probes (which write probe data) and extraction (which reads it). Pure.

/** Disks ReaR considers (200_partition_layout.sh): IDE/SCSI/cciss/virtio/Xen/DASD/NVMe/MMC. */
export const DISK_NAME = /^(hd|sd|cciss|vd|xvd|dasd|nvme|mmcblk)/;

/** A device as part of a probe data key: /dev/mapper/x → mapper!x, /dev/vda1 → vda1. */
export const devKey = (dev: string): string => dev.replace(/^\/dev\//, "").replace(/\//g, "!");
