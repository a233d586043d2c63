import {
  SpanKind,
  failSpan,
  startSpan,
  traceparentOfSpan,
  withActiveSpan,
} from '@niyanta/telemetry';
import type { CompletionBody } from './completion.js';
import type { Assignment } from './run.js';

/** The `run` span of one attempt on this worker (inert with tracing off). */
export interface RunSpan {
  /** The span's traceparent: checkpoints and the completion of the run continue from it. */
  traceparent: string | undefined;
  /** Runs the handler with the span active: its `ctx.span` spans and log lines join it. */
  around<T>(fn: () => Promise<T>): Promise<T>;
  /** Ends the span with the run's outcome. */
  end(completion: CompletionBody): void;
}

/** Opens the `run` span of an attempt, a child of its assignment's context. */
export function startRunSpan(a: Assignment, workerId: string, parent: string | undefined): RunSpan {
  const span = startSpan('run', {
    parent,
    kind: SpanKind.CONSUMER,
    attributes: {
      'niyanta.workload.id': a.workloadId,
      'niyanta.workload.type': a.type,
      'niyanta.tenant': a.tenant,
      'niyanta.attempt': a.attempt,
      'niyanta.worker.id': workerId,
    },
  });
  return {
    traceparent: span === undefined ? undefined : traceparentOfSpan(span),
    around: (fn) => withActiveSpan(span, fn),
    end: (completion) => {
      if (span === undefined) return;
      span.setAttribute('niyanta.outcome', completion.outcome);
      if (completion.outcome === 'failed') {
        failSpan(span, new Error(completion.error?.message ?? 'failed'));
      }
      span.end();
    },
  };
}
