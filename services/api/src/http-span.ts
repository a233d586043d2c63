import { SpanKind, failSpan, startSpan, withActiveSpan } from '@niyanta/telemetry';

/** The server span of one HTTP request (inert with tracing off). */
export interface HttpSpan {
  /** Runs the handlers with the span active: what they publish continues its trace. */
  around<T>(fn: () => Promise<T>): Promise<T>;
  /** Names the span after its route pattern (low cardinality) and ends it with the status. */
  end(route: string, status: number): void;
}

/** Opens the span of a request, a child of the caller's `traceparent` header when it sends one. */
export function startHttpSpan(
  method: string,
  path: string,
  traceparent: string | undefined,
): HttpSpan {
  const span = startSpan(method, {
    parent: traceparent,
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': method, 'url.path': path },
  });
  return {
    around: (fn) => withActiveSpan(span, fn),
    end: (route, status) => {
      if (span === undefined) return;
      span.updateName(`${method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) failSpan(span, new Error(`HTTP ${status}`));
      span.end();
    },
  };
}
