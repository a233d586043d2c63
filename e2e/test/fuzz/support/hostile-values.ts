import * as fc from 'fast-check';

/**
 * Values a careless client or an attacker sends, and the JSON text some of them need: JSON text
 * cannot be built with JSON.stringify for nesting 10,000 deep (it recurses) or for numbers a
 * double cannot hold, so a value may carry a {@link RawJson} placeholder replaced in the text.
 */

/** JSON text to splice into a body in place of the value (see {@link toJsonText}). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Arrays nested `depth` deep around `inner`, as JSON text. */
export const nestedArrays = (depth: number, inner = '1') =>
  new RawJson(`${'['.repeat(depth)}${inner}${']'.repeat(depth)}`);

/** Objects nested `depth` deep (`{"a":{"a":…}}`), as JSON text. */
export const nestedObjects = (depth: number) =>
  new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

const PLACEHOLDER = (i: number) => `\u0001raw-json-${i}\u0001`;

/**
 * JSON text of `value`, with every {@link RawJson} in it spliced in as is. Placeholders are
 * strings JSON.stringify leaves recognisable (U+0001 becomes `\u0001`).
 */
export function toJsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawJson) {
      raws.push(v.text);
      return PLACEHOLDER(raws.length - 1);
    }
    return v;
  });
  if (text === undefined) return 'null';
  if (raws.length === 0) return text;
  return raws.reduce((out, raw, i) => out.replace(JSON.stringify(PLACEHOLDER(i)), () => raw), text);
}

/** Strings PostgreSQL cannot store in text or jsonb, though JSON and JavaScript allow them. */
export const UNSTORABLE_STRINGS = ['x\u0000y', '\u0000', 'x\ud800', '\udc00x', 'a\ud83d'] as const;

/** A string with U+0000 or a lone surrogate somewhere in it. */
export const unstorableString = (): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.string({ maxLength: 8 }),
      fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff'),
      fc.string({ maxLength: 8 }),
    )
    .map(([a, bad, b]) => `${a}${bad}${b}`);

/** Numbers that break a careless store: past int4, past 2^53, negative, fractional, huge. */
export const HOSTILE_NUMBERS: readonly (number | RawJson)[] = [
  2 ** 53 - 1,
  2 ** 31,
  -1,
  0,
  -(2 ** 53),
  1.5,
  1e308,
  -1e308,
  new RawJson('1e400'),
  new RawJson('123456789012345678901234567890'),
  new RawJson('-0'),
];

/** Deep nesting: one level past the API's limit, well past it, and far past any recursion. */
export const HOSTILE_NESTING = [65, 100, 10_000] as const;

/** Worker ids that cannot be one subject token (and one that is a whole subject). */
export const BAD_WORKER_IDS: readonly string[] = [
  'has space',
  'has\ttab',
  'star*',
  'dot.dot',
  'niyanta.assign.x',
  '>',
  '',
  'x'.repeat(1_000_000),
];

/** `time` values: far in the future (valid RFC 3339 and not), and garbage. */
export const HOSTILE_TIMES: readonly string[] = [
  '9999-12-31T23:59:59.999Z',
  '+275760-09-13T00:00:00.000Z',
  '0000-01-01T00:00:00Z',
  'yesterday',
  '',
  '2024-02-30T25:61:61Z',
];

/** A string far longer than any field wants. */
export const hugeString = (length: number) => 'x'.repeat(length);
