import type { RequestFieldError } from './errors.js';

/** Deepest nesting accepted in a body: PostgreSQL's jsonb and JSON.stringify both recurse. */
export const MAX_JSON_DEPTH = 64;
const MAX_REPORTED = 5;
const OUT_OF_RANGE = `is a number past ±${Number.MAX_VALUE}, the largest this API carries`;

const escapePointer = (token: string) => token.replaceAll('~', '~0').replaceAll('/', '~1');

/** A surrogate half without its partner: valid in a JS string and in JSON escapes, not in jsonb. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why PostgreSQL could not store this text, if it could not. */
function unstorable(text: string): string | undefined {
  if (text.includes('\u0000')) return 'the character U+0000';
  if (LONE_SURROGATE.test(text)) return 'a lone UTF-16 surrogate (invalid Unicode)';
  return undefined;
}

/** A value met on the walk; its JSON Pointer is built only if something is wrong with it. */
interface Visit {
  value: unknown;
  parent: Visit | undefined;
  key: string;
  depth: number;
}

function pointer(visit: Visit): string {
  let path = '';
  for (let v: Visit | undefined = visit; v?.parent !== undefined; v = v.parent)
    path = `/${escapePointer(v.key)}${path}`;
  return path;
}

/**
 * What PostgreSQL cannot store although JSON allows it: U+0000 or a lone surrogate in any string
 * or key (jsonb refuses both), nesting deeper than MAX_JSON_DEPTH, and a number past a double's
 * range (it would be stored as null). Walks iteratively, so a hostile body cannot exhaust the
 * stack here.
 */
export function jsonLimitErrors(value: unknown): RequestFieldError[] {
  const errors: RequestFieldError[] = [];
  const stack: Visit[] = [{ value, parent: undefined, key: '', depth: 0 }];
  while (stack.length > 0 && errors.length < MAX_REPORTED) {
    const item = stack.pop()!;
    if (typeof item.value === 'number') {
      // JSON.parse reads 1e400 as Infinity, which JSON.stringify writes as null.
      if (!Number.isFinite(item.value))
        errors.push({ path: pointer(item), in: 'body', message: OUT_OF_RANGE });
      continue;
    }
    if (typeof item.value === 'string') {
      const why = unstorable(item.value);
      if (why) errors.push({ path: pointer(item), in: 'body', message: `must not contain ${why}` });
      continue;
    }
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= MAX_JSON_DEPTH) {
      errors.push({
        path: pointer(item),
        in: 'body',
        message: `is nested deeper than ${MAX_JSON_DEPTH} levels`,
      });
      continue;
    }
    const depth = item.depth + 1;
    if (Array.isArray(item.value)) {
      item.value.forEach((child: unknown, i) =>
        stack.push({ value: child, parent: item, key: String(i), depth }),
      );
      continue;
    }
    const object = item.value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      const child: Visit = { value: object[key], parent: item, key, depth };
      const why = unstorable(key);
      if (why)
        errors.push({ path: pointer(child), in: 'body', message: `has a name containing ${why}` });
      stack.push(child);
    }
  }
  return errors;
}
