import { renderMetrics } from '@niyanta/telemetry';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Outcomes of a submitted workload, for the submissions counter. */
export const SUBMISSION_OUTCOME = {
  accepted: 'accepted',
  refused: 'refused',
  replayed: 'replayed',
} as const;
export type SubmissionOutcome = (typeof SUBMISSION_OUTCOME)[keyof typeof SUBMISSION_OUTCOME];

/**
 * The API's Prometheus metrics, in a registry of its own (several APIs may share a test process);
 * /metrics serves them with the process's shared registry (see `renderApiMetrics`).
 */
export interface ApiMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  submissions: Counter<'outcome'>;
  sseStreams: Gauge;
  sseSlowDisconnects: Counter;
}

export function createMetrics(): ApiMetrics {
  const registry = new Registry();
  return {
    registry,
    // Labelled by route pattern, never the raw path: one series per route, not per workload id.
    httpDuration: new Histogram({
      name: 'niyanta_api_http_request_duration_seconds',
      help: 'HTTP request duration until the response starts, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    submissions: new Counter({
      name: 'niyanta_api_submissions_total',
      help: 'Workloads submitted over HTTP: accepted (published), refused (invalid or unavailable), replayed (idempotency key seen).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    sseStreams: new Gauge({
      name: 'niyanta_api_sse_streams',
      help: 'Server-Sent Events streams open on this instance.',
      registers: [registry],
    }),
    sseSlowDisconnects: new Counter({
      name: 'niyanta_api_sse_slow_disconnects_total',
      help: 'Event streams disconnected because their client read too slowly.',
      registers: [registry],
    }),
  };
}

/** The exposition of the API's own metrics followed by the process's (niyanta_*, process_*). */
export async function renderApiMetrics(
  metrics: ApiMetrics,
): Promise<{ contentType: string; body: string }> {
  const [own, shared] = await Promise.all([metrics.registry.metrics(), renderMetrics()]);
  return { contentType: shared.contentType, body: `${own.trimEnd()}\n${shared.body}` };
}
