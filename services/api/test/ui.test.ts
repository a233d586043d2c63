import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { validateHttp } from '@niyanta/messages';
import { createLogger } from '@niyanta/runtime';
import {
  Connections,
  IngestWaiters,
  SseRegistry,
  createApp,
  createMetrics,
  identityContext,
} from '../src/index.js';
import { errorToResponse } from '../src/problem.js';
import { UI_CONTENT_SECURITY_POLICY, uiRoutes } from '../src/routes/ui.js';

const log = createLogger('ui-test', 'silent');

function appWith(assetDir: string, authEnabled = true): Hono {
  const app = new Hono();
  app.route('/', uiRoutes({ authEnabled, assetDir }));
  app.onError((err, c) => errorToResponse(err, c, log));
  return app;
}

let assets: string;
beforeAll(() => {
  assets = fs.mkdtempSync(path.join(os.tmpdir(), 'niyanta-ui-'));
  fs.writeFileSync(path.join(assets, 'app.js'), 'console.log("app")');
  fs.writeFileSync(path.join(assets, 'app.css'), 'body{}');
  fs.writeFileSync(path.join(assets, 'icon.svg'), '<svg/>');
});
afterAll(() => fs.rmSync(assets, { recursive: true, force: true }));

describe('the dashboard at /ui', () => {
  it('serves one page that loads only same-origin files, under a CSP without inline script or style', async () => {
    const res = await appWith(assets).request('/ui');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toBe(UI_CONTENT_SECURITY_POLICY);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe|https?:|\*/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).toContain('<meta name="niyanta-authentication" content="enabled">');
    expect(html).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=|https?:\/\//);
    expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual([
      expect.stringMatching(/^\/ui\/assets\/icon\.svg\?v=/),
      expect.stringMatching(/^\/ui\/assets\/app\.css\?v=/),
      expect.stringMatching(/^\/ui\/assets\/app\.js\?v=/),
      '#main',
    ]);
  });

  it('serves the same page at /ui/, with the trailing slash', async () => {
    const app = appWith(assets);
    const [plain, slash] = await Promise.all([app.request('/ui'), app.request('/ui/')]);
    expect(slash.status).toBe(200);
    expect(slash.headers.get('content-security-policy')).toBe(UI_CONTENT_SECURITY_POLICY);
    expect(await slash.text()).toBe(await plain.text());
  });

  it('tells the page when authentication is disabled', async () => {
    const html = await (await appWith(assets, false).request('/ui')).text();
    expect(html).toContain('<meta name="niyanta-authentication" content="disabled">');
  });

  it('serves the bundle with its type and an ETag, 304 when unchanged, 400 for any other name', async () => {
    const app = appWith(assets);
    const js = await app.request('/ui/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log("app")');
    const etag = js.headers.get('etag')!;
    expect(
      (await app.request('/ui/assets/app.js', { headers: { 'if-none-match': etag } })).status,
    ).toBe(304);
    expect((await app.request('/ui/assets/app.css')).headers.get('content-type')).toBe(
      'text/css; charset=utf-8',
    );
    for (const name of ['..%2fapp.js', 'toString', 'index.html']) {
      const res = await app.request(`/ui/assets/${name}`);
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
      expect(((await res.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('file');
    }
  });

  it('answers 503 naming the build step when the bundle was not built', async () => {
    const res = await appWith(path.join(assets, 'missing')).request('/ui');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toContain('npm run build');
  });
});

describe('GET /v1/me with AUTH_MODE=disabled', () => {
  it('answers without a key: an anonymous admin of default, authentication disabled', async () => {
    const connections = new Connections(log);
    const app = createApp({
      ...identityContext(connections, log, {
        enabled: false,
        rootKey: undefined,
        metricsAuth: false,
      }),
      submitWaitMs: 10,
      log,
      connections,
      waiters: new IngestWaiters(),
      streams: new SseRegistry(),
      metrics: createMetrics(),
    });
    const res = await app.request('/v1/me');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      kind: 'anonymous',
      tenant: 'default',
      role: 'admin',
      keyId: null,
      authentication: 'disabled',
    });
    expect(validateHttp('me', body)).toEqual([]);
  });
});
