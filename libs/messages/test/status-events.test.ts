import { validateMessage } from '../src/validation.js';
import {
  MAX_CHANGES_PER_MESSAGE,
  StatusEventBatch,
  applyChange,
  changesOf,
} from '../src/status-events.js';
import type { StatusChange, StatusChangeInput } from '../src/status-events.js';
import type { WorkloadV1 } from '../src/generated/types.js';
import { uuidv7 } from '../src/ids.js';

const AT = '2026-12-06T17:00:00.000Z';
const LATER = '2026-12-06T17:00:01.000Z';

function transition(over: Partial<StatusChangeInput> = {}): StatusChangeInput {
  return {
    workloadId: uuidv7(),
    tenant: 'acme',
    from: 'PENDING',
    to: 'SCHEDULED',
    attempt: 1,
    reason: 'placed on w1',
    at: AT,
    workerId: 'w1',
    ...over,
  };
}

function workload(over: Partial<WorkloadV1> = {}): WorkloadV1 {
  return {
    id: uuidv7(),
    tenant: 'acme',
    type: 'sleep',
    status: 'PENDING',
    priority: 0,
    attempt: 0,
    maxAttempts: 3,
    input: {},
    result: null,
    error: null,
    progress: null,
    workerId: null,
    pendingReason: 'waiting for a worker',
    labels: {},
    requirements: {},
    runAt: null,
    timeoutSeconds: null,
    idempotencyKey: null,
    createdAt: AT,
    updatedAt: AT,
    startedAt: null,
    finishedAt: null,
    ...over,
  } as WorkloadV1;
}

describe('StatusEventBatch', () => {
  it('makes one message on the tenant subject for all changes of a transaction', () => {
    const batch = new StatusEventBatch();
    const ids = Array.from({ length: 500 }, () => uuidv7());
    for (const id of ids) batch.status(transition({ workloadId: id }));
    const messages = batch.messages();
    expect(messages).toHaveLength(1);
    const [m] = messages;
    expect(m!.subject).toBe('niyanta.events.acme');
    expect(m!.kind).toBe('statusEvents');
    expect(m!.message.tenant).toBe('acme');
    expect(m!.message.changes.map((c) => c.workloadId)).toEqual(ids);
    expect(validateMessage('statusEvents', m!.message)).toEqual([]);
  });

  it('carries the small fields that changed, never the workload', () => {
    const batch = new StatusEventBatch()
      .status(
        transition({
          from: 'RUNNING',
          to: 'PENDING',
          reason: 'retry in 2s',
          workerId: null,
          progress: { fraction: 0.5, message: 'half' },
          errorCode: 'EXIT_CODE_3',
        }),
      )
      .progress({
        workloadId: uuidv7(),
        tenant: 'acme',
        attempt: 2,
        at: LATER,
        progress: { fraction: 0.25 },
      });
    const [m] = batch.messages();
    expect(m!.message.changes).toEqual([
      expect.objectContaining({
        kind: 'status',
        from: 'RUNNING',
        to: 'PENDING',
        attempt: 1,
        reason: 'retry in 2s',
        at: AT,
        workerId: null,
        progress: { fraction: 0.5, message: 'half' },
        errorCode: 'EXIT_CODE_3',
      }),
      expect.objectContaining({
        kind: 'progress',
        attempt: 2,
        at: LATER,
        progress: { fraction: 0.25 },
      }),
    ]);
    expect(Object.keys(m!.message.changes[0]!)).not.toContain('workload');
    expect(validateMessage('statusEvents', m!.message)).toEqual([]);
  });

  it('leaves out a progress or error code the workload does not have', () => {
    const [m] = new StatusEventBatch()
      .status(transition({ progress: null, errorCode: null }))
      .messages();
    expect(Object.keys(m!.message.changes[0]!).sort()).toEqual(
      ['at', 'attempt', 'from', 'kind', 'reason', 'to', 'workerId', 'workloadId'].sort(),
    );
  });

  it('makes one message per tenant a transaction touched', () => {
    const batch = new StatusEventBatch()
      .status(transition({ tenant: 'acme' }))
      .status(transition({ tenant: 'globex' }))
      .status(transition({ tenant: 'acme' }));
    const messages = batch.messages();
    expect(messages.map((m) => [m.subject, m.message.changes.length])).toEqual([
      ['niyanta.events.acme', 2],
      ['niyanta.events.globex', 1],
    ]);
    expect(batch.size).toBe(3);
  });

  it('splits a transaction past the most changes one message carries', () => {
    const batch = new StatusEventBatch();
    for (let i = 0; i < MAX_CHANGES_PER_MESSAGE + 1; i++) batch.status(transition());
    const messages = batch.messages();
    expect(messages.map((m) => m.message.changes.length)).toEqual([MAX_CHANGES_PER_MESSAGE, 1]);
    for (const m of messages) expect(validateMessage('statusEvents', m.message)).toEqual([]);
  });

  it('makes no message without changes', () => {
    expect(new StatusEventBatch().messages()).toEqual([]);
  });

  it('refuses a tenant that cannot be a subject token', () => {
    expect(() => new StatusEventBatch().status(transition({ tenant: 'a.b' })).messages()).toThrow(
      /tenant/,
    );
  });
});

describe('changesOf', () => {
  it('keeps the changes of one workload, in order', () => {
    const id = uuidv7();
    const batch = new StatusEventBatch()
      .status(transition({ workloadId: id, from: null, to: 'PENDING', attempt: 0 }))
      .status(transition())
      .status(transition({ workloadId: id }));
    const [m] = batch.messages();
    expect(changesOf(m!.message, id).map((c) => c.to)).toEqual(['PENDING', 'SCHEDULED']);
  });
});

describe('applyChange', () => {
  const status = (over: Partial<StatusChange>): StatusChange => ({
    workloadId: uuidv7(),
    kind: 'status',
    from: 'PENDING',
    to: 'SCHEDULED',
    attempt: 1,
    reason: 'placed on w1',
    at: LATER,
    workerId: 'w1',
    ...over,
  });

  it('applies a placement: status, attempt, worker, no pending reason', () => {
    const w = workload();
    expect(applyChange(w, status({}))).toEqual({
      ...w,
      status: 'SCHEDULED',
      attempt: 1,
      workerId: 'w1',
      pendingReason: null,
      updatedAt: LATER,
    });
  });

  it('applies a start once the workload has a start time', () => {
    const w = workload({ status: 'SCHEDULED', attempt: 2, workerId: 'w1', startedAt: AT });
    expect(applyChange(w, status({ from: 'SCHEDULED', to: 'RUNNING', attempt: 2 }))).toMatchObject({
      status: 'RUNNING',
      attempt: 2,
      startedAt: AT,
      updatedAt: LATER,
    });
  });

  it('applies progress', () => {
    const w = workload({ status: 'RUNNING' });
    const change: StatusChange = {
      workloadId: w.id,
      kind: 'progress',
      attempt: 1,
      at: LATER,
      progress: { fraction: 0.5 },
    };
    expect(applyChange(w, change)).toEqual({
      ...w,
      progress: { fraction: 0.5, message: null },
      updatedAt: LATER,
    });
  });

  it.each([
    ['a completion (its result)', { from: 'RUNNING', to: 'COMPLETED' }],
    ['a failure (its error)', { from: 'RUNNING', to: 'FAILED', errorCode: 'TIMEOUT' }],
    ['a cancel', { from: 'RUNNING', to: 'CANCELLED' }],
    ['a retry (its runAt)', { from: 'RUNNING', to: 'PENDING' }],
    ['a pause', { from: 'RUNNING', to: 'PAUSED' }],
    ['a first start (its startedAt)', { from: 'SCHEDULED', to: 'RUNNING' }],
    ['a new error code (its message)', { errorCode: 'EXIT_CODE_1' }],
  ] as const)('asks for the row on %s', (_, over) => {
    expect(applyChange(workload(), status(over as Partial<StatusChange>))).toBeUndefined();
  });

  it('keeps the workload as is for a change older than it (a row read after the change)', () => {
    const w = workload({ status: 'RUNNING', attempt: 2, updatedAt: LATER, startedAt: AT });
    expect(applyChange(w, status({ at: AT, to: 'SCHEDULED', attempt: 2 }))).toBe(w);
  });

  it('applies a placement after a failed attempt whose error the workload has', () => {
    const error = { message: 'boom', code: 'EXIT_CODE_1', retryable: true };
    const w = workload({ error });
    expect(applyChange(w, status({ errorCode: 'EXIT_CODE_1' }))).toMatchObject({
      status: 'SCHEDULED',
      error,
    });
  });
});
