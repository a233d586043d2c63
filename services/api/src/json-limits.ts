import { storableErrors } from '@niyanta/messages';
import type { RequestFieldError } from './errors.js';

/**
 * What PostgreSQL cannot store although JSON allows it: U+0000 or a lone surrogate in any string
 * or key (jsonb refuses both) and nesting deeper than MAX_JSON_DEPTH (@niyanta/messages), the one limit the services
 * also apply to every message they consume (`storableErrors` in @niyanta/messages).
 */
export function jsonLimitErrors(value: unknown): RequestFieldError[] {
  return storableErrors(value).map((e) => ({ ...e, in: 'body' }));
}
