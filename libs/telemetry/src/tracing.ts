import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span } from '@opentelemetry/api';

export type { Span };
export { SpanKind };

const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const TRACER_NAME = 'niyanta';

/** An OTLP protocol this build can export with. */
const SUPPORTED_PROTOCOL = 'http/json';

/** A bad OpenTelemetry setting: names the variable and what it accepts. */
export class TelemetryConfigError extends Error {
  override name = 'TelemetryConfigError';
}

/** The tracing of this process: flush before exit. */
export interface Tracing {
  /** Whether spans are exported (OTEL_EXPORTER_OTLP_ENDPOINT set). */
  readonly enabled: boolean;
  /** Exports the spans still buffered. */
  flush(): Promise<void>;
  /** Exports what is buffered and stops exporting. Idempotent. */
  shutdown(): Promise<void>;
}

const DISABLED: Tracing = {
  enabled: false,
  flush: async () => undefined,
  shutdown: async () => undefined,
};

let enabled = false;
let started: Promise<Tracing> | undefined;

/** Whether spans are recorded in this process: false costs every helper here one branch. */
export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * The URL spans are exported to, from the standard variables (the traces endpoint as given, or
 * the base endpoint with `/v1/traces`), or undefined when traces are off.
 */
export function otlpTracesEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER !== undefined && env.OTEL_TRACES_EXPORTER !== 'otlp') {
    if (env.OTEL_TRACES_EXPORTER === 'none') return undefined;
    throw new TelemetryConfigError(
      `OTEL_TRACES_EXPORTER is not supported: "${env.OTEL_TRACES_EXPORTER}". Expected otlp or none.`,
    );
  }
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return undefined;
  const name = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
    : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TelemetryConfigError(
      `${name} is not a URL: "${endpoint}". Expected http(s)://host:port, e.g. http://otel-collector:4318.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TelemetryConfigError(
      `${name} must be an http(s) URL (OTLP over HTTP): "${endpoint}".`,
    );
  }
  for (const key of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = env[key];
    if (protocol !== undefined && protocol !== '' && protocol !== SUPPORTED_PROTOCOL) {
      throw new TelemetryConfigError(
        `${key} is not supported: "${protocol}". Expected ${SUPPORTED_PROTOCOL} (OTLP/HTTP with JSON bodies, which every OTLP receiver on port 4318 accepts).`,
      );
    }
  }
  if (name === 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') return url.href;
  return `${url.href.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Starts exporting spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT)
 * is set; the SDK is loaded only then, so a service without it loads none of it. The standard
 * variables apply (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_SCHEDULE_DELAY, ...).
 * One tracer provider per process: later calls (services hosted together) share the first.
 * Throws TelemetryConfigError naming a bad variable.
 */
export function startTracing(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing> {
  const endpoint = otlpTracesEndpoint(env);
  if (endpoint === undefined) return Promise.resolve(DISABLED);
  return (started ??= (async () => {
    const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, resources] =
      await loadTracingSdk();
    const resource = resources.defaultResource().merge(
      resources.resourceFromAttributes({
        'service.name': env.OTEL_SERVICE_NAME || service,
        'service.namespace': 'niyanta',
        'service.instance.id': `${service}-${process.pid}`,
      }),
    );
    const provider = new NodeTracerProvider({
      resource,
      // The exporter reads the headers and timeout from the standard variables.
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint }))],
    });
    // Registers the global tracer, the AsyncLocalStorage context manager and the W3C propagator.
    provider.register();
    enabled = true;
    let stopping: Promise<void> | undefined;
    return {
      enabled: true,
      flush: () => provider.forceFlush(),
      shutdown: () =>
        (stopping ??= provider.shutdown().finally(() => {
          enabled = false;
          started = undefined;
          trace.disable();
          context.disable();
        })),
    };
  })());
}

/** Loads the SDK only when tracing starts: a service without an endpoint never loads it. */
function loadTracingSdk() {
  return Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
}

/** A context whose parent span is the one a W3C `traceparent` names (or `base` without one). */
export function contextOf(traceparent: string | null | undefined, base?: Context): Context {
  const match = traceparent ? TRACEPARENT_RE.exec(traceparent) : null;
  const fallback = base ?? context.active();
  if (match === null) return fallback;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
  });
}

/** The W3C `traceparent` naming `span` as the parent of what follows it. */
export function traceparentOfSpan(span: Span): string {
  const sc = span.spanContext();
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags.toString(16).padStart(2, '0')}`;
}

/** The span of the current async context, when one is recording. */
export function activeSpan(): Span | undefined {
  if (!enabled) return undefined;
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

/** Options of a span: its parent (a traceparent, else the active span), kind and attributes. */
export interface SpanOptions {
  /** The parent's W3C traceparent; without one, the active span is the parent. */
  parent?: string | null | undefined;
  kind?: SpanKind;
  attributes?: Attributes;
}

/** Starts a span when tracing is on (undefined otherwise); the caller ends it. */
export function startSpan(name: string, opts: SpanOptions = {}): Span | undefined {
  if (!enabled) return undefined;
  const parent = opts.parent ? contextOf(opts.parent) : context.active();
  return trace.getTracer(TRACER_NAME).startSpan(
    name,
    {
      kind: opts.kind ?? SpanKind.INTERNAL,
      ...(opts.attributes ? { attributes: opts.attributes } : {}),
    },
    parent,
  );
}

/** Marks a span failed with `err`. */
export function failSpan(span: Span | undefined, err: unknown): void {
  if (span === undefined) return;
  if (err instanceof Error) span.recordException(err);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: err instanceof Error ? err.message : String(err),
  });
}

/**
 * Runs `fn` inside a new span (its children and logs see it as active), ended in `finally`
 * and marked failed when `fn` throws. With tracing off, just runs `fn`.
 */
export async function withSpan<T>(
  name: string,
  opts: SpanOptions,
  fn: (span: Span | undefined) => Promise<T> | T,
): Promise<T> {
  const span = startSpan(name, opts);
  if (span === undefined) return fn(undefined);
  try {
    return await context.with(trace.setSpan(context.active(), span), () => fn(span));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Runs `fn` with `span` as the active span (with tracing off or no span, just runs it). */
export function withActiveSpan<T>(span: Span | undefined, fn: () => T): T {
  if (span === undefined) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** `trace_id` and `span_id` of the active span, for log lines (empty when there is none). */
export function traceFields(): { trace_id?: string; span_id?: string } {
  if (!enabled) return {};
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const sc = span.spanContext();
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
