import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS, envelope } from '@niyanta/messages';
import { Backlog } from '../src/backlog.js';
import { createSchedulerLogger } from '../src/logger.js';
import { publishAfterCommit } from '../src/workload-core/publish-after-commit.js';
import { UsageLedger } from '../src/placement/usage-ledger.js';
import { workloadRow } from './workload-row.js';

const row = workloadRow({ type: 'noop', status: 'COMPLETED', attempt: 1 });
const ID = row.id;
const succeeded = { row, from: 'RUNNING' as const, reason: 'succeeded', eventWorkerId: 'w1' };

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
    const done = publishAfterCommit(bus, [succeeded], log, {
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
    await publishAfterCommit(bus, [succeeded], log, { settle });
    expect(settle).toHaveBeenCalledTimes(1);
  });
});
