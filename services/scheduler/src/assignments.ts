import { gunzipSync } from 'node:zlib';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Database, WorkloadRow } from '@niyanta/db';
import { SUBJECTS, WORKLOAD_STATUS, envelope, publishAll } from '@niyanta/messages';
import type { AssignmentV1, Outgoing, WaitOutcome } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { placements } from '@niyanta/telemetry';
import { startAssignSpans } from './assign-spans.js';
import { loadChildren } from './assignment-children.js';
import type { AssignmentChildren } from './assignment-children.js';
import { loadSealedSecrets } from './assignment-secrets.js';
import type { AssignmentSecrets } from './assignment-secrets.js';
import { loadDependencyResults } from './dependencies/dependency-results.js';
import type { DependencyResults } from './dependencies/dependency-results.js';
import type { Logger } from './logger.js';
import type { Change } from './workload-core/change.js';
import { publishAfterCommit } from './workload-core/publish-after-commit.js';
import type { Bus } from './workload-core/publish-after-commit.js';
import { applyChanges } from './workload-core/statements/apply-changes.js';
import type { Executor } from './workload-core/statements/executor.js';
import { resolvedWaits } from './workload-core/statements/read-waits.js';
import type { Transition } from './workload-core/transition.js';

/** One run of an assignment message. */
export type AssignmentItem = AssignmentV1['assignments'][number];

// NATS refuses messages over max_payload (1 MiB by default): one worker's assignments are split
// into messages of about this size.
const ASSIGNMENT_MESSAGE_BYTES = 512 * 1024;

/** The latest checkpoint of each workload, ready for an assignment. */
export async function loadCheckpoints(
  db: Executor,
  ids: readonly string[],
  log: Logger,
): Promise<Map<string, AssignmentItem['checkpoint']>> {
  const { rows } = await sql<{
    workload_id: string;
    seq: number;
    attempt: number;
    storage: string;
    data: Buffer | null;
    blob_key: string | null;
    size: number;
    sha256: string;
  }>`
    select distinct on (workload_id) workload_id, seq, attempt, storage, data, blob_key, size, sha256
    from checkpoints
    where workload_id = any(${ids}::uuid[])
    order by workload_id, attempt desc, seq desc`.execute(db);
  const out = new Map<string, AssignmentItem['checkpoint']>();
  for (const r of rows) {
    if (!(r.seq >= 0 && r.attempt >= 1)) {
      // The assignment schema would refuse it, and one refused message fails the whole cycle.
      log.error(
        { workloadId: r.workload_id, seq: r.seq, attempt: r.attempt },
        'checkpoint row malformed; assigning without it',
      );
      continue;
    }
    if (r.storage === 'blob') {
      // The worker downloads and verifies it; the scheduler never reads the object.
      if (r.blob_key === null) {
        log.error(
          { workloadId: r.workload_id, seq: r.seq },
          'blob checkpoint row has no key; assigning without it',
        );
        continue;
      }
      out.set(r.workload_id, {
        seq: r.seq,
        attempt: r.attempt,
        storage: 'blob',
        blob: { key: r.blob_key, size: r.size, sha256: r.sha256 },
      });
      continue;
    }
    if (r.data === null) continue;
    try {
      out.set(r.workload_id, {
        seq: r.seq,
        attempt: r.attempt,
        storage: 'inline',
        data: JSON.parse(gunzipSync(r.data).toString('utf8')) as unknown,
      });
    } catch (err) {
      // A corrupt checkpoint must not block placement: the run starts from scratch instead.
      log.error(
        { err, workloadId: r.workload_id, seq: r.seq },
        'checkpoint unreadable; assigning without it',
      );
    }
  }
  return out;
}

/** What an assignment needs of a placed workload's row. */
export type PlacedRun = Pick<
  WorkloadRow,
  'id' | 'tenant' | 'attempt' | 'type' | 'input' | 'timeout_seconds' | 'worker_id' | 'secrets'
> &
  Partial<Pick<WorkloadRow, 'on_dependency_failure'>>;

/** An error code: the run's assignment cannot pass through the broker. */
export const ASSIGNMENT_TOO_LARGE = 'ASSIGNMENT_TOO_LARGE';

/**
 * Bytes of an assignment message besides its runs (envelope, worker id) plus room for its
 * headers (trace context, message id): runs within the server's max_payload less this always fit.
 */
const ASSIGNMENT_ROOM_BYTES = 1024;

/** A run whose assignment alone would pass the broker's max_payload. */
export interface OversizedRun {
  run: PlacedRun;
  /** Bytes of the run in its assignment (input and checkpoint included). */
  size: number;
  /** The broker's max_payload. */
  limit: number;
}

/** What some runs carry beyond their input: children, replayed waits, dependencies' results. */
export interface RunExtras {
  children?: ReadonlyMap<string, AssignmentChildren>;
  waits?: ReadonlyMap<string, WaitOutcome[]>;
  dependencies?: ReadonlyMap<string, DependencyResults>;
}

/** The assignment messages of placed runs, and the runs no message could carry. */
export interface AssignmentPlan {
  messages: Outgoing<'assignment'>[];
  oversized: OversizedRun[];
}

/**
 * One assignment message per worker (split to stay within `maxPayload`, the connected server's
 * limit when known), carrying all its new runs. A run that alone would pass the limit (its input
 * plus its checkpoint) is left out, in `oversized`: sent, it would fail every message with it.
 */
export function assignmentMessages(
  transitions: readonly { row: PlacedRun }[],
  checkpoints: ReadonlyMap<string, AssignmentItem['checkpoint']>,
  maxPayload?: number,
  secrets: ReadonlyMap<string, AssignmentSecrets> = new Map(),
  traces: ReadonlyMap<string, string> = new Map(),
  extras: RunExtras = {},
): AssignmentPlan {
  const { waits = new Map(), dependencies = new Map(), children = new Map() } = extras;
  const room = maxPayload === undefined ? Infinity : maxPayload - ASSIGNMENT_ROOM_BYTES;
  const chunkBytes = Math.min(ASSIGNMENT_MESSAGE_BYTES, room);
  const byWorker = new Map<string, { item: AssignmentItem; size: number }[]>();
  const oversized: OversizedRun[] = [];
  for (const { row } of transitions) {
    const item: AssignmentItem = {
      workloadId: row.id,
      tenant: row.tenant,
      attempt: row.attempt,
      type: row.type,
      input: row.input,
      timeoutSeconds: row.timeout_seconds,
      checkpoint: checkpoints.get(row.id) ?? null,
    };
    const sealed = secrets.get(row.id);
    if (sealed !== undefined) item.secrets = sealed;
    const resolved = waits.get(row.id);
    if (resolved !== undefined) item.waits = resolved;
    const traceparent = traces.get(row.id);
    if (traceparent !== undefined) item.traceparent = traceparent;
    const results = dependencies.get(row.id);
    if (results !== undefined) Object.assign(item, results);
    const spawned = children.get(row.id);
    if (spawned !== undefined) item.children = spawned;
    // Bytes on the wire, plus the comma between runs.
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (size > room) {
      oversized.push({ run: row, size, limit: maxPayload! });
      continue;
    }
    const workerId = row.worker_id!;
    let list = byWorker.get(workerId);
    if (!list) byWorker.set(workerId, (list = []));
    list.push({ item, size });
  }
  const messages: Outgoing<'assignment'>[] = [];
  for (const [workerId, items] of byWorker) {
    let chunk: AssignmentItem[] = [];
    let bytes = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      messages.push({
        kind: 'assignment',
        subject: SUBJECTS.assign(workerId),
        message: { ...envelope(), workerId, assignments: chunk as AssignmentV1['assignments'] },
      });
      chunk = [];
      bytes = 0;
    };
    for (const { item, size } of items) {
      if (chunk.length > 0 && bytes + size > chunkBytes) flush();
      chunk.push(item);
      bytes += size;
    }
    flush();
  }
  return { messages, oversized };
}

/**
 * The assignments of committed placements. Only runs after the first can have a checkpoint to
 * resume from: for them the latest is read.
 */
export async function assignmentsOf(
  db: Executor,
  placed: readonly Transition[],
  log: Logger,
  maxPayload: number | undefined,
  traces?: ReadonlyMap<string, string>,
): Promise<AssignmentPlan> {
  if (placed.length === 0) return { messages: [], oversized: [] };
  const resumable = placed.filter((t) => t.row.attempt > 1).map((t) => t.row.id);
  const checkpoints = resumable.length > 0 ? await loadCheckpoints(db, resumable, log) : new Map();
  const children = await loadChildren(db, resumable);
  const secrets = await loadSealedSecrets(
    db,
    placed.map((t) => t.row),
  );
  // A run resumed after durable waits replays their answers (decisions/wait.ts).
  const waits = resumable.length > 0 ? await resolvedWaits(db, resumable) : new Map();
  const dependent = placed.filter((t) => t.row.on_dependency_failure != null).map((t) => t.row.id);
  const dependencies =
    dependent.length > 0 ? await loadDependencyResults(db, dependent) : new Map();
  return assignmentMessages(placed, checkpoints, maxPayload, secrets, traces, {
    waits,
    dependencies,
    children,
  });
}

/** The change that fails a placed run whose assignment the broker cannot carry. */
export function tooLargeChange({ run, size, limit }: OversizedRun): Change {
  const message = `the assignment of this run is ${size} bytes with its input, checkpoint and the results of the children it spawned; the broker (max_payload) carries at most ${limit - ASSIGNMENT_ROOM_BYTES} of it: store large input, state or results elsewhere (an object store) and pass a reference`;
  return {
    id: run.id,
    from: WORKLOAD_STATUS.SCHEDULED,
    to: WORKLOAD_STATUS.FAILED,
    attempt: run.attempt,
    reason: message,
    error: { message, code: ASSIGNMENT_TOO_LARGE, retryable: false },
    finished: 'now',
  };
}

/**
 * Sends the assignments of placements that have committed: they are published at once and their
 * acks awaited. A failure is logged, not thrown: the placement stands, and reconciliation (the
 * health monitor) sends back to PENDING a run whose worker has not started it in time. Never
 * before the commit: a worker must not run what PostgreSQL may still refuse or roll back. A run
 * whose assignment would pass the broker's max_payload fails with ASSIGNMENT_TOO_LARGE (not
 * retried: it would not fit the next time either), and the others go out all the same.
 */
export async function sendAssignments(
  bus: Bus & { db: Kysely<Database> },
  placed: readonly Transition[],
  log: Logger,
): Promise<void> {
  if (placed.length === 0) return;
  const spans = startAssignSpans(placed);
  try {
    const { messages, oversized } = await assignmentsOf(
      bus.db,
      placed,
      log,
      bus.nc.info?.max_payload,
      spans.traceparents,
    );
    const sending = publishAssignments(bus.js, messages, log);
    if (oversized.length > 0) await failOversized(bus, oversized, log);
    await sending;
    placements.inc(placed.length - oversized.length);
  } finally {
    spans.end();
  }
}

async function publishAssignments(
  js: JetStreamClient,
  messages: readonly Outgoing<'assignment'>[],
  log: Logger,
): Promise<void> {
  if (messages.length === 0) return;
  try {
    await publishAll(js, messages); // acks awaited together
  } catch (err) {
    log.error(
      { err, messages: messages.length },
      'assignments not sent after their placement committed; reconciliation requeues runs not started in time',
    );
  }
}

/** Fails runs no assignment can carry; a failure is logged (reconciliation requeues them). */
async function failOversized(
  bus: Bus & { db: Kysely<Database> },
  oversized: readonly OversizedRun[],
  log: Logger,
): Promise<void> {
  for (const o of oversized) {
    log.error(
      { workloadId: o.run.id, attempt: o.run.attempt, size: o.size, maxPayload: o.limit },
      'assignment over the broker max_payload: the workload fails with ASSIGNMENT_TOO_LARGE',
    );
  }
  try {
    const transitions = await applyChanges(bus.db, oversized.map(tooLargeChange));
    await publishAfterCommit(bus, transitions, log);
  } catch (err) {
    log.error(
      { err, count: oversized.length },
      'failing workloads whose assignment is too large did not commit; reconciliation requeues them',
    );
  }
}
