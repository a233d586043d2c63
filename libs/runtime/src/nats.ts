import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_STREAM_LIMITS, ensureStreams } from '@niyanta/messages';
import type { StreamLimits } from '@niyanta/messages';
import type { Logger } from 'pino';
import type { NatsAuth } from './nats-auth.js';
import { redactUrl } from './redact.js';
import { retryUntilDone } from './retry.js';

/** A NATS connection with its JetStream clients. */
export interface Nats extends AsyncDisposable {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Whether the connection is up right now (for /readyz). */
  isConnected(): boolean;
  /** Drains subscriptions and closes; idempotent. */
  close(): Promise<void>;
}

/**
 * Connects to NATS, retrying until the server answers (a service never crash-loops on a broker
 * that is briefly down), and creates or updates every stream.
 */
export async function connectNats(opts: {
  url: string;
  name: string;
  log: Logger;
  signal?: AbortSignal | undefined;
  /** Credentials and TLS (see `natsAuth`); none: an anonymous plaintext connection. */
  auth?: NatsAuth | undefined;
  /**
   * Where replies (JetStream API answers, pulled messages, publish acks) arrive; default
   * `_INBOX.<name>`. Each broker user may subscribe only to its own prefix (infra/nats), so no
   * client reads another's replies.
   */
  inboxPrefix?: string | undefined;
  /** The deployment's stream sizes (the same for every service). */
  streams?: StreamLimits | undefined;
}): Promise<Nats> {
  const { log } = opts;
  const url = redactUrl(opts.url);
  const nc = await retryUntilDone(
    `connect to NATS at ${url}`,
    () =>
      connect({
        servers: opts.url,
        inboxPrefix: opts.inboxPrefix ?? `_INBOX.${opts.name}`,
        ...(opts.auth?.authenticator ? { authenticator: opts.auth.authenticator } : {}),
        ...(opts.auth?.tls ? { tls: opts.auth.tls } : {}),
        name: opts.name,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        pingInterval: 10_000,
        timeout: 5_000,
        // Otherwise every request (each JetStream API call, fetch, js.publish) builds Error
        // objects with stack traces up front, used only if it fails: a large share of a busy
        // service's CPU. The price: a failed request's stack is the client's, not the caller's.
        noAsyncTraces: true,
      }),
    { log, signal: opts.signal },
  );
  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        log.warn({ server: s.server }, 'NATS disconnected; reconnecting');
      } else if (s.type === 'reconnect') {
        connected = true;
        log.info({ server: s.server }, 'NATS reconnected');
      } else if (s.type === 'error') {
        log.warn({ err: s.error }, 'NATS error');
      }
    }
  })().catch((err: unknown) => log.warn({ err }, 'NATS status watcher ended'));

  const jsm = await retryUntilDone(
    'open JetStream (is the server started with -js?)',
    () => jetstreamManager(nc),
    {
      log,
      signal: opts.signal,
    },
  );
  await retryUntilDone(
    'create or update streams',
    () => ensureStreams(jsm, undefined, opts.streams ?? DEFAULT_STREAM_LIMITS),
    {
      log,
      signal: opts.signal,
    },
  );
  const js = jetstream(nc);
  log.info({ url, tls: opts.auth?.tls !== undefined }, 'NATS connected');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      if (nc.isClosed()) return;
      try {
        await nc.drain();
      } catch (err) {
        log.warn({ err }, 'NATS drain failed; closing');
        await nc.close().catch(() => undefined);
      }
    })();
    return closing;
  };
  return {
    nc,
    js,
    jsm,
    isConnected: () => connected && !nc.isClosed(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
