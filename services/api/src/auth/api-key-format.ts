import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { uuidv7 } from '@niyanta/messages';

/** Every key starts with this, so a leaked one is easy to recognise (and to scan for). */
export const KEY_PREFIX = 'nyk_';
/** A key's public id: a UUIDv7 without dashes, so ids sort by creation. */
export const KEY_ID_RE = /^[0-9a-f]{32}$/;
/** 256 random bits. */
export const SECRET_BYTES = 32;
const KEY_RE = /^nyk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;

/** Hex sha256 of a string's UTF-8. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * A new key `nyk_<id>_<secret>`: the id finds the row, the secret (256 random bits, base64url)
 * proves possession. Only sha256(secret) is stored: a slow password hash protects guessable
 * secrets, and nobody can guess 256 random bits, so a fast hash costs an attacker as much and
 * every request far less.
 */
export function newApiKey(): { id: string; key: string; secretSha256: string } {
  const id = uuidv7().replaceAll('-', '');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { id, key: `${KEY_PREFIX}${id}_${secret}`, secretSha256: sha256Hex(secret) };
}

/** The id and secret of a token shaped like a key; undefined for anything else. */
export function parseApiKey(token: string): { id: string; secret: string } | undefined {
  const m = KEY_RE.exec(token);
  return m === null ? undefined : { id: m[1]!, secret: m[2]! };
}

/** Whether `secret` hashes to `storedHex`, in time that does not depend on where they differ. */
export function secretMatches(secret: string, storedHex: string): boolean {
  const presented = createHash('sha256').update(secret, 'utf8').digest();
  const stored = Buffer.from(storedHex, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** Whether two secrets are equal, in time that depends on neither (both are hashed first). */
export function sameSecret(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
