import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { ProblemError, ValidationError } from '../errors.js';

/**
 * Where `npm run build` (scripts/build-ui.mjs) writes the dashboard's bundle: dist/ui of this
 * package, reached from src/routes (tests) and dist/routes (the built API) alike.
 */
const here = typeof __dirname === 'string' ? __dirname : import.meta.dirname;
export const UI_ASSET_DIR = path.resolve(here, '..', '..', 'dist', 'ui');

/** The files the page loads; any other name under /ui/assets is a 400 naming the parameter. */
export const UI_ASSETS = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
} as const;
type AssetName = keyof typeof UI_ASSETS;

/**
 * Everything from this origin, nothing inline: the page is one external script and one
 * external stylesheet, so no nonce or hash is needed, and an injected <script> or style
 * attribute does not run.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': UI_CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
} as const;

/** The dashboard was not built: the API runs, its /ui cannot. */
export class DashboardNotBuiltError extends ProblemError {
  override name = 'DashboardNotBuiltError';
  constructor(
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(
      503,
      'dashboard-not-built',
      'Dashboard not built',
      `${file} is missing: build the dashboard with npm run build (it runs scripts/build-ui.mjs)`,
      { cause: options?.cause },
    );
  }
}

interface Asset {
  body: Buffer;
  etag: string;
}

function page(version: string, authentication: 'enabled' | 'disabled'): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="niyanta-authentication" content="${authentication}">
<title>Niyanta</title>
<link rel="icon" href="/ui/assets/icon.svg?v=${version}" type="image/svg+xml">
<link rel="stylesheet" href="/ui/assets/app.css?v=${version}">
<script type="module" src="/ui/assets/app.js?v=${version}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<div id="app"><main id="main" tabindex="-1"><p>Loading…</p></main></div>
<noscript><p>The Niyanta dashboard needs JavaScript.</p></noscript>
</body>
</html>
`;
}

/**
 * The web dashboard: one HTML page and its bundle, all from this origin. The page says whether
 * authentication is on, so without a key it asks for one instead of trying a request first.
 */
export function uiRoutes(opts: { authEnabled: boolean; assetDir?: string }): Hono {
  const assetDir = opts.assetDir ?? UI_ASSET_DIR;
  const authentication = opts.authEnabled ? 'enabled' : 'disabled';
  const app = new Hono();
  const cache = new Map<AssetName, Asset>();

  const asset = (name: AssetName): Asset => {
    let found = cache.get(name);
    if (found === undefined) {
      const file = path.join(assetDir, name);
      let body: Buffer;
      try {
        body = readFileSync(file);
      } catch (err) {
        throw new DashboardNotBuiltError(file, { cause: err });
      }
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      found = { body, etag };
      cache.set(name, found);
    }
    return found;
  };

  const send = (c: Context, body: string | Buffer, type: string, etag: string) => {
    if (c.req.header('if-none-match') === etag)
      return c.body(null, 304, { ...SECURITY_HEADERS, ETag: etag });
    return c.body(typeof body === 'string' ? body : new Uint8Array(body), 200, {
      ...SECURITY_HEADERS,
      'Content-Type': type,
      ETag: etag,
    });
  };

  const html = (c: Context) => {
    const version = asset('app.js').etag.slice(1, 11) + asset('app.css').etag.slice(1, 11);
    return send(
      c,
      page(version, authentication),
      'text/html; charset=utf-8',
      `"${version}-${authentication}"`,
    );
  };
  // The dashboard routes by the URL's hash (/ui#/workloads/<id>), so these two paths are all.
  app.get('/ui', html);
  app.get('/ui/', html);

  app.get('/ui/assets/:file', (c) => {
    const name = c.req.param('file');
    if (!Object.hasOwn(UI_ASSETS, name)) {
      const names = Object.keys(UI_ASSETS).join(', ');
      throw new ValidationError(
        `${JSON.stringify(name.slice(0, 100))} is not a file of the dashboard: its files are ${names}`,
        [{ path: 'file', in: 'path', message: `must be one of ${names}` }],
      );
    }
    const { body, etag } = asset(name as AssetName);
    return send(c, body, UI_ASSETS[name as AssetName], etag);
  });

  return app;
}
