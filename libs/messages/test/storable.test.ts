import fc from 'fast-check';
import {
  MAX_CLOCK_AHEAD_MS,
  MAX_JSON_DEPTH,
  MESSAGE_DEPTH_ALLOWANCE,
  decode,
  envelope,
  escapeUnstorable,
  mayHoldUnstorableText,
  sanitizeJson,
  sanitizeText,
  storableErrors,
  unstorableText,
  uuidv7,
} from '@niyanta/messages';

// Seeded when FC_SEED is set (a failure prints its seed); FC_NUM_RUNS runs longer on demand.
const runs: fc.Parameters<unknown> = {
  numRuns: Number(process.env.FC_NUM_RUNS ?? 200),
  ...(process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }),
};

/** Characters PostgreSQL cares about, mixed with ordinary ones and pairs that are fine. */
const char = fc.oneof(
  fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d\ude00', 'a', '\\', '"'),
  fc.string({ unit: 'binary', maxLength: 2 }),
  fc.string({ maxLength: 3 }),
);
const text = fc.array(char, { maxLength: 8 }).map((parts) => parts.join(''));
/** JSON values whose strings and keys may hold anything. */
const value = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    text,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(text, tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** A plain reference for the text rule: some string or key holds U+0000 or a lone surrogate. */
function holdsBadText(v: unknown): boolean {
  if (typeof v === 'string') return unstorableText(v) !== undefined;
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(holdsBadText);
  return Object.entries(v).some(([k, c]) => unstorableText(k) !== undefined || holdsBadText(c));
}

/** `levels` nested containers, arrays and objects by `shape`, around `leaf`. */
function nested(levels: number, shape: (i: number) => boolean, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = shape(i) ? [v] : { k: v };
  return v;
}

describe('storable text', () => {
  it('finds U+0000 and lone surrogates, and nothing in ordinary text or surrogate pairs', () => {
    expect(unstorableText('a\u0000b')).toBe('the character U+0000');
    expect(unstorableText('x\ud800')).toMatch(/lone UTF-16 surrogate/);
    expect(unstorableText('\udc00x')).toMatch(/lone UTF-16 surrogate/);
    expect(unstorableText('\ud83d\ude00 ok \\u0000')).toBeUndefined();
  });

  it('sanitizes to storable text of the same length, changing storable text not at all', () => {
    fc.assert(
      fc.property(text, (s) => {
        const out = sanitizeText(s);
        expect(unstorableText(out)).toBeUndefined();
        expect(out).toHaveLength(s.length);
        if (unstorableText(s) === undefined) expect(out).toBe(s);
        // Only the offending code units change, each to U+FFFD.
        for (let i = 0; i < s.length; i++) {
          if (out[i] !== s[i]) expect(out[i]).toBe('\uFFFD');
        }
      }),
      runs,
    );
  });

  it('escapes to storable text that names each offending code unit', () => {
    expect(escapeUnstorable('id\u0000x\ud800')).toBe('id\\u0000x\\ud800');
    fc.assert(
      fc.property(text, (s) => {
        const out = escapeUnstorable(s);
        expect(unstorableText(out)).toBeUndefined();
        if (unstorableText(s) === undefined) expect(out).toBe(s);
      }),
      runs,
    );
  });
});

describe('storableErrors', () => {
  it('refuses exactly the values with U+0000 or a lone surrogate in a string or key', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(storableErrors(v).length > 0).toBe(holdsBadText(v));
      }),
      runs,
    );
  });

  it('needs the text walk only when the JSON has an escape that could make such a character', () => {
    fc.assert(
      fc.property(value, (v) => {
        const json = JSON.stringify(v);
        const fast = storableErrors(v, { checkText: mayHoldUnstorableText(json) });
        expect(fast).toEqual(storableErrors(v));
      }),
      runs,
    );
  });

  it(`allows ${MAX_JSON_DEPTH} levels of nesting and refuses one more, naming the container`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.func(fc.boolean()), (levels, shape) => {
        const errors = storableErrors(nested(levels, shape));
        if (levels <= MAX_JSON_DEPTH) {
          expect(errors).toEqual([]);
        } else {
          expect(errors).toHaveLength(1);
          expect(errors[0]!.message).toBe(`is nested deeper than ${MAX_JSON_DEPTH} levels`);
          expect(errors[0]!.path.split('/')).toHaveLength(MAX_JSON_DEPTH + 1);
        }
      }),
      runs,
    );
  });

  it('walks a value nested a million deep without exhausting the stack', () => {
    expect(storableErrors(nested(1_000_000, () => true))).toEqual([
      expect.objectContaining({ message: `is nested deeper than ${MAX_JSON_DEPTH} levels` }),
    ]);
  });

  it('names the path of what is wrong, with escaped keys', () => {
    expect(storableErrors({ a: [1, { 'b\u0000': 'x' }], c: 'y\ud800' })).toEqual(
      expect.arrayContaining([
        { path: '/a/1/b\\u0000', message: 'has a name containing the character U+0000' },
        { path: '/c', message: 'must not contain a lone UTF-16 surrogate (invalid Unicode)' },
      ]),
    );
  });
});

/** Whether two names of one object in `v` are the same once sanitized. */
function namesCollide(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(namesCollide);
  const keys = Object.keys(v);
  const clean = new Set(keys.map(sanitizeText));
  return clean.size < keys.length || Object.values(v).some(namesCollide);
}

describe('sanitizeJson', () => {
  it('makes every value storable, keeps storable values as they are and the shape always', () => {
    fc.assert(
      fc.property(value, (v) => {
        const out = sanitizeJson(v);
        expect(storableErrors(out, { maxDepth: Number.POSITIVE_INFINITY })).toEqual([]);
        if (!holdsBadText(v)) expect(out).toBe(v);
        // Same JSON once each offending code unit is read as U+FFFD, unless two names of one
        // object became the same name (then the later one's value is kept, as JSON.parse does).
        const norm = (x: unknown) => JSON.stringify(x)?.replace(/\\u(0000|d[89a-f]..)/g, '\uFFFD');
        if (!namesCollide(v)) expect(JSON.stringify(out)).toBe(norm(v));
      }),
      runs,
    );
  });

  it('sanitizes what toJSON gives', () => {
    const out = sanitizeJson({ at: new Date(0), s: { toJSON: () => 'x\u0000' } });
    expect(out).toEqual({ at: '1970-01-01T00:00:00.000Z', s: 'x\uFFFD' });
  });
});

describe('decode refuses what PostgreSQL cannot store, per message', () => {
  const bytes = (text: string) => Buffer.from(text, 'utf8');
  const completion = (over: Record<string, unknown>) => ({
    ...envelope(),
    workloadId: uuidv7(),
    attempt: 1,
    workerId: 'w-1',
    outcome: 'succeeded',
    ...over,
  });
  const json = (v: unknown) => bytes(JSON.stringify(v));

  it('accepts an ordinary completion', () => {
    expect(decode('completion', json(completion({ result: { ok: true } }))).ok).toBe(true);
  });

  it.each([
    [
      'a U+0000 result',
      completion({ result: 'a\u0000b' }),
      /\/result must not contain the character U\+0000/,
    ],
    [
      'a lone surrogate',
      completion({ result: { t: 'x\ud800' } }),
      /\/result\/t must not contain a lone/,
    ],
    ['a U+0000 workerId', completion({ workerId: 'w\u0000' }), /\/workerId must not contain/],
    [
      'a result nested 65 deep',
      completion({ result: nested(65, () => true) }),
      /nested deeper than 64/,
    ],
    [
      'an attempt of 2^53-1',
      completion({ attempt: 2 ** 53 - 1 }),
      /\/attempt must be <= 2147483647/,
    ],
    ['a worker id with a space', completion({ workerId: 'w 1' }), /\/workerId must match pattern/],
    ['a worker id with a tab', completion({ workerId: 'w\t1' }), /\/workerId must match pattern/],
    ['a worker id with *', completion({ workerId: 'w*' }), /\/workerId must match pattern/],
    ['a worker id with .', completion({ workerId: 'niyanta.assign.x' }), /\/workerId must match/],
    ['a 1 MB worker id', completion({ workerId: 'w'.repeat(1 << 20) }), /\/workerId must match/],
    ['a far-future time', completion({ time: '9999-12-31T23:59:59-15:59' }), /\/time must match/],
    ['a year 0 time', completion({ startedAt: '0000-01-01T00:00:00Z' }), /\/startedAt must match/],
    [
      'an offset PostgreSQL refuses',
      completion({ startedAt: '2026-01-01T00:00:00+20:00' }),
      /\/startedAt/,
    ],
  ])('refuses %s', (_name, message, reason) => {
    const d = decode('completion', json(message));
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toMatch(reason);
  });

  it('refuses a time more than a day ahead of the receiver', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const ahead = (ms: number) =>
      decode('completion', json(completion({ time: new Date(now + ms).toISOString() })), now);
    expect(ahead(MAX_CLOCK_AHEAD_MS).ok).toBe(true);
    const d = ahead(MAX_CLOCK_AHEAD_MS + 1_000);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toMatch(/\/time is more than 24 hours ahead/);
  });

  it('refuses an input nested 10,000 deep before anything recurses into it', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const text = `{"schemaVersion":1,"id":"${uuidv7()}","type":"noop","input":${deep}}`;
    const d = decode('submission', bytes(text));
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toMatch(/\/input(\/0)+ is nested deeper than 64 levels/);
  });

  it('refuses a NUL byte instead of JSON with a reason PostgreSQL can store', () => {
    const d = decode('heartbeat', new Uint8Array([0]));
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.reason).toMatch(/^payload is not JSON/);
      expect(unstorableText(d.reason)).toBeUndefined();
    }
  });

  it('gives messages that carry client documents further down the levels they add', () => {
    const result = nested(MAX_JSON_DEPTH - 1, () => true);
    const item = { workloadId: uuidv7(), attempt: 1, outcome: 'succeeded', result };
    // The deepest result a single completion takes fits a batch of completions too.
    expect(decode('completion', json(completion({ result }))).ok).toBe(true);
    const batch = { ...envelope(), workerId: 'w-1', completions: [item] };
    expect(MESSAGE_DEPTH_ALLOWANCE.completionBatch).toBe(2);
    expect(decode('completionBatch', json(batch)).ok).toBe(true);
    const deeper = { ...batch, completions: [{ ...item, result: [result] }] };
    expect(decode('completionBatch', json(deeper)).ok).toBe(false);
  });

  it('refuses a heartbeat advertising a type PostgreSQL or placement cannot take', () => {
    const beat = (types: string[]) =>
      json({
        ...envelope(),
        workerId: 'w-1',
        status: 'ACTIVE',
        capacity: { slots: 1, cpu: 1, memoryMb: 1, gpu: 0 },
        labels: {},
        types,
        running: [],
        startedAt: new Date().toISOString(),
        intervalMs: 1000,
      });
    expect(decode('heartbeat', beat(['noop', 'sleep'])).ok).toBe(true);
    expect(decode('heartbeat', beat(['noop\u0000'])).ok).toBe(false);
    expect(decode('heartbeat', beat(['no op'])).ok).toBe(false);
  });

  it('never throws, and refuses whatever it cannot store, on random bytes and values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), value.map(json)), (data) => {
        const d = decode('completion', data);
        if (!d.ok) expect(unstorableText(d.reason)).toBeUndefined();
        else expect(holdsBadText(d.value)).toBe(false);
      }),
      runs,
    );
  });
});
