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

/** A JSON value with one mutation applied at a random place inside it. */
export type Mutation =
  | { kind: 'wrongType'; value: unknown }
  | { kind: 'extraField'; name: string; value: unknown }
  | { kind: 'dropField' }
  | { kind: 'unstorable'; value: string; asKey: boolean }
  | { kind: 'deep'; depth: number; objects: boolean }
  | { kind: 'hugeNumber'; value: number | RawJson }
  | { kind: 'hugeString'; length: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .constantFrom<unknown>(null, true, 0, -1, '', 'x', [], {}, [1], { a: 1 })
    .map((value) => ({ kind: 'wrongType' as const, value })),
  fc
    .tuple(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.jsonValue({ maxDepth: 2, depthSize: 'small' }),
    )
    .map(([name, value]) => ({ kind: 'extraField' as const, name, value })),
  fc.constant({ kind: 'dropField' as const }),
  fc
    .tuple(unstorableString(), fc.boolean())
    .map(([value, asKey]) => ({ kind: 'unstorable' as const, value, asKey })),
  fc
    .tuple(fc.constantFrom(...HOSTILE_NESTING), fc.boolean())
    .map(([depth, objects]) => ({ kind: 'deep' as const, depth, objects })),
  fc.constantFrom(...HOSTILE_NUMBERS).map((value) => ({ kind: 'hugeNumber' as const, value })),
  fc.constantFrom(70_000, 300_000).map((length) => ({ kind: 'hugeString' as const, length })),
);

/** `value` with `m` applied at the place `pick` leads to (a walk down objects and arrays). */
export function mutate(value: unknown, m: Mutation, pick: number): unknown {
  const replacement = (): unknown => {
    switch (m.kind) {
      case 'wrongType':
        return m.value;
      case 'unstorable':
        return m.value;
      case 'deep':
        return m.objects ? nestedObjects(m.depth) : nestedArrays(m.depth);
      case 'hugeNumber':
        return m.value;
      case 'hugeString':
        return hugeString(m.length);
      default:
        return undefined;
    }
  };
  if (value === null || typeof value !== 'object') return replacement() ?? value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value)
    ? [...(value as unknown[])]
    : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const descend = keys.length > 0 && pick % 3 === 0;
  if (descend) {
    const key = keys[Math.floor(pick / 3) % keys.length]!;
    (copy as Record<string, unknown>)[key] = mutate(
      (copy as Record<string, unknown>)[key],
      m,
      Math.floor(pick / 7),
    );
    return copy;
  }
  const key = keys.length === 0 ? undefined : keys[pick % keys.length];
  if (m.kind === 'extraField' && !Array.isArray(copy)) copy[m.name] = m.value;
  else if (m.kind === 'dropField' && key !== undefined)
    delete (copy as Record<string, unknown>)[key];
  else if (m.kind === 'unstorable' && m.asKey && !Array.isArray(copy)) copy[m.value] = 1;
  else if (key !== undefined) (copy as Record<string, unknown>)[key] = replacement();
  else if (Array.isArray(copy)) copy.push(replacement());
  else copy.x = replacement();
  return copy;
}
