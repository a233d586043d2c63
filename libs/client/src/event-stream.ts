import { NiyantaApiError } from './errors.js';
import { retryDelayMs, sleep } from './retry.js';
import type { RetryPolicy } from './retry.js';
import { readSse } from './sse.js';
import type { SseMessage } from './sse.js';
import type { Transport } from './transport.js';
import { isFinalStatus } from './types.js';
import type { LogEvent, ProgressEvent, StatusEvent, WorkloadEvent } from './types.js';

/** How an event stream reconnects after the connection drops or the API restarts. */
export interface ReconnectOptions {
  /** Failed reconnects in a row before giving up. Default 30. */
  maxAttempts?: number;
  /** First wait; doubles per failed reconnect. Default 250 ms. */
  baseDelayMs?: number;
  /** Longest wait between reconnects. Default 5,000 ms. */
  maxDelayMs?: number;
}

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  maxAttempts: 30,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
};

/** The last status yielded: a status event that says nothing newer is a repeat. */
interface Seen {
  status: StatusEvent['toStatus'];
  attempt: number;
  updatedAt: string;
}

/**
 * Whether a status event without an event id (from an API that sends none) says something not
 * yet yielded. Every (re)connect to such an API starts with the workload's current state, so
 * after a reconnect the first event repeats the last one unless the workload moved meanwhile;
 * an event older than the last one seen is stale.
 */
export function isNewStatus(seen: Seen | undefined, e: StatusEvent): boolean {
  if (seen === undefined) return true;
  if (e.workload.updatedAt < seen.updatedAt) return false;
  return e.toStatus !== seen.status || e.workload.attempt !== seen.attempt;
}

/** Whether event id `a` comes after `b`: ids are decimal integers of any size. */
export function isLaterEventId(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  return a.length !== b.length ? a.length > b.length : a > b;
}

const DECIMAL_ID = /^(0|[1-9][0-9]*)$/;

/**
 * The events of one workload, reconnecting whenever the stream ends or fails until the workload
 * reaches a final status (yielded last) or `signal` aborts. An API answer other than 429/503
 * (404, 401, ...) ends it with a NiyantaApiError.
 */
export async function* workloadEvents(
  transport: Transport,
  workloadId: string,
  options: {
    signal?: AbortSignal | undefined;
    reconnect: Required<ReconnectOptions>;
    /**
     * The API answered the submission 202 (SUBMITTED: durable in the broker, not yet in
     * PostgreSQL): until its first status arrives, a 404 means "not ingested yet" and is retried.
     */
    awaitingIngest?: boolean;
  },
): AsyncGenerator<WorkloadEvent> {
  const { signal, reconnect } = options;
  const backoff: RetryPolicy = {
    maxRetries: reconnect.maxAttempts,
    baseDelayMs: reconnect.baseDelayMs,
    maxDelayMs: reconnect.maxDelayMs,
  };
  let seen: Seen | undefined;
  // The id of the last status yielded: a reconnect resumes after it (Last-Event-ID), and the
  // API replays the status changes made meanwhile, so none is lost or repeated.
  let lastEventId: string | undefined;
  let failures = 0;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const res = await transport.send({
        method: 'GET',
        path: `/v1/workloads/${encodeURIComponent(workloadId)}/events`,
        accept: 'text/event-stream',
        resendable: true,
        signal,
        ...(lastEventId === undefined ? {} : { headers: { 'Last-Event-ID': lastEventId } }),
      });
      // 204: resumed after the final status; nothing more will come.
      if (res.status === 204) return;
      if (res.body === null) throw new TypeError('the event stream has no body');
      for await (const m of readSse(res.body)) {
        failures = 0;
        const e = parseEvent(m);
        if (e === undefined) continue;
        if (e.type !== 'status') {
          yield e;
          continue;
        }
        if (m.id !== undefined && DECIMAL_ID.test(m.id)) {
          if (!isLaterEventId(m.id, lastEventId)) continue;
          lastEventId = m.id;
          seen = {
            status: e.toStatus,
            attempt: e.workload.attempt,
            updatedAt: e.workload.updatedAt,
          };
          yield e;
        } else {
          if (!isNewStatus(seen, e)) continue;
          const fromStatus = seen === undefined ? e.fromStatus : seen.status;
          seen = {
            status: e.toStatus,
            attempt: e.workload.attempt,
            updatedAt: e.workload.updatedAt,
          };
          yield { ...e, fromStatus };
        }
        if (isFinalStatus(e.toStatus)) return;
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const notIngestedYet =
        options.awaitingIngest === true &&
        seen === undefined &&
        (err as NiyantaApiError).status === 404;
      if (err instanceof NiyantaApiError && !notIngestedYet) throw err;
      // the connection dropped (reset, API restarting): reconnect below
    }
    failures++;
    if (failures > reconnect.maxAttempts)
      throw new Error(
        `the event stream of workload ${workloadId} failed ${failures} times in a row; giving up`,
      );
    await sleep(retryDelayMs(backoff, failures - 1, null), signal);
  }
}

function parseEvent(m: SseMessage): WorkloadEvent | undefined {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(m.data) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (m.event === 'status') return { type: 'status', ...data } as unknown as StatusEvent;
  if (m.event === 'progress') return { type: 'progress', ...data } as unknown as ProgressEvent;
  if (m.event === 'log') return { type: 'log', attempt: null, ...data } as unknown as LogEvent;
  return undefined;
}
