import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { hasContainerRuntime } from './container-runtime.js';
import { MissingBinaryError } from './errors.js';
import { freePort } from './free-port.js';
import { findOnPath, makeTempDir, removeDir } from './fs-utils.js';
import { LineBuffer } from './line-buffer.js';
import { ManagedChild } from './managed-child.js';
import { natsConfig } from './nats-config.js';
import { natsAnswers } from './nats-probe.js';
import { waitUntilReady } from './ready.js';

export interface NatsServerOptions {
  /** Default: a free port. */
  port?: number;
  /** JetStream store directory; default: a new temp dir, removed on dispose. */
  storeDir?: string;
  /** The server's max_payload in bytes (default: the server's own, 1 MiB). */
  maxPayload?: number;
  /** Configuration files (absolute paths) included before `config`. */
  includes?: string[];
  /** More configuration (users, permissions, tls); with it the server runs locally. */
  config?: string;
  /** Environment of the server process (for `$NAME` references in `config`). */
  env?: Record<string, string>;
}

export interface NatsServerHandle extends AsyncDisposable {
  /** nats://host:port */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** The nats-server process id; undefined when it runs in a container. */
  readonly pid: number | undefined;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and store (after stop or kill) and waits until it answers. */
  restart(): Promise<void>;
  /** The server's recent log. */
  output(): string;
}

export const NATS_INSTALL_HINT =
  'install it with `apt-get install -y nats-server` (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases';

const START_TIMEOUT_MS = 15_000;

/** Starts a JetStream-enabled NATS server: a container where a runtime exists, else `nats-server` from PATH. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const configured = opts.config !== undefined || opts.includes !== undefined;
  if (!configured && (await hasContainerRuntime())) {
    const { startNatsContainer } = await import('./containers.js');
    return startNatsContainer(opts);
  }
  return startLocalNats(opts);
}

async function startLocalNats(opts: NatsServerOptions): Promise<NatsServerHandle> {
  const binary = findOnPath('nats-server');
  if (binary === undefined) {
    throw new MissingBinaryError(
      'nats-server',
      `nats-server is not on PATH: ${NATS_INSTALL_HINT}.`,
    );
  }
  const port = opts.port ?? (await freePort());
  const ownsStoreDir = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? (await makeTempDir('nats'));
  const output = new LineBuffer(1000);
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  if (opts.maxPayload !== undefined || opts.config !== undefined || opts.includes !== undefined) {
    // nats-server takes max_payload only from a configuration file; the flags still win for the rest.
    const config = join(storeDir, 'niyanta-test.conf');
    // nats-server resolves an include against the including file's directory, even an absolute one.
    const includes = (opts.includes ?? []).map(
      (file) => `include ${JSON.stringify(relative(storeDir, file))}\n`,
    );
    const maxPayload = opts.maxPayload === undefined ? '' : natsConfig(opts.maxPayload);
    await writeFile(config, `${maxPayload}${includes.join('')}${opts.config ?? ''}\n`);
    args.push('-c', config);
  }

  const launch = async (): Promise<ManagedChild> => {
    // Our own "ready" line, not just an answer on the port: another server may hold the port.
    let logsReady = false;
    const unsubscribe = output.subscribe((line) => {
      if (line.includes('Server is ready')) logsReady = true;
    });
    try {
      const child = await ManagedChild.spawn(binary, args, {
        name: `nats-server on port ${port}`,
        output,
        ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
      });
      await waitUntilReady(
        child,
        async () => logsReady && (await natsAnswers(port)),
        START_TIMEOUT_MS,
      );
      return child;
    } finally {
      unsubscribe();
    }
  };

  let child: ManagedChild;
  try {
    child = await launch();
  } catch (err) {
    if (ownsStoreDir) await removeDir(storeDir);
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    get pid() {
      return child.pid;
    },
    async stop() {
      await child.stop();
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      await child.kill(signal);
    },
    async restart() {
      await child.stop();
      output.push(`--- restart ---\n`);
      child = await launch();
    },
    output: () => output.text(),
    async [Symbol.asyncDispose]() {
      await child.stop();
      if (ownsStoreDir) await removeDir(storeDir);
    },
  };
}
