import { posix } from 'node:path';
import { SCHEMAS, WORKLOAD_STATUS } from '@niyanta/messages';
import { ApiError } from './errors.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import type { HTTP_COMMANDS } from './routes/workload-commands.js';
import { WORKER_STATUS } from './routes/workers.js';
import { LOG_LIMIT } from './routes/workload-logs.js';
import { LIST_LIMIT } from './routes/workloads.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A schema file's `$ref` that names nothing in SCHEMAS: a bug in the schemas or here. */
export class UnresolvedRefError extends ApiError {
  override name = 'UnresolvedRefError';
  constructor(
    readonly ref: string,
    readonly file: string,
  ) {
    super(
      `$ref "${ref}" in ${file} names no schema in SCHEMAS: fix the schema or the OpenAPI generator`,
    );
  }
}

const COMMON_FILE = 'common.v1.json';
const DEFS_PREFIX = '#/$defs/';
const componentRef = (name: string) => `#/components/schemas/${name}`;
const titleOf = (schema: unknown, fallback: string): string =>
  typeof (schema as { title?: unknown }).title === 'string'
    ? (schema as { title: string }).title
    : fallback;
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Component name of each HTTP schema file and of each `$defs` entry of common.v1.json. */
function componentNames(): { files: Map<string, string>; commonDefs: Map<string, string> } {
  const files = new Map<string, string>();
  for (const [file, schema] of Object.entries(SCHEMAS)) {
    if (file.startsWith('http/')) files.set(file, titleOf(schema, file));
  }
  const commonDefs = new Map<string, string>();
  const defs = (SCHEMAS[COMMON_FILE] as { $defs?: Record<string, unknown> }).$defs ?? {};
  for (const [key, def] of Object.entries(defs)) commonDefs.set(key, titleOf(def, capitalize(key)));
  return { files, commonDefs };
}

/** A copy of `schema` without `$id`/`$schema`, with every `$ref` pointing into components. */
function rewrite(schema: Json, file: string, names: ReturnType<typeof componentNames>): Json {
  if (Array.isArray(schema)) return schema.map((s) => rewrite(s, file, names));
  if (schema === null || typeof schema !== 'object') return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$id' || key === '$schema') continue;
    if (key === '$ref' && typeof value === 'string') {
      out[key] = resolveRef(value, file, names);
      continue;
    }
    // `properties` maps names to schemas; a property called `$ref` would be a name, not a ref.
    out[key] = rewrite(value, file, names);
  }
  return out;
}

function resolveRef(ref: string, file: string, names: ReturnType<typeof componentNames>): string {
  const [target = '', fragment] = ref.split('#', 2);
  const targetFile =
    target === '' ? file : posix.normalize(posix.join(posix.dirname(file), target));
  if (targetFile === COMMON_FILE && fragment?.startsWith(DEFS_PREFIX.slice(1))) {
    const name = names.commonDefs.get(fragment.slice(DEFS_PREFIX.length - 1));
    if (name !== undefined) return componentRef(name);
  }
  if (fragment === undefined || fragment === '' || fragment === '/') {
    const name = names.files.get(targetFile);
    if (name !== undefined) return componentRef(name);
  }
  throw new UnresolvedRefError(ref, file);
}

/** components.schemas: the HTTP schemas, the shared `$defs`, and the small bodies defined here. */
function components(): JsonObject {
  const names = componentNames();
  const schemas: JsonObject = {};
  for (const [file, name] of names.files)
    schemas[name] = rewrite(SCHEMAS[file as keyof typeof SCHEMAS] as unknown as Json, file, names);
  const defs = (SCHEMAS[COMMON_FILE] as unknown as { $defs: Record<string, Json> }).$defs;
  for (const [key, name] of names.commonDefs)
    schemas[name] = rewrite(defs[key]!, COMMON_FILE, names);
  Object.assign(schemas, LOCAL_SCHEMAS);
  return schemas;
}

/** Answers of the system endpoints (not part of the workload contract). */
const LOCAL_SCHEMAS: JsonObject = {
  Health: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', description: 'ok' } },
  },
  Readiness: {
    type: 'object',
    required: ['status', 'checks'],
    properties: {
      status: { type: 'string', enum: ['ready', 'not ready', 'draining'] },
      checks: {
        type: 'object',
        properties: { nats: { type: 'boolean' }, postgres: { type: 'boolean' } },
        description: 'Which dependency answers.',
      },
    },
  },
};

const json = (schema: string, description: string): JsonObject => ({
  description,
  content: { 'application/json': { schema: { $ref: componentRef(schema) } } },
});
const problem = (description: string): JsonObject => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: componentRef('Problem') } } },
});
const sse = (description: string): JsonObject => ({
  description,
  content: { 'text/event-stream': { schema: { type: 'string' } } },
});
const idParam: JsonObject = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Workload id (UUID).',
  schema: { type: 'string', format: 'uuid' },
};
const query = (name: string, description: string, schema: JsonObject): JsonObject => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const LOCATION: JsonObject = { description: 'Path of the workload.', schema: { type: 'string' } };
const bad = problem('Invalid parameter or body; `errors` names each field.');
const notFound = problem('No workload with this id.');
const unavailable = problem(
  'NATS or PostgreSQL is unavailable; retry after Retry-After seconds. Nothing was accepted.',
);
const tooLarge = problem(
  'Body over the size limit, or a message larger than the broker carries (its max_payload, as the connected server states it); `detail` names both sizes. Nothing was accepted.',
);
const submitErrors = {
  '400': bad,
  '413': tooLarge,
  '415': problem('A body whose content type is not application/json.'),
  '503': unavailable,
};

function commandPath(command: string, effect: string): JsonObject {
  return {
    post: {
      operationId: `${command}Workload`,
      summary: `${capitalize(command)} a workload`,
      description: effect,
      tags: ['workloads'],
      parameters: [idParam],
      requestBody: {
        required: false,
        content: { 'application/json': { schema: { $ref: componentRef('CommandRequest') } } },
      },
      responses: {
        '202': json(
          'Workload',
          'Command sent to the scheduler; the body is the workload as it is now.',
        ),
        '400': bad,
        '404': notFound,
        '409': problem('Not possible in the current status (e.g. it already ended).'),
        '413': tooLarge,
        '415': problem('A non-empty body that is not application/json.'),
        '503': unavailable,
      },
    },
  };
}

const COMMAND_EFFECTS: Record<keyof typeof HTTP_COMMANDS, string> = {
  cancel: 'Stops a workload that has not ended. 409 if it is COMPLETED, FAILED or CANCELLED.',
  pause: 'Pauses a PENDING, SCHEDULED or RUNNING workload (a run checkpoints and stops).',
  resume: 'Resumes a PAUSED workload.',
};

function paths(): JsonObject {
  const out: JsonObject = {
    '/v1/workloads': {
      post: {
        operationId: 'submitWorkload',
        summary: 'Submit a workload',
        description:
          '201 once it is in PostgreSQL; 202 (status SUBMITTED) if it is durable in the broker but not yet persisted after a short wait; 200 with `Idempotent-Replayed: true` when the idempotency key already names a workload.',
        tags: ['workloads'],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: componentRef('WorkloadSubmission') } } },
        },
        responses: {
          '200': {
            ...json('Workload', 'The workload this idempotency key already names.'),
            headers: {
              'Idempotent-Replayed': {
                description: 'Always true.',
                schema: { type: 'string', enum: ['true'] },
              },
              Location: LOCATION,
            },
          },
          '201': { ...json('Workload', 'Persisted.'), headers: { Location: LOCATION } },
          '202': {
            ...json('Workload', 'Accepted by the broker, not yet persisted (status SUBMITTED).'),
            headers: { Location: LOCATION },
          },
          ...submitErrors,
        },
      },
      get: {
        operationId: 'listWorkloads',
        summary: 'List workloads, newest first',
        tags: ['workloads'],
        parameters: [
          query('status', 'Only this status.', {
            type: 'string',
            enum: Object.values(WORKLOAD_STATUS),
          }),
          query('type', 'Only this workload type.', { type: 'string' }),
          query('limit', 'Page size.', {
            type: 'integer',
            minimum: LIST_LIMIT.min,
            maximum: LIST_LIMIT.max,
            default: LIST_LIMIT.default,
          }),
          query('cursor', 'nextCursor of the previous page.', { type: 'string' }),
        ],
        responses: { '200': json('WorkloadList', 'A page.'), '400': bad, '503': unavailable },
      },
    },
    '/v1/workloads/batch': {
      post: {
        operationId: 'submitWorkloadBatch',
        summary: 'Submit 1 to 1,000 workloads, all or none',
        description:
          'One invalid item refuses the whole batch. 201 if every workload is persisted, else 202 with SUBMITTED entries for the others.',
        tags: ['workloads'],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: componentRef('WorkloadBatch') } } },
        },
        responses: {
          '201': json('WorkloadBatchResponse', 'All persisted, in request order.'),
          '202': json(
            'WorkloadBatchResponse',
            'Some not persisted yet (status SUBMITTED), in request order.',
          ),
          ...submitErrors,
        },
      },
    },
    '/v1/workloads/{id}': {
      get: {
        operationId: 'getWorkload',
        summary: 'Get a workload',
        tags: ['workloads'],
        parameters: [idParam],
        responses: {
          '200': json('Workload', 'The workload.'),
          '400': bad,
          '404': notFound,
          '503': unavailable,
        },
      },
    },
    '/v1/workloads/{id}/events': {
      get: {
        operationId: 'streamWorkloadEvents',
        summary: 'Live events of a workload (Server-Sent Events)',
        description:
          'First `event: status` with the current workload, then live `status` ({workloadId, workload, fromStatus, toStatus, reason}), `progress` ({workloadId, attempt, fraction, message}) and `log` ({workloadId, attempt, at, stream, line}) events. A comment every 15 s keeps it alive.',
        tags: ['workloads'],
        parameters: [idParam],
        responses: {
          '200': sse('The event stream.'),
          '400': bad,
          '404': notFound,
          '503': unavailable,
        },
      },
    },
    '/v1/workloads/{id}/logs': {
      get: {
        operationId: 'getWorkloadLogs',
        summary: 'Log lines of a workload',
        description:
          'The newest `limit` lines, oldest first; with `follow=true` an SSE stream of `log` events that keeps following.',
        tags: ['workloads'],
        parameters: [
          idParam,
          query('limit', 'Most lines to return.', {
            type: 'integer',
            minimum: LOG_LIMIT.min,
            maximum: LOG_LIMIT.max,
            default: LOG_LIMIT.default,
          }),
          query('follow', 'Stream as Server-Sent Events and keep following.', {
            type: 'boolean',
            default: false,
          }),
        ],
        responses: {
          '200': {
            description: 'The lines, or the SSE stream with follow=true.',
            content: {
              'application/json': { schema: { $ref: componentRef('LogList') } },
              'text/event-stream': { schema: { type: 'string' } },
            },
          },
          '400': bad,
          '404': notFound,
          '503': unavailable,
        },
      },
    },
    '/v1/workloads/{id}/checkpoints': {
      get: {
        operationId: 'listWorkloadCheckpoints',
        summary: 'Checkpoints of a workload, newest first',
        tags: ['workloads'],
        parameters: [idParam],
        responses: {
          '200': json('CheckpointList', 'Metadata of each committed checkpoint.'),
          '400': bad,
          '404': notFound,
          '503': unavailable,
        },
      },
    },
    '/v1/workers': {
      get: {
        operationId: 'listWorkers',
        summary: 'Workers as their heartbeats describe them',
        tags: ['workers'],
        parameters: [
          query('status', 'Only this status.', {
            type: 'string',
            enum: Object.values(WORKER_STATUS),
          }),
        ],
        responses: { '200': json('WorkerList', 'The workers.'), '400': bad, '503': unavailable },
      },
    },
    '/healthz': {
      get: {
        operationId: 'health',
        summary: 'Liveness',
        tags: ['system'],
        responses: { '200': json('Health', 'The process runs.') },
      },
    },
    '/readyz': {
      get: {
        operationId: 'readiness',
        summary: 'Readiness: NATS connected and PostgreSQL answering',
        tags: ['system'],
        responses: {
          '200': json('Readiness', 'Ready.'),
          '503': json('Readiness', 'Not ready; `checks` says which dependency fails.'),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        tags: ['system'],
        responses: {
          '200': {
            description: 'Prometheus text format.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        tags: ['system'],
        responses: {
          '200': {
            description: 'OpenAPI 3.1.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/docs': {
      get: {
        operationId: 'docs',
        summary: 'Swagger UI for this document',
        tags: ['system'],
        responses: {
          '200': {
            description: 'HTML page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
    },
  };
  for (const [command, effect] of Object.entries(COMMAND_EFFECTS))
    out[`/v1/workloads/{id}/${command}`] = commandPath(command, effect);
  return out;
}

/** The OpenAPI 3.1 document of the API, generated from the JSON Schemas in `schemas/`. */
export function buildOpenApi(): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Niyanta API',
      version: '1.0.0',
      description:
        'Submit, query and control workloads. Errors are application/problem+json (RFC 9457).',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [{ name: 'workloads' }, { name: 'workers' }, { name: 'system' }],
    paths: paths(),
    components: { schemas: components() },
  };
}
