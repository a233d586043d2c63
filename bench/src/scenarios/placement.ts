import { placeWorkloads } from '@niyanta/scheduler';
import type { PendingWorkload, PlacementWorker, WorkerUsage } from '@niyanta/scheduler';
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

/** `placement`: the scheduler's pure placement function, in process, timed per decision. */
export async function runPlacement(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { args, progress } = ctx;
  const { workers, pending, usage } = placementInputs(args.placementWorkers, args.n);
  progress.log(
    `placement: ${workers.length} workers × ${pending.length} pending, ${args.iterations} timed runs after 2 warm-ups`,
  );
  const times: number[] = [];
  let last: ReturnType<typeof placeWorkloads> | undefined;
  for (let i = 0; i < args.iterations + 2; i++) {
    const t = nowMs();
    last = placeWorkloads(pending, workers, usage);
    const ms = nowMs() - t;
    if (i >= 2) times.push(ms);
    progress.update(`placement: run ${i + 1}/${args.iterations + 2}: ${format(ms)} ms`);
    // Let the progress line and signals through between runs.
    await new Promise((resolve) => setImmediate(resolve));
  }
  progress.finish();
  const ms = summarize(times);
  const microsPerDecision = roundTo((ms.p50 * 1000) / pending.length, 3);
  const reasons = new Map<string, number>();
  for (const u of last!.unplaced) {
    const key = u.reason.replace(/\d+(\.\d+)?/g, 'N');
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  return {
    n: pending.length,
    figures: {
      microsPerDecision,
      microsPerDecisionBest: roundTo((ms.min * 1000) / pending.length, 3),
      workers: workers.length,
      callMs: ms,
      placed: last!.placements.length,
      unplaced: last!.unplaced.length,
      unplacedReasons: Object.fromEntries(reasons),
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
        value: `${last!.placements.length} / ${last!.unplaced.length}`,
      },
    ],
    settings: { placementWorkers: args.placementWorkers, iterations: args.iterations, seed: 42 },
  };
}
