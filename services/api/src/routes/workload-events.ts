import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { SSEMessage } from 'hono/streaming';
import { FINAL_STATUSES, SUBJECTS, applyChange, changesOf, decode } from '@niyanta/messages';
import type { StatusChange, WorkloadStatus, WorkloadV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';
import { parseWorkloadId } from '../params.js';
import { SSE_EVENTS, logMessages, runStream, socketCloser } from '../sse.js';
import { requireWorkload } from '../workload-store.js';

const isFinal = (status: string) => FINAL_STATUSES.includes(status as WorkloadStatus);

function statusMessage(
  workload: WorkloadV1,
  change: { fromStatus: string | null; toStatus: string; reason: string | null },
): SSEMessage {
  return {
    event: SSE_EVENTS.status,
    data: JSON.stringify({ workloadId: workload.id, workload, ...change }),
  };
}

/** Live status, progress and log lines of one workload (Server-Sent Events). */
export function workloadEventRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/workloads/:id/events', async (c) => {
    const { tenant } = requirePermission(c, 'workloads:read');
    const id = parseWorkloadId(c.req.param('id'));
    const nats = ctx.connections.nats();
    const db = ctx.connections.db();
    const slot = ctx.streams.reserve(tenant);
    // Subscribe BEFORE reading the current state: an event published in between is buffered.
    // A final status ends the stream once it is sent: the workload changes no more.
    let deliver: ((m: SSEMessage, final: boolean) => void) | undefined;
    const buffered: { message: SSEMessage; updatedAt?: string; final: boolean }[] = [];
    const push = (message: SSEMessage, updatedAt?: string, final = false) => {
      if (deliver) deliver(message, final);
      else buffered.push({ message, final, ...(updatedAt === undefined ? {} : { updatedAt }) });
    };
    // The workload as last sent: read when the client connects, then kept up to date by applying
    // each change to it (`applyChange`); read again only for a change that leaves fields it does
    // not carry (a result, an error, a retry's runAt). Until the first read, changes wait in
    // `early`; a change waiting for a read holds the ones after it back, so the order holds.
    let workload: WorkloadV1 | undefined;
    const early: StatusChange[] = [];
    let behind: Promise<void> | undefined;
    const forward = (change: StatusChange, w: WorkloadV1) => {
      workload = w;
      if (change.kind === 'progress') {
        push({
          event: SSE_EVENTS.progress,
          data: JSON.stringify({
            workloadId: id,
            attempt: change.attempt,
            fraction: change.progress?.fraction ?? w.progress?.fraction ?? 0,
            message: change.progress?.message ?? null,
          }),
        });
        return;
      }
      const toStatus = change.to ?? w.status;
      push(
        statusMessage(w, {
          fromStatus: change.from ?? null,
          toStatus,
          reason: change.reason ?? null,
        }),
        w.updatedAt,
        isFinal(toStatus),
      );
    };
    const handle = (change: StatusChange) => {
      if (workload === undefined) {
        early.push(change);
        return;
      }
      const applied = behind === undefined ? applyChange(workload, change) : undefined;
      if (applied !== undefined) {
        forward(change, applied);
        return;
      }
      const settled: Promise<void> = (behind ?? Promise.resolve())
        .then(async () => {
          const w =
            applyChange(workload!, change) ??
            (await requireWorkload(db, tenant, id).catch(() => undefined));
          if (w !== undefined) forward(change, w);
        })
        .catch(() => undefined) // a stream closed meanwhile: nothing to forward to
        .finally(() => {
          if (behind === settled) behind = undefined;
        });
      behind = settled;
    };
    // Every status event of the tenant arrives (one message per scheduler transaction): this
    // workload's changes are picked out by id.
    const events = nats.nc.subscribe(SUBJECTS.events(tenant), {
      callback: (err, msg) => {
        if (err) return;
        const decoded = decode('statusEvents', msg.data);
        if (!decoded.ok) return;
        for (const change of changesOf(decoded.value, id)) handle(change);
      },
    });
    const logs = nats.nc.subscribe(SUBJECTS.logs(id), {
      callback: (err, msg) => {
        if (err) return;
        const decoded = decode('log', msg.data);
        if (!decoded.ok) return;
        const { attempt, lines } = decoded.value;
        for (const m of logMessages(
          id,
          lines.map((l) => ({ attempt, at: l.at, stream: l.stream, line: l.line })),
        ))
          push(m);
      },
    });
    const unsubscribe = () => {
      events.unsubscribe();
      logs.unsubscribe();
    };
    let current: WorkloadV1;
    try {
      current = await requireWorkload(db, tenant, id);
    } catch (err) {
      unsubscribe();
      slot.release();
      throw err;
    }
    // Changes that came while reading: a status change older than the row is in it already.
    workload = current;
    for (const change of early.splice(0)) {
      if (change.kind === 'progress' || change.at >= current.updatedAt) handle(change);
    }
    return streamSSE(c, (stream) =>
      runStream(ctx, slot, stream, socketCloser(c), ({ send, end }) => {
        send(statusMessage(current, { fromStatus: null, toStatus: current.status, reason: null }));
        if (isFinal(current.status)) {
          end();
          return;
        }
        // A status buffered while reading may be older than what was read: skip those.
        for (const b of buffered) {
          if (b.updatedAt !== undefined && b.updatedAt < current.updatedAt) continue;
          send(b.message);
          if (b.final) {
            end();
            return;
          }
        }
        buffered.length = 0;
        deliver = (message, final) => {
          send(message);
          if (final) end();
        };
      }).finally(unsubscribe),
    );
  });

  return app;
}
