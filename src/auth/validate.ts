import { invalidArgument, R } from "../common/errors.js";

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const USERNAME = /^[a-z0-9_.-]{3,32}$/;

/**
 * Whether a string has more than `max` characters (code points). A string of more than 2·max
 * UTF-16 units has more than max code points, so huge input is refused without spreading it
 * into an array (~15 ms per MB of event loop).
 */
export function tooManyCodePoints(value: string, max: number): boolean {
  return value.length > 2 * max || [...value].length > max;
}

function text(value: string, field: string, max: number, opts: { required?: boolean; multiline?: boolean } = {}): string {
  if (opts.required && value.trim() === "") throw invalidArgument(field, "is required", R.FIELD_REQUIRED);
  if (tooManyCodePoints(value, max)) throw invalidArgument(field, `must be at most ${max} characters`, R.FIELD_TOO_LONG);
  if (CONTROL.test(value)) throw invalidArgument(field, "must not contain control characters", R.INVALID_CHARACTERS);
  return value;
}

/** A valid email, lower-cased and trimmed. */
export function email(value: string, field = "email"): string {
  const v = text(value.trim(), field, 254, { required: true }).toLowerCase();
  if (!EMAIL.test(v)) throw invalidArgument(field, "is not an email address", R.INVALID_EMAIL);
  return v;
}

/** A valid username as typed (uniqueness is case-insensitive). */
export function username(value: string, field = "username"): string {
  const v = text(value.trim(), field, 64, { required: true });
  if (!USERNAME.test(v.toLowerCase())) {
    throw invalidArgument(field, "must be 3-32 characters of a-z, 0-9, '_', '.', '-'", R.INVALID_USERNAME);
  }
  return v;
}

export const displayName = (value: string, field = "display_name") => text(value.trim(), field, 100);
export const deviceName = (value: string, field = "device_name") => text(value.trim(), field, 100);

/** The login identifier: a username or an email, normalized the way it is stored. */
export function identifier(value: string, field = "identifier"): string {
  const v = text(value.trim(), field, 254, { required: true }).toLowerCase();
  return v;
}

/**
 * Passwords given to log in are checked for presence, size and control characters only (never
 * for strength): no stored password can contain control characters (checkNewPassword refuses
 * them), so such input is bad input, not a failed login.
 */
export function givenPassword(value: string, field: string): string {
  if (value === "") throw invalidArgument(field, "is required", R.FIELD_REQUIRED);
  if (tooManyCodePoints(value, 256)) throw invalidArgument(field, "must be at most 256 characters", R.FIELD_TOO_LONG);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalidArgument(field, "must not contain control characters", R.INVALID_CHARACTERS);
  return value;
}

/** Opaque tokens this server issues are 43 base64url characters. */
export function opaqueToken(value: string, field: string): string {
  if (value === "") throw invalidArgument(field, "is required", R.FIELD_REQUIRED);
  if (!/^[A-Za-z0-9_-]{43}$/.test(value)) throw invalidArgument(field, "is not a token this server issued", R.INVALID_TOKEN);
  return value;
}

/**
 * Refresh tokens are checked for presence and size here; whether the server issued one
 * (RefreshTokens.sessionOf) is an authentication question, answered with Unauthenticated.
 */
export function refreshToken(value: string, field: string): string {
  if (value === "") throw invalidArgument(field, "is required", R.FIELD_REQUIRED);
  if (value.length > 256 || !/^[\x21-\x7e]+$/.test(value)) throw invalidArgument(field, "is not a token this server issued", R.INVALID_TOKEN);
  return value;
}

export function id(value: string, field: string): string {
  if (value === "") throw invalidArgument(field, "is required", R.FIELD_REQUIRED);
  if (!/^[0-9a-f-]{36}$/.test(value)) throw invalidArgument(field, "is not an id", R.INVALID_ID);
  return value;
}
