// An in-memory ConfigIo for unit tests: files with owner and mode; bash is never run (the call is
// recorded and answered by the test, or refused).

import type { ConfigIo, FileStat } from "../../src/config/load.ts";

export interface FakeFile {
  text: string;
  uid?: number;
  mode?: number;
}

export class FakeIo implements ConfigIo {
  bashCalls: string[] = [];
  bashAnswer?: (script: string) => { code: number; stdout: string; stderr: string };
  constructor(public files: Record<string, FakeFile> = {}) {}
  readText(path: string): string | undefined {
    return this.files[path]?.text;
  }
  stat(path: string): FileStat | undefined {
    const f = this.files[path];
    return f ? { isFile: true, uid: f.uid ?? 0, mode: 0o100000 | (f.mode ?? 0o644) } : undefined;
  }
  runBash(script: string) {
    this.bashCalls.push(script);
    if (this.bashAnswer) return this.bashAnswer(script);
    throw new Error("FakeIo: bash is not run in unit tests");
  }
  uidOf(user: string): number | undefined {
    return user === "root" ? 0 : user === "backup" ? 34 : undefined;
  }
}
