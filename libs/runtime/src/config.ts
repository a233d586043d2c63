import { accessSync, constants, statSync } from 'node:fs';
import { DEFAULT_STREAM_LIMITS } from '@niyanta/messages';
import type { StreamLimits } from '@niyanta/messages';
import { ConfigError } from './errors.js';
import { natsAuthProblems } from './nats-auth.js';
import { redactUrl } from './redact.js';

type Env = Record<string, string | undefined>;

/**
 * How to read one environment variable. A `secret` string's value never appears in a problem; a
 * URL's password never does either (it is shown as `***`).
 */
export type Setting =
  | {
      kind: 'string';
      default?: string;
      required?: boolean;
      pattern?: RegExp;
      example?: string;
      secret?: boolean;
    }
  | { kind: 'file'; required?: boolean; default?: undefined }
  | {
      kind: 'url';
      default?: string;
      required?: boolean;
      protocols: readonly string[];
      example: string;
    }
  | { kind: 'int'; default?: number; required?: boolean; min?: number; max?: number }
  | { kind: 'number'; default?: number; required?: boolean; min?: number; max?: number }
  | { kind: 'enum'; default?: string; required?: boolean; values: readonly string[] }
  | { kind: 'bool'; default?: boolean }
  | { kind: 'list'; default?: string[] };

type ValueOf<S extends Setting> = S extends { kind: 'int' | 'number' }
  ? number
  : S extends { kind: 'bool' }
    ? boolean
    : S extends { kind: 'list' }
      ? string[]
      : string;
type Required<S extends Setting> = S extends { required: true }
  ? true
  : S extends { default: unknown }
    ? true
    : S extends { kind: 'bool' | 'list' }
      ? true
      : false;

/** The parsed configuration for a spec: settings without a default are optional. */
export type ConfigOf<Spec extends Record<string, Setting>> = {
  [K in keyof Spec as Required<Spec[K]> extends true ? K : never]: ValueOf<Spec[K]>;
} & {
  [K in keyof Spec as Required<Spec[K]> extends true ? never : K]?: ValueOf<Spec[K]> | undefined;
};

/**
 * Stream sizes. Every service creates or updates the streams at start-up, so all of them read
 * these (from one environment) and agree. Byte limits are unset unless given: JetStream reserves
 * a stream's max_bytes from the server's store at creation, so they must fit the broker's store.
 */
export const STREAM_SETTINGS = {
  // Without defaults here (DEFAULT_STREAM_LIMITS has them) so that a configuration built in code
  // may leave them out.
  /** Submissions waiting for ingest; past it a submission is refused (HTTP 503). */
  SUBMIT_QUEUE_MAX_MSGS: { kind: 'int', min: 1, max: 1_000_000_000 },
  SUBMIT_QUEUE_MAX_BYTES: { kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER },
  /** Each other work queue (commands, assignments, control, runs, completions, checkpoints). */
  WORK_QUEUE_MAX_MSGS: { kind: 'int', min: 1, max: 1_000_000_000 },
  WORK_QUEUE_MAX_BYTES: { kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER },
  /** NIYANTA_EVENTS and NIYANTA_LOGS, on top of their age and per-workload bounds. */
  EVENTS_MAX_BYTES: { kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER },
  LOGS_MAX_BYTES: { kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER },
  /**
   * Copies of every stream (default 1): 1 on a single server, 3 on a three-node JetStream
   * cluster (survives one server's loss), 5 at most (JetStream's limit). It may not exceed the
   * cluster's JetStream servers: the server refuses to create the stream.
   */
  NATS_STREAM_REPLICAS: { kind: 'int', min: 1, max: 5 },
} as const satisfies Record<string, Setting>;

/** Shared settings of every service. */
export const COMMON_SETTINGS = {
  ...STREAM_SETTINGS,
  NATS_URL: {
    kind: 'url',
    default: 'nats://127.0.0.1:4222',
    protocols: ['nats:', 'tls:'],
    example: 'nats://host:4222',
  },
  LOG_LEVEL: {
    kind: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  },
  HEALTH_PORT: { kind: 'int', min: 0, max: 65535 },
  SHUTDOWN_TIMEOUT_MS: { kind: 'int', default: 15_000, min: 0, max: 600_000 },
  /** A `.creds` file (user JWT and nkey seed). */
  NATS_CREDS: { kind: 'file' },
  /** With NATS_PASSWORD. */
  NATS_USER: { kind: 'string' },
  NATS_PASSWORD: { kind: 'string', secret: true },
  NATS_TOKEN: { kind: 'string', secret: true },
  /** The CA that signed the server's certificate; any NATS_TLS_* makes TLS required. */
  NATS_TLS_CA: { kind: 'file' },
  /** The client's certificate and key, for a server that verifies clients (mutual TLS). */
  NATS_TLS_CERT: { kind: 'file' },
  NATS_TLS_KEY: { kind: 'file' },
} as const satisfies Record<string, Setting>;

/** `DATABASE_URL`, for the services that use PostgreSQL. */
export const DATABASE_SETTING = {
  DATABASE_URL: {
    kind: 'url',
    required: true,
    protocols: ['postgres:', 'postgresql:'],
    example: 'postgres://user@host:5432/niyanta',
  },
} as const satisfies Record<string, Setting>;

/**
 * `MAX_DELIVER`, for the services that consume: deliveries after which a message whose handling
 * keeps failing on its own is recorded as a dead letter and terminated.
 */
export const CONSUMER_SETTINGS = {
  MAX_DELIVER: { kind: 'int', default: 5, min: 1, max: 1_000_000 },
} as const satisfies Record<string, Setting>;

function fileProblem(name: string, path: string): { problem: string } | undefined {
  try {
    if (!statSync(path).isFile()) return { problem: `${name} is not a file: "${path}".` };
    accessSync(path, constants.R_OK);
    return undefined;
  } catch {
    return {
      problem: `${name} names a file that does not exist or cannot be read: "${path}".`,
    };
  }
}

/** The stream limits of a service's configuration. */
export function streamLimits(config: ConfigOf<typeof STREAM_SETTINGS>): StreamLimits {
  const limits: StreamLimits = {
    submitMaxMsgs: config.SUBMIT_QUEUE_MAX_MSGS ?? DEFAULT_STREAM_LIMITS.submitMaxMsgs,
    workQueueMaxMsgs: config.WORK_QUEUE_MAX_MSGS ?? DEFAULT_STREAM_LIMITS.workQueueMaxMsgs,
  };
  if (config.SUBMIT_QUEUE_MAX_BYTES !== undefined)
    limits.submitMaxBytes = config.SUBMIT_QUEUE_MAX_BYTES;
  if (config.WORK_QUEUE_MAX_BYTES !== undefined)
    limits.workQueueMaxBytes = config.WORK_QUEUE_MAX_BYTES;
  if (config.EVENTS_MAX_BYTES !== undefined) limits.eventsMaxBytes = config.EVENTS_MAX_BYTES;
  if (config.LOGS_MAX_BYTES !== undefined) limits.logsMaxBytes = config.LOGS_MAX_BYTES;
  if (config.NATS_STREAM_REPLICAS !== undefined) limits.replicas = config.NATS_STREAM_REPLICAS;
  return limits;
}

function parseOne(name: string, raw: string, s: Setting): { value?: unknown; problem?: string } {
  switch (s.kind) {
    case 'string':
      if (raw === '') return { problem: `${name} is empty.` };
      if (s.pattern && !s.pattern.test(raw)) {
        const shown = s.secret ? '' : `: "${raw}"`;
        return {
          problem: `${name} is malformed${shown}.${s.example ? ` Expected e.g. ${s.example}.` : ''}`,
        };
      }
      return { value: raw };
    case 'file':
      return fileProblem(name, raw) ?? { value: raw };
    case 'url': {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return { problem: `${name} is not a URL: "${redactUrl(raw)}". Expected ${s.example}.` };
      }
      if (!s.protocols.includes(url.protocol)) {
        return {
          problem: `${name} has scheme "${url.protocol}" in "${redactUrl(raw)}". Expected ${s.example}.`,
        };
      }
      return { value: raw };
    }
    case 'int':
    case 'number': {
      const n = Number(raw);
      const bad =
        raw.trim() === '' || !Number.isFinite(n) || (s.kind === 'int' && !Number.isInteger(n));
      if (bad)
        return {
          problem: `${name} is not ${s.kind === 'int' ? 'an integer' : 'a number'}: "${raw}".`,
        };
      if (s.min !== undefined && n < s.min)
        return { problem: `${name} is ${n}, below the minimum ${s.min}.` };
      if (s.max !== undefined && n > s.max)
        return { problem: `${name} is ${n}, above the maximum ${s.max}.` };
      return { value: n };
    }
    case 'enum':
      if (!s.values.includes(raw))
        return { problem: `${name} is "${raw}". Expected one of: ${s.values.join(', ')}.` };
      return { value: raw };
    case 'bool':
      if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return { value: true };
      if (['0', 'false', 'no'].includes(raw.toLowerCase())) return { value: false };
      return { problem: `${name} is "${raw}". Expected true or false.` };
    case 'list':
      return {
        value: raw
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== ''),
      };
  }
}

/**
 * Reads `spec` from `env`, collecting every problem before failing, so one start-up names every
 * bad variable. Malformed values are errors, never silent defaults.
 */
export function parseConfig<Spec extends Record<string, Setting>>(
  spec: Spec,
  env: Env,
): ConfigOf<Spec> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(spec)) {
    const raw = env[name];
    if (raw === undefined || (raw === '' && setting.kind !== 'list')) {
      if ('required' in setting && setting.required && setting.default === undefined) {
        problems.push(
          `${name} is required${'example' in setting && setting.example ? `, e.g. ${setting.example}` : ''}.`,
        );
      } else if (setting.default !== undefined) {
        out[name] = setting.default;
      } else if (setting.kind === 'bool') {
        out[name] = false;
      } else if (setting.kind === 'list') {
        out[name] = [];
      }
      continue;
    }
    const { value, problem } = parseOne(name, raw, setting);
    if (problem) problems.push(problem);
    else out[name] = value;
  }
  // The NATS connection settings depend on each other: every spec that has them gets the rules.
  if ('NATS_URL' in spec) problems.push(...natsAuthProblems(env));
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<Spec>;
}
