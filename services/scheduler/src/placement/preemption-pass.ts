import type { Database } from '@niyanta/db';
import { SUBJECTS, envelope } from '@niyanta/messages';
import type { Outgoing } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Transaction } from 'kysely';
import type { PreemptionMode } from '../config.js';
import type { PendingRow } from '../pending-queue.js';
import type { PlacementWorker } from './place-workloads.js';
import type { UsageLedger } from './usage-ledger.js';
import { agedPriority } from './aging.js';
import { buildFleet } from './fleet.js';
import type { Fleet, PlacementState } from './framework.js';
import { STATIC_POLICIES } from './shape.js';
import { planPreemption } from './preemption.js';
import type { ActiveRun, PreemptionWorker } from './preemption.js';

/** PENDING workloads one placement cycle tries to preempt for, at most (highest first). */
export const PREEMPTORS_PER_CYCLE = 16;

/** PREEMPTION and its settings. */
export interface PreemptionSettings {
  mode: PreemptionMode;
  minGap: number;
  graceMs: number;
  agingMs: number;
  now?: () => number;
}

/** What one cycle's preemption decided, written in its transaction. */
export interface Preempted {
  /** Preemptors placed at once on the worker their victims are leaving: the capacity is theirs. */
  placements: { row: PendingRow; workerId: string }[];
  /** `preempt` orders to the victims' workers, to publish once the transaction has committed. */
  controls: Outgoing<'control'>[];
}

const NOTHING: Preempted = { placements: [], controls: [] };

/** Static policies read no label counts: a state without running work. */
const NO_RUNNING: PlacementState = {
  strategy: 'spread',
  version: 0,
  symmetric: false,
  repelling: [],
  couldRepel: () => false,
  counts: () => ({ byWorker: new Int32Array(0), byZone: new Int32Array(0), version: 0 }),
};

/**
 * The workers `row`'s static placement terms allow it on (affinity, taints, cost, spot): a
 * preemptor takes its victims' place only where placement could put it.
 */
function allowedWorkers(row: PendingRow, fleet: Fleet): Set<string> {
  const checks = STATIC_POLICIES.flatMap((p) => p.filters?.(row, fleet, NO_RUNNING, []) ?? []);
  const allowed = new Set<string>();
  for (let w = 0; w < fleet.size; w++) if (checks.every((c) => c.ok(w))) allowed.add(fleet.ids[w]!);
  return allowed;
}

interface RunRow {
  id: string;
  tenant: string;
  priority: number;
  worker_id: string;
  attempt: number;
  requirements: ActiveRun['requirements'];
  trace_parent: string | null;
}

/**
 * Preemption within a placement cycle: for the workloads it could not place (`waiting`, in the
 * order capacity was offered), highest effective priority first, finds runs to stop
 * (`planPreemption`) among preemptible SCHEDULED and RUNNING workloads not already being
 * preempted, locked SKIP LOCKED. The preemptor is placed on that worker at once (the worker
 * starts it when the victims' slots free), so the capacity they free is its own; each victim
 * records who preempted which attempt, and a `workload_events` row is written for both. A victim
 * of this cycle is never a victim twice nor preempts in turn (it is not PENDING until its run is
 * handed back), so preemption never cascades within a cycle.
 */
export async function preemptFor(
  trx: Transaction<Database>,
  waiting: readonly PendingRow[],
  workers: readonly PlacementWorker[],
  ledger: Pick<UsageLedger, 'usage' | 'hasRunAtOrBelow'>,
  settings: PreemptionSettings,
  /**
   * Locks the preemptors chosen (rows read without a lock) and returns the ids it could lock
   * that are still PENDING; a plan of any other is dropped. Absent: `waiting` is locked already.
   */
  confirm?: (rows: readonly PendingRow[]) => Promise<ReadonlySet<string>>,
): Promise<Preempted> {
  if (settings.mode === 'off' || waiting.length === 0 || workers.length === 0) return NOTHING;
  const now = settings.now?.() ?? Date.now();
  const preemptors = waiting
    .map((row) => ({ row, priority: agedPriority(row, now, settings.agingMs) }))
    .filter((p) => p.priority >= settings.minGap)
    .sort((a, b) => b.priority - a.priority)
    .slice(0, PREEMPTORS_PER_CYCLE);
  if (preemptors.length === 0) return NOTHING;
  const ceiling = preemptors[0]!.priority - settings.minGap;
  // No run low enough anywhere: nothing to look for (the scan would visit every active run).
  if (!ledger.hasRunAtOrBelow(ceiling)) return NOTHING;
  const usage = ledger.usage();
  const { rows } = await sql<RunRow>`
    select id, tenant, priority, worker_id, attempt, requirements, trace_parent
    from workloads
    where status in ('SCHEDULED', 'RUNNING') and worker_id = any(${workers.map((w) => w.id)}::text[])
      and preemptible and priority <= ${ceiling}
      and (preemption is null or (preemption->>'attempt')::int <> attempt)
    for update skip locked`.execute(trx);
  if (rows.length === 0) return NOTHING;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const runsByWorker = new Map<string, ActiveRun[]>();
  for (const r of rows) {
    let list = runsByWorker.get(r.worker_id);
    if (!list) runsByWorker.set(r.worker_id, (list = []));
    list.push({ ...r, workerId: r.worker_id, preemptible: true });
  }
  const fleet: PreemptionWorker[] = workers.map((w) => {
    const u = usage.get(w.id);
    return {
      id: w.id,
      types: w.types,
      capacity: w.capacity,
      used: {
        slots: u?.slots ?? 0,
        cpu: u?.cpu ?? 0,
        memoryMb: u?.memoryMb ?? 0,
        gpu: u?.gpu ?? 0,
      },
    };
  });
  const byWorker = new Map(fleet.map((w) => [w.id, w]));
  const taken = new Set<string>();
  const out: Preempted = { placements: [], controls: [] };
  const victims: { id: string; by: string; attempt: number }[] = [];
  const events: { id: string; reason: string; workerId: string }[] = [];
  const placementFleet = buildFleet(workers, usage);
  for (const { row, priority } of preemptors) {
    const allowed = allowedWorkers(row, placementFleet);
    const plan = planPreemption(
      { id: row.id, tenant: row.tenant, type: row.type, priority, requirements: row.requirements },
      fleet.filter((w) => allowed.has(w.id)),
      runsByWorker,
      settings.minGap,
      taken,
    );
    if (plan === undefined) continue;
    const w = byWorker.get(plan.workerId)!;
    // The worker as it will be: the victims gone, the preemptor on it.
    for (const v of plan.victims) {
      taken.add(v.id);
      w.used.slots -= 1;
      w.used.cpu -= v.requirements.cpu ?? 0;
      w.used.memoryMb -= v.requirements.memoryMb ?? 0;
      w.used.gpu -= v.requirements.gpu ?? 0;
      const run = byId.get(v.id)!;
      victims.push({ id: v.id, by: row.id, attempt: run.attempt });
      out.controls.push({
        kind: 'control',
        subject: SUBJECTS.control(w.id),
        traceparent: run.trace_parent,
        message: {
          ...envelope(),
          workerId: w.id,
          action: 'preempt',
          workloadId: v.id,
          attempt: run.attempt,
          graceMs: settings.mode === 'immediate' ? 0 : settings.graceMs,
          reason: `preempted by ${row.id}`,
        },
      });
    }
    w.used.slots += 1;
    w.used.cpu += row.requirements.cpu ?? 0;
    w.used.memoryMb += row.requirements.memoryMb ?? 0;
    w.used.gpu += row.requirements.gpu ?? 0;
    out.placements.push({ row, workerId: w.id });
    events.push({
      id: row.id,
      reason: `preempts ${plan.victims.map((v) => v.id).join(', ')} on ${w.id}`,
      workerId: w.id,
    });
  }
  if (victims.length === 0) return NOTHING;
  if (confirm !== undefined) {
    const locked = await confirm(out.placements.map((p) => p.row));
    const dropped = new Set(
      out.placements.filter((p) => !locked.has(p.row.id)).map((p) => p.row.id),
    );
    if (dropped.size > 0) {
      const keep = (by: string) => !dropped.has(by);
      const kept = victims.filter((v) => keep(v.by));
      const keptIds = new Set(kept.map((v) => v.id));
      victims.splice(0, victims.length, ...kept);
      out.placements = out.placements.filter((p) => keep(p.row.id));
      out.controls = out.controls.filter((c) => keptIds.has(c.message.workloadId!));
      events.splice(0, events.length, ...events.filter((e) => keep(e.id)));
      if (victims.length === 0) return NOTHING;
    }
  }
  await sql`
    with v as (
      select * from jsonb_to_recordset(${JSON.stringify(victims)}::jsonb)
        as v(id uuid, by uuid, attempt int)
    ), marked as (
      update workloads w set preemption = jsonb_build_object('by', v.by, 'attempt', v.attempt),
        updated_at = now()
      from v where w.id = v.id
      returning w.id, w.status, w.attempt, w.worker_id, v.by
    ), p as (
      select * from jsonb_to_recordset(${JSON.stringify(events)}::jsonb)
        as p(id uuid, reason text, "workerId" text)
    )
    insert into workload_events (workload_id, from_status, to_status, attempt, reason, worker_id)
    select id, status, status, attempt, 'preempted by ' || by, worker_id from marked
    union all
    select w.id, w.status, w.status, w.attempt, p.reason, p."workerId"
    from p join workloads w on w.id = p.id`.execute(trx);
  return out;
}
