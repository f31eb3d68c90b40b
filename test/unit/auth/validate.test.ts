/** The input rules of src/auth/validate.ts and checkNewPassword, field by field. */
import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/sqlstudio/common/v1/error_pb.js";
import { checkNewPassword } from "../../../src/auth/passwords.js";
import * as v from "../../../src/auth/validate.js";

/** The ErrorInfo (reason, field) a call throws, or "ok". */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    const info = ConnectError.from(e).findDetails(ErrorInfoSchema)[0];
    return `${info?.reason}:${info?.field}`;
  }
}

const smile = "\u{1F600}"; // one code point, two UTF-16 units

describe("lengths count characters (code points), never UTF-16 units", () => {
  it("tooManyCodePoints", () => {
    expect(v.tooManyCodePoints("a".repeat(256), 256)).toBe(false);
    expect(v.tooManyCodePoints("a".repeat(257), 256)).toBe(true);
    expect(v.tooManyCodePoints(smile.repeat(256), 256)).toBe(false);
    expect(v.tooManyCodePoints(smile.repeat(257), 256)).toBe(true);
    expect(v.tooManyCodePoints(`${smile.repeat(255)}ab`, 256)).toBe(true);
    expect(v.tooManyCodePoints("x".repeat(10 * 1024 * 1024), 256)).toBe(true);
  });

  it("a password of 256 emoji is not too long; 257 are", () => {
    expect(outcome(() => v.givenPassword(smile.repeat(256), "password"))).toBe("ok");
    expect(outcome(() => v.givenPassword(smile.repeat(257), "password"))).toBe("FIELD_TOO_LONG:password");
    expect(outcome(() => checkNewPassword(smile.repeat(257), "new_password"))).toBe("PASSWORD_TOO_LONG:new_password");
    expect(outcome(() => checkNewPassword(`${smile.repeat(254)}Qz`, "new_password"))).not.toBe("PASSWORD_TOO_LONG:new_password");
    // Ten emoji are ten characters: long enough.
    expect(outcome(() => checkNewPassword(smile.repeat(9), "new_password"))).toBe("PASSWORD_TOO_SHORT:new_password");
  });

  it("a 10 MB password is refused as too long by every path", () => {
    const huge = "p".repeat(10 * 1024 * 1024);
    expect(outcome(() => v.givenPassword(huge, "password"))).toBe("FIELD_TOO_LONG:password");
    expect(outcome(() => checkNewPassword(huge, "password"))).toBe("PASSWORD_TOO_LONG:password");
    expect(outcome(() => v.displayName(huge))).toBe("FIELD_TOO_LONG:display_name");
  });
});

describe("fields", () => {
  it("email: trimmed, lower-cased, one @ and a dot; no control characters", () => {
    expect(v.email("  Ada@Example.TEST ")).toBe("ada@example.test");
    expect(outcome(() => v.email(""))).toBe("FIELD_REQUIRED:email");
    expect(outcome(() => v.email("ada"))).toBe("INVALID_EMAIL:email");
    expect(outcome(() => v.email("a@b"))).toBe("INVALID_EMAIL:email");
    expect(outcome(() => v.email("a\u0000@b.co"))).toBe("INVALID_CHARACTERS:email");
    expect(outcome(() => v.email(`${"a".repeat(250)}@b.co`))).toBe("FIELD_TOO_LONG:email");
  });

  it("username: 3-32 of [a-z0-9_.-], any case as typed", () => {
    expect(v.username("Ada_Lovelace.1-x")).toBe("Ada_Lovelace.1-x");
    for (const bad of ["ab", "a".repeat(33), "ada lovelace", "ada@home", "adé"]) expect(outcome(() => v.username(bad)), bad).toBe("INVALID_USERNAME:username");
    expect(outcome(() => v.username("ab\u0007c"))).toBe("INVALID_CHARACTERS:username");
  });

  it("given passwords: present, at most 256 characters, no control characters; never judged for strength", () => {
    expect(v.givenPassword("x", "password")).toBe("x");
    expect(outcome(() => v.givenPassword("", "password"))).toBe("FIELD_REQUIRED:password");
    for (const c of ["\u0000", "\n", "\u001f", "\u007f"]) expect(outcome(() => v.givenPassword(`abc${c}def`, "current_password"))).toBe("INVALID_CHARACTERS:current_password");
    // What checkNewPassword allows, givenPassword allows: C1 characters are not refused by either.
    expect(v.givenPassword("abc\u0085def", "password")).toBe("abc\u0085def");
  });

  it("new passwords: refused when common, guessable from the account, or carrying control characters", () => {
    expect(outcome(() => checkNewPassword("password1234", "password"))).toBe("PASSWORD_TOO_WEAK:password");
    expect(outcome(() => checkNewPassword("adalovelace1", "password", ["adalovelace1@example.test", "adalovelace1"]))).toBe("PASSWORD_TOO_WEAK:password");
    expect(outcome(() => checkNewPassword("Quartz-\u0000-Lantern-4821", "password"))).toBe("INVALID_CHARACTERS:password");
    expect(outcome(() => checkNewPassword("Quartz-7f3a9c-Lantern!", "password"))).toBe("ok");
  });

  it("opaque tokens and ids have the shapes this server issues", () => {
    expect(v.opaqueToken("A".repeat(43), "token")).toHaveLength(43);
    for (const bad of ["A".repeat(42), "A".repeat(44), `${"A".repeat(42)}=`, `${"A".repeat(42)}+`]) expect(outcome(() => v.opaqueToken(bad, "token"))).toBe("INVALID_TOKEN:token");
    expect(outcome(() => v.opaqueToken("", "refresh_token"))).toBe("FIELD_REQUIRED:refresh_token");
    expect(v.id("01900000-0000-7000-8000-000000000000", "session_id")).toBeTruthy();
    expect(outcome(() => v.id("01900000-0000-7000-8000-00000000000Z", "session_id"))).toBe("INVALID_ID:session_id");
  });
});
