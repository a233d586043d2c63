import os from 'node:os';
import { ConfigError } from '@niyanta/runtime';
import { defaultWorkerId, loadConfig } from '../src/config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults from the machine', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      natsUrl: 'nats://127.0.0.1:4222',
      slots: 4,
      cpu: os.availableParallelism(),
      memoryMb: Math.floor(os.totalmem() / 1024 / 1024),
      gpu: 0,
      labels: {},
      zone: undefined,
      execAllow: undefined,
      workloadModules: [],
      heartbeatIntervalMs: 2000,
      drainTimeoutMs: 10_000,
    });
    expect(c.workerId).toMatch(/^w-[A-Za-z0-9_-]+-[0-9a-f]{8}$/);
  });

  it('reads every setting', () => {
    const c = loadConfig({
      WORKER_ID: 'w_gpu-01',
      WORKER_SLOTS: '16',
      WORKER_CPU: '7.5',
      WORKER_MEMORY_MB: '1024',
      WORKER_GPU: '2',
      WORKER_LABELS: 'gpu=a100, tier = batch,empty=',
      WORKER_ZONE: 'eu-1a',
      WORKER_EXEC_ALLOW: 'sh, ffmpeg',
      WORKLOAD_MODULES: '/a,/b',
      HEARTBEAT_INTERVAL_MS: '500',
      DRAIN_TIMEOUT_MS: '1000',
    });
    expect(c).toMatchObject({
      workerId: 'w_gpu-01',
      slots: 16,
      cpu: 7.5,
      memoryMb: 1024,
      gpu: 2,
      labels: { gpu: 'a100', tier: 'batch', empty: '' },
      zone: 'eu-1a',
      execAllow: ['sh', 'ffmpeg'],
      workloadModules: ['/a', '/b'],
      heartbeatIntervalMs: 500,
      drainTimeoutMs: 1000,
    });
    expect(loadConfig({ WORKER_EXEC_ALLOW: '*' }).execAllow).toBe('*');
  });

  it('names every bad variable, including the malformed label pair', () => {
    const problems = problemsOf({
      WORKER_ID: 'w.1',
      WORKER_SLOTS: '0',
      WORKER_LABELS: 'a=1,broken,=x',
      WORKER_EXEC_ALLOW: ' , ',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('WORKER_ID is malformed: "w.1"'),
        'WORKER_SLOTS is 0, below the minimum 1.',
        expect.stringContaining('WORKER_LABELS has a malformed pair "broken"'),
        expect.stringContaining('WORKER_LABELS has a malformed pair "=x"'),
        expect.stringContaining('WORKER_EXEC_ALLOW is " , "'),
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('reads the blob store settings: the filesystem by default, s3 only with bucket and region', () => {
    expect(loadConfig({})).toMatchObject({
      checkpointInlineMaxBytes: 262_144,
      blob: { BLOB_STORE: 'fs', BLOB_DIR: '.data/blobs' },
    });
    expect(
      loadConfig({
        BLOB_STORE: 's3',
        S3_ENDPOINT: 'http://127.0.0.1:9000',
        S3_BUCKET: 'niyanta',
        S3_REGION: 'us-east-1',
        CHECKPOINT_INLINE_MAX_BYTES: '1024',
      }),
    ).toMatchObject({
      checkpointInlineMaxBytes: 1024,
      blob: { BLOB_STORE: 's3', S3_BUCKET: 'niyanta', S3_REGION: 'us-east-1' },
    });
    expect(problemsOf({ BLOB_STORE: 's3', S3_BUCKET: 'niyanta' })).toEqual([
      expect.stringMatching(/^BLOB_STORE is s3 but S3_REGION is not set/),
    ]);
    // An inline checkpoint must fit a NATS message.
    expect(problemsOf({ CHECKPOINT_INLINE_MAX_BYTES: '2000000' })).toEqual([
      'CHECKPOINT_INLINE_MAX_BYTES is 2000000, above the maximum 900000.',
    ]);
  });

  it('refuses a drain timeout the shutdown deadline would cut short', () => {
    expect(problemsOf({ DRAIN_TIMEOUT_MS: '20000', SHUTDOWN_TIMEOUT_MS: '15000' })).toEqual([
      expect.stringContaining('DRAIN_TIMEOUT_MS (20000) must be below SHUTDOWN_TIMEOUT_MS (15000)'),
    ]);
  });
});

describe('defaultWorkerId', () => {
  it('makes a subject token from any host name', () => {
    expect(defaultWorkerId('build.example.com')).toMatch(/^w-build-example-com-[0-9a-f]{8}$/);
    expect(defaultWorkerId('')).toMatch(/^w-host-[0-9a-f]{8}$/);
    expect(defaultWorkerId('a'.repeat(300)).length).toBeLessThanOrEqual(128);
  });
});
