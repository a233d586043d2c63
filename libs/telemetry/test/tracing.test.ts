// Spans exported for real (the SDK loads its HTTP transport with import(), which jest's
// CommonJS runtime lacks) are checked end to end in e2e/test/observability.test.ts.
import {
  TelemetryConfigError,
  otlpTracesEndpoint,
  startSpan,
  startTracing,
  traceFields,
  tracingEnabled,
  withSpan,
} from '../src/index.js';

describe('otlpTracesEndpoint', () => {
  it('is off without an endpoint, or when the SDK is disabled', () => {
    expect(otlpTracesEndpoint({})).toBeUndefined();
    expect(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBeUndefined();
    expect(
      otlpTracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_SDK_DISABLED: 'true',
      }),
    ).toBeUndefined();
    expect(
      otlpTracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_TRACES_EXPORTER: 'none',
      }),
    ).toBeUndefined();
  });

  it('takes the traces endpoint over the base one', () => {
    expect(
      otlpTracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/v1/traces',
      }),
    ).toBe('http://b:4318/v1/traces');
    expect(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318/' })).toBe(
      'http://a:4318/v1/traces',
    );
  });

  it('refuses a bad endpoint or protocol, naming the variable', () => {
    expect(() => otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/,
    );
    expect(() => otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT is not a URL: "not a url"/,
    );
    expect(() =>
      otlpTracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      }),
    ).toThrow(TelemetryConfigError);
    expect(() =>
      otlpTracesEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_TRACES_EXPORTER: 'zipkin',
      }),
    ).toThrow(/OTEL_TRACES_EXPORTER is not supported: "zipkin"/);
  });
});

describe('tracing', () => {
  it('costs nothing when off: no spans, the function just runs', async () => {
    expect(tracingEnabled()).toBe(false);
    expect(startSpan('x')).toBeUndefined();
    await expect(withSpan('x', {}, (span) => (span === undefined ? 'ran' : 'span'))).resolves.toBe(
      'ran',
    );
    expect(traceFields()).toEqual({});
    const off = await startTracing('test', {});
    expect(off.enabled).toBe(false);
  });
});
