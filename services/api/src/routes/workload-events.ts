import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { SSEMessage } from 'hono/streaming';
import { FINAL_STATUSES, SUBJECTS, decode } from '@niyanta/messages';
import type { EventV1, WorkloadStatus, WorkloadV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';
import { parseWorkloadId } from '../params.js';
import { validWorkload } from '../ingest-waiters.js';
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
    const forward = (e: EventV1, workload: WorkloadV1 | null) => {
      if (e.kind === 'progress' && e.progress) {
        push({
          event: SSE_EVENTS.progress,
          data: JSON.stringify({
            workloadId: id,
            attempt: e.attempt ?? null,
            fraction: e.progress.fraction,
            message: e.progress.message ?? null,
          }),
        });
      } else if (e.kind === 'status' && workload !== null) {
        const toStatus = e.toStatus ?? workload.status;
        push(
          statusMessage(workload, {
            fromStatus: e.fromStatus ?? null,
            toStatus,
            reason: e.reason ?? null,
          }),
          workload.updatedAt,
          isFinal(toStatus),
        );
      }
    };
    // A status event too large for one message comes without its snapshot: the row is read
    // instead (as it is now), and the events after it wait for that, so the order holds.
    let behind: Promise<void> | undefined;
    const events = nats.nc.subscribe(SUBJECTS.events(id), {
      callback: (err, msg) => {
        if (err) return;
        const decoded = decode('event', msg.data);
        if (!decoded.ok) return;
        const e = decoded.value;
        const workload = e.kind === 'status' ? validWorkload(e.workload, id) : null;
        if (behind === undefined && (e.kind !== 'status' || workload !== null)) {
          forward(e, workload);
          return;
        }
        const read =
          e.kind === 'status' && workload === null
            ? requireWorkload(db, tenant, id).catch(() => null)
            : Promise.resolve(workload);
        const settled: Promise<void> = (behind ?? Promise.resolve())
          .then(() => read)
          .then((w) => forward(e, w))
          .catch(() => undefined) // a stream closed meanwhile: nothing to forward to
          .finally(() => {
            if (behind === settled) behind = undefined;
          });
        behind = settled;
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
