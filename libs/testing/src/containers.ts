// The testcontainers path, used only where a container runtime answers (see container-runtime.ts).
// Each server gets a fixed host port so kill + restart keeps its address, as the local path does.
import type { StartedTestContainer } from 'testcontainers';
import { TestingError } from './errors.js';
import { freePort } from './free-port.js';
import { natsAnswers } from './nats-probe.js';
import { natsConfig } from './nats-config.js';
import type { NatsServerHandle, NatsServerOptions } from './nats-server.js';
import { postgresAnswers } from './postgres-probe.js';
import { postgresUrl, settingFlags } from './postgres-settings.js';
import type { PostgresHandle, PostgresServerOptions } from './postgres-server.js';
import { s3Request } from './s3-request.js';
import type { S3Handle } from './s3-server.js';
import { waitFor } from './wait-for.js';

const READY_TIMEOUT_MS = 60_000;

interface Lifecycle {
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  output(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function lifecycle(
  started: StartedTestContainer,
  answers: () => Promise<boolean>,
  what: string,
): Promise<Lifecycle> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const container = (await getContainerRuntimeClient()).container.getById(started.getId());
  let log = '';
  const ready = (): Promise<boolean> =>
    waitFor(answers, {
      timeoutMs: READY_TIMEOUT_MS,
      message: `${what} in container ${started.getId()} to answer`,
    });
  await ready();
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    await container.kill({ signal }).catch(() => undefined);
    await container.wait();
  };
  return {
    stop: () => halt('SIGTERM'),
    kill: (signal: NodeJS.Signals = 'SIGKILL') => halt(signal),
    async restart() {
      await halt('SIGTERM');
      await container.start();
      await ready();
    },
    output: () => log,
    async [Symbol.asyncDispose]() {
      const logs: unknown = await container.logs({ stdout: true, stderr: true }).catch(() => '');
      log = Buffer.isBuffer(logs) ? logs.toString('utf8') : String(logs);
      await container.remove({ force: true, v: true });
    },
  };
}

/** nats:2.10 with JetStream. */
export async function startNatsContainer(opts: NatsServerOptions): Promise<NatsServerHandle> {
  const { GenericContainer } = await import('testcontainers');
  const port = opts.port ?? (await freePort());
  const config = '/etc/nats/niyanta-test.conf';
  let image = new GenericContainer('nats:2.10')
    .withCommand(['-js', '-sd', '/data', ...(opts.maxPayload === undefined ? [] : ['-c', config])])
    .withExposedPorts({ container: 4222, host: port });
  if (opts.maxPayload !== undefined)
    image = image.withCopyContentToContainer([
      { content: natsConfig(opts.maxPayload), target: config },
    ]);
  if (opts.storeDir !== undefined)
    image = image.withBindMounts([{ source: opts.storeDir, target: '/data' }]);
  const started = await image.start();
  const host = started.getHost();
  const life = await lifecycle(started, () => natsAnswers(port, host), 'nats-server');
  return {
    ...life,
    url: `nats://${host}:${port}`,
    port,
    storeDir: opts.storeDir ?? '/data',
    pid: undefined,
  };
}

/** postgres:16 with trust auth and the test settings. */
export async function startPostgresContainer(opts: PostgresServerOptions): Promise<PostgresHandle> {
  if (opts.dataDir !== undefined) {
    throw new TestingError(
      `startPostgresServer({ dataDir: "${opts.dataDir}" }) is not supported with containers: omit dataDir, or unset DOCKER_HOST to use local processes.`,
    );
  }
  const { GenericContainer } = await import('testcontainers');
  const port = opts.port ?? (await freePort());
  const flags = settingFlags(opts.settings);
  const started = await new GenericContainer('postgres:16')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_PASSWORD: 'postgres' })
    .withCommand(['postgres', ...flags])
    .withExposedPorts({ container: 5432, host: port })
    .start();
  const host = started.getHost();
  const url = postgresUrl(host, port, 'postgres');
  const life = await lifecycle(started, () => postgresAnswers(url), 'postgres');
  return {
    ...life,
    url,
    port,
    dataDir: '/var/lib/postgresql/data',
    pid: undefined,
    urlFor: (db) => postgresUrl(host, port, db),
  };
}

/** minio/minio with the bucket created. */
export async function startMinioContainer(bucket: string, region: string): Promise<S3Handle> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const credentials = { accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin' };
  const started = await new GenericContainer('minio/minio')
    .withCommand(['server', '/data'])
    .withEnvironment({
      MINIO_ROOT_USER: credentials.accessKeyId,
      MINIO_ROOT_PASSWORD: credentials.secretAccessKey,
    })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/ready', 9000))
    .start();
  const endpoint = `http://${started.getHost()}:${started.getMappedPort(9000)}`;
  const handle = { endpoint, bucket, region, ...credentials };
  const created = await s3Request(handle, 'PUT', `/${bucket}`);
  if (!created.ok) {
    const body = await created.text();
    await started.stop();
    throw new TestingError(
      `Creating bucket ${bucket} on MinIO at ${endpoint} failed: ${created.status} ${body}`,
    );
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= started.stop().then(() => undefined);
    return stopped;
  };
  return { ...handle, stop, [Symbol.asyncDispose]: stop };
}
