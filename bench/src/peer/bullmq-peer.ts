import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, startNodeProcess } from '@niyanta/testing';
import type { ServiceProcess } from '@niyanta/testing';
import { ScenarioError } from '../errors.js';
import { cpuSeconds } from '../process-cpu.js';
import { roundTo } from '../stats.js';
import { startRedisServer } from './redis-server.js';

/** What the peer measured, in the same run as Niyanta. */
export interface PeerResult {
  peer: 'bullmq';
  bullmqVersion: string;
  redisVersion: string;
  /** Redis persistence: AOF with fsync every second, no snapshots. */
  persistence: string;
  n: number;
  completed: number;
  /** First addBulk call to the n-th completion. */
  endToEndSeconds: number;
  jobsPerSecond: number;
  addedPerSecond: number;
  /** CPU seconds over the measured round: redis-server, the worker process, the producer process. */
  cpuSeconds: { redis: number; worker: number; producer: number };
  /** redis-server plus the worker process, ms per job: the queue without its submitting client. */
  cpuMsPerJob: number;
  /** The producer process alone, ms per job (its start-up included). */
  producerCpuMsPerJob: number;
  settings: { workerConcurrency: number; batchSize: number; lanes: number; warmupN: number };
}

export interface PeerOptions {
  n: number;
  /** Jobs through the same worker before the measured ones (not measured). */
  warmupN: number;
  /** Jobs per addBulk call. */
  batchSize: number;
  /** addBulk calls in flight. */
  lanes: number;
  /** The worker's concurrency. */
  workerConcurrency?: number;
  /** Fail when a round takes longer than this. */
  timeoutMs: number;
  log?: (line: string) => void;
}

const WORKER_CONCURRENCY = 50;
const QUEUE = 'niyanta-bench-peer';
/** The built entry points of the peer's processes (`npx tsc -b` makes them). */
const peerMain = (name: string): string => join(repoRoot(), 'bench', 'dist', 'peer', name);

function bullmqVersion(): string {
  const pkg = join(repoRoot(), 'node_modules', 'bullmq', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** The first JSON line of `proc` matching `pattern`, parsed, once it is printed. */
async function line(
  proc: ServiceProcess,
  pattern: RegExp,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await proc.waitForLine(pattern, timeoutMs)) as Record<string, unknown>;
  } catch (err) {
    throw new ScenarioError('peer', `${proc.name}: ${(err as Error).message}\n${proc.output()}`, {
      cause: err,
    });
  }
}

/**
 * BullMQ on a Redis with AOF (appendfsync everysec), started here: one producer process adding
 * no-op jobs with addBulk, one worker process with concurrency 50 completing them. A warm-up
 * round first (as Niyanta gets), then `n` measured jobs, timed from the first addBulk call to
 * the worker's n-th completion, with the CPU time of every process of the peer.
 */
export async function runBullmqPeer(opts: PeerOptions): Promise<PeerResult> {
  const log = opts.log ?? (() => undefined);
  const concurrency = opts.workerConcurrency ?? WORKER_CONCURRENCY;
  await using redis = await startRedisServer();
  log(`peer: redis-server ${redis.version} (AOF, appendfsync everysec) on port ${redis.port}`);
  const server = [redis.host, String(redis.port), QUEUE];
  const targets = [opts.warmupN, opts.warmupN + opts.n].filter((t) => t > 0);
  const worker = await startNodeProcess(peerMain('bullmq-worker-main.js'), {
    name: 'bullmq-worker',
    args: [...server, String(concurrency), [...new Set(targets)].join(',')],
  });
  const producers: ServiceProcess[] = [];
  const produce = async (n: number): Promise<ServiceProcess> => {
    const p = await startNodeProcess(peerMain('bullmq-producer-main.js'), {
      name: 'bullmq-producer',
      args: [...server, String(n), String(opts.batchSize), String(opts.lanes)],
    });
    producers.push(p);
    return p;
  };
  try {
    await line(worker, /"event":"ready"/, 30_000);
    if (opts.warmupN > 0) {
      log(`peer: warm-up, ${opts.warmupN} no-op jobs (not measured)`);
      const warmup = await produce(opts.warmupN);
      await line(worker, new RegExp(`"target":${opts.warmupN},`), opts.timeoutMs);
      await warmup.stop(5_000);
    }
    const cpu = (): { redis: number; worker: number } => ({
      redis: cpuSeconds(redis.pid) ?? 0,
      worker: cpuSeconds(worker.pid) ?? 0,
    });
    const before = cpu();
    log(
      `peer: ${opts.n} no-op jobs, addBulk of ${opts.batchSize}, worker concurrency ${concurrency}`,
    );
    const producer = await produce(opts.n);
    const added = await line(producer, /"event":"added"/, opts.timeoutMs);
    const reached = await line(
      worker,
      new RegExp(`"target":${opts.warmupN + opts.n},`),
      opts.timeoutMs,
    );
    const after = cpu();
    const producerCpu = cpuSeconds(producer.pid) ?? 0;
    const firstAt = added['firstAt'] as number;
    const endToEndSeconds = ((reached['at'] as number) - firstAt) / 1000;
    const cpuSecondsUsed = {
      redis: roundTo(after.redis - before.redis, 2),
      worker: roundTo(after.worker - before.worker, 2),
      producer: roundTo(producerCpu, 2),
    };
    return {
      peer: 'bullmq',
      bullmqVersion: bullmqVersion(),
      redisVersion: redis.version,
      persistence: 'appendonly yes, appendfsync everysec, no RDB snapshots',
      n: opts.n,
      completed: (reached['completed'] as number) - opts.warmupN,
      endToEndSeconds: roundTo(endToEndSeconds, 3),
      jobsPerSecond: roundTo(opts.n / endToEndSeconds, 1),
      addedPerSecond: roundTo(opts.n / (((added['lastAt'] as number) - firstAt) / 1000), 1),
      cpuSeconds: cpuSecondsUsed,
      cpuMsPerJob: roundTo(
        ((after.redis - before.redis + (after.worker - before.worker)) * 1000) / opts.n,
        3,
      ),
      producerCpuMsPerJob: roundTo((producerCpu * 1000) / opts.n, 3),
      settings: {
        workerConcurrency: concurrency,
        batchSize: opts.batchSize,
        lanes: opts.lanes,
        warmupN: opts.warmupN,
      },
    };
  } finally {
    await Promise.all([worker, ...producers].map((p) => p.stop(10_000).catch(() => undefined)));
  }
}
