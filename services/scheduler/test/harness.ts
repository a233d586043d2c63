import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { createDb } from '@niyanta/db';
import type { Database, WorkloadRow } from '@niyanta/db';
import {
  CONSUMERS,
  DEFAULT_TENANT,
  SUBJECTS,
  decode,
  encode,
  envelope,
  publishOne,
  submissionMsgId,
  uuidv7,
  workerConsumers,
  ensureConsumer,
} from '@niyanta/messages';
import type { AssignmentV1, CompletionV1, ControlV1, SubmissionV1 } from '@niyanta/messages';
import { createTestDatabase, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import type { Kysely } from 'kysely';
import { loadConfig, start } from '../src/index.js';
import type { SchedulerService } from '../src/index.js';

export type AssignmentItem = AssignmentV1['assignments'][number];

/** A nats-server, a fresh database, the scheduler in-process, and clients for the test. */
export interface Harness {
  nats: NatsServerHandle;
  database: TestDatabase;
  scheduler: SchedulerService;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  db: Kysely<Database>;
  close(): Promise<void>;
}

export async function startHarness(
  env: Record<string, string> = {},
  server: { maxPayload?: number } = {},
): Promise<Harness> {
  const nats = await startNatsServer(server);
  const database = await createTestDatabase();
  const config = loadConfig({
    NATS_URL: nats.url,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'warn',
    PLACEMENT_SWEEP_MS: '200',
    ...env,
  });
  const scheduler = await start(config);
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const db = createDb(database.url, { max: 3 });
  return {
    nats,
    database,
    scheduler,
    nc,
    js,
    jsm,
    db,
    async close() {
      await scheduler.close();
      await nc.drain();
      await db.destroy();
      await database[Symbol.asyncDispose]();
      await nats[Symbol.asyncDispose]();
    },
  };
}

/** A valid submission of `type`. */
export function submission(type: string, over: Partial<SubmissionV1> = {}): SubmissionV1 {
  return { schemaVersion: 1, id: uuidv7(), type, input: { n: 1 }, ...over };
}

/** Publishes a submission the way the API does (Nats-Msg-Id from tenant and key or id). */
export async function submit(
  h: Pick<Harness, 'js'>,
  s: SubmissionV1,
  tenant: string = DEFAULT_TENANT,
  msgId?: string,
) {
  return publishOne(h.js, {
    kind: 'submission',
    subject: SUBJECTS.submit(tenant),
    message: s,
    msgId: msgId ?? submissionMsgId(tenant, s.id, s.idempotencyKey),
  });
}

export async function workload(
  h: Pick<Harness, 'db'>,
  id: string,
): Promise<WorkloadRow | undefined> {
  return h.db.selectFrom('workloads').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Waits until the workload exists and `check` holds; returns the row. */
export async function waitForWorkload(
  h: Pick<Harness, 'db'>,
  id: string,
  check: (row: WorkloadRow) => boolean,
  message: string,
  timeoutMs = 15_000,
): Promise<WorkloadRow> {
  return waitFor(
    async () => {
      const row = await workload(h, id);
      return row && check(row) ? row : undefined;
    },
    { timeoutMs, message },
  );
}

/** Waits until the scheduler consumer has nothing pending or unacked: a barrier for "nothing happened". */
export async function waitConsumerDrained(
  h: Pick<Harness, 'jsm'>,
  key: keyof typeof CONSUMERS,
): Promise<void> {
  const c = CONSUMERS[key];
  await waitFor(
    async () => {
      const info = await h.jsm.consumers.info(c.stream, c.durable_name);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { timeoutMs: 15_000, message: `consumer ${c.durable_name} to be drained` },
  );
}

/**
 * A worker of our own: heartbeats, reads its assign and control subjects, and reports run
 * updates and completions when told to.
 */
export interface FakeWorker extends AsyncDisposable {
  id: string;
  assignments: AssignmentItem[];
  controls: ControlV1[];
  waitForAssignment(workloadId: string, attempt?: number): Promise<AssignmentItem>;
  started(a: AssignmentItem): Promise<void>;
  complete(
    a: AssignmentItem,
    outcome: CompletionV1['outcome'],
    extra?: Partial<CompletionV1>,
  ): Promise<void>;
  heartbeat(status?: 'ACTIVE' | 'STOPPED'): void;
  stop(): Promise<void>;
}

export async function startFakeWorker(
  h: Pick<Harness, 'nc' | 'js' | 'jsm'>,
  opts: {
    id: string;
    types: string[];
    capacity?: Partial<{ slots: number; cpu: number; memoryMb: number; gpu: number }>;
    labels?: Record<string, string>;
  },
): Promise<FakeWorker> {
  const capacity = { slots: 4, cpu: 4, memoryMb: 8192, gpu: 0, ...opts.capacity };
  const startedAt = new Date().toISOString();
  const assignments: AssignmentItem[] = [];
  const controls: ControlV1[] = [];
  const consumers = workerConsumers(opts.id);
  await ensureConsumer(h.jsm, consumers.assign);
  await ensureConsumer(h.jsm, consumers.control);
  const assignIter = await (
    await h.js.consumers.get(consumers.assign.stream, consumers.assign.durable_name)
  ).consume();
  const controlIter = await (
    await h.js.consumers.get(consumers.control.stream, consumers.control.durable_name)
  ).consume();
  const reading = Promise.all([
    (async () => {
      for await (const m of assignIter) {
        const d = decode('assignment', m.data);
        if (d.ok) assignments.push(...d.value.assignments);
        m.ack();
      }
    })(),
    (async () => {
      for await (const m of controlIter) {
        const d = decode('control', m.data);
        if (d.ok) controls.push(d.value);
        m.ack();
      }
    })(),
  ]);
  const heartbeat = (status: 'ACTIVE' | 'STOPPED' = 'ACTIVE') =>
    h.nc.publish(
      SUBJECTS.heartbeat(opts.id),
      encode('heartbeat', {
        ...envelope(),
        workerId: opts.id,
        status,
        capacity,
        labels: opts.labels ?? {},
        types: opts.types,
        running: [],
        startedAt,
        intervalMs: 200,
      }),
    );
  heartbeat();
  const timer = setInterval(() => heartbeat(), 200);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      clearInterval(timer);
      await assignIter.close();
      await controlIter.close();
      await reading;
    })());
  return {
    id: opts.id,
    assignments,
    controls,
    heartbeat,
    waitForAssignment: (workloadId, attempt) =>
      waitFor(
        () =>
          assignments.find(
            (a) => a.workloadId === workloadId && (attempt === undefined || a.attempt === attempt),
          ),
        {
          timeoutMs: 15_000,
          message: `an assignment of ${workloadId}${attempt ? ` attempt ${attempt}` : ''} to ${opts.id}`,
        },
      ),
    async started(a) {
      await publishOne(h.js, {
        kind: 'runUpdate',
        subject: SUBJECTS.run(a.workloadId),
        message: {
          ...envelope(),
          workloadId: a.workloadId,
          attempt: a.attempt,
          workerId: opts.id,
          kind: 'started',
        },
      });
    },
    async complete(a, outcome, extra = {}) {
      await publishOne(h.js, {
        kind: 'completion',
        subject: SUBJECTS.complete(a.workloadId),
        message: {
          ...envelope(),
          workloadId: a.workloadId,
          attempt: a.attempt,
          workerId: opts.id,
          outcome,
          ...extra,
        },
      });
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
