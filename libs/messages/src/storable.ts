import type { FieldError } from './errors.js';

/**
 * Deepest nesting of a JSON document a client gives (an HTTP body, a submission, a completion, a
 * checkpoint): 64 levels of objects and arrays. Messages that carry such values one level or more
 * down add their own levels (see `MESSAGE_DEPTH_ALLOWANCE`). PostgreSQL's jsonb and every
 * JSON.stringify or recursive walk on the way recurse once per level: a limit keeps each of them
 * far from its stack.
 */
export const MAX_JSON_DEPTH = 64;

/** Field errors reported for one value at most: the first few say what is wrong. */
const MAX_REPORTED = 5;

/** JSON.parse reads a number past a double's range (`1e400`) as Infinity, which JSON writes as null. */
const OUT_OF_RANGE = `is a number past ±${Number.MAX_VALUE}, the largest a double holds`;

/** A surrogate half without its partner: valid in a JS string and in JSON escapes, not in jsonb. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
// eslint-disable-next-line no-control-regex -- U+0000 is what this finds
const NULS = /\u0000/g;

/**
 * Why PostgreSQL cannot store this text (in a text column or a jsonb string), if it cannot: it
 * refuses U+0000 in both, and a lone surrogate in jsonb (a text column would get U+FFFD instead).
 */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'the character U+0000';
  if (LONE_SURROGATE.test(text)) return 'a lone UTF-16 surrogate (invalid Unicode)';
  return undefined;
}

/** `text` with U+0000 and lone surrogates replaced by U+FFFD: what the worker publishes. */
export function sanitizeText(text: string): string {
  if (unstorableText(text) === undefined) return text;
  return text.replace(NULS, '\uFFFD').replace(LONE_SURROGATES, '\uFFFD');
}

/**
 * `text` with U+0000 and lone surrogates written as JSON escapes (`\u0000`, `\ud800`): for
 * records of what arrived (a subject, a header, an error message), readable and storable.
 */
export function escapeUnstorable(text: string): string {
  if (unstorableText(text) === undefined) return text;
  const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  return text.replace(NULS, escape).replace(LONE_SURROGATES, escape);
}

const escapePointer = (token: string) => token.replaceAll('~', '~0').replaceAll('/', '~1');

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
    path = `/${escapeUnstorable(escapePointer(v.key))}${path}`;
  return path;
}

/** Options of {@link storableErrors}. */
export interface StorableOptions {
  /** Deepest nesting allowed (default MAX_JSON_DEPTH). */
  maxDepth?: number;
  /**
   * Whether strings and keys are checked (default true). False when the caller knows the JSON
   * text had no escape that could make U+0000 or a surrogate: only the depth is checked then.
   */
  checkText?: boolean;
}

/**
 * Whether a container of `value` is at depth `maxDepth` or deeper. The fast path of
 * storableErrors: it visits only objects and arrays and allocates nothing per value.
 */
function deeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const values: object[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const v = values.pop()!;
    const depth = depths.pop()!;
    if (depth >= maxDepth) return true;
    if (Array.isArray(v)) {
      for (const child of v as unknown[]) {
        if (child !== null && typeof child === 'object') {
          values.push(child);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    for (const key in v) {
      const child = (v as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/**
 * What PostgreSQL cannot store although JSON allows it: U+0000 or a lone surrogate in any string
 * or key, a number past a double's range, and nesting deeper than `maxDepth` levels (a container
 * at depth `maxDepth`, the root being at 0). Walks iteratively, so a hostile value cannot exhaust the stack here. Empty when
 * the value is storable.
 */
export function storableErrors(value: unknown, opts: StorableOptions = {}): FieldError[] {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  const checkText = opts.checkText ?? true;
  // Most messages: nothing to check but the depth, and nothing wrong with it.
  if (!checkText && !deeperThan(value, maxDepth)) return [];
  const errors: FieldError[] = [];
  const stack: Visit[] = [{ value, parent: undefined, key: '', depth: 0 }];
  while (stack.length > 0 && errors.length < MAX_REPORTED) {
    const item = stack.pop()!;
    const v = item.value;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) errors.push({ path: pointer(item), message: OUT_OF_RANGE });
      continue;
    }
    if (typeof v === 'string') {
      if (!checkText) continue;
      const why = unstorableText(v);
      if (why) errors.push({ path: pointer(item), message: `must not contain ${why}` });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (item.depth >= maxDepth) {
      errors.push({ path: pointer(item), message: `is nested deeper than ${maxDepth} levels` });
      continue;
    }
    const depth = item.depth + 1;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        const child: unknown = v[i];
        // Booleans and null need no visit.
        if (child !== null && typeof child !== 'boolean')
          stack.push({ value: child, parent: item, key: String(i), depth });
      }
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const child: Visit = { value: (v as Record<string, unknown>)[key], parent: item, key, depth };
      const why = checkText ? unstorableText(key) : undefined;
      if (why) errors.push({ path: pointer(child), message: `has a name containing ${why}` });
      stack.push(child);
    }
  }
  return errors;
}

/**
 * Whether JSON text may hold U+0000 or a surrogate in a string: JSON.parse lets neither through
 * raw (a raw control character is a syntax error, and text decoded as UTF-8 holds no surrogate),
 * only as an escape. A false positive (an escaped backslash before `u0000`) only costs the full
 * check.
 */
export function mayHoldUnstorableText(json: string): boolean {
  return /\\u(?:0000|[dD][89a-fA-F])/.test(json);
}

/** JSON.parse reviver: every string and key of the parsed value sanitized (children come first). */
function sanitizingReviver(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return sanitizeText(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (!keys.some((k) => unstorableText(k) !== undefined)) return value;
  const out: Record<string, unknown> = {};
  for (const k of keys) out[sanitizeText(k)] = (value as Record<string, unknown>)[k];
  return out;
}

/**
 * `value` as JSON will carry it, with U+0000 and lone surrogates replaced by U+FFFD in every
 * string and key: the value itself when its JSON has none (as it almost never has), else a copy
 * read back from its JSON. For what the worker publishes: a handler's results, errors, logs,
 * progress and checkpoint states. Throws what JSON.stringify throws (a cycle, a BigInt).
 */
export function sanitizeJson<T>(value: T): T {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined || !mayHoldUnstorableText(text)) return value;
  return JSON.parse(text, sanitizingReviver) as T;
}
