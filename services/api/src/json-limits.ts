import type { RequestFieldError } from './errors.js';

/** Deepest nesting accepted in a body: PostgreSQL's jsonb and JSON.stringify both recurse. */
export const MAX_JSON_DEPTH = 64;
const MAX_REPORTED = 5;

const escapePointer = (token: string) => token.replaceAll('~', '~0').replaceAll('/', '~1');

/** A surrogate half without its partner: valid in a JS string and in JSON escapes, not in jsonb. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why PostgreSQL could not store this text, if it could not. */
function unstorable(text: string): string | undefined {
  if (text.includes('\u0000')) return 'the character U+0000';
  if (LONE_SURROGATE.test(text)) return 'a lone UTF-16 surrogate (invalid Unicode)';
  return undefined;
}

/**
 * What PostgreSQL cannot store although JSON allows it: U+0000 or a lone surrogate in any string
 * or key (jsonb refuses both) and nesting deeper than MAX_JSON_DEPTH. Walks iteratively, so a hostile body
 * cannot exhaust the stack here.
 */
export function jsonLimitErrors(value: unknown): RequestFieldError[] {
  const errors: RequestFieldError[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  while (stack.length > 0 && errors.length < MAX_REPORTED) {
    const item = stack.pop()!;
    if (typeof item.value === 'string') {
      const why = unstorable(item.value);
      if (why) errors.push({ path: item.path, in: 'body', message: `must not contain ${why}` });
      continue;
    }
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= MAX_JSON_DEPTH) {
      errors.push({
        path: item.path,
        in: 'body',
        message: `is nested deeper than ${MAX_JSON_DEPTH} levels`,
      });
      continue;
    }
    const entries = Array.isArray(item.value)
      ? item.value.map((v, i) => [String(i), v] as const)
      : Object.entries(item.value);
    for (const [key, child] of entries) {
      const path = `${item.path}/${escapePointer(key)}`;
      const why = unstorable(key);
      if (why) errors.push({ path, in: 'body', message: `has a name containing ${why}` });
      stack.push({ value: child, path, depth: item.depth + 1 });
    }
  }
  return errors;
}
