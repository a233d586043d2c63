import {
  SCHEMAS,
  decode,
  encode,
  envelope,
  enveloped,
  isUuid,
  submissionMsgId,
  SUBJECTS,
  uuidv7,
  validateHttp,
  validateMessage,
} from '@niyanta/messages';
import type { CommandV1 } from '@niyanta/messages';

describe('HTTP body validation', () => {
  it('accepts a minimal submission', () => {
    expect(validateHttp('workloadSubmission', { type: 'sleep', input: { durationMs: 1 } })).toEqual(
      [],
    );
  });

  it('names each bad field with a JSON Pointer', () => {
    const errors = validateHttp('workloadSubmission', {
      type: '',
      priority: 1001,
      idempotencyKey: '',
      requirements: { memoryMb: 'lots' },
      extra: true,
    });
    const paths = [...new Set(errors.map((e) => e.path))].sort();
    expect(paths).toEqual([
      '/extra',
      '/idempotencyKey',
      '/input',
      '/priority',
      '/requirements/memoryMb',
      '/type',
    ]);
    expect(errors.find((e) => e.path === '/input')?.message).toBe('is required');
    expect(errors.find((e) => e.path === '/extra')?.message).toBe('is not an allowed field');
  });

  it('points into a batch item', () => {
    const workloads = Array.from({ length: 5 }, () => ({ type: 't', input: {} }));
    workloads[3] = { type: 't', input: {}, priority: -1 } as never;
    expect(validateHttp('workloadBatch', { workloads }).map((e) => e.path)).toEqual([
      '/workloads/3/priority',
    ]);
  });

  it('refuses an empty and an over-long batch', () => {
    expect(validateHttp('workloadBatch', { workloads: [] })[0]?.path).toBe('/workloads');
    const many = Array.from({ length: 1001 }, () => ({ type: 't', input: {} }));
    expect(validateHttp('workloadBatch', { workloads: many })[0]?.message).toMatch(/1000/);
  });

  it('checks runAt is RFC 3339 within years 1970 to 9999, without a leap second', () => {
    for (const runAt of [
      'tomorrow',
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:60Z',
      '1969-12-31T23:59:59Z',
    ]) {
      expect(validateHttp('workloadSubmission', { type: 't', input: 1, runAt })[0]?.path).toBe(
        '/runAt',
      );
    }
    expect(
      validateHttp('workloadSubmission', {
        type: 't',
        input: 1,
        runAt: '2030-05-01T10:00:00+02:00',
      }),
    ).toEqual([]);
  });

  it('requires a UUIDv7 id on a broker submission', () => {
    const v4 = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
    const envelope = { schemaVersion: 1, id: v4, type: 't', input: 1 };
    expect(validateMessage('submission', envelope).map((e) => e.path)).toEqual(['/id']);
    expect(validateMessage('submission', { ...envelope, id: uuidv7() })).toEqual([]);
  });
});

describe('envelopes', () => {
  it('round-trips a valid message', () => {
    const msg = { ...envelope(), workloadId: uuidv7(), command: 'cancel' as const };
    const decoded = decode('command', encode('command', msg));
    expect(decoded).toEqual({ ok: true, value: msg });
  });

  it('builds a message as a new envelope followed by its fields', () => {
    const workloadId = uuidv7();
    const msg = enveloped<CommandV1>({ workloadId, command: 'cancel', reason: 'r' });
    expect(Object.keys(msg)).toEqual([
      'schemaVersion',
      'id',
      'time',
      'workloadId',
      'command',
      'reason',
    ]);
    expect(validateMessage('command', msg)).toEqual([]);
    expect(enveloped<CommandV1>({ workloadId, command: 'cancel' }).id).not.toBe(msg.id);
  });

  it('refuses to encode an invalid message', () => {
    expect(() => encode('command', { ...envelope(), workloadId: 'x', command: 'cancel' })).toThrow(
      /workloadId/,
    );
  });

  it('reports non-JSON and invalid payloads without throwing', () => {
    const notJson = decode('submission', new TextEncoder().encode('{oops'));
    expect(notJson.ok).toBe(false);
    if (!notJson.ok) expect(notJson.reason).toMatch(/not JSON/);
    const invalid = decode('submission', new TextEncoder().encode('{"schemaVersion":1}'));
    expect(invalid.ok).toBe(false);
    if (!invalid.ok)
      expect(invalid.errors.map((e) => e.path)).toEqual(
        expect.arrayContaining(['/id', '/type', '/input']),
      );
  });

  it('keeps the broker submission envelope equal to the HTTP body plus id, schemaVersion, submittedBy, dependencyRefs', () => {
    const body = SCHEMAS['http/workload-submission.v1.json'];
    const env = SCHEMAS['messages/submission.v1.json'];
    // submittedBy is the API's record of the key that submitted; an HTTP client never sends it.
    // dependencyRefs is the API's record of a batch's refs, resolved to ids before publishing.
    const {
      id: _id,
      schemaVersion: _v,
      submittedBy: _by,
      dependencyRefs: _refs,
      ...rest
    } = env.properties;
    expect(rest).toEqual(body.properties);
    expect([...env.required].sort()).toEqual([...body.required, 'id', 'schemaVersion'].sort());
  });
});

describe('ids and subjects', () => {
  it('makes ordered UUIDv7 ids', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7());
    expect(ids.every(isUuid)).toBe(true);
    expect(ids.every((id) => id[14] === '7')).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refuses a subject token with a dot', () => {
    expect(() => SUBJECTS.submit('a.b')).toThrow(/tenant "a.b"/);
    expect(SUBJECTS.submit('acme')).toBe('niyanta.submit.acme');
  });

  it('derives the submission msg id from the key, else the id', () => {
    expect(submissionMsgId('t', 'id1', 'k')).toBe('t:k');
    expect(submissionMsgId('t', 'id1')).toBe('t:id1');
  });
});
