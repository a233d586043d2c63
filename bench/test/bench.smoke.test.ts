import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startNodeProcess } from '@niyanta/testing';

// CI smoke of `npm run bench`: every scenario, tiny, as the built CLI in its own process. It
// checks the harness keeps working and writes the fields the docs promise; the figures of a
// run this small mean nothing and are not asserted against targets.
const MAIN = resolve(__dirname, '..', 'dist', 'main.js');
let outDir: string;

beforeAll(async () => {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} does not exist: run \`npx tsc -b\` at the repo root first.`);
  outDir = await mkdtemp(join(tmpdir(), 'niyanta-bench-smoke-'));
});

afterAll(async () => {
  if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
});

/** Runs the CLI to its end; returns exit code, output and the parsed result file. */
async function bench(args: string[], timeoutMs = 60_000) {
  const proc = await startNodeProcess(MAIN, { name: 'bench', args: [...args, '--out', outDir] });
  const timer = setTimeout(() => void proc.kill('SIGKILL'), timeoutMs);
  const { code } = await proc.exited.finally(() => clearTimeout(timer));
  const output = proc.output();
  const file = /^result: (.+\.json)$/m.exec(output)?.[1];
  const result =
    file === undefined
      ? undefined
      : (JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>);
  return { code, output, file, result };
}

const percentiles = { p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number) };
const servers = {
  postgres: expect.any(String),
  postgresJitAvailable: expect.any(Boolean),
  nats: expect.stringMatching(/^\d+\.\d+/),
};
const machine = {
  cores: expect.any(Number),
  memoryGiB: expect.any(Number),
  nodeVersion: process.version,
};
const speed = { placementMicros: expect.any(Number), sha256MBps: expect.any(Number) };
const hostSpeed = { before: speed, after: speed };

describe('npm run bench (smoke)', () => {
  it('throughput: both paths in both layouts, then BullMQ, with their ratio and CPU', async () => {
    const run = await bench(
      ['--scenario', 'throughput', '--n', '300', '--workers', '1', '--batch-size', '100'],
      160_000,
    );
    expect({ code: run.code, tail: run.output.slice(-3000) }).toMatchObject({ code: 0 });
    expect(run.file).toMatch(/throughput-[\dT-]+Z\.json$/);
    expect(run.result).toMatchObject({
      scenario: 'throughput',
      n: 300,
      completedPerSecond: expect.any(Number),
      submittedPerSecond: expect.any(Number),
      peerJobsPerSecond: expect.any(Number),
      submitToStartMs: percentiles,
      submitToCompleteMs: percentiles,
      machine,
      hostSpeed,
      servers,
      settings: { workers: 1, batchSize: 100, warmupN: 75, layouts: ['split', 'single'] },
      peer: { peer: 'bullmq', n: 300, completed: 300, cpuMsPerJob: expect.any(Number) },
    });
    const layouts = run.result!.layouts as {
      layout: string;
      byPath: Record<string, { ratioToPeer: number; cpuMsPerWorkload: number }>;
      phases: { path: string; completed: number }[];
    }[];
    expect(layouts.map((l) => [l.layout, l.phases.map((p) => [p.path, p.completed])])).toEqual([
      [
        'split',
        [
          ['http', 300],
          ['broker', 300],
        ],
      ],
      [
        'single',
        [
          ['http', 300],
          ['broker', 300],
        ],
      ],
    ]);
    for (const l of layouts) {
      expect(l.byPath['http']!.ratioToPeer).toBeGreaterThan(0);
      expect(l.byPath['http']!.cpuMsPerWorkload).toBeGreaterThan(0);
    }
    expect(run.result!.completedPerSecond as number).toBeGreaterThan(0);
  }, 170_000);

  it('latency: holds an open-loop rate and reports HTTP and submit→start percentiles', async () => {
    const run = await bench([
      '--scenario',
      'latency',
      '--rate',
      '20',
      '--duration',
      '2',
      '--warmup-seconds',
      '1',
      '--workers',
      '1',
    ]);
    expect({ code: run.code, tail: run.output.slice(-3000) }).toMatchObject({ code: 0 });
    expect(run.result).toMatchObject({
      scenario: 'latency',
      n: 40,
      httpMs: percentiles,
      submitToStartMs: percentiles,
      errors: 0,
      // The warm-up's 20 requests are not among the measured ones.
      completed: 40,
      machine,
      hostSpeed,
      servers,
      settings: { rate: 20, durationSeconds: 2, warmupSeconds: 1 },
    });
  });

  it('recovery: kills a worker and times until its workloads run again elsewhere', async () => {
    const run = await bench([
      '--scenario',
      'recovery',
      '--heartbeat',
      'fast',
      '--n',
      '4',
      '--sleep-ms',
      '3000',
    ]);
    expect({ code: run.code, tail: run.output.slice(-3000) }).toMatchObject({ code: 0 });
    expect(run.result).toMatchObject({
      scenario: 'recovery',
      n: 4,
      recoverySeconds: expect.any(Number),
      machine,
      hostSpeed,
      servers,
    });
    const [only] = run.result!.runs as { heartbeat: string; victims: number; completed: number }[];
    expect(only).toMatchObject({ heartbeat: 'fast', completed: 4 });
    expect(only!.victims).toBeGreaterThan(0);
  });

  it('placement: times the placement function per decision', async () => {
    const run = await bench([
      '--scenario',
      'placement',
      '--n',
      '1000',
      '--placement-workers',
      '100',
      '--iterations',
      '2',
    ]);
    expect({ code: run.code, tail: run.output.slice(-3000) }).toMatchObject({ code: 0 });
    expect(run.result).toMatchObject({
      scenario: 'placement',
      n: 1000,
      microsPerDecision: expect.any(Number),
      workers: 100,
      machine,
      hostSpeed,
    });
    expect(run.result!.placed as number).toBeGreaterThan(0);
    // The host's speed beside the figures: both measures, both times, and in the header.
    const { before, after } = run.result!.hostSpeed as {
      before: Record<string, number>;
      after: Record<string, number>;
    };
    for (const value of [...Object.values(before), ...Object.values(after)]) {
      expect(value).toBeGreaterThan(0);
    }
    expect(run.output).toContain(
      `host speed: placement ${before.placementMicros} → ${after.placementMicros} µs per decision`,
    );
  });

  it('running: holds long runs on one worker, watches them and probes placement beside them', async () => {
    const run = await bench(['--scenario', 'running', '--n', '50', '--duration', '2']);
    expect({ code: run.code, tail: run.output.slice(-3000) }).toMatchObject({ code: 0 });
    expect(run.result).toMatchObject({
      scenario: 'running',
      n: 50,
      runsLost: 0,
      runsStillOnFirstAttempt: 50,
      workerStatus: 'ACTIVE',
      probeSubmitToStartMs: percentiles,
      probesNotStarted: 0,
      machine,
      hostSpeed,
      servers,
      settings: { workers: 1, slots: 150, durationSeconds: 2 },
    });
    const { rssMiB } = run.result as { rssMiB: Record<string, Record<string, number>> };
    expect(Object.keys(rssMiB.running!)).toEqual(expect.arrayContaining(['scheduler', 'bench-w1']));
  });

  it('fanout: one parent spawns and gathers its children, timed from submit to gathered', async () => {
    const run = await bench(['--scenario', 'fanout', '--n', '50', '--workers', '1']);
    expect({ code: run.code, tail: run.output.slice(-3000) }).toMatchObject({ code: 0 });
    expect(run.result).toMatchObject({
      scenario: 'fanout',
      n: 50,
      submitToGatheredSeconds: expect.any(Number),
      childrenPerSecond: expect.any(Number),
      submitToAllSpawnedSeconds: expect.any(Number),
      submitToAllEndedSeconds: expect.any(Number),
      lastChildToGatheredMs: expect.any(Number),
      machine,
      hostSpeed,
      servers,
      settings: { workers: 1, slots: 50, layout: 'split' },
    });
  });

  it('refuses an unknown scenario and lists the ones there are', async () => {
    const run = await bench(['--scenario', 'nope']);
    expect(run.code).toBe(2);
    expect(run.output).toContain(
      'throughput, latency, recovery, placement, running, failover, fanout',
    );
    expect(run.file).toBeUndefined();
  });
});
