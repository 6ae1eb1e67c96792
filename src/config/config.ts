// The evaluated configuration, frozen, with typed readers. Values are what bash would hold: a string
// or an array of strings. Reading a scalar from an array gives element 0, as bash's $VAR does.

import type { LoadedConfig } from "./load.ts";
import type { Value } from "./shell-eval.ts";
import { isFalse, isSecretByName, isTrue } from "./settings.ts";

export class Config {
  private readonly values: ReadonlyMap<string, Value>;
  private readonly exportedNames: ReadonlySet<string>;

  constructor(readonly loaded: LoadedConfig) {
    const values = new Map<string, Value>();
    const exported = new Set<string>();
    for (const [k, v] of loaded.vars) {
      if (v.value === undefined) continue;
      values.set(k, Object.freeze(Array.isArray(v.value) ? [...v.value] : v.value) as Value);
      if (v.exported) exported.add(k);
    }
    this.values = values;
    this.exportedNames = exported;
    Object.freeze(this);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }
  raw(name: string): Value | undefined {
    return this.values.get(name);
  }
  /** The scalar value ("" when unset). */
  str(name: string): string {
    const v = this.values.get(name);
    return v === undefined ? "" : typeof v === "string" ? v : (v[0] ?? "");
  }
  /** The array value ([] when unset; a scalar gives a one-element array, as "${VAR[@]}"). */
  arr(name: string): readonly string[] {
    const v = this.values.get(name);
    return v === undefined ? [] : typeof v === "string" ? [v] : v;
  }
  isTrue(name: string): boolean {
    return isTrue(this.str(name));
  }
  isFalse(name: string): boolean {
    return isFalse(this.str(name));
  }
  isSecret(name: string): boolean {
    return this.loaded.secrets.has(name) || isSecretByName(name);
  }
  isExported(name: string): boolean {
    return this.exportedNames.has(name);
  }
  names(): string[] {
    return [...this.values.keys()];
  }
  entries(): [string, Value][] {
    return [...this.values];
  }
}
