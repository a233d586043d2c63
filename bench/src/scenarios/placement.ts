import { placeWorkloads } from '@niyanta/scheduler';
import type {
  PendingWorkload,
  PlacementWorker,
  RunningWorkload,
  WorkerUsage,
} from '@niyanta/scheduler';
import { nowMs } from '../db-clock.js';
import type { ScenarioContext, ScenarioReport } from '../scenario-context.js';
import { roundTo, summarize } from '../stats.js';
import { TARGETS, atMost, format } from '../targets.js';

/** A small deterministic PRNG (mulberry32): the same inputs on every run and machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ZONES = ['eu-1a', 'eu-1b', 'us-2a', 'us-2b'] as const;
const TIERS = ['batch', 'interactive', 'gpu'] as const;

/** Labels ride along on both sides; the placement function matches on type and resources. */
type LabelledWorker = PlacementWorker & { labels: Record<string, string> };
type LabelledPending = PendingWorkload & { labels: Record<string, string> };

/**
 * A fleet of mixed workers (sizes, GPUs on one in ten, types, labels, half of them partly busy)
 * and a queue of mixed workloads: no requirements, cpu/memory, GPU, and some too big for any.
 */
export function placementInputs(
  workerCount: number,
  pendingCount: number,
  seed = 42,
): { workers: LabelledWorker[]; pending: LabelledPending[]; usage: Map<string, WorkerUsage> } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const workers: LabelledWorker[] = [];
  const usage = new Map<string, WorkerUsage>();
  for (let i = 0; i < workerCount; i++) {
    const gpu = r() < 0.1 ? pick([1, 2, 4, 8]) : 0;
    const cpu = pick([2, 4, 8, 16, 32, 64]);
    const slots = pick([4, 8, 16, 32, 64]);
    const types = ['noop', 'sleep'];
    if (r() < 0.3) types.push('exec');
    if (gpu > 0) types.push('train');
    if (r() < 0.2) types.push('etl');
    const id = `w-${String(i).padStart(5, '0')}`;
    workers.push({
      id,
      capacity: { slots, cpu, memoryMb: cpu * 4096, gpu },
      types,
      labels: { zone: pick(ZONES), tier: gpu > 0 ? 'gpu' : pick(TIERS) },
    });
    if (r() < 0.5) {
      const used = Math.floor(r() * slots);
      usage.set(id, {
        slots: used,
        cpu: Math.min(cpu, used * 0.5),
        memoryMb: Math.min(cpu * 4096, used * 1024),
        gpu: 0,
      });
    }
  }
  const pending: LabelledPending[] = [];
  const base = Date.now();
  for (let i = 0; i < pendingCount; i++) {
    const kind = r();
    let type: string;
    let requirements: PendingWorkload['requirements'];
    if (kind < 0.4) {
      type = pick(['noop', 'sleep']);
      requirements = {};
    } else if (kind < 0.7) {
      type = pick(['sleep', 'exec', 'etl']);
      requirements = { cpu: pick([0.5, 1, 2, 4]), memoryMb: pick([256, 1024, 4096, 16384]) };
    } else if (kind < 0.85) {
      type = 'train';
      requirements = { cpu: pick([2, 8]), memoryMb: 8192, gpu: pick([1, 2, 4]) };
    } else if (kind < 0.98) {
      type = pick(['noop', 'exec']);
      requirements = { cpu: 1 };
    } else {
      type = 'etl';
      requirements = { cpu: 128, memoryMb: 1_000_000 }; // bigger than any worker: a reason, no placement
    }
    // Time-ordered ids like UUIDv7, so the input arrives already in queue order half the time.
    const id = `${(base + i).toString(16).padStart(12, '0')}-${String(i).padStart(8, '0')}`;
    pending.push({
      id,
      type,
      priority: pick([100, 500, 500, 500, 900]),
      requirements,
      labels: { zone: pick(ZONES), team: pick(['search', 'ads', 'ml', 'infra']) },
    });
  }
  return { workers, pending, usage };
}

/**
 * The same fleet and queue with placement policies on: workers in zones, GPU workers tainted
 * NoSchedule (their work tolerates it), some PreferNoSchedule and spot workers, costs; workloads
 * of two tenants with zone affinity (required and preferred), topology spread by zone,
 * anti-affinity preferences, bin-packing and a cost ceiling, from a few templates (as
 * submissions come), and labelled running work for spread and anti-affinity to count.
 */
export function policyInputs(
  workerCount: number,
  pendingCount: number,
  seed = 42,
): {
  workers: PlacementWorker[];
  pending: PendingWorkload[];
  usage: Map<string, WorkerUsage>;
  running: RunningWorkload[];
} {
  const base = placementInputs(workerCount, pendingCount, seed);
  const r = rng(seed + 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const workers: PlacementWorker[] = base.workers.map((w) => {
    const taints: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' }[] = [];
    if (w.capacity.gpu > 0) taints.push({ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' });
    if (r() < 0.05) taints.push({ key: 'maintenance', effect: 'PreferNoSchedule' });
    return {
      ...w,
      zone: w.labels.zone!,
      taints,
      costPerHour: roundTo(0.02 * w.capacity.cpu * (r() < 0.2 ? 0.3 : 1), 4),
      spot: r() < 0.2,
    };
  });
  const running: RunningWorkload[] = [];
  for (const [workerId, u] of base.usage) {
    for (let i = 0; i < u.slots; i++)
      running.push({ workerId, labels: { app: pick(APPS), tenant: pick(TENANTS) } });
  }
  const templates: NonNullable<PendingWorkload['placement']>[] = ZONES.flatMap((zone) =>
    APPS.map((app) => [
      { affinity: [{ key: 'zone', operator: 'In' as const, values: [zone] as [string] }] },
      {
        affinity: [
          { key: 'zone', operator: 'In' as const, values: [zone] as [string], weight: 50 },
        ],
      },
      { spread: { topologyKey: 'zone' as const, maxSkew: 1, labels: { app } } },
      { antiAffinity: [{ labels: { app }, topologyKey: 'worker' as const, weight: 20 }] },
      { strategy: 'binpack' as const, maxCostPerHour: 1 },
      { spot: 'avoid' as const },
    ]),
  ).flat();
  const pending: PendingWorkload[] = base.pending.map((p) => {
    const gpu = p.type === 'train';
    const app = pick(APPS);
    const terms = r() < 0.1 ? undefined : pick(templates);
    return {
      ...p,
      labels: { app, tenant: pick(TENANTS), team: p.labels.team! },
      placement: {
        ...terms,
        ...(gpu ? { tolerations: [{ key: 'dedicated', value: 'gpu' }] } : {}),
      },
    };
  });
  return { workers, pending, usage: base.usage, running };
}

const APPS = ['web', 'api', 'etl', 'ml'] as const;
const TENANTS = ['tenant-a', 'tenant-b'] as const;

/** `placement`: the scheduler's pure placement function, in process, timed per decision. */
export async function runPlacement(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { args, progress } = ctx;
  const { workers, pending, usage } = placementInputs(args.placementWorkers, args.n);
  const time = async (
    mix: string,
    place: () => ReturnType<typeof placeWorkloads>,
  ): Promise<{ times: number[]; last: ReturnType<typeof placeWorkloads> }> => {
    progress.log(
      `placement (${mix}): ${workers.length} workers × ${pending.length} pending, ${args.iterations} timed runs after 2 warm-ups`,
    );
    const times: number[] = [];
    let last: ReturnType<typeof placeWorkloads> | undefined;
    for (let i = 0; i < args.iterations + 2; i++) {
      const t = nowMs();
      last = place();
      const ms = nowMs() - t;
      if (i >= 2) times.push(ms);
      progress.update(`placement (${mix}): run ${i + 1}/${args.iterations + 2}: ${format(ms)} ms`);
      // Let the progress line and signals through between runs.
      await new Promise((resolve) => setImmediate(resolve));
    }
    progress.finish();
    return { times, last: last! };
  };
  const plain = await time('plain', () => placeWorkloads(pending, workers, usage));
  const policy = policyInputs(args.placementWorkers, args.n);
  const withPolicies = await time('policies', () =>
    placeWorkloads(policy.pending, policy.workers, policy.usage, { running: policy.running }),
  );
  const { times, last } = plain;
  const ms = summarize(times);
  const microsPerDecision = roundTo((ms.p50 * 1000) / pending.length, 3);
  const pms = summarize(withPolicies.times);
  const policyMicros = roundTo((pms.p50 * 1000) / policy.pending.length, 3);
  const reasonsOf = (result: ReturnType<typeof placeWorkloads>) => {
    const reasons = new Map<string, number>();
    for (const u of result.unplaced) {
      const key = u.reason.replace(/\d+(\.\d+)?/g, 'N');
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    return Object.fromEntries(reasons);
  };
  return {
    n: pending.length,
    figures: {
      microsPerDecision,
      microsPerDecisionBest: roundTo((ms.min * 1000) / pending.length, 3),
      workers: workers.length,
      callMs: ms,
      placed: last.placements.length,
      unplaced: last.unplaced.length,
      unplacedReasons: reasonsOf(last),
      policies: {
        microsPerDecision: policyMicros,
        microsPerDecisionBest: roundTo((pms.min * 1000) / policy.pending.length, 3),
        callMs: pms,
        placed: withPolicies.last.placements.length,
        unplaced: withPolicies.last.unplaced.length,
        unplacedReasons: reasonsOf(withPolicies.last),
      },
    },
    table: [
      { figure: 'workers × pending', value: `${workers.length} × ${pending.length}` },
      {
        figure: 'one call ms',
        value: `p50 ${format(ms.p50)} (min ${format(ms.min)}, max ${format(ms.max)})`,
      },
      {
        figure: 'µs per decision',
        value: format(microsPerDecision),
        target: `≤ ${TARGETS.microsPerDecision}`,
        verdict: atMost(microsPerDecision, TARGETS.microsPerDecision, 'µs'),
      },
      {
        figure: 'placed / unplaced',
        value: `${last.placements.length} / ${last.unplaced.length}`,
      },
      {
        figure: 'µs per decision, policies on',
        value: format(policyMicros),
        target: `≤ ${TARGETS.microsPerDecision}`,
        verdict: atMost(policyMicros, TARGETS.microsPerDecision, 'µs'),
      },
      {
        figure: 'placed / unplaced, policies on',
        value: `${withPolicies.last.placements.length} / ${withPolicies.last.unplaced.length}`,
      },
    ],
    settings: { placementWorkers: args.placementWorkers, iterations: args.iterations, seed: 42 },
  };
}
