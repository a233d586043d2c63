import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';
import { MAX_RUNNING_N, MAX_WORKER_SLOTS, PROBE_SLOTS } from './scenarios/running.js';
import {
  HEARTBEAT_MODES,
  LAYOUTS,
  PEERS,
  PROFILE_TARGETS,
  SCENARIOS,
  SUBMIT_PATHS,
} from './scenario-names.js';
import type {
  HeartbeatMode,
  Layout,
  Peer,
  ProfileTarget,
  ScenarioName,
  SubmitPath,
} from './scenario-names.js';

/** A running deployment to measure instead of servers of our own. */
export interface TargetDeployment {
  apiUrl: string;
  natsUrl: string;
  databaseUrl: string;
  /** The API key submissions send (NIYANTA_API_KEY); undefined if the deployment needs none. */
  apiKey: string | undefined;
}

/** Everything the command line decides. */
export interface BenchArgs {
  scenario: ScenarioName;
  /** Workloads (throughput, recovery) or pending workloads (placement); latency: rate × duration. */
  n: number;
  workers: number;
  /** Slots (concurrency) of each worker process. */
  slots: number;
  /** latency: submissions per second. */
  rate: number;
  /** latency: seconds of steady load. */
  durationSeconds: number;
  /** latency: unmeasured seconds at the same rate before the measured ones. */
  warmupSeconds: number;
  /** throughput: unmeasured workloads through each path before its measured round. */
  warmupN: number;
  /** throughput: workloads per HTTP batch call or per broker publish window. */
  batchSize: number;
  /** throughput: batch calls (or publish windows) in flight at once. */
  concurrency: number;
  paths: SubmitPath[];
  /** throughput: each layout in turn, same settings; other scenarios run the first. */
  layouts: Layout[];
  /** throughput: the queue measured beside Niyanta in the same run. */
  peer: Peer;
  heartbeats: HeartbeatMode[];
  /** recovery: how long each `sleep` workload runs. */
  sleepMs: number;
  /** placement: live workers. */
  placementWorkers: number;
  /** placement: timed repetitions. */
  iterations: number;
  profile: ProfileTarget | undefined;
  logLevel: string;
  outDir: string;
  target: TargetDeployment | undefined;
  /** Give up when nothing progresses for this long. */
  stallSeconds: number;
}

export const USAGE = `Usage: npm run bench -- --scenario <name> [options]

Scenarios: ${Object.values(SCENARIOS).join(', ')}

Options:
  --scenario <name>        required: ${Object.values(SCENARIOS).join(' | ')}
  --n <N>                  workloads (throughput 20000, recovery 40, running 9900, failover 1200), pending
                           workloads (placement 10000) or children of the one parent (fanout 10000;
                           a deployment's workers need bench/workloads in WORKLOAD_MODULES)
  --workers <N>            worker processes (default 4; recovery always uses 2, running 1)
  --slots <N>              slots (concurrency) per worker (default 50; running: --n + 100)
  --rate <N>               latency: submissions per second (default 500)
  --duration <s>           latency: seconds of steady load; running: seconds of watching (default 20)
  --warmup-seconds <s>     latency: seconds at the same rate before the measured ones, so V8 has
                           compiled the hot code (default 5; 0 measures from a cold start)
  --warmup-n <N>           throughput: workloads through each path before its measured round
                           (default a quarter of --n; 0 measures from a cold start)
  --batch-size <N>         throughput: workloads per batch call / publish window (default 1000)
  --concurrency <N>        throughput: batch calls in flight (default 4)
  --paths <list>           throughput: ${Object.values(SUBMIT_PATHS).join(',')} (default both)
  --layout <layout>        ${Object.values(LAYOUTS).join(' | ')} | both: each service its own process, or
                           api, scheduler, health-monitor and checkpoint in one (services/all);
                           throughput runs each (default both, split first), other scenarios
                           the first (default split)
  --peer <peer>            throughput: ${Object.values(PEERS).join(' | ')}: BullMQ on a Redis with AOF
                           (appendfsync everysec) started by the bench, in the same run, for the
                           ratio (default bullmq; needs redis-server on the PATH)
  --heartbeat <mode>       recovery: ${Object.values(HEARTBEAT_MODES).join(' | ')} | both (default both)
  --sleep-ms <ms>          recovery: length of each sleep workload (default 30000)
  --placement-workers <N>  placement: live workers (default 1000)
  --iterations <N>         placement: timed repetitions (default 5)
  --profile <service>      write a CPU profile of one service process (${Object.values(PROFILE_TARGETS).join(', ')};
                           in the single layout a hosted service or \`all\` profiles that process)
  --log-level <level>      LOG_LEVEL of the services (default info)
  --out <dir>              where results go (default bench/results)
  --stall <s>              fail when nothing progresses for this long (default 120)
  --api <url> --nats <url> --database-url <url>
                           measure a running deployment instead of starting servers
                           (all three together; not for recovery, which kills a worker, nor running;
                           the API key, a submitter's at least, comes from NIYANTA_API_KEY)
  --help                   this text
`;

const DEFAULT_N: Record<ScenarioName, number> = {
  throughput: 20_000,
  latency: 0, // rate × duration
  recovery: 40,
  placement: 10_000,
  running: 9_900,
  failover: 1_200,
  fanout: 10_000,
};

function int(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
    throw new UsageError(
      `--${flag} must be a whole number ≥ ${min}, got "${value}". Example: --${flag} ${Math.max(fallback, min)}.`,
    );
  }
  return Number(value);
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag} "${value}" is not one of: ${allowed.join(', ')}.`);
}

function url(flag: string, value: string, protocols: readonly string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch (err) {
    throw new UsageError(
      `--${flag} is not a URL: "${value}". Expected ${protocols[0]}//host:port.`,
      { cause: err },
    );
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new UsageError(
      `--${flag} "${value}" has protocol ${parsed.protocol}; expected one of ${protocols.join(' ')}.`,
    );
  }
  return value.replace(/\/+$/, '');
}

/** Parses the command line; throws `UsageError` naming the bad flag and what to use. Returns undefined for --help. */
export function parseBenchArgs(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
): BenchArgs | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        n: { type: 'string' },
        workers: { type: 'string' },
        slots: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        'warmup-seconds': { type: 'string' },
        'warmup-n': { type: 'string' },
        'batch-size': { type: 'string' },
        concurrency: { type: 'string' },
        paths: { type: 'string' },
        layout: { type: 'string' },
        peer: { type: 'string' },
        heartbeat: { type: 'string' },
        'sleep-ms': { type: 'string' },
        'placement-workers': { type: 'string' },
        iterations: { type: 'string' },
        profile: { type: 'string' },
        'log-level': { type: 'string' },
        out: { type: 'string' },
        stall: { type: 'string' },
        api: { type: 'string' },
        nats: { type: 'string' },
        'database-url': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${USAGE}`, { cause: err });
  }
  if (values.help) return undefined;
  const scenarioNames = Object.values(SCENARIOS);
  if (values.scenario === undefined) {
    throw new UsageError(`--scenario is required: one of ${scenarioNames.join(', ')}.\n\n${USAGE}`);
  }
  const scenario = oneOf('scenario', values.scenario, scenarioNames);

  const rate = int('rate', values.rate, 500, 1);
  const durationSeconds = int('duration', values.duration, 20, 1);
  const warmupSeconds = int('warmup-seconds', values['warmup-seconds'], 5, 0);
  const n =
    scenario === SCENARIOS.latency
      ? rate * durationSeconds
      : int('n', values.n, DEFAULT_N[scenario], 1);
  if (scenario === SCENARIOS.latency && values.n !== undefined) {
    throw new UsageError(
      `latency runs --rate per second for --duration seconds; --n does not apply (got --n ${values.n}).`,
    );
  }

  if (scenario === SCENARIOS.running && n > MAX_RUNNING_N) {
    throw new UsageError(
      `--n ${n} is more than one worker can hold beside ${PROBE_SLOTS} slots for the probes (WORKER_SLOTS is at most ${MAX_WORKER_SLOTS}): use --n ${MAX_RUNNING_N} or less.`,
    );
  }

  const paths =
    values.paths === undefined
      ? Object.values(SUBMIT_PATHS)
      : values.paths.split(',').map((p) => oneOf('paths', p.trim(), Object.values(SUBMIT_PATHS)));
  const layout = values.layout ?? 'both';
  const layouts =
    layout === 'both'
      ? [LAYOUTS.split, LAYOUTS.single]
      : [oneOf('layout', layout, [...Object.values(LAYOUTS), 'both'] as const) as Layout];
  const peer = oneOf('peer', values.peer ?? PEERS.bullmq, Object.values(PEERS));
  if (values.peer !== undefined && scenario !== SCENARIOS.throughput) {
    throw new UsageError(`--peer applies to throughput only, not ${scenario}.`);
  }
  const heartbeat = values.heartbeat ?? 'both';
  const heartbeats =
    heartbeat === 'both'
      ? Object.values(HEARTBEAT_MODES)
      : [oneOf('heartbeat', heartbeat, Object.values(HEARTBEAT_MODES))];

  const targetFlags = {
    api: values.api,
    nats: values.nats,
    'database-url': values['database-url'],
  };
  const given = Object.entries(targetFlags).filter(([, v]) => v !== undefined);
  let target: TargetDeployment | undefined;
  if (given.length > 0) {
    const missing = Object.entries(targetFlags)
      .filter(([, v]) => v === undefined)
      .map(([k]) => `--${k}`);
    if (missing.length > 0) {
      throw new UsageError(
        `measuring a running deployment needs --api, --nats and --database-url together; missing ${missing.join(', ')}.`,
      );
    }
    if (scenario === SCENARIOS.recovery) {
      throw new UsageError(
        'recovery kills a worker process, so it runs only on servers it starts itself: drop --api/--nats/--database-url.',
      );
    }
    if (scenario === SCENARIOS.failover) {
      throw new UsageError(
        'failover kills the leading scheduler and health monitor, so it runs only on servers it starts itself: drop --api/--nats/--database-url.',
      );
    }
    if (scenario === SCENARIOS.running) {
      throw new UsageError(
        'running measures the memory of the processes it starts (one worker sized for --n), so it runs only on servers it starts itself: drop --api/--nats/--database-url.',
      );
    }
    target = {
      apiUrl: url('api', values.api!, ['http:', 'https:']),
      natsUrl: url('nats', values.nats!, ['nats:', 'tls:']),
      databaseUrl: url('database-url', values['database-url']!, ['postgres:', 'postgresql:']),
      apiKey: env['NIYANTA_API_KEY'] || undefined,
    };
  }
  if (target !== undefined && values.profile !== undefined) {
    throw new UsageError(
      '--profile needs servers the bench starts itself: drop --api/--nats/--database-url.',
    );
  }
  const batchSize = int('batch-size', values['batch-size'], 1000, 1);
  if (batchSize > 1000) {
    throw new UsageError(
      `--batch-size ${batchSize} is above 1000, the most POST /v1/workloads/batch takes.`,
    );
  }

  return {
    scenario,
    n,
    workers: int('workers', values.workers, 4, 1),
    slots: int('slots', values.slots, 50, 1),
    rate,
    durationSeconds,
    warmupSeconds,
    warmupN: int('warmup-n', values['warmup-n'], Math.ceil(n / 4), 0),
    batchSize,
    concurrency: int('concurrency', values.concurrency, 4, 1),
    paths: [...new Set(paths)],
    layouts,
    peer: scenario === SCENARIOS.throughput && target === undefined ? peer : PEERS.none,
    heartbeats,
    sleepMs: int('sleep-ms', values['sleep-ms'], 30_000, 100),
    placementWorkers: int('placement-workers', values['placement-workers'], 1000, 1),
    iterations: int('iterations', values.iterations, 5, 1),
    profile:
      values.profile === undefined
        ? undefined
        : oneOf('profile', values.profile, Object.values(PROFILE_TARGETS)),
    logLevel: oneOf('log-level', values['log-level'] ?? 'info', [
      'trace',
      'debug',
      'info',
      'warn',
      'error',
      'fatal',
      'silent',
    ]),
    outDir: values.out ?? 'bench/results',
    target,
    stallSeconds: int('stall', values.stall, 120, 1),
  };
}
