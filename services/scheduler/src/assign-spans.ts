import { SpanKind, startSpan, traceparentOfSpan, tracingEnabled } from '@niyanta/telemetry';
import type { Span } from '@niyanta/telemetry';
import type { Transition } from './workload-core/transition.js';

/** The spans of sending placed runs' assignments; `end` closes them all. */
export interface AssignSpans {
  /** The `traceparent` each run's assignment carries (by workload id): its `assign` span. */
  traceparents: ReadonlyMap<string, string>;
  end(): void;
}

const NONE: AssignSpans = { traceparents: new Map(), end: () => undefined };

/**
 * With tracing on, a `place` span per placed run (child of the workload's stored trace, which
 * is its ingest span) and an `assign` span under it, open until the assignments are sent. The
 * worker's `run` span is a child of `assign`.
 */
export function startAssignSpans(placed: readonly Transition[]): AssignSpans {
  if (!tracingEnabled()) return NONE;
  const traceparents = new Map<string, string>();
  const open: Span[] = [];
  for (const { row } of placed) {
    const attributes = {
      'niyanta.workload.id': row.id,
      'niyanta.workload.type': row.type,
      'niyanta.tenant': row.tenant,
      'niyanta.attempt': row.attempt,
      'niyanta.worker.id': row.worker_id ?? '',
    };
    const place = startSpan('place', { parent: row.trace_parent, attributes });
    if (place === undefined) continue;
    place.end();
    const assign = startSpan('assign', {
      parent: traceparentOfSpan(place),
      kind: SpanKind.PRODUCER,
      attributes,
    });
    if (assign === undefined) continue;
    traceparents.set(row.id, traceparentOfSpan(assign));
    open.push(assign);
  }
  return {
    traceparents,
    end: () => {
      for (const span of open) span.end();
    },
  };
}
