import { ValidationError } from './errors.js';

const CURSOR_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** An opaque cursor for a position `value` of a list. */
export function encodePosition(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

/** The position of a cursor this API made and `valid` accepts; 400 naming `cursor` otherwise. */
export function decodePosition(
  value: string | undefined,
  valid: (position: string) => boolean,
): string | undefined {
  if (value === undefined || value === '') return undefined;
  const position = CURSOR_RE.test(value) ? Buffer.from(value, 'base64url').toString('utf8') : '';
  if (!valid(position) || encodePosition(position) !== value) {
    throw new ValidationError(
      `cursor ${JSON.stringify(value.slice(0, 200))} is not one this API made: pass nextCursor from the previous page unchanged`,
      [{ path: 'cursor', in: 'query', message: 'is not a valid cursor' }],
    );
  }
  return position;
}
