import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderMetrics } from '@niyanta/telemetry';

/** A named readiness check. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

/** A tiny HTTP server for /healthz, /readyz and /metrics of services without an API. */
export interface HealthServer extends AsyncDisposable {
  port: number;
  /** Mark the service as stopping: /readyz answers 503 from now on. */
  setDraining(): void;
  /** Fields added to every /readyz answer (e.g. `role` of a led service). */
  describe(details: () => Record<string, unknown>): void;
  close(): Promise<void>;
}

/**
 * Serves /healthz (alive), /readyz (every check passes) and /metrics (the process's Prometheus
 * registry, unless `metrics` renders something else).
 */
export async function startHealthServer(opts: {
  port: number;
  host?: string;
  checks: Record<string, ReadinessCheck>;
  metrics?: () => Promise<{ contentType: string; body: string }>;
}): Promise<HealthServer> {
  let draining = false;
  const metrics = opts.metrics ?? renderMetrics;
  let details: () => Record<string, unknown> = () => ({});
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      void (async () => {
        const results: Record<string, boolean> = {};
        for (const [name, check] of Object.entries(opts.checks)) {
          results[name] = await Promise.resolve(check()).catch(() => false);
        }
        const ready = !draining && Object.values(results).every(Boolean);
        json(ready ? 200 : 503, {
          status: ready ? 'ready' : draining ? 'draining' : 'not ready',
          ...details(),
          checks: results,
        });
      })();
      return;
    }
    if (path === '/metrics') {
      void metrics().then(
        (m) => {
          res.writeHead(200, { 'content-type': m.contentType });
          res.end(m.body);
        },
        () => json(500, { status: 'error' }),
      );
      return;
    }
    json(404, { status: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  return {
    port: (server.address() as AddressInfo).port,
    setDraining: () => {
      draining = true;
    },
    describe: (fn) => {
      details = fn;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
