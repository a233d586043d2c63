import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS, envelope } from '@niyanta/messages';
import type { WorkloadRow } from '@niyanta/db';
import { Backlog } from '../src/backlog.js';
import { createSchedulerLogger } from '../src/logger.js';
import { publishAfterCommit } from '../src/transitions.js';
import { UsageLedger } from '../src/usage-ledger.js';

const ID = '01900000-0000-7000-8000-000000000001';
const row = {
  id: ID,
  tenant: 'default',
  type: 'noop',
  status: 'COMPLETED',
  attempt: 1,
  max_attempts: 3,
  priority: 500,
  input: null,
  result: null,
  error: null,
  progress: null,
  worker_id: 'w1',
  pending_reason: null,
  labels: {},
  requirements: {},
  run_at: null,
  timeout_seconds: null,
  idempotency_key: null,
  trace_parent: null,
  created_at: new Date(0),
  updated_at: new Date(0),
  started_at: new Date(0),
  finished_at: new Date(0),
} as unknown as WorkloadRow;

/** A connection that records what is published, and a JetStream client whose acks we release. */
function recordingBus(failCore = false) {
  const order: string[] = [];
  let releaseDurable!: () => void;
  const nc = {
    info: { max_payload: 1024 * 1024 },
    publish: (subject: string) => {
      if (failCore) throw new Error('connection closed');
      order.push(subject);
    },
  } as unknown as NatsConnection;
  const js = {
    publish: (subject: string) => {
      order.push(`durable ${subject}`);
      return new Promise((resolve) => {
        releaseDurable = () => resolve({ stream: 'S', seq: 1, duplicate: false });
      });
    },
  } as unknown as JetStreamClient;
  const bus = { nc, js, ledger: new UsageLedger(), backlog: new Backlog() };
  return { bus, order, releaseDurable: () => releaseDurable() };
}

describe('publishAfterCommit', () => {
  const log = createSchedulerLogger('silent');
  const durable = [
    {
      kind: 'rejected' as const,
      subject: SUBJECTS.rejected,
      message: {
        ...envelope(),
        subject: SUBJECTS.submit('default'),
        tenant: 'default',
        streamSeq: 1,
        msgId: null,
        reason: 'bad',
        errors: [],
        raw: '{}',
      },
    },
  ];

  it('settles the handled messages after the events are queued and before awaiting durable publishes', async () => {
    const { bus, order, releaseDurable } = recordingBus();
    let settled = false;
    const done = publishAfterCommit(bus, [{ row, from: 'RUNNING', reason: 'succeeded' }], log, {
      durable,
      settle: () => {
        settled = true;
        order.push('settle');
      },
    });
    // Synchronously, in this turn: the acks join the events' write.
    expect(settled).toBe(true);
    expect(order).toEqual([SUBJECTS.events(ID), 'settle', `durable ${SUBJECTS.rejected}`]);
    releaseDurable();
    await done;
  });

  it('settles even when the core publishes fail (the change is committed)', async () => {
    const { bus } = recordingBus(true);
    const settle = jest.fn();
    await publishAfterCommit(bus, [{ row, from: 'RUNNING', reason: 'succeeded' }], log, { settle });
    expect(settle).toHaveBeenCalledTimes(1);
  });
});
