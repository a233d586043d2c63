import type { Db } from '@niyanta/runtime';
import type { WorkloadV1 } from '@niyanta/messages';
import { ValidationError } from './errors.js';
import { requireWorkload } from './workload-store.js';

type Kysely = Db['db'];

/** Most workload_events rows one read replays; a longer gap is read in several. */
const REPLAY_PAGE = 1000;

/** Header an EventSource resends on reconnect with the last `id:` it received. */
export const LAST_EVENT_ID_HEADER = 'Last-Event-ID';

/** One row of workload_events; `id` (a bigserial, as a decimal string) is the SSE event id. */
export interface StatusChange {
  id: string;
  fromStatus: string | null;
  toStatus: string;
  attempt: number;
  reason: string | null;
}

/**
 * A workload and its status changes read in ONE snapshot: the workload is as of the last
 * change read, since a change and its workload_events row commit together.
 */
export interface StatusChanges {
  workload: WorkloadV1;
  changes: StatusChange[];
}

/**
 * Where a resumed stream starts: `Last-Event-ID` (what an EventSource resends), else the
 * `lastEventId` query (for a first connect that resumes), else null (start from the current
 * state). The header wins: on reconnect it is newer than the URL's query.
 */
export function parseLastEventId(
  header: string | undefined,
  query: string | undefined,
): string | null {
  const [value, name, where] =
    header !== undefined && header !== ''
      ? [header, LAST_EVENT_ID_HEADER, 'header' as const]
      : [query, 'lastEventId', 'query' as const];
  if (value === undefined || value === '') return null;
  if (!/^\d{1,19}$/.test(value) || BigInt(value) > 2n ** 63n - 1n) {
    throw new ValidationError(
      `${name} is ${JSON.stringify(value)}: use the id of an event this stream sent (a non-negative integer)`,
      [{ path: name, in: where, message: 'must be an event id (a non-negative integer)' }],
    );
  }
  return BigInt(value).toString();
}

/** Whether event id `a` comes after `b` (ids are bigserials as decimal strings). */
export function isAfter(a: string, b: string | null): boolean {
  return b === null || BigInt(a) > BigInt(b);
}

/**
 * The workload (404 if `tenant` has none with `id`) and its status changes: those after
 * `afterId`, oldest first, or with `afterId` null only the latest one.
 */
export async function readStatusChanges(
  db: Kysely,
  tenant: string,
  id: string,
  afterId: string | null,
): Promise<StatusChanges> {
  const changes: StatusChange[] = [];
  let after = afterId;
  for (;;) {
    const page = await db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const workload = await requireWorkload(trx, tenant, id);
        let q = trx
          .selectFrom('workload_events')
          .select(['id', 'from_status', 'to_status', 'attempt', 'reason'])
          .where('workload_id', '=', id);
        q =
          after === null
            ? q.orderBy('id', 'desc').limit(1)
            : q.where('id', '>', after).orderBy('id', 'asc').limit(REPLAY_PAGE);
        return { workload, rows: await q.execute() };
      });
    for (const r of page.rows) {
      changes.push({
        id: String(r.id),
        fromStatus: r.from_status,
        toStatus: r.to_status,
        attempt: r.attempt,
        reason: r.reason,
      });
    }
    if (after === null || page.rows.length < REPLAY_PAGE)
      return { workload: page.workload, changes };
    after = changes.at(-1)!.id;
  }
}
