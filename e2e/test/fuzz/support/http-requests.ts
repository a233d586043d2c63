import * as fc from 'fast-check';
import { E2E_ROOT_KEY } from '../../support/system.js';
import { mutate, mutationArb, toJsonText } from './hostile-values.js';
import { schemaArbitrary, smallJson } from './schema-arbitrary.js';
import type { JsonSchema } from './schema-arbitrary.js';

/** One operation of an OpenAPI document. */
export interface Operation {
  method: string;
  /** The path template, e.g. `/v1/workloads/{id}`. */
  path: string;
  operationId: string;
  pathParams: string[];
  queryParams: { name: string; schema: JsonSchema }[];
  /** The JSON schema of its request body, if it takes one. */
  bodySchema: JsonSchema | undefined;
}

/** A request to send: everything in it is already what goes on the wire. */
export interface FuzzRequest {
  operationId: string;
  method: string;
  /** Path and query string. */
  target: string;
  headers: [string, string][];
  body: string | Uint8Array | undefined;
  /** What kind of body this is, for a failure's message. */
  bodyKind: string;
}

/** Longest path and query sent: Node's HTTP parser refuses heads over 16 KiB before the API. */
const MAX_TARGET_CHARS = 12_000;

/** Largest body of a single submission or a command (the API's limit). */
export const MAX_BODY_BYTES = 1024 * 1024;

type OpenApiDoc = {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components?: { schemas?: Record<string, JsonSchema> };
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Every operation in the document: nothing here names a route. */
export function operationsOf(doc: OpenApiDoc): {
  operations: Operation[];
  resolve: (ref: string) => JsonSchema;
} {
  const schemas = doc.components?.schemas ?? {};
  const resolve = (ref: string): JsonSchema => {
    const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
    const schema = name === undefined ? undefined : schemas[name];
    if (schema === undefined) throw new Error(`$ref ${ref} names nothing in /openapi.json`);
    return schema;
  };
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as
        | {
            operationId?: string;
            parameters?: { name: string; in: string; schema?: JsonSchema }[];
            requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
          }
        | undefined;
      if (op === undefined) continue;
      const params = op.parameters ?? [];
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: op.operationId ?? `${method} ${path}`,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        bodySchema: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return { operations, resolve };
}

/** Path parameter values: an id of nothing, a real id, garbage, very long, odd encodings. */
function pathValue(realIds: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.uuid({ version: 7 }),
    fc.nat().map((i) => (realIds.length === 0 ? '0' : realIds[i % realIds.length]!)),
    fc.string({ unit: 'binary', maxLength: 30 }).map(encodeURIComponent),
    fc.constantFrom('%00', '%zz', '%', '%2F', '%2e%2e', '..', ' ', '%ud800', '%ED%A0%80', 'null'),
    fc.integer({ min: 1, max: 4_000 }).map((n) => 'a'.repeat(n)),
    fc.uuid({ version: 4 }).map((u) => u.toUpperCase()),
  );
}

/** A query string: the declared parameters with fitting or garbage values, extras, repeats. */
function queryString(op: Operation, resolve: (ref: string) => JsonSchema): fc.Arbitrary<string> {
  const garbage = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom('', '-1', '0', '1e999', 'NaN', 'true', '[]', '{}', '\u0000', 'x'.repeat(2_000)),
    fc.integer().map(String),
  );
  const declared = op.queryParams.map((p) =>
    fc.option(
      fc.tuple(
        fc.constant(p.name),
        fc.oneof(
          schemaArbitrary(p.schema, resolve).map((v) => String(v)),
          garbage,
        ),
      ),
      { nil: undefined },
    ),
  );
  const extra = fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), garbage), {
    maxLength: 2,
  });
  return fc.tuple(fc.tuple(...declared), extra, fc.boolean()).map(([d, e, repeat]) => {
    const pairs = [...d.filter((p) => p !== undefined), ...e];
    if (repeat && pairs[0] !== undefined) pairs.push(pairs[0]);
    if (pairs.length === 0) return '';
    return `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
  });
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/problem+json',
  'application/jsonx',
  '',
  ';;;',
] as const;

/**
 * The authorization header: mostly the root key (so requests reach past authentication), else
 * none, a malformed one, an unknown key, or a Niyanta-Tenant naming some tenant.
 */
function authHeaders(): fc.Arbitrary<[string, string][]> {
  const bearer = (v: string): [string, string][] => [['authorization', v]];
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(bearer(`Bearer ${E2E_ROOT_KEY}`)) },
    { weight: 1, arbitrary: fc.constant<[string, string][]>([]) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          'Bearer',
          'Bearer ',
          'Basic dXNlcjpwYXNz',
          `bearer ${E2E_ROOT_KEY}x`,
          'Bearer nyk_00000000000000000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
          `Bearer ${E2E_ROOT_KEY} extra`,
        )
        .map(bearer),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom('default', 'nobody', 'UPPER', '-x', ''),
          fc.string({ unit: 'grapheme-ascii', maxLength: 70 }),
        )
        .map((tenant): [string, string][] => [
          ['authorization', `Bearer ${E2E_ROOT_KEY}`],
          ['niyanta-tenant', tenant.trim()],
        ]),
    },
  );
}

/** Request headers: authorization, a content type (or none), odd extras, a repeated one. */
function headerList(withBody: boolean): fc.Arbitrary<[string, string][]> {
  const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 60 });
  const name = fc.stringMatching(/^x-[a-z0-9-]{1,20}$/);
  return fc
    .tuple(
      // Mostly JSON where a body goes, so most bodies get past the media type to the rest.
      fc.oneof(
        { weight: withBody ? 12 : 1, arbitrary: fc.constant('application/json') },
        { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      fc.nat(9).map((n) => n === 0),
      fc.array(fc.tuple(name, printable), { maxLength: 3 }),
      fc.option(fc.constantFrom('application/json', 'text/event-stream', '*/*', '', 'x/y;q=x')),
      authHeaders(),
    )
    .map(([contentType, repeatContentType, extras, accept, auth]) => {
      const list: [string, string][] = [...auth];
      if (contentType !== undefined) {
        list.push(['content-type', contentType]);
        if (repeatContentType) list.push(['content-type', contentType]);
      }
      if (accept !== null) list.push(['accept', accept]);
      for (const [k, v] of extras) list.push([k, v.trim()]);
      return list;
    });
}

/** Whether a schema takes any string of any length (no type, or a string without limits). */
function takesLongString(s: JsonSchema): boolean {
  const keys = Object.keys(s).filter((k) => k !== 'description' && k !== 'title');
  if (keys.length === 0) return true;
  return s.type === 'string' && keys.every((k) => k === 'type');
}

/**
 * The place (a path of keys) in `value` where `schema` allows a string of any length, so that a
 * padded body stays valid and reaches the broker: a submission's `input`, for instance.
 */
function freeStringPath(
  schema: JsonSchema,
  value: unknown,
  resolve: (ref: string) => JsonSchema,
  depth = 0,
): (string | number)[] | undefined {
  if (depth > 8) return undefined;
  if (typeof schema.$ref === 'string')
    return freeStringPath(resolve(schema.$ref), value, resolve, depth + 1);
  if (Array.isArray(value) && schema.items && value.length > 0) {
    const rest = freeStringPath(schema.items as JsonSchema, value[0], resolve, depth + 1);
    return rest === undefined ? undefined : [0, ...rest];
  }
  if (value === null || typeof value !== 'object') return undefined;
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, sub] of Object.entries(properties)) {
    if (!(name in value)) continue;
    if (takesLongString(sub)) return [name];
    const rest = freeStringPath(sub, (value as Record<string, unknown>)[name], resolve, depth + 1);
    if (rest !== undefined) return [name, ...rest];
  }
  return undefined;
}

const PAD = '\u0001pad\u0001';

/**
 * `valid` as JSON text of exactly `size` bytes, padded with a long string where the schema
 * allows one (else in an extra field, which makes it a 400 rather than a broker-sized body).
 */
function padded(
  schema: JsonSchema,
  valid: unknown,
  size: number,
  resolve: (ref: string) => JsonSchema,
): string {
  const path = freeStringPath(schema, valid, resolve);
  let value: unknown = structuredClone(valid);
  if (path === undefined || path.length === 0) {
    value = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
    (value as Record<string, unknown>).pad = PAD;
  } else {
    let parent = value as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    parent[path[path.length - 1]!] = PAD;
  }
  const base = toJsonText(value);
  const placeholder = JSON.stringify(PAD);
  const fill = Math.max(0, size - (Buffer.byteLength(base) - placeholder.length) - 2);
  return base.replace(placeholder, () => `"${'x'.repeat(fill)}"`);
}

/** Bodies for an operation that takes `schema`: valid, mutated, arbitrary, not JSON, huge. */
function bodyArb(
  schema: JsonSchema,
  resolve: (ref: string) => JsonSchema,
): fc.Arbitrary<{ body: string | Uint8Array | undefined; kind: string }> {
  const valid = schemaArbitrary(schema, resolve);
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((v) => ({ body: toJsonText(v), kind: 'valid' })) },
    {
      weight: 6,
      arbitrary: fc.tuple(valid, mutationArb, fc.nat()).map(([v, m, pick]) => ({
        body: toJsonText(mutate(v, m, pick)),
        kind: `mutated:${m.kind}`,
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .jsonValue({ maxDepth: 4, stringUnit: 'binary' })
        .map((v) => ({ body: toJsonText(v), kind: 'arbitrary JSON' })),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ body: b, kind: 'bytes' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '{\n',
          '{',
          '}',
          '[',
          '"',
          'nul',
          'null',
          '{"a":1}{',
          '\u0000',
          '\ufeff{}',
          ' ',
          'a=b&c=d',
        )
        .map((b) => ({ body: b, kind: 'broken JSON' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          new Uint8Array([0xff, 0xfe]),
          new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]),
          new Uint8Array([0]),
        )
        .map((b) => ({ body: b, kind: 'not UTF-8' })),
    },
    { weight: 1, arbitrary: fc.constant({ body: '', kind: 'empty' }) },
    { weight: 1, arbitrary: fc.constant({ body: undefined, kind: 'none' }) },
    {
      weight: 3,
      arbitrary: fc.tuple(valid, fc.integer({ min: -4_096, max: 1 })).map(([v, under]) => ({
        body: padded(schema, v, MAX_BODY_BYTES + under, resolve),
        kind: `near the 1 MiB limit (${under})`,
      })),
    },
  );
}

/**
 * Requests for one operation: its method (now and then another one), path parameters, query,
 * headers and, where a body may go, a body.
 */
export function requestArb(
  op: Operation,
  resolve: (ref: string) => JsonSchema,
  realIds: readonly string[],
): fc.Arbitrary<FuzzRequest> {
  const method = fc.oneof(
    { weight: 9, arbitrary: fc.constant(op.method) },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') },
  );
  const params = fc.tuple(...op.pathParams.map(() => pathValue(realIds)));
  const bodyOf = (m: string) =>
    m === 'GET' || m === 'HEAD'
      ? fc.constant({ body: undefined, kind: 'none' })
      : op.bodySchema !== undefined
        ? bodyArb(op.bodySchema, resolve)
        : fc.oneof(
            fc.constant({ body: undefined, kind: 'none' }),
            smallJson().map((v) => ({ body: toJsonText(v), kind: 'arbitrary JSON' })),
          );
  return method.chain((m) =>
    fc
      .tuple(params, queryString(op, resolve), headerList(m !== 'GET'), bodyOf(m))
      .map(([values, query, headers, body]) => {
        let path = op.path;
        op.pathParams.forEach((name, i) => {
          path = path.replace(`{${name}}`, values[i]!);
        });
        const req: FuzzRequest = {
          operationId: op.operationId,
          method: m,
          // Node answers a request head over 16 KiB itself (431, no body): stay under it.
          target: path.length + query.length > MAX_TARGET_CHARS ? path : `${path}${query}`,
          headers,
          body: body.body,
          bodyKind: body.kind,
        };
        // fast-check prints a counterexample with this: a 1 MiB body stays readable.
        return Object.assign(req, { [fc.toStringMethod]: () => describeRequest(req) });
      }),
  );
}

/** What came back. */
export interface FuzzResponse {
  status: number;
  contentType: string;
  /** The body, unless it is an event stream (left unread). */
  text: string;
}

/** Sends `req`; an event stream is closed after its head. Throws when no answer comes. */
export async function send(
  baseUrl: string,
  req: FuzzRequest,
  timeoutMs = 15_000,
): Promise<FuzzResponse> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`no answer in ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    const headers = new Headers();
    for (const [k, v] of req.headers) headers.append(k, v);
    const res = await fetch(`${baseUrl}${req.target}`, {
      method: req.method,
      headers,
      body: req.body,
      signal: controller.signal,
    });
    const contentType = res.headers.get('content-type') ?? '';
    if (contentType.startsWith('text/event-stream')) {
      await res.body?.cancel().catch(() => undefined);
      return { status: res.status, contentType, text: '' };
    }
    return { status: res.status, contentType, text: await res.text() };
  } finally {
    clearTimeout(timer);
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether a non-empty body is not JSON (so no route may accept it). */
function isBrokenJson(body: FuzzRequest['body']): boolean {
  if (body === undefined || body.length === 0) return false;
  try {
    JSON.parse(typeof body === 'string' ? body : strictUtf8.decode(body));
    return false;
  } catch {
    return true;
  }
}

/**
 * Why this answer breaks the HTTP properties, or undefined: never a 5xx; a 4xx is problem+json
 * with a title and its status; a body that is not JSON is never accepted.
 */
export function answerProblem(req: FuzzRequest, res: FuzzResponse): string | undefined {
  if (res.status >= 500) return `answered ${res.status}: ${res.text.slice(0, 300)}`;
  if (res.status < 400) {
    if (res.status >= 200 && res.status < 300 && req.method !== 'GET' && isBrokenJson(req.body))
      return `accepted a body that is not JSON with ${res.status}: ${res.text.slice(0, 200)}`;
    return undefined;
  }
  if (!res.contentType.startsWith('application/problem+json'))
    return `answered ${res.status} as ${JSON.stringify(res.contentType)}, not application/problem+json: ${res.text.slice(0, 200)}`;
  let problem: { title?: unknown; status?: unknown };
  try {
    problem = JSON.parse(res.text) as typeof problem;
  } catch {
    return `answered ${res.status} with a problem+json body that is not JSON: ${res.text.slice(0, 200)}`;
  }
  if (typeof problem.title !== 'string' || problem.title === '')
    return `answered ${res.status} with a problem without a title: ${res.text.slice(0, 200)}`;
  if (problem.status !== res.status)
    return `answered ${res.status} with a problem whose status is ${JSON.stringify(problem.status)}`;
  return undefined;
}

/** A short description of a request for a failure's message (bodies cut). */
export function describeRequest(req: FuzzRequest): string {
  const body =
    req.body === undefined
      ? 'no body'
      : typeof req.body === 'string'
        ? `${req.body.length} chars ${JSON.stringify(req.body.slice(0, 120))}`
        : `${req.body.length} bytes [${[...req.body.slice(0, 16)].join(',')}]`;
  return `${req.method} ${req.target.slice(0, 200)} (${req.operationId}, ${req.bodyKind}; headers ${JSON.stringify(req.headers).slice(0, 200)}; ${body})`;
}
