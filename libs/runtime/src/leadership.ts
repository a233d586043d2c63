import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb, settingOptions } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Setting } from './config.js';
import { redactUrl } from './redact.js';

/** The role an instance plays: led services have one leader and standbys; the others are members. */
export const ROLES = { leader: 'leader', standby: 'standby', member: 'member' } as const;
export type Role = (typeof ROLES)[keyof typeof ROLES];

/** The services that elect a leader. */
export const LED_SERVICES = { scheduler: 'scheduler', healthMonitor: 'health-monitor' } as const;
export type LedService = (typeof LED_SERVICES)[keyof typeof LED_SERVICES];

/** SQLSTATE of a write refused because its leader's term has ended (migration 0012). */
export const FENCED_SQLSTATE = 'NYF01';

/** Whether `err` is a write the leadership fence refused. */
export function isFencedWrite(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === FENCED_SQLSTATE) return true;
  }
  return false;
}

/** The election timings' defaults (milliseconds). */
export const DEFAULT_LEADERSHIP_TIMINGS = {
  pollMs: 250,
  renewMs: 1_000,
  timeoutMs: 5_000,
} as const;

/**
 * Election timings of the led services (the scheduler and the health monitor). Without defaults
 * here ({@link DEFAULT_LEADERSHIP_TIMINGS} has them) so a configuration built in code may leave
 * them out.
 */
export const LEADERSHIP_SETTINGS = {
  /** How often a standby tries to take the lock: a SIGKILLed leader is replaced this fast. */
  LEADER_POLL_MS: { kind: 'int', min: 20, max: 60_000 },
  /** How often the leader checks its term on its election session. */
  LEADER_RENEW_MS: { kind: 'int', min: 20, max: 60_000 },
  /**
   * PostgreSQL ends an election session silent this long (idle_session_timeout), which frees a
   * stalled or paused leader's lock; a leader whose check goes unanswered for this less two
   * renewals steps down on its own first.
   */
  LEADER_TIMEOUT_MS: { kind: 'int', min: 100, max: 600_000 },
} as const satisfies Record<string, Setting>;

/** Election timings, in milliseconds. */
export interface LeadershipTimings {
  pollMs: number;
  renewMs: number;
  timeoutMs: number;
}

/** The timings of a configuration holding {@link LEADERSHIP_SETTINGS}. */
export function leadershipTimings(config: {
  LEADER_POLL_MS?: number | undefined;
  LEADER_RENEW_MS?: number | undefined;
  LEADER_TIMEOUT_MS?: number | undefined;
}): LeadershipTimings {
  return {
    pollMs: config.LEADER_POLL_MS ?? DEFAULT_LEADERSHIP_TIMINGS.pollMs,
    renewMs: config.LEADER_RENEW_MS ?? DEFAULT_LEADERSHIP_TIMINGS.renewMs,
    timeoutMs: config.LEADER_TIMEOUT_MS ?? DEFAULT_LEADERSHIP_TIMINGS.timeoutMs,
  };
}

/** The cross-field rule of the timings; returns the problem, if any. */
export function leadershipProblem(t: LeadershipTimings): string | undefined {
  if (t.timeoutMs < 3 * t.renewMs)
    return (
      `LEADER_TIMEOUT_MS (${t.timeoutMs}) is below 3 × LEADER_RENEW_MS (${t.renewMs}): a leader ` +
      `could lose its lock between two checks. Raise LEADER_TIMEOUT_MS or lower LEADER_RENEW_MS.`
    );
  if (t.timeoutMs < 2 * t.pollMs)
    return (
      `LEADER_TIMEOUT_MS (${t.timeoutMs}) is below 2 × LEADER_POLL_MS (${t.pollMs}): PostgreSQL ` +
      `would end a standby's session between two polls. Raise LEADER_TIMEOUT_MS or lower LEADER_POLL_MS.`
    );
  return undefined;
}

/** One term of leadership, handed to the code that runs while this instance leads. */
export interface LeaderTerm {
  /** Grows by one at every takeover of the service. */
  epoch: number;
  /** A pool whose every write is fenced by `epoch`: refused once a newer leader took over. */
  db: Kysely<Database>;
  /** Aborted when the term ends. */
  signal: AbortSignal;
}

/** A running election: leads through `lead` whenever it holds the lock. */
export interface Leadership extends AsyncDisposable {
  readonly instanceId: string;
  /** Settles once the first attempt at the lock has ended: leading (term started) or standing by. */
  readonly settled: Promise<void>;
  role(): Role;
  /** The epoch of the term this instance leads, if it leads. */
  epoch(): number | undefined;
  /** Ends the term (if leading) and the campaign; idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startLeadership}. */
export interface LeadershipOptions {
  service: LedService;
  instanceId: string;
  databaseUrl: string;
  timings: LeadershipTimings;
  log: Logger;
  /** Pool size of a term's fenced pool. */
  poolMax?: number;
  /** Starts what only the leader runs; its dispose stops it. A throw ends the term. */
  lead: (term: LeaderTerm) => Promise<AsyncDisposable>;
  /** A term that cannot stop within this (hung on a lost connection): `onStuck` runs. */
  stepDownTimeoutMs?: number;
  /** Default: log and exit the process (exit code 1), so its supervisor restarts it as a standby. */
  onStuck?: () => void;
  /** Called after every change of role (to report it at once). */
  onRoleChange?: (role: Role) => void;
}

/** The advisory lock key of a led service, computed by PostgreSQL (`hashtext`). */
const LOCK_SQL = `select pg_try_advisory_lock(hashtext('niyanta.leader.' || $1)) as got`;

/** The application_name of a leader's fenced sessions: a new leader ends those still open. */
export function leaderApplicationName(service: LedService): string {
  return `niyanta-${service}-leader`;
}

/**
 * Campaigns for the leadership of `service` through a PostgreSQL advisory lock held by a
 * dedicated session. Whoever takes the lock raises the service's epoch, ends the old leader's
 * fenced sessions, and leads with a pool whose sessions carry the epoch (so every write it makes
 * is fenced). The term ends when the session is lost or its check goes unanswered; the instance
 * then stands by again.
 */
export function startLeadership(opts: LeadershipOptions): Leadership {
  const { log, timings, service } = opts;
  const closing = new AbortController();
  let role: Role = ROLES.standby;
  let epoch: number | undefined;
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });

  const openSession = async (): Promise<pg.Client> => {
    const client = new pg.Client({
      ...withOptions(
        opts.databaseUrl,
        settingOptions({
          // PostgreSQL ends the session (freeing the lock) when its client goes silent: a
          // paused process, a stalled network. The leader speaks every renewal.
          idle_session_timeout: String(timings.timeoutMs),
          tcp_keepalives_idle: String(Math.max(1, Math.ceil(timings.timeoutMs / 2_000))),
          tcp_keepalives_interval: '1',
          tcp_keepalives_count: '3',
        }),
      ),
      application_name: `niyanta-${service}-election`,
      keepAlive: true,
      connectionTimeoutMillis: timings.timeoutMs,
    });
    client.on('error', (err) => log.warn({ err }, 'leader election session lost'));
    await client.connect();
    return client;
  };

  /** A query that must answer within `ms`, or the session counts as lost. */
  const within = async <T extends pg.QueryResultRow>(
    client: pg.Client,
    ms: number,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<T>> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        client.query<T>(text, values),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`election session did not answer within ${ms} ms`)),
            ms,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  /** Ends the old leader's fenced sessions, then raises the epoch; returns the new epoch. */
  const takeOver = async (client: pg.Client): Promise<number> => {
    for (let round = 1; ; round++) {
      try {
        await within(
          client,
          timings.timeoutMs,
          `select pg_terminate_backend(pid) from pg_stat_activity
           where application_name = $1 and datname = current_database() and pid <> pg_backend_pid()`,
          [leaderApplicationName(service)],
        );
      } catch (err) {
        // Not allowed (another database role): the epoch update below still waits for their
        // transactions, so the fence holds either way.
        log.warn({ err }, 'could not end the old leader sessions; taking over anyway');
      }
      try {
        await within(client, timings.timeoutMs, 'begin', []);
        await within(
          client,
          timings.timeoutMs,
          `set local lock_timeout = ${timings.timeoutMs}`,
          [],
        );
        const res = await within<{ epoch: string }>(
          client,
          timings.timeoutMs * 2,
          `insert into leadership (service, epoch, instance_id, since) values ($1, 1, $2, now())
           on conflict (service) do update
             set epoch = leadership.epoch + 1, instance_id = excluded.instance_id, since = now()
           returning epoch`,
          [service, opts.instanceId],
        );
        await within(client, timings.timeoutMs, 'commit', []);
        return Number(res.rows[0]!.epoch);
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        if ((err as { code?: unknown }).code !== '55P03' || round >= 5) throw err;
        log.warn({ round }, 'old leader still holds the leadership row; ending its sessions again');
      }
    }
  };

  /** Runs one term on `client`, which holds the lock; returns when the term ends. */
  const leadTerm = async (client: pg.Client): Promise<void> => {
    const lockedAt = Date.now();
    const termEpoch = await takeOver(client);
    const db = createDb(opts.databaseUrl, {
      max: opts.poolMax ?? 10,
      applicationName: leaderApplicationName(service),
      sessionSettings: { 'niyanta.leader': `${service}:${termEpoch}` },
      onIdleError: (err) => log.warn({ err }, 'leader pool connection lost'),
    });
    const ending = new AbortController();
    let running: AsyncDisposable | undefined;
    try {
      epoch = termEpoch;
      role = ROLES.leader;
      opts.onRoleChange?.(role);
      log.info({ service, epoch: termEpoch, instanceId: opts.instanceId }, 'leading');
      running = await opts.lead({ epoch: termEpoch, db, signal: ending.signal });
      log.info({ epoch: termEpoch, tookMs: Date.now() - lockedAt }, 'leader term started');
      settle();
      // The check must answer before PostgreSQL could end the session and a standby take over.
      const answerMs = Math.max(timings.renewMs, timings.timeoutMs - 2 * timings.renewMs);
      while (!closing.signal.aborted) {
        await sleep(timings.renewMs, undefined, { signal: closing.signal }).catch(() => undefined);
        if (closing.signal.aborted) break;
        const res = await within<{ epoch: string }>(
          client,
          answerMs,
          'select epoch from leadership where service = $1',
          [service],
        );
        const current = Number(res.rows[0]?.epoch);
        if (current !== termEpoch) {
          log.error({ epoch: termEpoch, current }, 'another instance took over; stepping down');
          break;
        }
      }
    } catch (err) {
      if (!closing.signal.aborted)
        log.error({ err, epoch: termEpoch }, 'leadership lost; stepping down');
    } finally {
      role = ROLES.standby;
      epoch = undefined;
      opts.onRoleChange?.(role);
      ending.abort();
      await stepDown(running, db, termEpoch);
    }
  };

  const stepDown = async (
    running: AsyncDisposable | undefined,
    db: Kysely<Database>,
    termEpoch: number,
  ): Promise<void> => {
    const limitMs = opts.stepDownTimeoutMs ?? 15_000;
    const timer = setTimeout(() => {
      if (opts.onStuck) return opts.onStuck();
      log.fatal(
        { epoch: termEpoch, timeoutMs: limitMs },
        'the leader term did not stop in time (a connection hangs): exiting so a supervisor restarts this instance',
      );
      process.exit(1);
    }, limitMs);
    try {
      await running?.[Symbol.asyncDispose]();
    } catch (err) {
      log.error({ err }, 'stopping the leader term failed');
    } finally {
      await db.destroy().catch(() => undefined);
      clearTimeout(timer);
    }
    log.info({ epoch: termEpoch }, 'stopped leading; standing by');
  };

  const campaign = async (): Promise<void> => {
    while (!closing.signal.aborted) {
      let client: pg.Client | undefined;
      try {
        client = await openSession();
        while (!closing.signal.aborted) {
          const res = await within<{ got: boolean }>(client, timings.timeoutMs, LOCK_SQL, [
            service,
          ]);
          if (res.rows[0]?.got === true) {
            await leadTerm(client);
            break; // a fresh session for the next campaign: this one may be the broken one
          }
          settle();
          await sleep(timings.pollMs, undefined, { signal: closing.signal }).catch(() => undefined);
        }
      } catch (err) {
        if (!closing.signal.aborted)
          log.warn(
            { err, url: redactUrl(opts.databaseUrl) },
            'leader election session failed; campaigning again',
          );
      } finally {
        settle();
        // Ending the session frees the lock at once when PostgreSQL still hears us.
        if (client !== undefined) await endClient(client);
      }
      await sleep(timings.pollMs, undefined, { signal: closing.signal }).catch(() => undefined);
    }
  };

  log.info({ service, instanceId: opts.instanceId, ...timings }, 'standing by for leadership');
  const done = campaign();
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      closing.abort();
      await done;
    })());
  return {
    instanceId: opts.instanceId,
    settled,
    role: () => role,
    epoch: () => epoch,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Ends a client without waiting on a server that may not answer. */
async function endClient(client: pg.Client): Promise<void> {
  const ended = client.end().catch(() => undefined);
  const timer = setTimeout(() => {
    (
      client as unknown as { connection?: { stream?: { destroy(): void } } }
    ).connection?.stream?.destroy();
  }, 1_000);
  await ended;
  clearTimeout(timer);
}

/** The connection string without its `options`, and those options with `extra` after them. */
function withOptions(
  databaseUrl: string,
  extra: string,
): { connectionString: string; options: string } {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return { connectionString: databaseUrl, options: extra };
  }
  const own = url.searchParams.get('options');
  if (!own) return { connectionString: databaseUrl, options: extra };
  url.searchParams.delete('options');
  return { connectionString: url.toString(), options: `${own} ${extra}` };
}

/** A name for this instance: host, pid and a random suffix. */
export function newInstanceId(service: string): string {
  return `${service}-${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
