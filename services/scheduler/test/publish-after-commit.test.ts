import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS, envelope } from '@niyanta/messages';
import { Backlog } from '../src/backlog.js';
import { createSchedulerLogger } from '../src/logger.js';
import { publishAfterCommit } from '../src/workload-core/publish-after-commit.js';
import { UsageLedger } from '../src/placement/usage-ledger.js';
import { workloadRow } from './workload-row.js';

const row = workloadRow({ type: 'noop', status: 'COMPLETED', attempt: 1 });
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
    expect(order).toEqual([SUBJECTS.events(row.tenant), 'settle', `durable ${SUBJECTS.rejected}`]);
    releaseDurable();
    await done;
  });

  it('settles even when the core publishes fail (the change is committed)', async () => {
    const { bus } = recordingBus(true);
    const settle = jest.fn();
    await publishAfterCommit(bus, [succeeded], log, { settle });
    expect(settle).toHaveBeenCalledTimes(1);
  });

  it('publishes one status-event message for the earlier steps, the transitions and the progress', () => {
    const { bus, order } = recordingBus();
    const rows = Array.from({ length: 3 }, () => ({
      row: workloadRow({ type: 'noop', status: 'SCHEDULED', attempt: 1 }),
      from: 'PENDING' as const,
      reason: 'placed on w1',
      eventWorkerId: 'w1',
    }));
    const earlier = rows.map((t) => ({ ...t, row: { ...t.row, status: 'PENDING' }, from: null }));
    void publishAfterCommit(bus, rows, log, {
      earlier,
      progress: [
        {
          workloadId: rows[0]!.row.id,
          tenant: rows[0]!.row.tenant,
          attempt: 1,
          at: new Date().toISOString(),
          progress: { fraction: 0.5 },
        },
      ],
    });
    expect(order).toEqual([SUBJECTS.events(rows[0]!.row.tenant)]);
  });

  it('publishes the RUNNING step of a short run before its end, and frees its slot', () => {
    const payloads: Uint8Array[] = [];
    const nc = {
      info: { max_payload: 1024 * 1024 },
      publish: (_subject: string, data: Uint8Array) => payloads.push(data),
    } as unknown as NatsConnection;
    const ledger = new UsageLedger();
    ledger.reserve(row.id, 'w1', {}, 1);
    const bus = { nc, js: {} as JetStreamClient, ledger, backlog: new Backlog() };
    const running = { ...row, status: 'RUNNING', finished_at: null };
    const step = {
      row: running,
      from: 'SCHEDULED' as const,
      reason: 'started on w1',
      eventWorkerId: 'w1',
    };
    void publishAfterCommit(bus, [{ ...succeeded, startStep: step }], log);
    expect(payloads).toHaveLength(1);
    const message = JSON.parse(new TextDecoder().decode(payloads[0])) as {
      changes: { from: string; to: string; reason: string }[];
    };
    expect(message.changes.map((c) => [c.from, c.to, c.reason])).toEqual([
      ['SCHEDULED', 'RUNNING', 'started on w1'],
      ['RUNNING', 'COMPLETED', 'succeeded'],
    ]);
    expect(ledger.has(row.id)).toBe(false);
  });
});
