#!/usr/bin/env node
// `npm run dev`: the whole system on one machine, from a fresh clone.
//
// Installs dependencies when needed, builds, starts nats-server (JetStream) and an embedded
// PostgreSQL on free ports, migrates, then runs api, scheduler, health-monitor and checkpoint in
// one process (services/all, the single-process layout) and two workers as their own processes,
// each with its output prefixed. NIYANTA_DEV_LAYOUT=split runs every service as its own process
// instead (the production layout). Ctrl-C stops services first, then PostgreSQL, then NATS; a second Ctrl-C
// forces. Data stays in .data/ (nats, postgres, blobs) between runs. Once the API is ready, an
// admin key of tenant default is created (once) in .data/api-key (mode 0600) and printed.
// NATS runs with infra/nats/nats-server.conf: every service connects as the broker user of its
// role, with a password generated once into .data/nats-passwords.json (mode 0600).
//
// Environment:
//   PORT                  API port (default 8080); the run stops if it is taken.
//   HOST                  API bind address (default 127.0.0.1 here, because local workers
//                         allow exec; set 0.0.0.0 to expose it).
//   DATABASE_URL          use this PostgreSQL instead of the embedded one.
//   LOG_LEVEL             passed to every service (default info).
//   WORKER_EXEC_ALLOW     for the local workers (default `*`: any command).
//   WORKLOAD_MODULES, S3_* / BLOB_STORE / BLOB_DIR and any other service setting pass through.
//   NIYANTA_DEV_LAYOUT    single (default: api, scheduler, health-monitor and checkpoint in one
//                         process) or split (each its own process).
//   NIYANTA_DEV_SERVICES  comma list of services to start (default
//                         api,scheduler,health-monitor,checkpoint,worker; `worker` means two
//                         workers). Empty = infrastructure only (NATS + PostgreSQL). In the
//                         single layout the four hosted services go together (all or none).
//   NIYANTA_DEV_SKIP      comma list of steps to skip: install, build, migrate.
//   NIYANTA_DEV_DATA_DIR  where nats, postgres and blobs keep their data (default .data).
//   NIYANTA_DEV_LOG=json  print service log lines as raw JSON instead of compact text.
//   API_ROOT_KEY          the API's root key; default a random one for this run only.
//   SECRETS_KEY           seals secrets (API and workers); default one kept in .data/secrets-key.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CancelledError, ScriptError } from './lib/errors.mjs';
import { ensureDependencies } from './lib/install.mjs';
import { buildUi } from './build-ui.mjs';
import { ensureDevApiKey, runRootKey } from './lib/dev-api-key.mjs';
import { devSecretsKey } from './lib/dev-secrets-key.mjs';
import { color, done, fail, info, step, warn } from './lib/log.mjs';
import { DevState } from './lib/leftovers.mjs';
import { devNatsPasswords, natsServerPasswordEnv } from './lib/nats-credentials.mjs';
import { ensureNatsServer, natsServerArgs } from './lib/nats-server.mjs';
import {
  EMBEDDED_PG_PASSWORD,
  EMBEDDED_PG_USER,
  embeddedPostgresCommand,
  ensureDatabase,
  formatPostgresLine,
  initialiseEmbeddedPostgres,
  prepareEmbeddedPostgres,
  runningPostmasterPid,
} from './lib/postgres.mjs';
import { freePort, isPortFree, waitForTcp } from './lib/ports.mjs';
import { prettyLine } from './lib/pretty-log.mjs';
import { describeExit, setPrefixWidth, startProcess } from './lib/processes.mjs';
import { localBin, run, signalForeground } from './lib/run.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const DATA_DIR = path.resolve(ROOT, process.env.NIYANTA_DEV_DATA_DIR || '.data');
const API_KEY_FILE = path.join(DATA_DIR, 'api-key');
const NATS_PASSWORDS_FILE = path.join(DATA_DIR, 'nats-passwords.json');
const NATS_CONFIG = path.join(ROOT, 'infra', 'nats', 'nats-server.conf');
const ALL_SERVICES = ['api', 'scheduler', 'health-monitor', 'checkpoint', 'worker'];
/** What services/all hosts, and the prefix of each one's own settings there (`SCHEDULER__NATS_USER`). */
const HOSTED = {
  api: 'API__',
  scheduler: 'SCHEDULER__',
  'health-monitor': 'HEALTH_MONITOR__',
  checkpoint: 'CHECKPOINT__',
};
const LAYOUTS = ['single', 'split'];
const WORKER_IDS = ['dev-worker-1', 'dev-worker-2'];
const DATABASE_NAME = 'niyanta';
const SERVICE_STOP_DEADLINE_MS = 30_000;
const SERVER_STOP_DEADLINE_MS = 20_000;
const SERVER_START_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 90_000;
// `npm run dev` forwards the terminal's SIGINT to us although we already got it from the
// terminal: a second signal this soon is the same Ctrl-C, not a request to force.
const DUPLICATE_SIGNAL_MS = 1_000;

const env = process.env;
const abort = new AbortController();
const state = new DevState(path.join(DATA_DIR, 'dev-state.json'));
/** Stop steps, run last-registered first: services, then postgres, then nats. */
const stoppers = [];
const managed = [];
let shutdown;
let firstSignalAt;
// A half-written cluster would not start next time: shutdown waits for initdb to finish.
let initialising;

/** A path as the user would type it from the repo root. */
function shown(p) {
  const relative = path.relative(ROOT, p);
  return relative.startsWith('..') ? p : relative || '.';
}

function parseList(value) {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function selectedServices() {
  if (env.NIYANTA_DEV_SERVICES === undefined) return ALL_SERVICES;
  const names = parseList(env.NIYANTA_DEV_SERVICES);
  const unknown = names.filter((n) => !ALL_SERVICES.includes(n));
  if (unknown.length > 0) {
    throw new ScriptError(
      `NIYANTA_DEV_SERVICES names unknown services: ${unknown.join(', ')}. Use a comma list of ${ALL_SERVICES.join(', ')} (empty for none).`,
    );
  }
  return ALL_SERVICES.filter((n) => names.includes(n));
}

function selectedLayout() {
  const layout = env.NIYANTA_DEV_LAYOUT || 'single';
  if (!LAYOUTS.includes(layout)) {
    throw new ScriptError(
      `NIYANTA_DEV_LAYOUT is "${layout}". Expected one of: ${LAYOUTS.join(', ')} (default single).`,
    );
  }
  return layout;
}

/** In the single layout the hosted services run together: all of them, or none. */
function checkSingleSelection(services) {
  const hosted = Object.keys(HOSTED).filter((s) => services.includes(s));
  if (hosted.length > 0 && hosted.length < Object.keys(HOSTED).length) {
    throw new ScriptError(
      `NIYANTA_DEV_SERVICES picks ${hosted.join(', ')} of the services the single process hosts (${Object.keys(HOSTED).join(', ')}): name all of them or none, or run NIYANTA_DEV_LAYOUT=split to start some alone.`,
    );
  }
  return hosted.length > 0;
}

function parsePort(name, value) {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new ScriptError(
      `${name} is not a TCP port: "${value}". Expected a number from 1 to 65535.`,
    );
  }
  return port;
}

function checkCancelled() {
  if (abort.signal.aborted) throw new CancelledError();
}

/** Registers a stop step; once shutdown has begun it runs at once (a late start). */
function onStop(fn) {
  if (shutdown) {
    void fn();
    return;
  }
  stoppers.push(fn);
}

function reportUnexpectedExit(name) {
  return (exit) => {
    if (shutdown) return;
    warn(
      `${name} exited unexpectedly (${describeExit(exit)}). It is not restarted; the rest keeps running. Ctrl-C stops everything.`,
    );
  };
}

async function stepRun(title, command, args, failure) {
  checkCancelled();
  step(title);
  const code = await run(command, args, { cwd: ROOT });
  checkCancelled();
  if (code !== 0) throw new ScriptError(`${failure} (exit code ${code}). See the output above.`);
}

async function startNats(natsBin, passwords) {
  const port = await freePort();
  const storeDir = path.join(DATA_DIR, 'nats');
  fs.mkdirSync(storeDir, { recursive: true });
  step(
    `Starting nats-server with JetStream on 127.0.0.1:${port} (store ${shown(storeDir)}, users of ${shown(NATS_CONFIG)})`,
  );
  const args = natsServerArgs({ port, storeDir, config: NATS_CONFIG });
  const nats = startProcess('nats', natsBin, args, {
    cwd: ROOT,
    // Only nats-server sees every password; each service gets its own user's.
    env: { ...env, ...natsServerPasswordEnv(passwords) },
    // nats-server logs every start-up detail at INF; show only warnings and errors.
    format: (line) => (/\[(WRN|ERR|FTL)\]/.test(line) ? line : undefined),
    onUnexpectedExit: reportUnexpectedExit('nats-server'),
  });
  managed.push(nats);
  state.add('nats', nats.pid, storeDir);
  onStop(async () => {
    step('Stopping nats-server');
    await nats.stop({ signal: 'SIGTERM', deadlineMs: SERVER_STOP_DEADLINE_MS, onWaiting: warn });
  });
  await waitForTcp(port, {
    timeoutMs: SERVER_START_TIMEOUT_MS,
    signal: abort.signal,
    failed: () =>
      nats.exitInfo &&
      `nats-server exited while starting (${describeExit(nats.exitInfo)}); see the [nats] lines above`,
  });
  done(`nats-server ready at nats://127.0.0.1:${port}`);
  return `nats://127.0.0.1:${port}`;
}

async function startPostgres() {
  const linkDir = path.join(DATA_DIR, 'postgres');
  const pg = await prepareEmbeddedPostgres({ dataDir: linkDir });
  const { dataDir } = pg;
  // As root in a clone the postgres user cannot enter, the data lives elsewhere, linked from .data.
  const where = dataDir === linkDir ? shown(dataDir) : `${shown(linkDir)} -> ${dataDir}`;
  const port = await freePort();
  const earlier = runningPostmasterPid(dataDir);
  if (earlier) {
    throw new ScriptError(
      `A PostgreSQL (pid ${earlier}) is already running on ${where}, not started by this run. Stop it (kill -INT ${earlier}) and run this again.`,
    );
  }
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    step(`Initialising embedded PostgreSQL in ${where} (first run only)`);
  }
  initialising = initialiseEmbeddedPostgres(pg);
  if (await initialising) done('PostgreSQL cluster initialised');
  checkCancelled();
  const { command, args, uid, gid } = embeddedPostgresCommand({ ...pg, port });
  step(`Starting embedded PostgreSQL on 127.0.0.1:${port}`);
  let ready = false;
  const postgres = startProcess('postgres', command, args, {
    cwd: dataDir,
    // English messages: readiness is read from the log.
    env: { ...env, LC_MESSAGES: 'C' },
    uid,
    gid,
    format: formatPostgresLine,
    onLine: (line) => {
      if (line.includes('ready to accept connections')) ready = true;
    },
    onUnexpectedExit: reportUnexpectedExit('PostgreSQL'),
  });
  managed.push(postgres);
  state.add('postgres', postgres.pid, dataDir, 'SIGINT');
  onStop(async () => {
    step('Stopping PostgreSQL');
    // SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit.
    await postgres.stop({ signal: 'SIGINT', deadlineMs: SERVER_STOP_DEADLINE_MS, onWaiting: warn });
  });
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  while (!ready) {
    checkCancelled();
    if (postgres.exitInfo) {
      throw new ScriptError(
        `PostgreSQL exited while starting (${describeExit(postgres.exitInfo)}); see the [postgres] lines above.`,
      );
    }
    if (Date.now() > deadline)
      throw new ScriptError(
        `PostgreSQL did not become ready within ${SERVER_START_TIMEOUT_MS} ms.`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
  if (await ensureDatabase({ port, name: DATABASE_NAME }))
    done(`Created database ${DATABASE_NAME}`);
  const url = `postgres://${EMBEDDED_PG_USER}:${EMBEDDED_PG_PASSWORD}@127.0.0.1:${port}/${DATABASE_NAME}`;
  done(`PostgreSQL ready (data in ${where})`);
  return url;
}

async function migrate(databaseUrl) {
  checkCancelled();
  const cli = path.join(ROOT, 'libs/db/dist/migrate-cli.js');
  if (!fs.existsSync(cli)) {
    throw new ScriptError(
      `${shown(cli)} does not exist, so migrations cannot run. Build first (npx tsc -b) or fix libs/db.`,
    );
  }
  step('Running database migrations');
  const migration = startProcess('migrate', process.execPath, [cli], {
    cwd: ROOT,
    env: { ...env, DATABASE_URL: databaseUrl },
    format: env.NIYANTA_DEV_LOG === 'json' ? undefined : prettyLine,
  });
  managed.push(migration);
  onStop(() => migration.stop({ deadlineMs: 5_000 }));
  const exit = await migration.exited;
  checkCancelled();
  if (exit.code !== 0)
    throw new ScriptError(
      `Migrations failed (${describeExit(exit)}); see the [migrate] lines above.`,
    );
  done('Migrations applied');
}

/** One entry per process to start: service, instance name, the env it gets on top of ours. */
async function servicePlan(
  services,
  { layout, natsUrl, natsPasswords, databaseUrl, apiPort, apiHost, rootKey },
) {
  const plan = [];
  const secretsKey = devSecretsKey(env, path.join(DATA_DIR, 'secrets-key'));
  const healthPorts = {};
  const common = { NATS_URL: natsUrl, LOG_LEVEL: env.LOG_LEVEL ?? 'info' };
  // Workers upload large checkpoints and the checkpoint service verifies them: one store for both.
  const blob = {
    BLOB_STORE: env.BLOB_STORE ?? (env.S3_BUCKET ? 's3' : 'fs'),
    BLOB_DIR: env.BLOB_DIR ?? path.join(DATA_DIR, 'blobs'),
  };
  const overridesOf = (service, instance) => {
    // Each service connects as the broker user of its role (infra/nats/permissions.conf).
    const overrides = { NATS_USER: service, NATS_PASSWORD: natsPasswords[service] };
    if (service === 'api') {
      Object.assign(overrides, {
        DATABASE_URL: databaseUrl,
        PORT: String(apiPort),
        HOST: apiHost,
        API_ROOT_KEY: rootKey,
        SECRETS_KEY: secretsKey,
      });
    }
    if (service === 'scheduler' || service === 'health-monitor')
      overrides.DATABASE_URL = databaseUrl;
    if (service === 'checkpoint') {
      Object.assign(overrides, { DATABASE_URL: databaseUrl, ...blob });
    }
    if (service === 'worker') {
      Object.assign(overrides, {
        WORKER_ID: instance,
        WORKER_EXEC_ALLOW: env.WORKER_EXEC_ALLOW ?? '*',
        SECRETS_KEY: secretsKey,
        ...blob,
      });
    }
    return overrides;
  };
  const withHealthPort = async (instance, overrides) => {
    // Each process without the API serves /healthz and /readyz on a port of its own.
    overrides.HEALTH_PORT = String(await freePort());
    healthPorts[instance] = overrides.HEALTH_PORT;
    return overrides;
  };
  const single = layout === 'single' && checkSingleSelection(services);
  if (single) {
    // One environment for the four: what they share unprefixed, what is one's own (its broker
    // user, its settings) under its prefix. HEALTH_PORT is the whole process's.
    const overrides = { ...common };
    for (const [service, prefix] of Object.entries(HOSTED)) {
      for (const [name, value] of Object.entries(overridesOf(service, service)))
        overrides[`${prefix}${name}`] = value;
    }
    plan.push({
      service: 'all',
      instance: 'all',
      overrides: await withHealthPort('all', overrides),
    });
  }
  for (const service of services) {
    if (single && service in HOSTED) continue;
    for (const instance of service === 'worker' ? WORKER_IDS : [service]) {
      const overrides = { ...common, ...overridesOf(service, instance) };
      if (service !== 'api') await withHealthPort(instance, overrides);
      plan.push({ service, instance, overrides });
    }
  }
  return { plan, healthPorts };
}

function startServices(plan) {
  const running = [];
  for (const { service, instance, overrides } of plan) {
    checkCancelled();
    const main = path.join(ROOT, 'services', service, 'dist', 'main.js');
    if (!fs.existsSync(main)) {
      throw new ScriptError(
        `${shown(main)} does not exist; the build did not produce ${service}. Check services/${service}/src/main.ts and run npx tsc -b.`,
      );
    }
    const child = startProcess(instance, process.execPath, [main], {
      cwd: ROOT,
      env: { ...env, ...overrides },
      format: env.NIYANTA_DEV_LOG === 'json' ? undefined : prettyLine,
      onUnexpectedExit: reportUnexpectedExit(instance),
    });
    managed.push(child);
    state.add(instance, child.pid, main);
    running.push(child);
  }
  onStop(async () => {
    const alive = running.filter((c) => !c.exitInfo);
    if (alive.length === 0) return;
    step(
      `Stopping services: ${alive.map((c) => c.name).join(', ')} (SIGTERM, up to ${SERVICE_STOP_DEADLINE_MS / 1000} s)`,
    );
    await Promise.all(
      alive.map(async (c) => {
        const exit = await c.stop({
          signal: 'SIGTERM',
          deadlineMs: SERVICE_STOP_DEADLINE_MS,
          onWaiting: (m) => warn(`${c.name} ${m}`),
        });
        if (exit?.code && exit.code !== 0) warn(`${c.name} stopped with ${describeExit(exit)}`);
      }),
    );
  });
  return running;
}

async function waitForApi(url, api) {
  step(`Waiting for the API to be ready (${url}/readyz)`);
  const started = Date.now();
  let last = 'no answer yet';
  let nextNote = started + 10_000;
  while (Date.now() - started < READY_TIMEOUT_MS) {
    checkCancelled();
    if (api.exitInfo)
      throw new ScriptError(
        `The API exited before it was ready (${describeExit(api.exitInfo)}); see the [${api.name}] lines above.`,
      );
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return true;
      last = `HTTP ${res.status} ${(await res.text()).slice(0, 200)}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    if (Date.now() > nextNote) {
      info(
        `still waiting for ${url}/readyz (${Math.round((Date.now() - started) / 1000)} s; last: ${last})`,
      );
      nextNote += 10_000;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  warn(
    `The API was not ready after ${READY_TIMEOUT_MS / 1000} s (last: ${last}). Everything keeps running; read the logs above.`,
  );
  return false;
}

function printSummary({ apiUrl, natsUrl, databaseUrl, embedded, healthPorts, apiKey }) {
  const row = (label, value) => console.log(`  ${color.bold(label.padEnd(14))}${value}`);
  console.log('');
  console.log(color.green(color.bold('Niyanta is running.')));
  if (apiUrl) {
    row('API', apiUrl);
    row('Dashboard', `${apiUrl}/ui`);
    row('Docs', `${apiUrl}/docs`);
    row('Metrics', `${apiUrl}/metrics`);
    row('OpenAPI', `${apiUrl}/openapi.json`);
    if (apiKey) {
      row('API key', `${apiKey}   (admin of tenant default, in ${shown(API_KEY_FILE)})`);
      row('', `export NIYANTA_API_KEY=$(cat ${shown(API_KEY_FILE)})`);
    }
  }
  row('NATS_URL', `${natsUrl}   (JetStream store ${shown(path.join(DATA_DIR, 'nats'))})`);
  row('NATS users', `one per service; passwords in ${shown(NATS_PASSWORDS_FILE)}`);
  row(
    'DATABASE_URL',
    `${databaseUrl}${embedded ? `   (embedded, data in ${shown(path.join(DATA_DIR, 'postgres'))})` : ''}`,
  );
  const health = Object.entries(healthPorts);
  if (health.length > 0) row('Health', '');
  for (const [name, port] of health) row(`  ${name.padEnd(16)}`, `http://127.0.0.1:${port}/readyz`);
  console.log(
    `Data stays in ${shown(DATA_DIR)}/ between runs. ${color.bold('Ctrl-C')} stops everything.`,
  );
  console.log('');
}

async function main() {
  const skip = new Set(parseList(env.NIYANTA_DEV_SKIP));
  const services = selectedServices();
  const layout = selectedLayout();
  if (layout === 'single') checkSingleSelection(services);
  const apiPort = parsePort('PORT', env.PORT ?? '8080');
  const apiHost = env.HOST ?? '127.0.0.1';
  if (services.includes('api') && !(await isPortFree(apiPort, apiHost))) {
    throw new ScriptError(
      `Port ${apiPort} is already in use, so the API cannot listen on it. Stop whatever listens there, or choose another port: PORT=8081 npm run dev`,
    );
  }
  fs.mkdirSync(DATA_DIR, { recursive: true });
  await state.claim();

  if (!skip.has('install')) await ensureDependencies(ROOT);
  checkCancelled();
  if (!skip.has('build')) {
    await stepRun(
      'Building (tsc -b)',
      localBin(ROOT, 'tsc'),
      ['-b'],
      'The TypeScript build failed',
    );
    await buildUi();
    done('Built (services and the dashboard)');
  }
  const natsBin = await ensureNatsServer();
  checkCancelled();
  const natsPasswords = devNatsPasswords(NATS_PASSWORDS_FILE);
  const natsUrl = await startNats(natsBin, natsPasswords);

  const embedded = !env.DATABASE_URL;
  const databaseUrl = embedded ? await startPostgres() : env.DATABASE_URL;
  if (!embedded) info(`Using DATABASE_URL from the environment`);
  if (!skip.has('migrate')) await migrate(databaseUrl);

  const rootKey = runRootKey(env);
  const { plan, healthPorts } = await servicePlan(services, {
    layout,
    natsUrl,
    natsPasswords,
    databaseUrl,
    apiPort,
    apiHost,
    rootKey,
  });
  setPrefixWidth(Math.max(...plan.map((p) => p.instance.length), 8));
  if (services.includes('worker') && (env.WORKER_EXEC_ALLOW ?? '*') === '*') {
    warn(
      `Exec is enabled for the local workers (WORKER_EXEC_ALLOW=*): whoever can reach the API at http://${apiHost}:${apiPort} can run any command on this machine as ${os.userInfo().username}. ` +
        'That is remote command execution; keep HOST=127.0.0.1, or set WORKER_EXEC_ALLOW to a comma list of allowed commands (empty disables exec).',
    );
  }
  if (plan.length > 0) step(`Starting ${plan.map((p) => p.instance).join(', ')}`);
  const running = startServices(plan);

  const apiUrl = services.includes('api') ? `http://127.0.0.1:${apiPort}` : undefined;
  const api = running.find((c) => c.name === 'api' || c.name === 'all');
  let apiKey;
  if (apiUrl && api && (await waitForApi(apiUrl, api))) {
    apiKey = await ensureDevApiKey({ apiUrl, rootKey, file: API_KEY_FILE });
    if (apiKey.created)
      done(`Created an admin API key of tenant default in ${shown(API_KEY_FILE)}`);
  }
  checkCancelled();
  printSummary({ apiUrl, natsUrl, databaseUrl, embedded, healthPorts, apiKey: apiKey?.key });
}

async function stopAll(exitCode) {
  abort.abort();
  signalForeground('SIGTERM');
  await initialising?.catch(() => undefined);
  for (const stop of stoppers.reverse()) {
    try {
      await stop();
    } catch (err) {
      fail(`While stopping: ${err.message}`);
    }
  }
  state.forget();
  if (stoppers.length > 0) done('Stopped');
  process.exit(exitCode);
}

function requestShutdown(exitCode) {
  shutdown ??= stopAll(exitCode);
  return shutdown;
}

function forceExit() {
  warn('Second signal: killing everything now');
  for (const child of managed) child.forceKill();
  signalForeground('SIGKILL');
  state.forget();
  process.exit(130);
}

function onSignal(signal) {
  const now = Date.now();
  if (firstSignalAt === undefined) {
    firstSignalAt = now;
    console.log('');
    step(`${signal}: stopping (press Ctrl-C again to force)`);
    void requestShutdown(0);
    return;
  }
  if (now - firstSignalAt < DUPLICATE_SIGNAL_MS) return;
  forceExit();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);
// Last resort if the script itself crashes: children run in their own process groups and
// would otherwise outlive it.
process.on('exit', () => {
  for (const child of managed) if (!child.exitInfo) child.forceKill();
});

main().catch((err) => {
  if (err instanceof CancelledError || abort.signal.aborted) return;
  if (err instanceof ScriptError) fail(err.message);
  else fail(`npm run dev failed: ${err.stack ?? err}`);
  void requestShutdown(1);
});
