import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// `import.meta` is unavailable when the tests run this module as CommonJS.
const here = typeof __dirname === 'string' ? __dirname : import.meta.dirname;

/** The installed swagger-ui-dist package: /docs works with no internet access. */
const SWAGGER_UI_DIR = dirname(
  createRequire(join(here, 'index.js')).resolve('swagger-ui-dist/package.json'),
);

/** The files of swagger-ui-dist that /docs serves, with their content types; nothing else. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Starts Swagger UI on the description the page names (a file: the page has no inline script). */
const INIT_SCRIPT = `const root = document.getElementById('swagger-ui');
window.ui = SwaggerUIBundle({ url: root.dataset.url, domNode: root });
`;
const INIT_NAME = 'swagger-init.js';

/** The /docs page: every asset from this server, under /docs/. */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Niyanta API</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-url="/openapi.json"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/${INIT_NAME}"></script>
</body>
</html>
`;

/** One asset of the docs page. */
export interface DocsAsset {
  body: Uint8Array<ArrayBuffer> | string;
  contentType: string;
}

const cache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

/** The docs asset called `name`, or undefined for any other name (no path is ever joined). */
export async function docsAsset(name: string): Promise<DocsAsset | undefined> {
  if (name === INIT_NAME)
    return { body: INIT_SCRIPT, contentType: 'text/javascript; charset=utf-8' };
  const contentType = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (contentType === undefined) return undefined;
  let body = cache.get(name);
  if (body === undefined) {
    body = readFile(join(SWAGGER_UI_DIR, name)).then((b) => new Uint8Array(b));
    cache.set(name, body);
    body.catch(() => cache.delete(name));
  }
  return { body: await body, contentType };
}
