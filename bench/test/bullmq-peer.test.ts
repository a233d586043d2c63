import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runBullmqPeer } from '../src/peer/bullmq-peer.js';

// The bench's peer at a small scale: a redis-server of its own (AOF, everysec), the built
// producer and worker processes, every job counted once and the CPU of each process read.
const WORKER_MAIN = join(__dirname, '..', 'dist', 'peer', 'bullmq-worker-main.js');

describe('the BullMQ peer runner', () => {
  it('adds and completes 200 no-op jobs after a warm-up and reports rate and CPU', async () => {
    if (!existsSync(WORKER_MAIN))
      throw new Error(`${WORKER_MAIN} does not exist: run \`npx tsc -b\` at the repo root first.`);
    const result = await runBullmqPeer({
      n: 200,
      warmupN: 50,
      batchSize: 50,
      lanes: 2,
      timeoutMs: 60_000,
    });
    expect(result).toMatchObject({
      peer: 'bullmq',
      bullmqVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
      redisVersion: expect.stringMatching(/^\d+\.\d+/),
      n: 200,
      completed: 200,
      settings: { workerConcurrency: 50, batchSize: 50, lanes: 2, warmupN: 50 },
    });
    expect(result.jobsPerSecond).toBeGreaterThan(0);
    expect(result.cpuSeconds.worker).toBeGreaterThanOrEqual(0);
    expect(result.cpuMsPerJob).toBeGreaterThanOrEqual(0);
  });
});
