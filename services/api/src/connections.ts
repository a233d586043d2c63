import type { Db, Logger, Nats } from '@niyanta/runtime';
import { UnavailableError } from './errors.js';

/**
 * NATS and PostgreSQL as they come up: the HTTP server starts before them, so every handler
 * asks here and gets a 503 (retry) while one is still being connected.
 */
export class Connections {
  private natsConn: Nats | undefined;
  private dbConn: Db | undefined;
  private draining = false;

  constructor(private readonly log: Logger) {}

  setNats(nats: Nats): void {
    this.natsConn = nats;
  }

  setDb(db: Db): void {
    this.dbConn = db;
  }

  /** From now on /readyz answers 503. */
  setDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** The NATS connection; a 503 while it is not connected. */
  nats(): Nats {
    const nats = this.natsConn;
    if (nats === undefined || !nats.isConnected()) {
      throw new UnavailableError(
        'the message broker (NATS) is not connected right now: nothing was accepted; retry shortly',
      );
    }
    return nats;
  }

  /** The NATS connection if it exists, connected or not. */
  natsIfAny(): Nats | undefined {
    return this.natsConn;
  }

  /** The PostgreSQL pool; a 503 until it is connected. */
  db(): Db['db'] {
    if (this.dbConn === undefined) {
      throw new UnavailableError('PostgreSQL is not connected yet: retry shortly');
    }
    return this.dbConn.db;
  }

  /** What /readyz reports. */
  async readiness(): Promise<{ ready: boolean; checks: { nats: boolean; postgres: boolean } }> {
    const nats = this.natsConn?.isConnected() ?? false;
    const postgres = this.dbConn === undefined ? false : await this.dbConn.ping();
    return { ready: nats && postgres && !this.draining, checks: { nats, postgres } };
  }

  /** Drains NATS and closes the pool; each step runs even if another fails. */
  async close(): Promise<void> {
    const results = await Promise.allSettled([this.natsConn?.close(), this.dbConn?.close()]);
    for (const r of results) {
      if (r.status === 'rejected') this.log.warn({ err: r.reason }, 'closing a connection failed');
    }
  }
}
