import { InvalidBlobKeyError } from './errors.js';

const MAX_KEY_LENGTH = 1_024;
// Control characters and backslashes would mean different paths on different backends.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

/**
 * Checks a key is a safe relative path: both backends accept exactly the same keys, and the
 * filesystem backend can never leave its directory (no `..`, no absolute path, no hidden segment,
 * which also keeps keys clear of the backend's own temp files).
 */
export function assertValidKey(key: string): void {
  if (key.length === 0) throw new InvalidBlobKeyError(key, 'it is empty');
  if (key.length > MAX_KEY_LENGTH)
    throw new InvalidBlobKeyError(key, `it is longer than ${MAX_KEY_LENGTH} characters`);
  if (FORBIDDEN.test(key))
    throw new InvalidBlobKeyError(key, 'it contains a control character or a backslash');
  if (key.startsWith('/')) throw new InvalidBlobKeyError(key, 'it is absolute');
  for (const segment of key.split('/')) {
    if (segment === '') throw new InvalidBlobKeyError(key, 'it has an empty segment');
    if (segment === '..') throw new InvalidBlobKeyError(key, 'it has a ".." segment');
    if (segment.startsWith('.'))
      throw new InvalidBlobKeyError(key, `segment "${segment}" starts with "."`);
  }
}

/** Checks a list prefix: empty, or a key-like string (it may end with "/"). */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
