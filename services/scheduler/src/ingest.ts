import type { JsMsg } from '@nats-io/jetstream';
import { PREPARED } from '@niyanta/db';
import type { Database, WorkloadRow } from '@niyanta/db';
import {
  SUBJECTS,
  WORKLOAD_STATUS,
  decode,
  envelope,
  escapeUnstorable,
  lastToken,
  traceparentOf,
} from '@niyanta/messages';
import type { FieldError, Outgoing, SubmissionV1 } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Logger } from './logger.js';
import type { UsageLedger } from './usage-ledger.js';
import type { Backlog } from './backlog.js';
import { sendAssignments } from './assignments.js';
import { unknownSecretRefusals } from './secret-admission.js';
import type { PendingWorkload, PlacementWorker } from './placement.js';
import { blockedReason, queuedReason, typeAvailability } from './blocked-types.js';
import { neverFitsReason, offersByType } from './fit.js';
import type { Parking } from './parking.js';
import { ingestNotices, noticeRequests } from './ingest-notices.js';
import { publishAfterCommit, statusEvents } from './transitions.js';
import type { TenantAdmission } from './tenant-admission.js';
import type { Bus, Executor, Transition } from './transitions.js';

const RAW_MAX_BYTES = 64 * 1024;
const DEFAULT_PRIORITY = 500;
const DEFAULT_MAX_ATTEMPTS = 3;

interface Rejection {
  msg: JsMsg;
  tenant: string | null;
  reason: string;
  errors: FieldError[];
  raw: string;
}

/** What one ingest transaction did. */
interface Ingested {
  /** Inserted PENDING (placement takes them later). */
  pending: Transition[];
  /** Placed at ingest: their `submitted` step (row as it was PENDING) and their placement. */
  submitted: Transition[];
  placed: Transition[];
}

interface Accepted {
  msg: JsMsg;
  tenant: string;
  submission: SubmissionV1;
}

/** Tenants known to PostgreSQL, reloaded when a submission names one not seen yet. */
export class TenantCache {
  private known = new Set<string>();
  constructor(private readonly db: Kysely<Database>) {}

  async refresh(): Promise<void> {
    const rows = await this.db.selectFrom('tenants').select('id').execute();
    this.known = new Set(rows.map((r) => r.id));
  }

  has(tenant: string): boolean {
    return this.known.has(tenant);
  }
}

/** SQLSTATE class 22 (data exception): this row's values, not the database, are the problem. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}

/**
 * What a rejection records of a message, storable by PostgreSQL whatever arrived (a NUL in the
 * Nats-Msg-Id, the subject or a parser's message would fail the insert, and the batch with it).
 */
function recordOf(r: Rejection) {
  const msgId = r.msg.headers?.get('Nats-Msg-Id');
  return {
    subject: escapeUnstorable(r.msg.subject),
    tenant: r.tenant === null ? null : escapeUnstorable(r.tenant),
    msgId: msgId ? escapeUnstorable(msgId) : null,
    reason: escapeUnstorable(r.reason),
    errors: r.errors.map((e) => ({
      path: escapeUnstorable(e.path),
      message: escapeUnstorable(e.message),
    })),
    raw: storableRaw(r.raw),
  };
}

/** Text safe for a PostgreSQL text column, cut at 64 KiB of UTF-8. */
function storableRaw(raw: string): string {
  let text = raw.replaceAll('\u0000', '\uFFFD');
  if (Buffer.byteLength(text) > RAW_MAX_BYTES) {
    // Cutting bytes may split a character: its remains decode to U+FFFD, which is fine for a record.
    text = Buffer.from(text).subarray(0, RAW_MAX_BYTES).toString('utf8');
  }
  return text;
}

/**
 * Handles one batch of submissions: valid ones go into workloads with ONE statement (idempotent on
 * id and on (tenant, idempotency_key), their workload_events rows written by the same statement),
 * invalid ones into rejected_submissions with ONE insert, all in one transaction (no transaction
 * when there is only the one statement). While nothing older waits, valid ones are placed at once:
 * inserted SCHEDULED, their assignments sent once the insert has committed (never before: a
 * submission PostgreSQL refuses must not run). One no live worker could ever take is inserted
 * parked. Messages are acked (or term-ed) only after the commit, so a crash at any point
 * redelivers them and the inserts skip duplicates. A database error throws and the runtime naks
 * the batch; one that a submission's own values cause is found by inserting them one by one.
 */
export function createIngestHandler(
  deps: Bus & {
    db: Kysely<Database>;
    tenants: TenantCache;
    /** Refuses submissions of disabled tenants and over maxPending. */
    admission?: TenantAdmission;
    log: Logger;
    /** Live workers, for placing new workloads at once while nothing older waits. */
    liveWorkers: () => readonly PlacementWorker[];
    /** The fleet's generation, for workloads inserted parked. */
    parking: Pick<Parking, 'current' | 'parked'>;
    /** Some workloads were left PENDING: the placer takes them. */
    onIngested: () => void;
  },
): (msgs: JsMsg[]) => Promise<void> {
  const { db, js, nc, tenants, ledger, log } = deps;
  return async (msgs) => {
    const subjectTenants = msgs.map((m) => lastToken(m.subject) ?? '');
    if (subjectTenants.some((t) => !tenants.has(t))) await tenants.refresh();

    let accepted: Accepted[] = [];
    const rejected: Rejection[] = [];
    msgs.forEach((msg, i) => {
      const tenant = subjectTenants[i]!;
      const decoded = decode('submission', msg.data);
      if (!decoded.ok) {
        rejected.push({
          msg,
          tenant,
          reason: decoded.reason,
          errors: decoded.errors,
          raw: decoded.raw,
        });
        return;
      }
      // Valid means valid UTF-8 JSON, so the text decodes cleanly.
      const raw = Buffer.from(msg.data).toString('utf8');
      if (!tenants.has(tenant)) {
        rejected.push({
          msg,
          tenant,
          reason: `unknown tenant "${tenant}": create the tenant first or publish on an existing one`,
          errors: [],
          raw,
        });
      } else {
        accepted.push({ msg, tenant, submission: decoded.value });
      }
    });

    if (deps.admission !== undefined) {
      const refused = await deps.admission.refusals(accepted);
      for (const [a, reason] of refused) {
        const raw = Buffer.from(a.msg.data).toString('utf8');
        rejected.push({ msg: a.msg, tenant: a.tenant, reason, errors: [], raw });
      }
      if (refused.size > 0) accepted = accepted.filter((a) => !refused.has(a));
    }
    const unknownSecrets = await unknownSecretRefusals(db, accepted);
    for (const [a, reason] of unknownSecrets) {
      const raw = Buffer.from(a.msg.data).toString('utf8');
      rejected.push({ msg: a.msg, tenant: a.tenant, reason, errors: [], raw });
    }
    if (unknownSecrets.size > 0) accepted = accepted.filter((a) => !unknownSecrets.has(a));

    const persist = async (
      accepted: Accepted[],
      rejected: Rejection[],
      atIngest: AtIngest,
    ): Promise<Ingested> => {
      if (rejected.length === 0) return insertAccepted(db, accepted, atIngest); // one statement
      return db.transaction().execute(async (trx) => {
        const out = await insertAccepted(trx, accepted, atIngest);
        await trx
          .insertInto('rejected_submissions')
          .values(
            rejected.map((r) => {
              const record = recordOf(r);
              return {
                subject: record.subject,
                tenant: record.tenant,
                stream_seq: r.msg.seq,
                msg_id: record.msgId,
                reason: record.reason,
                errors: JSON.stringify(record.errors),
                raw: record.raw,
              };
            }),
          )
          .onConflict((oc) => oc.columns(['subject', 'stream_seq']).doNothing())
          .execute();
        return out;
      });
    };

    const atIngest = placeAtIngest(accepted, deps);
    const { placements } = atIngest;
    let ingested: Ingested;
    try {
      ingested = await persist(accepted, rejected, atIngest);
    } catch (err) {
      for (const id of placements.keys()) ledger.cancel(id, 1);
      if (!isDataError(err) || accepted.length === 0) throw err;
      // One submission PostgreSQL refuses (a value out of its range) must not block the stream:
      // find it by inserting the valid ones one by one (only on this error path), reject it.
      // Left PENDING, placement takes them.
      const unplaced: AtIngest = { ...atIngest, placements: new Map() };
      ingested = { pending: [], submitted: [], placed: [] };
      const refused: Accepted[] = [];
      for (const a of accepted) {
        try {
          ingested.pending.push(...(await persist([a], [], unplaced)).pending);
        } catch (inner) {
          if (!isDataError(inner)) throw inner;
          refused.push(a);
          rejected.push({
            msg: a.msg,
            tenant: a.tenant,
            reason: `PostgreSQL refused the submission: ${(inner as Error).message}`,
            errors: [],
            raw: Buffer.from(a.msg.data).toString('utf8'),
          });
        }
      }
      accepted = accepted.filter((a) => !refused.includes(a));
      await persist([], rejected, NOT_PLACED);
    }
    // A placement whose row was not inserted (a duplicate) holds nothing.
    const placedIds = new Set(ingested.placed.map((t) => t.row.id));
    for (const id of placements.keys()) if (!placedIds.has(id)) ledger.cancel(id, 1);
    const transitions = [...ingested.pending, ...ingested.placed];
    const parked = ingested.pending.filter((t) => t.row.parked);
    deps.parking.parked(
      atIngest.generation,
      parked.map((t) => t.row.type),
    );
    // Committed: now the workers may run them (their acks are awaited below).
    const sending = sendAssignments(deps, ingested.placed, log);

    const rejectedMessages: Outgoing<'rejected'>[] = rejected.map((r) => {
      const record = recordOf(r);
      return {
        kind: 'rejected',
        subject: SUBJECTS.rejected,
        // One record per stream message even when redelivered after a crash.
        msgId: `rejected:${record.subject}:${r.msg.seq}`,
        traceparent: traceparentOf(r.msg.headers),
        message: {
          ...envelope(),
          subject: record.subject,
          tenant: record.tenant,
          streamSeq: r.msg.seq,
          msgId: record.msgId,
          reason: record.reason,
          errors: record.errors,
          raw: record.raw,
        },
      };
    });
    // The notices first: they answer POSTs waiting for these rows.
    const notices = ingestNotices(
      [...ingested.pending, ...ingested.submitted],
      noticeRequests(accepted),
    );
    await publishAfterCommit({ js, nc, ledger, backlog: deps.backlog }, transitions, log, {
      first: [...notices, ...statusEvents(ingested.submitted)],
      durable: rejectedMessages,
      settle: () => {
        for (const a of accepted) a.msg.ack();
      },
    });
    await sending;
    // After their records are on niyanta.rejected (or that failed and was logged).
    for (const r of rejected) r.msg.term();
    if (rejected.length > 0) {
      log.warn(
        {
          count: rejected.length,
          first: {
            subject: rejected[0]!.msg.subject,
            streamSeq: rejected[0]!.msg.seq,
            reason: rejected[0]!.reason,
          },
        },
        'submissions rejected',
      );
    }
    log.debug(
      { received: msgs.length, inserted: transitions.length, rejected: rejected.length },
      'ingested batch',
    );
    // Parked ones wait for the fleet to grow, not for the placer.
    if (ingested.pending.length > parked.length) deps.onIngested();
  };
}

/**
 * Inserts the accepted submissions (SCHEDULED at attempt 1 where placed) with their events, in
 * ONE statement; returns what was inserted, as transitions.
 */
async function insertAccepted(
  db: Executor,
  accepted: readonly Accepted[],
  { placements, waiting }: AtIngest,
): Promise<Ingested> {
  const out: Ingested = { pending: [], submitted: [], placed: [] };
  if (accepted.length === 0) return out;
  const records = JSON.stringify(
    accepted.map(({ msg, tenant, submission: s }) => {
      const workerId = placements.get(s.id);
      const wait = workerId ? PLACED : waiting(s);
      return {
        id: s.id,
        tenant,
        type: s.type,
        status: workerId ? WORKLOAD_STATUS.SCHEDULED : WORKLOAD_STATUS.PENDING,
        // Placed at ingest: attempt 1 is the fencing token its assignment carries.
        attempt: workerId ? 1 : 0,
        worker_id: workerId ?? null,
        priority: s.priority ?? DEFAULT_PRIORITY,
        max_attempts: s.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        input: s.input ?? null,
        labels: s.labels ?? {},
        requirements: s.requirements ?? {},
        run_at: s.runAt ?? null,
        // GET shows why it is not placed (placement replaces it).
        pending_reason: wait.reason,
        parked: wait.parked,
        timeout_seconds: s.timeoutSeconds ?? null,
        idempotency_key: s.idempotencyKey ?? null,
        trace_parent: traceparentOf(msg.headers) ?? null,
        submitted_by: s.submittedBy ?? null,
        secrets: s.secrets ?? [],
        // Fair share hook: concurrency keys and preemptibility (placement/concurrency.ts).
        concurrency_key: s.concurrencyKey ?? null,
        concurrency_limit: s.concurrencyKey === undefined ? null : (s.concurrencyLimit ?? 1),
        ordered: s.ordered ?? false,
        preemptible: s.preemptible ?? true,
      };
    }),
  );
  // One jsonb parameter for the whole batch (a JSON null input stays the jsonb null), and the
  // events inserted by the same statement: `submitted`, then `placed` for workloads placed at
  // ingest. ON CONFLICT without a target skips duplicates of the id and of (tenant, key) alike,
  // and a skipped row gets no events.
  const { rows } = await sql<WorkloadRow>`${PREPARED}
    with ins as (
      insert into workloads (id, tenant, type, status, attempt, worker_id, priority,
        max_attempts, input, labels, requirements, run_at, pending_reason, parked,
        timeout_seconds, idempotency_key, trace_parent, submitted_by, secrets,
        concurrency_key, concurrency_limit, ordered, preemptible)
      select v.id, v.tenant, v.type, v.status, v.attempt, v.worker_id, v.priority,
        v.max_attempts, coalesce(v.input, 'null'::jsonb), v.labels, v.requirements,
        v.run_at, v.pending_reason, v.parked, v.timeout_seconds, v.idempotency_key, v.trace_parent,
        v.submitted_by, coalesce(v.secrets, '{}'),
        v.concurrency_key, v.concurrency_limit, v.ordered, v.preemptible
      from jsonb_to_recordset(${records}::jsonb) as v(
        id uuid, tenant text, type text, status text, attempt int, worker_id text,
        priority int, max_attempts int, input jsonb, labels jsonb, requirements jsonb,
        run_at timestamptz, pending_reason text, parked boolean, timeout_seconds int,
        idempotency_key text, trace_parent text, submitted_by text, secrets text[],
        concurrency_key text, concurrency_limit int, ordered boolean, preemptible boolean)
      on conflict do nothing
      returning *
    ), e as (
      insert into workload_events (workload_id, from_status, to_status, attempt, reason, worker_id)
      select ins.id, s.from_status, s.to_status, s.attempt, s.reason, s.worker_id
      from ins cross join lateral (values
        (1, null, 'PENDING', 0, 'submitted', null),
        (2, 'PENDING', ins.status, ins.attempt, 'placed on ' || ins.worker_id, ins.worker_id)
      ) as s(step, from_status, to_status, attempt, reason, worker_id)
      where s.step = 1 or ins.status = 'SCHEDULED'
      order by ins.id, s.step
    )
    select * from ins`.execute(db);
  for (const row of rows) {
    if (row.status !== WORKLOAD_STATUS.SCHEDULED) {
      out.pending.push({ row, from: null, reason: 'submitted', eventWorkerId: null });
      continue;
    }
    // Two transitions in one row version: submitted (PENDING), then placed.
    out.submitted.push({
      row: { ...row, status: WORKLOAD_STATUS.PENDING, attempt: 0, worker_id: null },
      from: null,
      reason: 'submitted',
      eventWorkerId: null,
    });
    out.placed.push({
      row,
      from: WORKLOAD_STATUS.PENDING,
      reason: `placed on ${row.worker_id}`,
      eventWorkerId: row.worker_id,
    });
  }
  return out;
}

/** How a workload left PENDING at ingest waits. */
interface Waiting {
  /** Why, as the sweep and the placer would say it (null: it only waits its turn). */
  reason: string | null;
  /** No live worker could ever take it: inserted parked, out of the queue. */
  parked: boolean;
}

const PLACED: Waiting = { reason: null, parked: false };

/** What ingest decided for a batch before inserting it. */
interface AtIngest {
  /** Workload id → worker, for those placed at once. */
  placements: ReadonlyMap<string, string>;
  /** The fleet generation the decisions were made on (see `Parking`). */
  generation: number;
  /**
   * How one left PENDING waits, said as the sweep and the placer would say it, so that neither
   * has to rewrite a row just inserted.
   */
  waiting: (submission: SubmissionV1) => Waiting;
}

/** Nothing placed at ingest: only a runAt still to come is a reason to give. */
const NOT_PLACED: AtIngest = {
  placements: new Map(),
  generation: 0,
  waiting: (s) => ({ reason: waitingReason(s.runAt), parked: false }),
};

/**
 * Places new submissions at once, before their rows are written, when no older workload waits
 * for a slot (it would be overtaken) and a live worker has room: they are inserted SCHEDULED at
 * attempt 1, saving a placement transaction, a row version and a hop. Reserves in the ledger;
 * the caller releases what does not commit. Workloads with a runAt still to come wait. Also says
 * how each one left PENDING waits: parked if no live worker could ever take it (`neverFitsReason`),
 * else why it waits.
 */
function placeAtIngest(
  accepted: readonly Accepted[],
  deps: {
    ledger: UsageLedger;
    backlog: Backlog;
    liveWorkers: () => readonly PlacementWorker[];
    parking: Pick<Parking, 'current'>;
    admission?: TenantAdmission;
  },
): AtIngest {
  const workers = deps.liveWorkers();
  const generation = deps.parking.current; // the fleet `workers` is
  const placements = new Map<string, string>();
  const unplaced = new Map<string, string>();
  if (accepted.length > 0 && !deps.backlog.any && workers.length > 0) {
    const now = Date.now();
    const due: (PendingWorkload & { attempt: number })[] = [];
    for (const { tenant, submission: s } of accepted) {
      if (s.runAt !== undefined && Date.parse(s.runAt) > now) continue;
      // The placer holds a tenant to its run quotas: such work is not placed here.
      if (deps.admission?.hasRunQuota(tenant) === true) continue;
      // Fair share hook: the placer holds a concurrency key to its limit and order.
      if (s.concurrencyKey !== undefined) continue;
      // A redelivered submission of a workload already running: its insert will be skipped.
      if (deps.ledger.has(s.id)) continue;
      due.push({
        id: s.id,
        type: s.type,
        priority: s.priority ?? DEFAULT_PRIORITY,
        requirements: s.requirements ?? {},
        attempt: 0,
      });
    }
    const decision = deps.ledger.placeAndReserve(due, workers);
    for (const p of decision.placements) placements.set(p.workloadId, p.workerId);
    for (const u of decision.unplaced) unplaced.set(u.workloadId, u.reason);
  }
  // Read only when some are left PENDING: at low load every submission is placed.
  if (placements.size === accepted.length) return { ...NOT_PLACED, placements, generation };
  const offers = offersByType(workers);
  // After this batch's own reservations: the types it filled are full for the rest of it.
  const availability = typeAvailability(workers, deps.ledger);
  const behind = deps.backlog.any;
  return {
    placements,
    generation,
    waiting: (s) => {
      const never = neverFitsReason(s.type, s.requirements ?? {}, offers);
      if (never !== null) return { reason: never, parked: true };
      const reason =
        waitingReason(s.runAt) ??
        // Behind a backlog, free slots go to older work first (`queued`, or `full` if none is free).
        (behind ? queuedReason(s.type, availability) : blockedReason(s.type, availability)) ??
        unplaced.get(s.id) ??
        null;
      return { reason, parked: false };
    },
  };
}

/** The pending reason of a workload submitted with a runAt still to come, else null. */
export function waitingReason(runAt: string | undefined, now: number = Date.now()): string | null {
  if (runAt === undefined) return null;
  const at = Date.parse(runAt);
  return at > now ? `waiting until runAt ${new Date(at).toISOString()}` : null;
}
