// Every built-in stage module, listed statically (a compiled binary has no directory to scan).
// The engine receives this list; it never imports stages itself.

import type { Module } from "../engine/module.ts";
import { checkStaleNfsMounts } from "./init/100-check-stale-nfs-mounts.ts";
import { checkMissingPrograms } from "./init/950-check-missing-programs.ts";
import { dumpVariables } from "./init/998-dump-variables.ts";
import { checkLayoutFile, compareLayout } from "./layout/compare-layout.ts";
import { saveLayout } from "./layout/save-layout.ts";

export const MODULES: readonly Module[] = [checkStaleNfsMounts, checkMissingPrograms, dumpVariables, saveLayout, checkLayoutFile, compareLayout];
