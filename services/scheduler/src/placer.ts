import { gunzipSync } from 'node:zlib';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Database } from '@niyanta/db';
import { SUBJECTS, WORKLOAD_STATUS, envelope, publishAll } from '@niyanta/messages';
import type { AssignmentV1, Outgoing } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import { PublishError } from './errors.js';
import type { Logger } from './logger.js';
import { placeWorkloads } from './placement.js';
import type { PendingWorkload, Resources, WorkerUsage } from './placement.js';
import { applyChanges, publishAfterCommit } from './transitions.js';
import type { Change, Transition } from './transitions.js';

type AssignmentItem = AssignmentV1['assignments'][number];

/** Pending workloads one cycle looks at. */
export const PLACEMENT_BATCH = 1000;
// NATS refuses messages over max_payload (1 MiB by default): one worker's assignments are split
// into messages of about this size.
const ASSIGNMENT_MESSAGE_BYTES = 512 * 1024;

interface PendingRow {
  id: string;
  tenant: string;
  type: string;
  priority: number;
  attempt: number;
  requirements: Resources;
  input: unknown;
  timeout_seconds: number | null;
  pending_reason: string | null;
  trace_parent: string | null;
}

/** The result of one placement cycle. */
export interface CycleResult {
  considered: number;
  placed: number;
}

/**
 * Places PENDING workloads on live workers. Triggers coalesce: one cycle runs at a time and at
 * most one more is queued, however many triggers arrive meanwhile.
 */
export class Placer {
  private running: Promise<void> | undefined;
  private queued = false;
  private stopped = false;
  private sweep: NodeJS.Timeout | undefined;
  private wakeUp: { at: number; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly opts: {
      db: Kysely<Database>;
      js: JetStreamClient;
      nc: NatsConnection;
      liveWorkers: () => readonly {
        id: string;
        capacity: { slots: number; cpu: number; memoryMb: number; gpu: number };
        types: readonly string[];
      }[];
      sweepMs: number;
      log: Logger;
    },
  ) {}

  /** Starts the periodic sweep (it also catches run_at and retry times coming due). */
  start(): void {
    this.sweep = setInterval(() => this.trigger(), this.opts.sweepMs);
    this.trigger();
  }

  /** Asks for a placement cycle soon. Never throws; errors are logged and the sweep retries. */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.queued = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Triggers a cycle in `delayMs` (a retry's run_at), unless an earlier one is already set. */
  triggerIn(delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + delayMs;
    if (this.wakeUp && this.wakeUp.at <= at) return;
    if (this.wakeUp) clearTimeout(this.wakeUp.timer);
    const timer = setTimeout(() => {
      this.wakeUp = undefined;
      this.trigger();
    }, delayMs + 5); // now() in PostgreSQL and here differ slightly; the sweep covers the rest
    timer.unref();
    this.wakeUp = { at, timer };
  }

  /** Stops triggering and waits for the cycle in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweep) clearInterval(this.sweep);
    if (this.wakeUp) clearTimeout(this.wakeUp.timer);
    await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.queued = false;
      try {
        // A full batch means more may be waiting: go again at once.
        while (!this.stopped && (await this.cycle()).placed === PLACEMENT_BATCH) {
          /* next batch */
        }
      } catch (err) {
        this.opts.log.error({ err }, 'placement cycle failed; the next trigger or sweep retries');
      }
    } while (this.queued && !this.stopped);
  }

  /** One placement cycle in one transaction; exposed for tests. */
  async cycle(): Promise<CycleResult> {
    const { db, js, log } = this.opts;
    const { transitions, considered } = await db.transaction().execute(async (trx) => {
      const usage = await loadUsage(trx);
      const workers = this.opts.liveWorkers();
      // Only types some live worker has a free slot for are worth a look: otherwise 1,000 old
      // workloads nobody can run would hide every newer one from placement for ever.
      const liveTypes = [...new Set(workers.flatMap((w) => w.types))];
      const openTypes = [
        ...new Set(
          workers
            .filter((w) => (usage.get(w.id)?.slots ?? 0) < w.capacity.slots)
            .flatMap((w) => w.types),
        ),
      ];
      await explainBlockedTypes(trx, liveTypes, openTypes);
      const { rows: pending } = await sql<PendingRow>`
        select id, tenant, type, priority, attempt, requirements, input, timeout_seconds, pending_reason, trace_parent
        from workloads
        where status = 'PENDING' and (run_at is null or run_at <= now()) and type = any(${openTypes}::text[])
        order by priority desc, id
        limit ${PLACEMENT_BATCH}
        for update skip locked`.execute(trx);
      if (pending.length === 0) return { transitions: [] as Transition[], considered: 0 };

      const decision = placeWorkloads(pending as PendingWorkload[], workers, usage);
      const byId = new Map(pending.map((p) => [p.id, p]));

      const changes: Change[] = decision.placements.map(({ workloadId, workerId }) => ({
        id: workloadId,
        from: WORKLOAD_STATUS.PENDING,
        to: WORKLOAD_STATUS.SCHEDULED,
        attempt: byId.get(workloadId)!.attempt,
        incrementAttempt: true,
        workerId,
        pendingReason: null,
        reason: `placed on ${workerId}`,
      }));
      const transitions = await applyChanges(trx, changes);

      const changedReasons = decision.unplaced.filter(
        (u) => byId.get(u.workloadId)!.pending_reason !== u.reason,
      );
      if (changedReasons.length > 0) {
        await sql`
          update workloads w set pending_reason = v.reason, updated_at = now()
          from jsonb_to_recordset(${JSON.stringify(changedReasons.map((u) => ({ id: u.workloadId, reason: u.reason })))}::jsonb)
            as v(id uuid, reason text)
          where w.id = v.id and w.status = 'PENDING'`.execute(trx);
      }

      // Assignments go out BEFORE the commit: a crash in between costs at most a run that
      // fencing discards (the attempt it carries never committed), never a placement without one.
      if (transitions.length > 0) {
        const checkpoints = await loadCheckpoints(
          trx,
          transitions.map((t) => t.row.id),
          log,
        );
        const messages = assignmentMessages(transitions, byId, checkpoints);
        try {
          await publishAll(js, messages);
        } catch (err) {
          throw new PublishError(`${messages.length} assignment message(s)`, { cause: err });
        }
      }
      return { transitions, considered: pending.length };
    });
    await publishAfterCommit({ js, nc: this.opts.nc }, transitions, log);
    if (transitions.length > 0 || considered > 0) {
      log.debug({ considered, placed: transitions.length }, 'placement cycle');
    }
    return { considered, placed: transitions.length };
  }
}

/**
 * Sets the pending reason of workloads whose type no live worker handles, or whose workers are
 * all full: the placement query skips them. Bounded per cycle, and only rows whose reason changes.
 */
async function explainBlockedTypes(
  trx: Transaction<Database>,
  liveTypes: string[],
  openTypes: string[],
): Promise<void> {
  await sql`
    with blocked as (
      select id, case when type = any(${liveTypes}::text[])
        then format('no free slot on the live worker(s) that handle type "%s"', type)
        else format('no live worker handles type "%s"', type) end as reason
      from workloads
      where status = 'PENDING' and not (type = any(${openTypes}::text[]))
    ), changed as (
      select w.id, b.reason from workloads w join blocked b on b.id = w.id
      where w.pending_reason is distinct from b.reason
      limit ${PLACEMENT_BATCH}
      for update of w skip locked
    )
    update workloads w set pending_reason = c.reason, updated_at = now()
    from changed c where w.id = c.id`.execute(trx);
}

/** Slots and resources taken on each worker by its SCHEDULED and RUNNING workloads. */
async function loadUsage(trx: Transaction<Database>): Promise<Map<string, WorkerUsage>> {
  const { rows } = await sql<{
    worker_id: string;
    slots: number;
    cpu: number;
    memory_mb: number;
    gpu: number;
  }>`
    select worker_id,
      count(*)::int as slots,
      coalesce(sum((requirements->>'cpu')::float8), 0)::float8 as cpu,
      coalesce(sum((requirements->>'memoryMb')::float8), 0)::float8 as memory_mb,
      coalesce(sum((requirements->>'gpu')::float8), 0)::float8 as gpu
    from workloads
    where status in ('SCHEDULED', 'RUNNING') and worker_id is not null
    group by worker_id`.execute(trx);
  return new Map(
    rows.map((r) => [
      r.worker_id,
      { slots: r.slots, cpu: r.cpu, memoryMb: r.memory_mb, gpu: r.gpu },
    ]),
  );
}

/** The latest checkpoint of each workload, ready for an assignment. */
async function loadCheckpoints(
  trx: Transaction<Database>,
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
    order by workload_id, attempt desc, seq desc`.execute(trx);
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

/** One assignment message per worker (split if very large), carrying all its new runs. */
function assignmentMessages(
  transitions: readonly Transition[],
  pending: ReadonlyMap<string, PendingRow>,
  checkpoints: ReadonlyMap<string, AssignmentItem['checkpoint']>,
): Outgoing<'assignment'>[] {
  const byWorker = new Map<string, AssignmentItem[]>();
  for (const { row } of transitions) {
    const item: AssignmentItem = {
      workloadId: row.id,
      tenant: row.tenant,
      attempt: row.attempt,
      type: row.type,
      input: pending.get(row.id)?.input ?? row.input,
      timeoutSeconds: row.timeout_seconds,
      checkpoint: checkpoints.get(row.id) ?? null,
    };
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
