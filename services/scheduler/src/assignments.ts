import { gunzipSync } from 'node:zlib';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { WorkloadRow } from '@niyanta/db';
import { SUBJECTS, envelope, publishAll } from '@niyanta/messages';
import type { AssignmentV1, Outgoing } from '@niyanta/messages';
import { sql } from 'kysely';
import { loadSealedSecrets } from './assignment-secrets.js';
import type { AssignmentSecrets } from './assignment-secrets.js';
import type { Logger } from './logger.js';
import type { Executor, Transition } from './transitions.js';

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
>;

/** One assignment message per worker (split if very large), carrying all its new runs. */
export function assignmentMessages(
  transitions: readonly { row: PlacedRun }[],
  checkpoints: ReadonlyMap<string, AssignmentItem['checkpoint']>,
  secrets: ReadonlyMap<string, AssignmentSecrets> = new Map(),
): Outgoing<'assignment'>[] {
  const byWorker = new Map<string, AssignmentItem[]>();
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
    const workerId = row.worker_id!;
    let list = byWorker.get(workerId);
    if (!list) byWorker.set(workerId, (list = []));
    list.push(item);
  }
  const out: Outgoing<'assignment'>[] = [];
  for (const [workerId, items] of byWorker) {
    let chunk: AssignmentItem[] = [];
    let bytes = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      out.push({
        kind: 'assignment',
        subject: SUBJECTS.assign(workerId),
        message: { ...envelope(), workerId, assignments: chunk as AssignmentV1['assignments'] },
      });
      chunk = [];
      bytes = 0;
    };
    for (const item of items) {
      const size = JSON.stringify(item).length;
      if (chunk.length > 0 && bytes + size > ASSIGNMENT_MESSAGE_BYTES) flush();
      chunk.push(item);
      bytes += size;
    }
    flush();
  }
  return out;
}

/**
 * The assignment messages of committed placements. Only runs after the first can have a
 * checkpoint to resume from: for them the latest is read.
 */
export async function assignmentsOf(
  db: Executor,
  placed: readonly Transition[],
  log: Logger,
): Promise<Outgoing<'assignment'>[]> {
  if (placed.length === 0) return [];
  const resumable = placed.filter((t) => t.row.attempt > 1).map((t) => t.row.id);
  const checkpoints = resumable.length > 0 ? await loadCheckpoints(db, resumable, log) : new Map();
  const secrets = await loadSealedSecrets(
    db,
    placed.map((t) => t.row),
  );
  return assignmentMessages(placed, checkpoints, secrets);
}

/**
 * Sends the assignments of placements that have committed: they are published at once and their
 * acks awaited. A failure is logged, not thrown: the placement stands, and reconciliation (the
 * health monitor) sends back to PENDING a run whose worker has not started it in time. Never
 * before the commit: a worker must not run what PostgreSQL may still refuse or roll back.
 */
export async function sendAssignments(
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
