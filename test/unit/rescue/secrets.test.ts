import { describe, expect, test } from "bun:test";
import { linesWithSecrets, stripSecretAssignments } from "../../../src/rescue/secrets.ts";

const NAMES = ["BACKUP_PROG_CRYPT_KEY", "SSH_ROOT_PASSWORD"];

describe("secrets out of the rescue system's configuration", () => {
  test("every assignment form is replaced by a comment; the rest stays", () => {
    const text = [
      "OUTPUT=ISO",
      "{ BACKUP_PROG_CRYPT_KEY='s3cret-key' ; } 2>>/dev/$SECRET_OUTPUT_DEV",
      "BACKUP_PROG_CRYPT_KEY=\"s3cret-key\"",
      "export BACKUP_PROG_CRYPT_KEY=s3cret-key",
      "  declare -x SSH_ROOT_PASSWORD='pw-1234'",
      "SSH_ROOT_PASSWORD+=more",
      "# BACKUP_PROG_CRYPT_KEY=in-a-comment stays a comment",
      "MY_BACKUP_PROG_CRYPT_KEY=not-ours",
    ].join("\n");
    const r = stripSecretAssignments(text, NAMES);
    const lines = r.text.split("\n");
    expect(lines[0]).toBe("OUTPUT=ISO");
    for (const i of [1, 2, 3, 4, 5]) expect(lines[i]).toMatch(/^# (BACKUP_PROG_CRYPT_KEY|SSH_ROOT_PASSWORD) removed by rear mkrescue/);
    expect(lines[6]).toBe("# BACKUP_PROG_CRYPT_KEY=in-a-comment stays a comment");
    expect(lines[7]).toBe("MY_BACKUP_PROG_CRYPT_KEY=not-ours");
    expect(r.removed).toEqual(["BACKUP_PROG_CRYPT_KEY", "BACKUP_PROG_CRYPT_KEY", "BACKUP_PROG_CRYPT_KEY", "SSH_ROOT_PASSWORD", "SSH_ROOT_PASSWORD"]);
    expect(linesWithSecrets(r.text, ["s3cret-key", "pw-1234"])).toEqual([]);
  });
  test("a value left elsewhere is found by line; very short values are not searched", () => {
    expect(linesWithSecrets("A=1\nOTHER=\"s3cret-key\"\n", ["s3cret-key"])).toEqual([2]);
    expect(linesWithSecrets("a b c\n", ["b"])).toEqual([]);
  });
});
