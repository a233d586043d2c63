import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, migrateToLatest } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import {
  freePort,
  startNatsServer,
  startPostgresServer,
  startServiceProcess,
  waitForHttpReady,
} from '@niyanta/testing';
import type { NatsServerHandle, PostgresHandle, ServiceName } from '@niyanta/testing';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { TargetDeployment } from './args.js';
import { ScenarioError } from './errors.js';
import { cpuSeconds } from './process-cpu.js';
import { STATEMENT_STATS_SETTINGS } from './pg-statements.js';
import { startProfiledService } from './profiled-process.js';
import type { BenchProcess } from './profiled-process.js';
import { LAYOUTS } from './scenario-names.js';
import type { Layout, ProfileTarget } from './scenario-names.js';

/** The servers a scenario measures: its own, or a running deployment. */
export interface BenchSystem extends AsyncDisposable {
  apiUrl: string;
  natsUrl: string;
  databaseUrl: string;
  /** The key every API request sends (the root key of servers the bench starts). */
  apiKey: string | undefined;
  /** True when the bench started the servers (and may kill them). */
  owned: boolean;
  db: Kysely<Database>;
  /** Service processes by name (own servers only). */
  processes: Map<string, BenchProcess>;
  /** The /readyz URL of each process started with a health port, by name (own servers only). */
  readyUrls: Map<string, string>;
  /** Starts one more worker process (own servers only). */
  startWorker(id: string): Promise<BenchProcess>;
  /**
   * CPU seconds used so far by each process we started (nats-server, postgres and backends,
   * services); PostgreSQL's backends in `excludeBackends` (the bench's own) are left out.
   */
  cpuSnapshot(excludeBackends?: ReadonlySet<number>): Record<string, number>;
  /** Recent output of every service, for an error message. */
  output(): string;
}

export interface SystemOptions {
  /** Default split: every service its own process. */
  layout?: Layout;
  workers: number;
  slots: number;
  logLevel: string;
  /** Extra settings for every service (heartbeat tuning). */
  env?: Record<string, string>;
  /** Extra settings for the workers only (`fanout`: its WORKLOAD_MODULES). */
  workerEnv?: Record<string, string>;
  /** Instances of the scheduler and of the health monitor (default 1 each; `failover`: 2). */
  schedulers?: number;
  healthMonitors?: number;
  /** Write a CPU profile of this service (the first worker for `worker`) into `profileDir`. */
  profile?: ProfileTarget | undefined;
  profileDir?: string;
  log?: (line: string) => void;
}

/** The repo root (bench/dist/system.js is two levels below it). */
export function repoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** Worker names: bench-w1, bench-w2, ... */
export const workerName = (i: number): string => `bench-w${i}`;

const READY_TIMEOUT_MS = 60_000;
/** The application name of the bench's own PostgreSQL connections. */
const BENCH_APPLICATION_NAME = 'niyanta-bench';

/** The services services/all hosts in the single layout. */
const HOSTED: readonly ServiceName[] = ['api', 'scheduler', 'health-monitor', 'checkpoint'];

/**
 * Starts a nats-server, a PostgreSQL (migrated), the services (each its own process, or the four
 * of the control plane in one in the single layout) and `workers` workers, each its own process.
 */
export async function startBenchSystem(opts: SystemOptions): Promise<BenchSystem> {
  const log = opts.log ?? (() => undefined);
  const processes = new Map<string, BenchProcess>();
  const readyUrls = new Map<string, string>();
  let nats: NatsServerHandle | undefined;
  let postgres: PostgresHandle | undefined;
  let db: Kysely<Database> | undefined;

  const dispose = async (): Promise<void> => {
    // SIGTERM, not SIGKILL: a process writes its CPU profile only when it exits on its own.
    await Promise.all([...processes.values()].map((p) => p.stop(20_000).catch(() => undefined)));
    await db?.destroy().catch(() => undefined);
    // Each step runs even when an earlier one failed: a leftover server would hold its port and dir.
    for (const server of [postgres, nats]) {
      try {
        await server?.[Symbol.asyncDispose]();
      } catch {
        // already gone
      }
    }
  };
  const output = (): string =>
    [...processes.entries()]
      .map(([name, p]) => `----- ${name} -----\n${p.output().slice(-3000)}`)
      .join('\n');

  try {
    log('starting nats-server and PostgreSQL');
    [nats, postgres] = await Promise.all([
      startNatsServer(),
      startPostgresServer({ settings: STATEMENT_STATS_SETTINGS }),
    ]);
    await migrateToLatest(postgres.url);
    db = createDb(postgres.url, { max: 4, applicationName: BENCH_APPLICATION_NAME });
    const base: Record<string, string> = {
      LOG_LEVEL: opts.logLevel,
      NATS_URL: nats.url,
      DATABASE_URL: postgres.url,
      ...opts.env,
    };
    const layout = opts.layout ?? LAYOUTS.split;
    const profiled = (service: ServiceName, name: string): boolean => {
      if (opts.profile === undefined || opts.profileDir === undefined) return false;
      // The single process hosts every service but the workers: any of them profiles it.
      if (service === 'all') return opts.profile === 'all' || HOSTED.includes(opts.profile);
      return opts.profile === service && (service !== 'worker' || name === workerName(1));
    };
    const spawnService = async (
      service: ServiceName,
      name: string,
      env: Record<string, string>,
    ): Promise<BenchProcess> => {
      const proc = profiled(service, name)
        ? await startProfiledService({
            service,
            name,
            profileName: `${layout}-${name}`,
            env,
            profileDir: opts.profileDir!,
            repoRoot: repoRoot(),
          })
        : await startServiceProcess({ service, name, env });
      processes.set(name, proc);
      return proc;
    };
    const startWithHealth = async (
      service: ServiceName,
      name: string,
      env: Record<string, string>,
    ): Promise<BenchProcess> => {
      const healthPort = await freePort();
      const proc = await spawnService(service, name, {
        ...base,
        ...env,
        HEALTH_PORT: String(healthPort),
      });
      readyUrls.set(name, `http://127.0.0.1:${healthPort}/readyz`);
      await waitForHttpReady(`http://127.0.0.1:${healthPort}/readyz`, READY_TIMEOUT_MS).catch(
        (err: unknown) => {
          throw new ScenarioError(
            'setup',
            `${name} did not become ready:\n${proc.output().slice(-4000)}`,
            {
              cause: err,
            },
          );
        },
      );
      return proc;
    };
    const startWorker = (id: string): Promise<BenchProcess> =>
      startWithHealth('worker', id, {
        WORKER_ID: id,
        WORKER_SLOTS: String(opts.slots),
        // Plenty of cpu and memory: the bench measures the platform, not resource fitting.
        WORKER_CPU: String(opts.slots),
        WORKER_MEMORY_MB: String(64 * 1024),
        DRAIN_TIMEOUT_MS: '5000',
        ...opts.workerEnv,
      });

    // A root key of this run only: the bench's requests act on tenant default.
    const rootKey = randomBytes(32).toString('base64url');
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const apiEnv = { PORT: String(apiPort), HOST: '127.0.0.1', API_ROOT_KEY: rootKey };
    const waitForApi = async (proc: BenchProcess): Promise<void> => {
      await waitForHttpReady(`${apiUrl}/readyz`, READY_TIMEOUT_MS).catch((err: unknown) => {
        throw new ScenarioError(
          'setup',
          `${proc.name} did not become ready:\n${proc.output().slice(-4000)}`,
          { cause: err },
        );
      });
    };
    if (layout === LAYOUTS.single) {
      log('starting api, scheduler, health-monitor and checkpoint in one process (services/all)');
      await waitForApi(await startWithHealth('all', 'all', apiEnv));
    } else {
      log('starting scheduler, health-monitor, checkpoint, api');
      await Promise.all([
        startWithHealth('scheduler', 'scheduler', {}),
        startWithHealth('health-monitor', 'health-monitor', {}),
        startWithHealth('checkpoint', 'checkpoint', {}),
        (async () => waitForApi(await spawnService('api', 'api', { ...base, ...apiEnv })))(),
      ]);
      // The first instance of each leads (it starts alone); the others stand by.
      for (let i = 2; i <= (opts.schedulers ?? 1); i++)
        await startWithHealth('scheduler', `scheduler-${i}`, {});
      for (let i = 2; i <= (opts.healthMonitors ?? 1); i++)
        await startWithHealth('health-monitor', `health-monitor-${i}`, {});
    }
    log(`starting ${opts.workers} worker(s) with ${opts.slots} slots each`);
    await Promise.all(
      Array.from({ length: opts.workers }, (_, i) => startWorker(workerName(i + 1))),
    );

    const natsHandle = nats;
    const pgHandle = postgres;
    return {
      apiUrl,
      apiKey: rootKey,
      natsUrl: nats.url,
      databaseUrl: postgres.url,
      owned: true,
      db,
      processes,
      readyUrls,
      startWorker,
      cpuSnapshot(excludeBackends) {
        const out: Record<string, number> = {};
        const add = (name: string, pid: number | undefined, descendants = false): void => {
          const s = pid === undefined ? undefined : cpuSeconds(pid, descendants, excludeBackends);
          if (s !== undefined) out[name] = s;
        };
        add('nats-server', natsHandle.pid);
        add('postgres', pgHandle.pid, true);
        for (const [name, p] of processes) add(name, p.pid);
        return out;
      },
      output,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** A running deployment: the bench only submits to it and reads its database. */
export async function connectBenchSystem(target: TargetDeployment): Promise<BenchSystem> {
  const db = createDb(target.databaseUrl, { max: 4, applicationName: BENCH_APPLICATION_NAME });
  await waitForHttpReady(`${target.apiUrl}/readyz`, 10_000).catch(async (err: unknown) => {
    await db.destroy();
    throw new ScenarioError('setup', `the API at ${target.apiUrl} is not ready (GET /readyz)`, {
      cause: err,
    });
  });
  return {
    ...target,
    owned: false,
    db,
    processes: new Map(),
    readyUrls: new Map(),
    startWorker: () => {
      throw new ScenarioError(
        'setup',
        'cannot start workers in a deployment the bench did not start',
      );
    },
    cpuSnapshot: () => ({}),
    output: () => '',
    async [Symbol.asyncDispose]() {
      await db.destroy();
    },
  };
}

/** Where profiles of one run go. */
export function profileDirFor(outDir: string, stamp: string): string {
  return join(outDir, 'profiles', stamp);
}

/** The servers for one scenario run: a deployment when `--api` was given, else our own. */
export async function openSystem(
  args: {
    layouts: Layout[];
    target: TargetDeployment | undefined;
    workers: number;
    slots: number;
    logLevel: string;
    profile: ProfileTarget | undefined;
  },
  extra: {
    env?: Record<string, string>;
    workerEnv?: Record<string, string>;
    profileDir?: string;
    log?: (line: string) => void;
    /** Default: the first of `args.layouts`. */
    layout?: Layout;
  } = {},
): Promise<BenchSystem> {
  if (args.target !== undefined) return connectBenchSystem(args.target);
  return startBenchSystem({
    layout: args.layouts[0],
    workers: args.workers,
    slots: args.slots,
    logLevel: args.logLevel,
    profile: args.profile,
    ...extra,
  });
}

/**
 * The PostgreSQL backends of the bench's own connections (progress polls, statement statistics):
 * their CPU is the measurement's, not the system's.
 */
export async function benchBackendPids(db: Kysely<Database>): Promise<Set<number>> {
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity where application_name = ${BENCH_APPLICATION_NAME}`.execute(
    db,
  );
  return new Set(rows.map((r) => r.pid));
}

/** CPU seconds each process used between two snapshots. */
export function cpuDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(after)) {
    out[name] = Math.round((s - (before[name] ?? 0)) * 100) / 100;
  }
  return out;
}
