import type { JsMsg } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import { decode, lastToken, traceparentOf } from '@niyanta/messages';
import type { Kysely } from 'kysely';
import { sendAssignments } from '../assignments.js';
import type { Parking } from '../placement/parking.js';
import type { PlacementWorker } from '../placement/place-workloads.js';
import type { Logger } from '../logger.js';
import { unknownSecretRefusals } from '../secret-admission.js';
import { unknownDependencyRefusals } from '../dependencies/dependency-admission.js';
import { afterDependencies, recordDependencies } from '../dependencies/record-dependencies.js';
import { hasDependencies, waitingOnDependencies } from '../dependencies/waiting.js';
import type { TenantAdmission } from '../tenant-admission.js';
import { ingestNotices, noticeRequests } from '../ingest-notices.js';
import { publishAfterCommit } from '../workload-core/publish-after-commit.js';
import type { Bus } from '../workload-core/publish-after-commit.js';
import { insertSubmissions } from '../workload-core/statements/insert-submissions.js';
import type { Inserted, NewWorkload } from '../workload-core/statements/insert-submissions.js';
import type { Transition } from '../workload-core/transition.js';
import { insertRejections, rejectedMessages } from './ingest-rejections.js';
import type { Rejection } from './ingest-rejections.js';
import { NOT_PLACED, PLACED, placeAtIngest } from './place-at-ingest.js';
import type { Accepted, AtIngest } from './place-at-ingest.js';
import type { TenantCache } from './tenant-cache.js';

/** SQLSTATE class 22 (data exception): this row's values, not the database, are the problem. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}

/** The rows to insert for accepted submissions, as ingest decided them. */
function newWorkloads(
  accepted: readonly Accepted[],
  { placements, explanations, waiting }: AtIngest,
): NewWorkload[] {
  return accepted.map(({ msg, tenant, submission }) => {
    const workerId = placements.get(submission.id);
    const wait = hasDependencies(submission)
      ? waitingOnDependencies(submission)
      : workerId
        ? PLACED
        : waiting(submission);
    return {
      tenant,
      submission,
      traceParent: traceparentOf(msg.headers) ?? null,
      workerId,
      placedExplanation: workerId ? explanations.get(submission.id) : undefined,
      pendingReason: wait.reason,
      parked: wait.parked,
    };
  });
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
    const unknownDeps = await unknownDependencyRefusals(db, accepted);
    for (const [a, reason] of unknownDeps) {
      const raw = Buffer.from(a.msg.data).toString('utf8');
      rejected.push({ msg: a.msg, tenant: a.tenant, reason, errors: [], raw });
    }
    if (unknownDeps.size > 0) accepted = accepted.filter((a) => !unknownDeps.has(a));
    // Workloads with dependencies are recorded in the insert's transaction, never placed at once.
    const dependencyChanges: Transition[] = [];

    const persist = async (
      accepted: Accepted[],
      rejected: Rejection[],
      atIngest: AtIngest,
    ): Promise<Inserted> => {
      const items = newWorkloads(accepted, atIngest);
      const dependents = accepted.filter((a) => hasDependencies(a.submission));
      if (rejected.length === 0 && dependents.length === 0) return insertSubmissions(db, items); // one statement
      return db.transaction().execute(async (trx) => {
        const out = await insertSubmissions(trx, items);
        const now = await recordDependencies(
          trx,
          dependents.map((a) => a.submission),
          out.pending,
        );
        await insertRejections(trx, rejected);
        dependencyChanges.push(...afterDependencies(out.pending, now));
        return out;
      });
    };

    const atIngest = placeAtIngest(
      accepted.filter((a) => !hasDependencies(a.submission)),
      deps,
    );
    const { placements } = atIngest;
    let ingested: Inserted;
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
    const transitions = [...ingested.pending, ...ingested.placed, ...dependencyChanges];
    const parked = ingested.pending.filter((t) => t.row.parked);
    deps.parking.parked(
      atIngest.generation,
      parked.map((t) => t.row.type),
    );
    // Committed: now the workers may run them (their acks are awaited below).
    const sending = sendAssignments(deps, ingested.placed, log);

    // The notices first: they answer POSTs waiting for these rows, as committed (a dependent
    // cancelled at once is answered CANCELLED, as GET and its status events show it).
    const cancelledAtOnce = new Map(dependencyChanges.map((t) => [t.row.id, t]));
    const notices = ingestNotices(
      [...ingested.pending, ...ingested.submitted].map((t) => cancelledAtOnce.get(t.row.id) ?? t),
      noticeRequests(accepted),
    );
    await publishAfterCommit({ js, nc, ledger, backlog: deps.backlog, db }, transitions, log, {
      first: notices,
      earlier: ingested.submitted,
      durable: rejectedMessages(rejected),
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
