import type { StreamLimits } from '@niyanta/messages';
import type { Logger } from 'pino';
import { connectDatabase } from './database.js';
import type { Db } from './database.js';
import { startHealthServer } from './health-server.js';
import type { HealthServer } from './health-server.js';
import { ROLES } from './leadership.js';
import type { NatsAuth } from './nats-auth.js';
import { connectNats } from './nats.js';
import type { Nats } from './nats.js';

/**
 * Shutdown steps, run newest first (the reverse of start-up); a failing step is logged and the
 * others still run. `run()` is idempotent.
 */
export class ShutdownSteps {
  private readonly steps: (() => Promise<void>)[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  /** Adds a step that runs before every step added earlier. */
  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  /** Adds a step that runs after every other. */
  last(step: () => Promise<void>): void {
    this.steps.unshift(step);
  }

  run(): Promise<void> {
    return (this.running ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await step();
        } catch (err) {
          this.log.error({ err }, 'shutdown step failed; continuing with the others');
        }
      }
    })());
  }
}

/** What a database-backed service opens first, and the steps that close it. */
export interface ServiceConnections {
  database: Db;
  nats: Nats;
  health: HealthServer | undefined;
  steps: ShutdownSteps;
}

/**
 * Opens the PostgreSQL pool, then NATS (both retried until they answer), then the health server
 * when `healthPort` is set (closed last, so probes see "draining" while the rest shuts down).
 * On failure everything opened so far is closed again.
 */
export async function openServiceConnections(opts: {
  name: string;
  natsUrl: string;
  natsAuth?: NatsAuth | undefined;
  databaseUrl: string;
  healthPort?: number | undefined;
  streams?: StreamLimits | undefined;
  log: Logger;
  signal?: AbortSignal | undefined;
  /** A led service (see `runWhenLeading`): /readyz says `role: standby` until it leads. */
  led?: boolean;
}): Promise<ServiceConnections> {
  const { log, signal } = opts;
  const steps = new ShutdownSteps(log);
  try {
    const database = await connectDatabase({ url: opts.databaseUrl, name: opts.name, log, signal });
    steps.push(() => database.close());
    const nats = await connectNats({
      url: opts.natsUrl,
      auth: opts.natsAuth,
      name: opts.name,
      log,
      signal,
      ...(opts.streams === undefined ? {} : { streams: opts.streams }),
    });
    steps.push(() => nats.close());
    let health: HealthServer | undefined;
    if (opts.healthPort !== undefined) {
      const server = await startHealthServer({
        port: opts.healthPort,
        checks: { nats: () => nats.isConnected(), database: () => database.ping() },
      });
      health = server;
      if (opts.led === true) server.describe(() => ({ role: ROLES.standby }));
      steps.last(() => server.close());
    }
    return { database, nats, health, steps };
  } catch (err) {
    await steps.run();
    throw err;
  }
}
