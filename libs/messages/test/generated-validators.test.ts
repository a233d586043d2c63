import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { SCHEMAS } from '@niyanta/messages';
import { VALIDATORS } from '../src/generated/validators.js';

// The validators are compiled to code by `npm run gen`; these compare them with what ajv compiles
// at run time from the same schemas and options, so the generated code cannot drift from ajv.
const fresh = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajvFormats.default(fresh, ['date-time', 'uuid']);
for (const schema of Object.values(SCHEMAS)) fresh.addSchema(schema as object);

const ID = '01a23a64-7840-7521-b326-343f964756ca';
const SAMPLES: unknown[] = [
  {},
  null,
  'text',
  { schemaVersion: 1, id: ID, time: '2026-12-03T05:00:00.000Z', workloadId: ID, kind: 'status' },
  { schemaVersion: 1, id: 'not-a-uuid', time: '2026-13-01T00:00:00Z', workloadId: ID, kind: 'x' },
  { type: 'noop', input: {}, runAt: '2026-12-03T05:00:00+15:59', priority: 1.5, labels: { a: 1 } },
  { type: '', input: null, idempotencyKey: '', requirements: { memoryMb: 'lots' }, extra: true },
  { items: [{ seq: 1, attempt: 1, size: 2, sha256: 'ab', storage: 'tape', createdAt: 'now' }] },
];

describe('generated validators', () => {
  const files = Object.keys(SCHEMAS).filter((f) => f !== 'common.v1.json');

  it('exist for every schema but the shared definitions', () => {
    expect(Object.keys(VALIDATORS).sort()).toEqual(files.sort());
  });

  it.each(files)('%s answers as ajv compiling it now does', (file) => {
    const generated = VALIDATORS[file as keyof typeof VALIDATORS] as unknown as {
      (v: unknown): boolean;
      errors?: unknown;
    };
    const compiled = fresh.getSchema(SCHEMAS[file as keyof typeof SCHEMAS].$id)!;
    for (const sample of SAMPLES) {
      expect([generated(sample), generated.errors ?? null]).toEqual([
        compiled(sample),
        compiled.errors ?? null,
      ]);
    }
  });

  it('checks formats (date-time, uuid)', () => {
    const event = VALIDATORS['messages/event.v1.json'] as unknown as (v: unknown) => boolean;
    const base = { schemaVersion: 1, id: ID, time: '2026-12-03T05:00:00Z', workloadId: ID };
    expect(event({ ...base, kind: 'status' })).toBe(true);
    expect(event({ ...base, kind: 'status', time: '2026-12-03 5 o’clock' })).toBe(false);
    expect(event({ ...base, kind: 'status', workloadId: 'w-1' })).toBe(false);
  });
});
