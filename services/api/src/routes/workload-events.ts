import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { SSEMessage } from 'hono/streaming';
import { FINAL_STATUSES, SUBJECTS, changesOf, decode } from '@niyanta/messages';
import type { WorkloadStatus, WorkloadV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';
import { parseWorkloadId } from '../params.js';
import { SSE_EVENTS, logMessages, runStream, socketCloser } from '../sse.js';
import type { StreamControls } from '../sse.js';
import {
  LAST_EVENT_ID_HEADER,
  isAfter,
  parseLastEventId,
  readStatusChanges,
} from '../status-changes.js';
import type { StatusChange } from '../status-changes.js';
import { shownWorkload } from '../shown-workload.js';

const isFinal = (status: string) => FINAL_STATUSES.includes(status as WorkloadStatus);

function statusMessage(
  workload: WorkloadV1,
  id: string | undefined,
  change: { fromStatus: string | null; toStatus: string; reason: string | null },
): SSEMessage {
  return {
    event: SSE_EVENTS.status,
    data: JSON.stringify({
      workloadId: workload.id,
      workload,
      fromStatus: change.fromStatus,
      toStatus: change.toStatus,
      reason: change.reason,
    }),
    ...(id === undefined ? {} : { id }),
  };
}

/**
 * Live status, progress and log lines of one workload (Server-Sent Events). Status events come
 * from workload_events, each with its row id as the SSE `id:`: a stream resumed with
 * Last-Event-ID replays the changes after it, so a client loses and repeats none.
 */
export function workloadEventRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/workloads/:id/events', async (c) => {
    const { tenant } = requirePermission(c, 'workloads:read');
    const id = parseWorkloadId(c.req.param('id'));
    const resumeAfter = parseLastEventId(
      c.req.header(LAST_EVENT_ID_HEADER),
      c.req.query('lastEventId'),
    );
    const nats = ctx.connections.nats();
    const db = ctx.connections.db();
    const slot = ctx.streams.reserve(tenant);

    // Every send goes through one chain, in the order the broker delivered: a status event
    // only triggers a read of workload_events after the last id sent (the row is committed
    // before the event is published), so a change is sent once whichever trigger reads it.
    let controls: StreamControls | undefined;
    let start!: () => void;
    let chain = new Promise<void>((resolve) => (start = resolve));
    let lastId = resumeAfter;
    let ended = false;
    const enqueue = (task: (s: StreamControls) => Promise<void> | void) => {
      chain = chain
        .then(() =>
          controls === undefined || ended || controls.signal.aborted ? undefined : task(controls),
        )
        .catch((err: unknown) =>
          ctx.log.warn({ err, workloadId: id }, 'an event stream read failed'),
        );
    };
    // `workload` is the snapshot read with the changes, as of the last one.
    const sendChanges = (s: StreamControls, workload: WorkloadV1, changes: StatusChange[]) => {
      for (const change of changes) {
        if (!isAfter(change.id, lastId)) continue;
        lastId = change.id;
        s.send(statusMessage(shownWorkload(ctx, workload), change.id, change));
        if (isFinal(change.toStatus)) {
          ended = true;
          s.end();
          return;
        }
      }
    };
    const catchUp = async (s: StreamControls) => {
      const read = await readStatusChanges(db, tenant, id, lastId ?? '0');
      sendChanges(s, read.workload, read.changes);
    };

    // Subscribe BEFORE reading the current state: a change committed meanwhile is read again
    // by its trigger, and skipped there if the first read had it. Every status event of the
    // tenant arrives (one message per scheduler transaction); this workload's changes are
    // picked out by id. Its status changes in a row are one trigger: one read has them all.
    const events = nats.nc.subscribe(SUBJECTS.events(tenant), {
      callback: (err, msg) => {
        if (err) return;
        const decoded = decode('statusEvents', msg.data);
        if (!decoded.ok) return;
        let triggered = false;
        for (const change of changesOf(decoded.value, id)) {
          if (change.kind === 'status') {
            if (!triggered) enqueue(catchUp);
            triggered = true;
            continue;
          }
          triggered = false;
          if (change.progress === undefined) continue;
          const { fraction, message } = change.progress;
          enqueue((s) =>
            s.send({
              event: SSE_EVENTS.progress,
              data: JSON.stringify({
                workloadId: id,
                attempt: change.attempt,
                fraction,
                message: message ?? null,
              }),
            }),
          );
        }
      },
    });
    const logs = nats.nc.subscribe(SUBJECTS.logs(id), {
      callback: (err, msg) => {
        if (err) return;
        const decoded = decode('log', msg.data);
        if (!decoded.ok) return;
        const { attempt, lines } = decoded.value;
        const messages = logMessages(
          id,
          lines.map((l) => ({ attempt, at: l.at, stream: l.stream, line: l.line })),
        );
        enqueue((s) => {
          for (const m of messages) s.send(m);
        });
      },
    });
    const unsubscribe = () => {
      events.unsubscribe();
      logs.unsubscribe();
    };
    let first: Awaited<ReturnType<typeof readStatusChanges>>;
    try {
      first = await readStatusChanges(db, tenant, id, resumeAfter);
    } catch (err) {
      unsubscribe();
      slot.release();
      throw err;
    }
    const { workload } = first;
    if (resumeAfter !== null && isFinal(workload.status) && first.changes.length === 0) {
      // The client has the final status already: 204 tells an EventSource to stop reconnecting.
      unsubscribe();
      slot.release();
      return c.body(null, 204);
    }
    return streamSSE(c, (stream) =>
      runStream(ctx, slot, stream, socketCloser(c), (s) => {
        controls = s;
        if (resumeAfter === null) {
          // A fresh stream starts with the current state, under the id of its latest change.
          const latest = first.changes[0];
          lastId = latest?.id ?? null;
          s.send(
            statusMessage(workload, latest?.id, {
              fromStatus: null,
              toStatus: workload.status,
              reason: null,
            }),
          );
          if (isFinal(workload.status)) {
            ended = true;
            s.end();
          }
        } else {
          sendChanges(s, workload, first.changes);
        }
        start();
      }).finally(unsubscribe),
    );
  });

  return app;
}
