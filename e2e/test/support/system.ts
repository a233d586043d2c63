import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import type { WorkloadV1 } from '@niyanta/messages';
import {
  createTestDatabase,
  freePort,
  startNatsServer,
  startSecuredNatsServer,
  startServiceProcess,
  waitFor,
  waitForHttpReady,
} from '@niyanta/testing';
import type {
  BrokerRole,
  NatsServerHandle,
  SecuredNats,
  ServiceProcess,
  TestDatabase,
} from '@niyanta/testing';
import type { Kysely } from 'kysely';

/** The root key the API of every e2e system is started with (API_ROOT_KEY). */
export const E2E_ROOT_KEY = 'e2e-root-key-0123456789abcdef0123456789';
/** The Authorization header every e2e request sends. */
export const E2E_AUTH = { authorization: `Bearer ${E2E_ROOT_KEY}` } as const;

/** How to start one worker process. */
export interface WorkerSpec {
  id: string;
  slots?: number;
  memoryMb?: number;
  env?: Record<string, string>;
}

/**
 * How the control plane runs: `split`, every service its own process (the production default),
 * or `single`, api, scheduler, health-monitor and checkpoint in one process (`services/all`,
 * named `all` in `services`). Workers are their own processes in both.
 */
export type Layout = 'split' | 'single';

/** The services against a nats-server and a fresh database of the test's own. */
export interface System extends AsyncDisposable {
  layout: Layout;
  apiUrl: string;
  nats: NatsServerHandle;
  database: TestDatabase;
  db: Kysely<Database>;
  services: Map<string, ServiceProcess>;
  /** Each running service's Prometheus endpoint (HEALTH_PORT's /metrics; the api's own /metrics). */
  metricsUrls: Map<string, string>;
  startWorker(spec: WorkerSpec): Promise<ServiceProcess>;
  /** NATS_URL and, on a secured broker, NATS_USER and NATS_PASSWORD of a role. */
  brokerEnv(role: BrokerRole): Record<string, string>;
  /** Starts a stopped or killed service (api, scheduler, health-monitor, checkpoint, all or a worker) again with the same env; waits until ready. */
  restartService(name: string): Promise<ServiceProcess>;
  /** Calls the API with a JSON body; returns status and parsed body. */
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  submit(body: Record<string, unknown>): Promise<WorkloadV1>;
  waitForStatus(id: string, statuses: string | string[], timeoutMs?: number): Promise<WorkloadV1>;
  /** Dumps every service's recent output (for a failing test's message). */
  output(): string;
  /** The /readyz URL of a service started with a health port (e.g. `scheduler-2`). */
  readyUrl(name: string): string;
  /** The name of the instance of a led service whose /readyz says `role: leader`, if any. */
  leaderOf(service: 'scheduler' | 'health-monitor'): Promise<string | undefined>;
}

/** Names of the instances of a led service: `scheduler`, `scheduler-2`, … */
export function instanceNames(service: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? service : `${service}-${i + 1}`));
}

/** Tunings that keep end-to-end tests quick: fast heartbeats and retries. */
const FAST = {
  LOG_LEVEL: 'info',
  HEARTBEAT_INTERVAL_MS: '300',
  HEARTBEAT_TIMEOUT_MS: '1500',
  RETRY_BACKOFF_BASE_MS: '200',
  RETRY_BACKOFF_MAX_MS: '2000',
  SHUTDOWN_TIMEOUT_MS: '15000',
  // The API and the workers share one key, so secrets can be stored and opened (a test may set its own).
  SECRETS_KEY: `e2e:${Buffer.alloc(32, 1).toString('base64')}`,
};

/** The health port each process was started with. */
const healthPorts = new WeakMap<ServiceProcess, number>();

async function startWithHealth(
  name: string,
  service: 'scheduler' | 'health-monitor' | 'checkpoint' | 'worker' | 'all',
  env: Record<string, string>,
  metricsUrls: Map<string, string>,
): Promise<ServiceProcess> {
  const healthPort = await freePort();
  metricsUrls.set(name, `http://127.0.0.1:${healthPort}/metrics`);
  const proc = await startServiceProcess({
    service,
    name,
    env: { ...env, HEALTH_PORT: String(healthPort) },
  });
  healthPorts.set(proc, healthPort);
  try {
    await waitForHttpReady(`http://127.0.0.1:${healthPort}/readyz`, 30_000);
  } catch (err) {
    throw new Error(`${name} did not become ready:\n${proc.output().slice(-4000)}`, { cause: err });
  }
  return proc;
}

/**
 * The single process's overrides for one service (services/all's `<SERVICE>__<NAME>`): each
 * hosted service keeps its own broker user.
 */
const SINGLE_PREFIXES = {
  api: 'API__',
  scheduler: 'SCHEDULER__',
  'health-monitor': 'HEALTH_MONITOR__',
  checkpoint: 'CHECKPOINT__',
} as const;

function prefixed(prefix: string, env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [`${prefix}${k}`, v]));
}

/** A nats-server without users: every role connects anonymously. */
async function openBroker(): Promise<Pick<SecuredNats, 'server' | 'env'>> {
  const server = await startNatsServer();
  return { server, env: () => ({ NATS_URL: server.url }) };
}

/** Starts nats-server, a fresh database, scheduler, health monitor, checkpoint, api and the workers. */
export async function startSystem(opts: {
  workers: WorkerSpec[];
  env?: Record<string, string>;
  /** A migrated database of the test's own (e.g. on a server it restarts); default: a fresh test database. */
  databaseUrl?: string;
  /**
   * A broker without users, that any client may publish to: for tests that play a publisher with
   * every permission (the fuzz suites). Default: infra/nats/nats-server.conf, every service
   * connecting as its own user with only its permissions.
   */
  openBroker?: boolean;
  /** Default `split`. */
  layout?: Layout;
  /**
   * Instances of the scheduler and of the health monitor (default 1 each): one leads, the others
   * stand by. The first is named after the service, the next `scheduler-2`, ….
   */
  schedulers?: number;
  healthMonitors?: number;
}): Promise<System> {
  const layout = opts.layout ?? 'split';
  const broker = opts.openBroker === true ? await openBroker() : await startSecuredNatsServer();
  const nats = broker.server;
  const database: TestDatabase =
    opts.databaseUrl === undefined
      ? await createTestDatabase()
      : { url: opts.databaseUrl, name: 'given', [Symbol.asyncDispose]: async () => undefined };
  const db = createDb(database.url, { max: 4 });
  const services = new Map<string, ServiceProcess>();
  const metricsUrls = new Map<string, string>();
  // How each restartable service was started, so a killed one can come back the same way.
  const starters = new Map<string, () => Promise<ServiceProcess>>();
  const launch = async (name: string, starter: () => Promise<ServiceProcess>) => {
    starters.set(name, starter);
    const proc = await starter();
    services.set(name, proc);
    return proc;
  };
  const base = { ...FAST, ...opts.env, DATABASE_URL: database.url };
  const as = (role: BrokerRole) => ({ ...base, ...broker.env(role) });
  const output = () =>
    [...services.entries()]
      .map(([name, p]) => `----- ${name} -----\n${p.output().slice(-3000)}`)
      .join('\n');

  const dispose = async () => {
    await Promise.all([...services.values()].map((p) => p.kill('SIGKILL').catch(() => undefined)));
    await db.destroy();
    await database[Symbol.asyncDispose]();
    await nats[Symbol.asyncDispose]();
  };

  try {
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    metricsUrls.set('api', `${apiUrl}/metrics`);
    // The same port on every start, so clients can reconnect to a restarted api.
    const apiEnv = {
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      SUBMIT_WAIT_MS: '5000',
      API_ROOT_KEY: E2E_ROOT_KEY,
    };
    const waitForApi = async (proc: ServiceProcess) => {
      await waitForHttpReady(`${apiUrl}/readyz`, 30_000).catch(async (err: unknown) => {
        await proc.kill('SIGKILL').catch(() => undefined);
        throw new Error(`${proc.name} did not become ready:\n${proc.output().slice(-4000)}`, {
          cause: err,
        });
      });
      return proc;
    };
    if (layout === 'single') {
      const roles = Object.entries(SINGLE_PREFIXES) as [BrokerRole, string][];
      const env: Record<string, string> = Object.assign(
        { ...base },
        ...roles.map(([role, prefix]) => prefixed(prefix, broker.env(role))),
        apiEnv,
      );
      await launch('all', async () =>
        waitForApi(await startWithHealth('all', 'all', env, metricsUrls)),
      );
    } else {
      for (const name of instanceNames('scheduler', opts.schedulers ?? 1))
        await launch(name, () => startWithHealth(name, 'scheduler', as('scheduler'), metricsUrls));
      for (const name of instanceNames('health-monitor', opts.healthMonitors ?? 1))
        await launch(name, () =>
          startWithHealth(name, 'health-monitor', as('health-monitor'), metricsUrls),
        );
      await launch('checkpoint', () =>
        startWithHealth('checkpoint', 'checkpoint', as('checkpoint'), metricsUrls),
      );
      await launch('api', async () =>
        waitForApi(await startServiceProcess({ service: 'api', env: { ...as('api'), ...apiEnv } })),
      );
    }

    const startWorker = (spec: WorkerSpec) =>
      launch(spec.id, () =>
        startWithHealth(
          spec.id,
          'worker',
          {
            ...as('worker'),
            WORKER_ID: spec.id,
            WORKER_SLOTS: String(spec.slots ?? 4),
            WORKER_MEMORY_MB: String(spec.memoryMb ?? 4096),
            WORKER_CPU: '4',
            WORKER_EXEC_ALLOW: '*',
            DRAIN_TIMEOUT_MS: '5000',
            ...spec.env,
          },
          metricsUrls,
        ),
      );
    const restartService = async (name: string) => {
      const starter = starters.get(name);
      if (starter === undefined)
        throw new Error(
          `no restartable service named ${name} (have: ${[...starters.keys()].join(', ')})`,
        );
      await services.get(name)?.kill('SIGKILL');
      return launch(name, starter);
    };
    for (const w of opts.workers) await startWorker(w);

    const call = async <T>(method: string, path: string, body?: unknown) => {
      const res = await fetch(`${apiUrl}${path}`, {
        method,
        headers:
          body === undefined
            ? { ...E2E_AUTH }
            : { ...E2E_AUTH, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    };
    const readyUrl = (name: string) => {
      const proc = services.get(name);
      const port = proc === undefined ? undefined : healthPorts.get(proc);
      if (port === undefined) throw new Error(`no service with a health port named ${name}`);
      return `http://127.0.0.1:${port}/readyz`;
    };
    const leaderOf = async (service: 'scheduler' | 'health-monitor') => {
      for (const name of services.keys()) {
        if (name !== service && !name.startsWith(`${service}-`)) continue;
        const res = await fetch(readyUrl(name)).catch(() => undefined);
        const body = (await res?.json().catch(() => undefined)) as { role?: string } | undefined;
        if (body?.role === 'leader') return name;
      }
      return undefined;
    };
    const getWorkload = async (id: string) =>
      (await call<WorkloadV1>('GET', `/v1/workloads/${id}`)).body;

    return {
      layout,
      apiUrl,
      nats,
      database,
      db,
      services,
      metricsUrls,
      startWorker,
      restartService,
      brokerEnv: (role) => broker.env(role),
      api: call,
      output,
      readyUrl,
      leaderOf,
      async submit(body) {
        const res = await call<WorkloadV1>('POST', '/v1/workloads', body);
        if (res.status !== 201)
          throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
        return res.body;
      },
      async waitForStatus(id, statuses, timeoutMs = 30_000) {
        const wanted = Array.isArray(statuses) ? statuses : [statuses];
        let last: WorkloadV1 | undefined;
        try {
          return await waitFor(
            async () => {
              last = await getWorkload(id);
              return wanted.includes(last.status) ? last : undefined;
            },
            { timeoutMs, intervalMs: 50, message: `workload ${id} to reach ${wanted.join('|')}` },
          );
        } catch (err) {
          throw new Error(
            `${(err as Error).message}; last seen ${JSON.stringify(last)}\n${output()}`,
            { cause: err },
          );
        }
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Status changes of a workload from `workload_events`, oldest first. */
export async function eventsOf(db: Kysely<Database>, workloadId: string) {
  return db
    .selectFrom('workload_events')
    .selectAll()
    .where('workload_id', '=', workloadId)
    .orderBy('id')
    .execute();
}
