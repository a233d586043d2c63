import { storableErrors } from '@niyanta/messages';
import type { RequestFieldError } from './errors.js';

/**
 * What PostgreSQL cannot store although JSON allows it (U+0000 or a lone surrogate, a number past
 * a double, nesting deeper than MAX_JSON_DEPTH): the rule every service also applies to the
 * messages it consumes (`storableErrors` in @niyanta/messages).
 */
export function jsonLimitErrors(value: unknown): RequestFieldError[] {
  return storableErrors(value).map((e) => ({ ...e, in: 'body' }));
}
