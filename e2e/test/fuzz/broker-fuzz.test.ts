import * as fc from 'fast-check';
import { sql } from 'kysely';
import { STREAMS } from '@niyanta/messages';
import { consumedFamilies, describeMessage, messageArb } from './support/broker-messages.js';
import type { FuzzMessage } from './support/broker-messages.js';
import { serviceConsumers, stalledConsumers } from './support/consumers.js';
import { deadAnnouncements, deadLetterCounts, deadLettersOf } from './support/dead-letters.js';
import { assertProperty, fuzzSettings, withReplay, writeReport } from './support/fuzz-settings.js';
import type { FuzzReport } from './support/fuzz-settings.js';
import { startFuzzSystem } from './support/fuzz-system.js';
import type { FuzzSystem } from './support/fuzz-system.js';
import { probeLiveness } from './support/liveness.js';

// Random envelopes on every subject a service consumes, then: every message is accounted for
// (handled, or refused and recorded with its error and announced) and the system is live. One
// system for the file. FUZZ_RUNS sets the number of messages, FUZZ_SEED replays a run.
const settings = fuzzSettings(80);
// A long run (npm run fuzz) gets time in proportion.
jest.setTimeout(240_000 + settings.runs * 100);
const report: FuzzReport = {
  suite: 'broker',
  seed: settings.seed,
  runs: settings.runs,
  messagesSent: 0,
  failures: [],
};
const WORKERS = ['fzb-a', 'fzb-b'];
const FAKE_WORKERS = Array.from({ length: 6 }, (_, i) => `fzb-fake-${i}`);
/** Most failures listed in one message (the rest are counted). */
const LISTED = 15;

let f: FuzzSystem;
const realWorkloadIds: string[] = [];
const sent: { message: FuzzMessage; seq: number }[] = [];

beforeAll(async () => {
  f = await startFuzzSystem({ workers: WORKERS.map((id) => ({ id, slots: 4 })) });
  // Real workloads the messages may name: one finished, one waiting for ever, one running.
  const done = await f.submit({ type: 'noop', input: { real: 1 } });
  const waiting = await f.submit({ type: 'fz-nobody-runs-this', input: {} });
  const running = await f.submit({ type: 'sleep', input: { durationMs: 20_000, steps: 20 } });
  realWorkloadIds.push(done.id, waiting.id, running.id);
  await f.waitCompleted([done.id], 20_000);
}, 120_000);

afterAll(async () => {
  writeReport(report);
  await f?.[Symbol.asyncDispose]();
});

const listed = (failures: string[]) =>
  failures.length <= LISTED
    ? failures
    : [...failures.slice(0, LISTED), `… and ${failures.length - LISTED} more`];

describe('broker fuzzing of every subject a service consumes', () => {
  it('has a message for every subject a service consumes', () => {
    const families = consumedFamilies(WORKERS);
    const patterns = families.map((fam) => fam.pattern);
    expect(new Set(patterns).size).toBe(patterns.length);
    expect(patterns.length).toBeGreaterThanOrEqual(10);
  });

  it('takes random envelopes on every consumed subject', async () => {
    const families = consumedFamilies(WORKERS);
    const ctx = { realWorkloadIds, realWorkerIds: WORKERS, fakeWorkerIds: FAKE_WORKERS };
    await assertProperty(
      'broker property',
      fc.asyncProperty(messageArb(families, ctx), async (message) => {
        report.messagesSent! += 1;
        let ack;
        try {
          ack = await f.publish(message.subject, message.payload, { msgId: message.msgId });
        } catch (err) {
          throw new Error(
            `the broker did not take ${describeMessage(message)}: ${(err as Error).message}`,
          );
        }
        if (!ack.duplicate) sent.push({ message, seq: ack.seq });
      }),
      settings,
      // Each run publishes for good: shrinking would only publish more.
      { endOnFailure: true },
    );
  });

  it('accounts for every message: handled, or refused with its error and announced', async () => {
    const failures: string[] = [];
    const stalled = await stalledConsumers(f.jsm, serviceConsumers(WORKERS), 30_000);
    report.stalledConsumers = stalled;
    for (const s of stalled) failures.push(`consumer stalled: ${s}`);

    // Submissions: a workload (by id, or by its idempotency key) or a rejected_submissions row.
    const submissions = sent.filter((s) => s.message.family.record === 'rejected_submissions');
    const { rows: rejected } = await sql<{ stream_seq: string }>`
      select stream_seq::text from rejected_submissions
    `.execute(f.sys.db);
    const rejectedSeqs = new Set(rejected.map((r) => Number(r.stream_seq)));
    report.rejectedSubmissions = rejected.length;
    const workloads = await f.sys.db
      .selectFrom('workloads')
      .select(['id', 'tenant', 'idempotency_key'])
      .execute();
    const workloadIds = new Set(workloads.map((w) => w.id));
    const keys = new Set(workloads.map((w) => `${w.tenant}\u0000${w.idempotency_key}`));
    for (const { message, seq } of submissions) {
      const sub = message.submission!;
      const isRejected = rejectedSeqs.has(seq);
      const isWorkload =
        (typeof sub.id === 'string' && workloadIds.has(sub.id)) ||
        (typeof sub.idempotencyKey === 'string' &&
          keys.has(`${sub.tenant}\u0000${sub.idempotencyKey}`));
      if (message.expect === 'refused' && !isRejected)
        failures.push(`submission ${seq} not in rejected_submissions: ${describeMessage(message)}`);
      else if (!isRejected && !isWorkload)
        failures.push(
          `submission ${seq} neither a workload nor rejected: ${describeMessage(message)}`,
        );
    }

    // Everything else a service refuses: a dead letter with its error, announced.
    const byStream = new Map<string, { message: FuzzMessage; seq: number }[]>();
    for (const s of sent)
      if (s.message.family.record === 'dead_letters')
        byStream.set(s.message.family.stream, [
          ...(byStream.get(s.message.family.stream) ?? []),
          s,
        ]);
    try {
      for (const [stream, list] of byStream) {
        const rows = await deadLettersOf(
          f.sys.db,
          stream,
          list.map((s) => s.seq),
        );
        const bySeq = new Map(rows.map((r) => [r.stream_seq, r]));
        for (const { message, seq } of list) {
          const row = bySeq.get(seq);
          if (row !== undefined && row.error.trim() === '')
            failures.push(`dead letter ${stream}/${seq} has no error: ${describeMessage(message)}`);
          if (message.expect === 'refused' && row === undefined)
            failures.push(
              `message ${stream}/${seq} is not a dead letter: ${describeMessage(message)}`,
            );
        }
      }
      const counts = await deadLetterCounts(f.sys.db);
      report.deadLetters = counts;
      const announced = await deadAnnouncements(f.jsm);
      // A forged announcement (the fuzz publishes on niyanta.dead.> too) is recorded under the
      // stream its body names, which may be none of ours: only real streams owe announcements.
      const realStreams = new Set(Object.values(STREAMS).map((s) => s.name));
      for (const [stream, n] of Object.entries(counts))
        if (realStreams.has(stream) && (announced[stream] ?? 0) < n)
          failures.push(`${n} dead letters of ${stream}, ${announced[stream] ?? 0} announced`);
    } catch (err) {
      failures.push(`dead letters could not be read: ${(err as Error).message}`);
    }
    report.failures!.push(...failures);
    withReplay(settings, `${failures.length} messages not accounted for`, listed(failures));
  });

  it('stays live after the broker fuzz run', async () => {
    const result = await probeLiveness(f);
    report.probes = [
      { name: 'after broker fuzz', ok: result.ok, ms: result.ms, failures: result.failures },
    ];
    withReplay(settings, 'the system is not live after the broker fuzz run', result.failures);
  });
});
