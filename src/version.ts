// The version `rear -V` prints. ReaR prints "Relax-and-Recover <version> / <date>" and scripts of backup
// vendors parse it, so we keep that shape; the major version 3 tells them this is newer than ReaR 2.x.
export const PRODUCT = "Relax-and-Recover";
export const VERSION = "3.0.0-alpha.1";
export const RELEASE_DATE = "2026-11-22";
export const versionLine = (): string => `${PRODUCT} ${VERSION} / ${RELEASE_DATE}`;
