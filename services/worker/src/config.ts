import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { BLOB_SETTINGS, blobConfigProblems } from '@niyanta/blob-store';
import type { BlobConfig } from '@niyanta/blob-store';
import {
  COMMON_SETTINGS,
  CONSUMER_SETTINGS,
  ConfigError,
  natsAuth,
  parseConfig,
  parseSecretKeys,
  streamLimits,
} from '@niyanta/runtime';
import type { ConfigOf, NatsAuth, SecretKeys, Setting } from '@niyanta/runtime';
import type { StreamLimits } from '@niyanta/messages';
import { inheritedEnv } from './workloads/exec-env.js';
import { parseTaints } from './taints.js';
import type { WorkerTaint } from './taints.js';

type Env = Record<string, string | undefined>;

const WORKER_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

const WORKER_SETTINGS = {
  ...COMMON_SETTINGS,
  ...CONSUMER_SETTINGS,
  WORKER_ID: {
    kind: 'string',
    pattern: WORKER_ID_PATTERN,
    example: 'w-gpu-01 ([A-Za-z0-9_-], 1..128)',
  },
  WORKER_SLOTS: { kind: 'int', default: 4, min: 1, max: 10_000 },
  WORKER_CPU: { kind: 'number', min: 0 },
  WORKER_MEMORY_MB: { kind: 'int', min: 0 },
  WORKER_GPU: { kind: 'int', default: 0, min: 0 },
  WORKER_LABELS: { kind: 'string' },
  WORKER_ZONE: { kind: 'string' },
  WORKER_TAINTS: { kind: 'string' },
  WORKER_COST_PER_HOUR: { kind: 'number', min: 0, max: 1_000_000 },
  WORKER_SPOT: { kind: 'bool', default: false },
  WORKER_EXEC_ALLOW: { kind: 'string' },
  SECRETS_KEY: { kind: 'string', secret: true },
  WORKER_EXEC_ENV_PASS: { kind: 'list' },
  WORKER_EXEC_WORKDIR: { kind: 'string' },
  WORKER_EXEC_MAX_LOG_BYTES: { kind: 'int', default: 10 * 1024 * 1024, min: 1024 },
  WORKLOAD_MODULES: { kind: 'list' },
  HEARTBEAT_INTERVAL_MS: { kind: 'int', default: 2_000, min: 10, max: 600_000 },
  DRAIN_TIMEOUT_MS: { kind: 'int', default: 10_000, min: 0, max: 600_000 },
  // The ceiling keeps an inline checkpoint under NATS's default 1 MiB max payload, with room for the envelope.
  CHECKPOINT_INLINE_MAX_BYTES: { kind: 'int', default: 262_144, min: 0, max: 900_000 },
  ...BLOB_SETTINGS,
} as const satisfies Record<string, Setting>;

/** The worker's validated configuration. */
export interface WorkerConfig {
  natsUrl: string;
  /** NATS credentials and TLS; none: anonymous plaintext. */
  natsAuth?: NatsAuth;
  logLevel: string;
  healthPort: number | undefined;
  shutdownTimeoutMs: number;
  workerId: string;
  slots: number;
  cpu: number;
  memoryMb: number;
  gpu: number;
  labels: Record<string, string>;
  zone: string | undefined;
  /** Its taints (WORKER_TAINTS): work that does not tolerate them stays off or scores lower. */
  taints: WorkerTaint[];
  /** What it costs per hour (WORKER_COST_PER_HOUR); undefined: not said. */
  costPerHour: number | undefined;
  /** A spot (preemptible) machine (WORKER_SPOT). */
  spot: boolean;
  /**
   * Commands `exec` may run (absolute paths, or bare names resolved on the worker's PATH at
   * start-up); `'*'` for any; undefined: `exec` is not loaded.
   */
  execAllow: readonly string[] | '*' | undefined;
  /** The worker's variables an `exec` child inherits: PATH, LANG, TZ, WORKER_EXEC_ENV_PASS's names. */
  execInheritedEnv: Readonly<Record<string, string>>;
  /** Where each `exec` run's fresh working directory is made. */
  execWorkdir: string;
  /** Bytes of output one `exec` run may log; the rest is counted and dropped. */
  execMaxLogBytes: number;
  /** Directories of workload modules (loaded with `loadWorkloadModules`). */
  workloadModules: readonly string[];
  heartbeatIntervalMs: number;
  /** How long a drain waits for runs to finish before handing them back. */
  drainTimeoutMs: number;
  /** Checkpoint states whose JSON is larger than this go to the blob store. */
  checkpointInlineMaxBytes: number;
  /** SECRETS_KEY's keys: open the sealed secrets assignments carry; none without it. */
  secretKeys: SecretKeys | undefined;
  /** Where large checkpoints go (the checkpoint service must use the same store). */
  blob: BlobConfig;
  /** Deliveries after which an assignment or control message that keeps failing is a dead letter. */
  maxDeliver: number;
  /** The deployment's stream sizes (every service creates the streams with the same ones). */
  streams?: StreamLimits;
}

/** Reads and validates the worker's environment; throws a `ConfigError` naming every bad variable. */
export function loadConfig(env: Env = process.env): WorkerConfig {
  const problems: string[] = [];
  let raw: ConfigOf<typeof WORKER_SETTINGS> | undefined;
  try {
    raw = parseConfig(WORKER_SETTINGS, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const labels = parseLabels(env.WORKER_LABELS, problems);
  const taints = parseTaints(env.WORKER_TAINTS, problems);
  const execAllow = parseExecAllow(env.WORKER_EXEC_ALLOW, problems);
  let secretKeys: SecretKeys | undefined;
  if (raw?.SECRETS_KEY !== undefined) {
    const parsed = parseSecretKeys(raw.SECRETS_KEY);
    if ('problems' in parsed) problems.push(...parsed.problems);
    else secretKeys = parsed;
  }
  if (raw && raw.DRAIN_TIMEOUT_MS >= raw.SHUTDOWN_TIMEOUT_MS) {
    problems.push(
      `DRAIN_TIMEOUT_MS (${raw.DRAIN_TIMEOUT_MS}) must be below SHUTDOWN_TIMEOUT_MS (${raw.SHUTDOWN_TIMEOUT_MS}), or the process is killed before it hands its runs back. Lower DRAIN_TIMEOUT_MS or raise SHUTDOWN_TIMEOUT_MS.`,
    );
  }
  const blob: BlobConfig | undefined = raw && {
    BLOB_STORE: raw.BLOB_STORE as BlobConfig['BLOB_STORE'],
    BLOB_DIR: raw.BLOB_DIR,
    S3_ENDPOINT: raw.S3_ENDPOINT,
    S3_BUCKET: raw.S3_BUCKET,
    S3_REGION: raw.S3_REGION,
  };
  if (blob) problems.push(...blobConfigProblems(blob));
  if (problems.length > 0 || !raw || !blob) throw new ConfigError(problems);
  return {
    natsUrl: raw.NATS_URL,
    natsAuth: natsAuth(raw),
    logLevel: raw.LOG_LEVEL,
    healthPort: raw.HEALTH_PORT,
    shutdownTimeoutMs: raw.SHUTDOWN_TIMEOUT_MS,
    workerId: raw.WORKER_ID ?? defaultWorkerId(),
    slots: raw.WORKER_SLOTS,
    cpu: raw.WORKER_CPU ?? os.availableParallelism(),
    memoryMb: raw.WORKER_MEMORY_MB ?? Math.floor(os.totalmem() / (1024 * 1024)),
    gpu: raw.WORKER_GPU,
    labels,
    zone: raw.WORKER_ZONE,
    taints,
    costPerHour: raw.WORKER_COST_PER_HOUR,
    spot: raw.WORKER_SPOT,
    execAllow,
    execInheritedEnv: inheritedEnv(env, raw.WORKER_EXEC_ENV_PASS),
    execWorkdir: raw.WORKER_EXEC_WORKDIR ?? path.join(os.tmpdir(), 'niyanta-exec'),
    execMaxLogBytes: raw.WORKER_EXEC_MAX_LOG_BYTES,
    workloadModules: raw.WORKLOAD_MODULES,
    heartbeatIntervalMs: raw.HEARTBEAT_INTERVAL_MS,
    drainTimeoutMs: raw.DRAIN_TIMEOUT_MS,
    checkpointInlineMaxBytes: raw.CHECKPOINT_INLINE_MAX_BYTES,
    secretKeys,
    blob,
    maxDeliver: raw.MAX_DELIVER,
    streams: streamLimits(raw),
  };
}

/** `w-<hostname>-<random>`, with the host name reduced to what a subject token allows. */
export function defaultWorkerId(hostname: string = os.hostname()): string {
  const host = hostname.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 100) || 'host';
  return `w-${host}-${randomBytes(4).toString('hex')}`;
}

function parseLabels(value: string | undefined, problems: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  if (value === undefined || value.trim() === '') return labels;
  for (const pair of value.split(',')) {
    const trimmed = pair.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const key = eq < 0 ? '' : trimmed.slice(0, eq).trim();
    if (eq < 0 || key === '') {
      problems.push(
        `WORKER_LABELS has a malformed pair "${trimmed}" in "${value}". Expected k=v,k=v (e.g. gpu=a100,tier=batch).`,
      );
      continue;
    }
    labels[key] = trimmed.slice(eq + 1).trim();
  }
  return labels;
}

function parseExecAllow(
  value: string | undefined,
  problems: string[],
): readonly string[] | '*' | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.trim() === '*') return '*';
  const commands = value
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (commands.length === 0 || commands.includes('*')) {
    problems.push(
      `WORKER_EXEC_ALLOW is "${value}". Expected a comma-separated list of commands (e.g. sh,ffmpeg) or * for any; leave it unset to disable exec.`,
    );
    return undefined;
  }
  // A relative path would run whatever lies at it from the worker's current directory.
  const relative = commands.filter((c) => c.includes('/') && !path.isAbsolute(c));
  if (relative.length > 0) {
    problems.push(
      `WORKER_EXEC_ALLOW has relative paths ${relative.map((c) => `"${c}"`).join(', ')}. List an absolute path (/usr/bin/ffmpeg) or a bare name looked up on the worker's PATH (ffmpeg).`,
    );
    return undefined;
  }
  return commands;
}
