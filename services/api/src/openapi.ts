import { posix } from 'node:path';
import { MAX_SIGNAL_PAYLOAD_BYTES, SCHEMAS, WORKLOAD_STATUS } from '@niyanta/messages';
import { ApiError } from './errors.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import type { HTTP_COMMANDS } from './routes/workload-commands.js';
import { WORKER_STATUS } from './routes/workers.js';
import { LOG_LIMIT } from './routes/workload-logs.js';
import { LIST_LIMIT } from './routes/workloads.js';
import { SCHEDULE_LIST_LIMIT } from './routes/schedules.js';
import { HISTORY_LIMIT } from './routes/workload-history.js';
import { UI_ASSETS } from './routes/ui.js';
import { KEY_LIST_LIMIT } from './routes/api-keys.js';
import { AUDIT_LIST_LIMIT } from './routes/audit.js';
import { DEAD_LETTER_LIST_LIMIT } from './routes/dead-letters.js';
import { REJECTED_LIST_LIMIT } from './routes/rejected.js';
import { TENANT_HEADER } from './auth/authenticate.js';

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
  '503': problem(
    'NATS or PostgreSQL is unavailable, or the submit queue is full (SUBMIT_QUEUE_MAX_MSGS); retry after Retry-After seconds. Nothing was accepted.',
  ),
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

/** `POST /v1/workloads/{id}/signals/{name}` (routes/workload-signals.ts). */
function signalPath(): JsonObject {
  return {
    post: {
      operationId: 'signalWorkload',
      summary: 'Send a signal to a workload',
      description:
        "Sends the signal `name` with `payload` to the scheduler (a `signal` command): the run's `ctx.waitForSignal(name)` returns the payload, at once if the workload is WAITING for it, otherwise when its wait starts (the signal is kept; one signal answers one wait). Needs the submitter role; audited. docs/workflows.md.",
      tags: ['workloads'],
      parameters: [
        idParam,
        {
          name: 'name',
          in: 'path',
          required: true,
          description: 'The signal name.',
          schema: { $ref: componentRef('SignalName') },
        },
      ],
      requestBody: {
        required: false,
        content: { 'application/json': { schema: { $ref: componentRef('SignalRequest') } } },
      },
      responses: {
        '202': json(
          'Workload',
          'Signal sent to the scheduler; the body is the workload as it is now.',
        ),
        '400': bad,
        '404': notFound,
        '409': problem('The workload already ended (COMPLETED, FAILED or CANCELLED).'),
        '413': problem(`A body over ${MAX_SIGNAL_PAYLOAD_BYTES} bytes.`),
        '415': problem('A non-empty body that is not application/json.'),
        '503': unavailable,
      },
    },
  };
}

const COMMAND_EFFECTS: Record<keyof typeof HTTP_COMMANDS, string> = {
  cancel: 'Stops a workload that has not ended. 409 if it is COMPLETED, FAILED or CANCELLED.',
  pause:
    'Pauses a PENDING, SCHEDULED, RUNNING or WAITING workload (a run checkpoints and stops; a WAITING one keeps its wait and replays into it when resumed).',
  resume: 'Resumes a PAUSED workload.',
};

const SECURITY_SCHEME = 'bearerAuth';
const tenantIdParam: JsonObject = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Tenant id.',
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
};
const keyIdParam: JsonObject = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'API key id (32 hex digits).',
  schema: { type: 'string', pattern: '^[0-9a-f]{32}$' },
};
const secretNameParam: JsonObject = {
  name: 'name',
  in: 'path',
  required: true,
  description: "The secret's name.",
  schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' },
};
const tenantHeaderParam: JsonObject = {
  name: TENANT_HEADER,
  in: 'header',
  required: false,
  description:
    'The tenant the root key acts on (default `default`). A tenant key may only name its own tenant (else 403).',
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
};
const jsonBody = (schema: string): JsonObject => ({
  required: true,
  content: { 'application/json': { schema: { $ref: componentRef(schema) } } },
});
const pageParams = (limit: { min: number; max: number; default: number }): JsonObject[] => [
  query('limit', 'Page size.', {
    type: 'integer',
    minimum: limit.min,
    maximum: limit.max,
    default: limit.default,
  }),
  query('cursor', 'nextCursor of the previous page.', { type: 'string' }),
];
const unauthorized = {
  ...problem('No key, a malformed Authorization header, or a key that is unknown or revoked.'),
  headers: {
    'WWW-Authenticate': { description: 'Always `Bearer`.', schema: { type: 'string' } },
  },
};
const forbidden = problem(
  "The key's role lacks the permission (the problem names both), the tenant is disabled, or a tenant key named another tenant in Niyanta-Tenant.",
);
const rateHeaders: JsonObject = {
  'Retry-After': {
    description: 'Seconds until a request is allowed.',
    schema: { type: 'integer' },
  },
  'RateLimit-Policy': {
    description: 'draft-ietf-httpapi-ratelimit-headers: `"tenant";q=<burst>;w=<seconds>`.',
    schema: { type: 'string' },
  },
  RateLimit: {
    description: 'draft-ietf-httpapi-ratelimit-headers: `"tenant";r=<remaining>;t=<seconds>`.',
    schema: { type: 'string' },
  },
};
const tooMany = {
  ...problem(
    "Over the tenant's request rate (code RATE_LIMITED), or for a submission over its maxPending quota (code QUOTA_EXCEEDED, with quota, limit and current).",
  ),
  headers: rateHeaders,
};
const tooManyStreams = {
  ...problem(
    "Over the tenant's request rate (code RATE_LIMITED), or too many event streams open: SSE_MAX_STREAMS on this instance or SSE_MAX_STREAMS_PER_TENANT for the tenant (code TOO_MANY_STREAMS).",
  ),
  headers: rateHeaders,
};
const noTenant = problem('No such resource in this tenant, or Niyanta-Tenant names no tenant.');

/** The routes of tenants, API keys and the audit log. */
function identityPaths(): JsonObject {
  return {
    '/v1/tenants': {
      post: {
        operationId: 'createTenant',
        summary: 'Create a tenant (root key only)',
        tags: ['tenants'],
        requestBody: jsonBody('TenantCreate'),
        responses: {
          '201': { ...json('Tenant', 'Created.'), headers: { Location: LOCATION } },
          '400': bad,
          '409': problem('A tenant with this id exists.'),
          '413': problem('Body over the size limit.'),
          '415': problem('Content type is not application/json.'),
          '503': unavailable,
        },
      },
      get: {
        operationId: 'listTenants',
        summary: 'List every tenant (root key only)',
        tags: ['tenants'],
        responses: { '200': json('TenantList', 'The tenants, by id.'), '503': unavailable },
      },
    },
    '/v1/tenants/{id}': {
      get: {
        operationId: 'getTenant',
        summary: "A tenant's settings, quotas and current usage (root, or any key of the tenant)",
        tags: ['tenants'],
        parameters: [tenantIdParam],
        responses: {
          '200': json('Tenant', 'The tenant with its usage.'),
          '400': bad,
          '404': notFound,
          '503': unavailable,
        },
      },
      patch: {
        operationId: 'updateTenant',
        summary: "Change a tenant (root; the tenant's own admin may change name only)",
        tags: ['tenants'],
        parameters: [tenantIdParam],
        requestBody: jsonBody('TenantPatch'),
        responses: {
          '200': json('Tenant', 'The tenant as it is now.'),
          '400': bad,
          '404': notFound,
          '413': problem('Body over the size limit.'),
          '415': problem('Content type is not application/json.'),
          '503': unavailable,
        },
      },
    },
    '/v1/api-keys': {
      post: {
        operationId: 'createApiKey',
        summary: "Create an API key of the request's tenant (admin)",
        description: 'The answer is the only time the key is shown; only a hash is stored.',
        tags: ['api-keys'],
        requestBody: jsonBody('ApiKeyCreate'),
        responses: {
          '201': { ...json('ApiKeyCreated', 'Created.'), headers: { Location: LOCATION } },
          '400': bad,
          '413': problem('Body over the size limit.'),
          '415': problem('Content type is not application/json.'),
          '503': unavailable,
        },
      },
      get: {
        operationId: 'listApiKeys',
        summary: "The request's tenant's API keys, newest first, without secrets (admin)",
        tags: ['api-keys'],
        parameters: pageParams(KEY_LIST_LIMIT),
        responses: { '200': json('ApiKeyList', 'A page.'), '400': bad, '503': unavailable },
      },
    },
    '/v1/api-keys/{id}': {
      delete: {
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key (admin): refused by every API instance within 2 s',
        tags: ['api-keys'],
        parameters: [keyIdParam],
        responses: {
          '204': { description: 'Revoked (or already revoked).' },
          '400': bad,
          '404': notFound,
          '503': unavailable,
        },
      },
    },
    '/v1/secrets': {
      get: {
        operationId: 'listSecrets',
        summary: "The request's tenant's secrets: names and updatedAt only, never values (admin)",
        tags: ['secrets'],
        responses: { '200': json('SecretList', 'Every secret, by name.'), '503': unavailable },
      },
    },
    '/v1/secrets/{name}': {
      put: {
        operationId: 'putSecret',
        summary: 'Create or replace a secret (admin)',
        description:
          'Stored sealed with AES-256-GCM under SECRETS_KEY; no answer ever carries the value. 503 when the API has no SECRETS_KEY.',
        tags: ['secrets'],
        parameters: [secretNameParam],
        requestBody: jsonBody('SecretPut'),
        responses: {
          '204': { description: 'Stored.' },
          '400': bad,
          '413': problem('Body over the size limit.'),
          '415': problem('Content type is not application/json.'),
          '503': unavailable,
        },
      },
      delete: {
        operationId: 'deleteSecret',
        summary: 'Delete a secret (admin)',
        tags: ['secrets'],
        parameters: [secretNameParam],
        responses: {
          '204': { description: 'Deleted.' },
          '400': bad,
          '404': notFound,
          '503': unavailable,
        },
      },
    },
    '/v1/audit': {
      get: {
        operationId: 'listAudit',
        summary:
          "Audit entries, newest first (admin: its tenant's; root: all, or the tenant it names)",
        tags: ['audit'],
        parameters: pageParams(AUDIT_LIST_LIMIT),
        responses: { '200': json('AuditList', 'A page.'), '400': bad, '503': unavailable },
      },
    },
    '/v1/audit/verify': {
      get: {
        operationId: 'verifyAudit',
        summary: 'Check the hash chain of the whole audit log (admin)',
        description:
          "Recomputes every hash from the first entry; `firstBadSeq` is the first entry changed, deleted or moved. `checked` counts the entries of the caller's tenant (root without Niyanta-Tenant: all).",
        tags: ['audit'],
        responses: {
          '200': json('AuditVerification', 'The result.'),
          '503': unavailable,
        },
      },
    },
  };
}

const replayResponses = (record: string): JsonObject => ({
  '202': json(
    'Replay',
    'Published again on its subject; `duplicate` is true when the broker dropped it as a repeat of a replay of the same record within its duplicate window.',
  ),
  '400': bad,
  '404': problem(`No ${record} with this id in the caller's tenant.`),
  '413': problem('The message is larger than the connected broker carries (max_payload).'),
  '503': unavailable,
});

/** The routes of dead letters and rejected submissions. */
function recordPaths(): JsonObject {
  return {
    '/v1/dead-letters': {
      get: {
        operationId: 'listDeadLetters',
        summary:
          'Messages a consumer gave up on, newest first (admin: those whose subject names its tenant; root: all, or the tenant it names)',
        tags: ['dead-letters'],
        parameters: pageParams(DEAD_LETTER_LIST_LIMIT),
        responses: { '200': json('DeadLetterList', 'A page.'), '400': bad, '503': unavailable },
      },
    },
    '/v1/dead-letters/{id}/replay': {
      post: {
        operationId: 'replayDeadLetter',
        summary: 'Publish a dead letter again (admin; audited)',
        description:
          'Publishes the recorded body byte-exact on its subject with its headers, minus every `Nats-*` header (its Nats-Msg-Id would be dropped as a duplicate, Nats-Expected-* refused), plus `Nats-Msg-Id: replay:dead:<id>`. The row stays; a replay that fails again is a new dead letter (a new stream sequence).',
        tags: ['dead-letters'],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            description: 'Dead letter id (UUID).',
            schema: { type: 'string', format: 'uuid' },
          },
        ],
        responses: replayResponses('dead letter'),
      },
    },
    '/v1/rejected': {
      get: {
        operationId: 'listRejected',
        summary:
          "Broker submissions the scheduler refused, newest first (admin: its tenant's; root: all, or the tenant it names)",
        tags: ['dead-letters'],
        parameters: pageParams(REJECTED_LIST_LIMIT),
        responses: {
          '200': json('RejectedSubmissionList', 'A page.'),
          '400': bad,
          '503': unavailable,
        },
      },
    },
    '/v1/rejected/{id}/replay': {
      post: {
        operationId: 'replayRejected',
        summary: 'Publish a rejected submission again, after a fix (admin; audited)',
        description:
          'Publishes the recorded body on its subject (niyanta.submit.<tenant>) with `Nats-Msg-Id: replay:rejected:<id>`. The scheduler ingests it as any submission: its id and idempotency key make a second replay the same workload.',
        tags: ['dead-letters'],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            description: 'Rejected submission id (decimal digits).',
            schema: { type: 'string', pattern: '^[1-9][0-9]{0,17}$' },
          },
        ],
        responses: replayResponses('rejected submission'),
      },
    },
  };
}

/**
 * Every /v1 operation needs a key: the security scheme, the Niyanta-Tenant header, and the
 * answers of authentication (401), authorization (403), rate limits (429) and an unknown tenant
 * (404) are added to each.
 */
function secure(paths: JsonObject): JsonObject {
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith('/v1/')) continue;
    for (const op of Object.values(item as Record<string, JsonObject>)) {
      op['security'] = [{ [SECURITY_SCHEME]: [] }];
      op['parameters'] = [...((op['parameters'] as Json[] | undefined) ?? []), tenantHeaderParam];
      const responses = op['responses'] as JsonObject;
      responses['401'] ??= unauthorized;
      responses['403'] ??= forbidden;
      responses['404'] ??= noTenant;
      responses['429'] ??= tooMany;
    }
  }
  return paths;
}

/** The reads the dashboard needs besides the workload routes: who am I, counts, a timeline. */
function dashboardPaths(): JsonObject {
  return {
    '/v1/me': {
      get: {
        operationId: 'getMe',
        summary: "Who the request's key is: tenant, role, key id (any role)",
        tags: ['api-keys'],
        responses: { '200': json('Me', 'The caller.'), '503': unavailable },
      },
    },
    '/v1/workloads/counts': {
      get: {
        operationId: 'countWorkloads',
        summary: "How many of the tenant's workloads have each status",
        tags: ['workloads'],
        responses: {
          '200': json('WorkloadCounts', 'Every status with its count.'),
          '503': unavailable,
        },
      },
    },
    '/v1/workloads/{id}/history': {
      get: {
        operationId: 'getWorkloadHistory',
        summary: 'Status changes of a workload, oldest first (workload_events)',
        description: `At most the newest ${HISTORY_LIMIT} changes, each with attempt, reason and worker.`,
        tags: ['workloads'],
        parameters: [idParam],
        responses: {
          '200': json('WorkloadHistory', 'The timeline.'),
          '400': bad,
          '404': notFound,
          '503': unavailable,
        },
      },
    },
  };
}

const scheduleIdParam: JsonObject = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Schedule id (UUID).',
  schema: { type: 'string', format: 'uuid' },
};
const noSchedule = problem('No schedule with this id in this tenant.');
const bodyErrors = {
  '413': problem('Body over the size limit.'),
  '415': problem('Content type is not application/json.'),
};

function bulkCommandPath(command: string, effect: string): JsonObject {
  return {
    post: {
      operationId: `${command}Workloads`,
      summary: `${capitalize(command)} many workloads, by ids or by a filter`,
      description: `${effect} Applies to each named workload whose status allows it; the others are counted in \`matched\` only. One audit entry with the counts.`,
      tags: ['workloads'],
      requestBody: jsonBody('WorkloadBulkCommand'),
      responses: {
        '202': json('WorkloadBulkResult', 'Commands sent to the scheduler.'),
        '400': bad,
        ...bodyErrors,
        '503': unavailable,
      },
    },
  };
}

/** The routes of cron schedules. */
function schedulePaths(): JsonObject {
  return {
    '/v1/schedules': {
      post: {
        operationId: 'createSchedule',
        summary: 'Create a cron schedule that submits a workload at each fire time',
        description:
          'Each firing submits `workload` with the idempotency key `schedule:<id>:<fire time>`, so it happens once however many schedulers run or restart. An invalid `cron` or `timezone` is a 400 naming it, and so is an entry of `workload.dependsOn` that names no workload of the tenant (`/workload/dependsOn/1`, checked as POST /v1/workloads checks it, here and on PATCH).',
        tags: ['schedules'],
        requestBody: jsonBody('ScheduleCreate'),
        responses: {
          '201': {
            ...json('Schedule', 'Created, with its next 5 runs.'),
            headers: { Location: LOCATION },
          },
          '400': bad,
          '409': problem('A schedule with this name exists in the tenant.'),
          ...bodyErrors,
          '503': unavailable,
        },
      },
      get: {
        operationId: 'listSchedules',
        summary: "The tenant's schedules, newest first",
        tags: ['schedules'],
        parameters: pageParams(SCHEDULE_LIST_LIMIT),
        responses: {
          '200': json('ScheduleList', 'A page of schedules.'),
          '400': bad,
          '503': unavailable,
        },
      },
    },
    '/v1/schedules/{id}': {
      get: {
        operationId: 'getSchedule',
        summary: 'A schedule with its next runs and last fire time',
        tags: ['schedules'],
        parameters: [scheduleIdParam],
        responses: {
          '200': json('Schedule', 'The schedule.'),
          '400': bad,
          '404': noSchedule,
          '503': unavailable,
        },
      },
      patch: {
        operationId: 'updateSchedule',
        summary: 'Change a schedule (pause, resume, a new cron or workload)',
        tags: ['schedules'],
        parameters: [scheduleIdParam],
        requestBody: jsonBody('SchedulePatch'),
        responses: {
          '200': json('Schedule', 'The schedule as it is now.'),
          '400': bad,
          '404': noSchedule,
          '409': problem('Another schedule of the tenant has this name.'),
          ...bodyErrors,
          '503': unavailable,
        },
      },
      delete: {
        operationId: 'deleteSchedule',
        summary: 'Delete a schedule (its fired workloads stay)',
        tags: ['schedules'],
        parameters: [scheduleIdParam],
        responses: {
          '204': { description: 'Deleted.' },
          '400': bad,
          '404': noSchedule,
          '503': unavailable,
        },
      },
    },
    '/v1/schedules/{id}/trigger': {
      post: {
        operationId: 'triggerSchedule',
        summary: 'Fire a schedule now: submits its workload at once (key schedule:<id>:<now>)',
        tags: ['schedules'],
        parameters: [scheduleIdParam],
        responses: {
          '201': {
            ...json('Workload', 'The fired workload, in PostgreSQL.'),
            headers: { Location: LOCATION },
          },
          '202': json('Workload', 'The fired workload, durable in the broker (status SUBMITTED).'),
          '400': bad,
          '404': noSchedule,
          '429': tooMany,
          '503': unavailable,
        },
      },
    },
  };
}

function paths(): JsonObject {
  const out: JsonObject = {
    ...identityPaths(),
    ...schedulePaths(),
    ...recordPaths(),
    ...dashboardPaths(),
    '/v1/workloads': {
      post: {
        operationId: 'submitWorkload',
        summary: 'Submit a workload',
        description:
          '201 once it is in PostgreSQL; 202 (status SUBMITTED) if it is durable in the broker but not yet persisted after a short wait; 200 with `Idempotent-Replayed: true` when the idempotency key already names a workload.\n\n' +
          '`dependsOn` (at most 100 ids of workloads of the same tenant; an unknown one is a 400 naming its index, `/dependsOn/2`) keeps the workload PENDING (`pendingReason` `waiting for 2 of 3 dependencies`) until every dependency has COMPLETED; `onDependencyFailure` says what a FAILED or CANCELLED dependency does (`cancel`, the default: CANCELLED with error code DEPENDENCY_FAILED; `run`: it runs once every dependency has ended). See docs/workflows.md.',
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
          query('label', 'Only workloads with this label, as `key=value`.', {
            type: 'string',
            pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}=',
          }),
          query('scheduleId', 'Only the firings of this schedule.', {
            type: 'string',
            format: 'uuid',
          }),
          query('parentId', 'Only the children this workload spawned (`ctx.spawn`).', {
            type: 'string',
            format: 'uuid',
          }),
          query('limit', 'Page size.', {
            type: 'integer',
            minimum: LIST_LIMIT.min,
            maximum: LIST_LIMIT.max,
            default: LIST_LIMIT.default,
          }),
          query('cursor', 'nextCursor of the previous page.', { type: 'string' }),
        ],
        description:
          'Newest first. A page ends early once its body passes LIST_MAX_BYTES (items are never cut); nextCursor then goes on from the last item.',
        responses: { '200': json('WorkloadList', 'A page.'), '400': bad, '503': unavailable },
      },
    },
    '/v1/workloads/batch': {
      post: {
        operationId: 'submitWorkloadBatch',
        summary: 'Submit 1 to 1,000 workloads, all or none',
        description:
          'One invalid item refuses the whole batch. 201 if every workload is persisted, else 202 with SUBMITTED entries for the others.\n\n' +
          'A batch can be a graph: an item may carry a `ref` (unique in the batch) and `dependsOn` may name refs of the batch as well as ids. A repeated ref, an entry that is neither a ref of the batch nor a workload id of the tenant, or a cycle (its error names the refs on it) is a 400. The answer maps each ref to its workload id in `refs`.',
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
        description:
          'With its place in a dependency graph, when it is in one: `dependsOn` (ids, in submission order) and `onDependencyFailure` when it has dependencies, `dependents` (ids of the workloads depending on it, the oldest 100) when some workload depends on it. A child workload (spawned by a run with `ctx.spawn`) shows its `parentId` (and `detached`); a workload that spawned children shows `children`: how many, how many per status, and the first 100 in call order (`GET /v1/workloads?parentId=` lists them all).',
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
          'First `event: status` with the current workload (`fromStatus` null), then live `status` ({workloadId, workload, fromStatus, toStatus, reason}), `progress` ({workloadId, attempt, fraction, message}) and `log` ({workloadId, attempt, at, stream, line}) events. A comment every 15 s keeps it alive. Once the workload reaches a final status (COMPLETED, FAILED, CANCELLED) that status is sent and the stream ends.\n\n' +
          "**Event ids.** Every `status` event has an `id:`, the id of its `workload_events` row (an increasing integer; the first event carries the id of the latest row). `progress` and `log` events have no `id:` of their own, so the last event id stays the last status. A client that reconnects with `Last-Event-ID` (an EventSource does so by itself), or first connects with `?lastEventId=`, gets every status change after that id, oldest first, then the live events: none lost, none repeated. A live change carries the workload as that change left it; a replayed one (or one read together with a later change) the workload as it is when read. Progress and log lines sent while a client was away are not replayed (the workload's `progress` and `GET /v1/workloads/{id}/logs` have them). Resuming after the final status answers 204 (an EventSource stops reconnecting). A client that falls more than SSE_QUEUE_MAX_BYTES behind is disconnected and resumes the same way.",
        tags: ['workloads'],
        parameters: [
          idParam,
          {
            name: 'Last-Event-ID',
            in: 'header',
            required: false,
            description:
              'Resume after this event id: the status changes after it are sent first. Wins over `lastEventId`.',
            schema: { type: 'string', pattern: '^[0-9]{1,19}$' },
          },
          query(
            'lastEventId',
            'Resume after this event id, for a first connect (an EventSource cannot set headers).',
            {
              type: 'string',
              pattern: '^[0-9]{1,19}$',
            },
          ),
        ],
        responses: {
          '200': sse('The event stream.'),
          '204': { description: 'Resumed after the final status: nothing more will come.' },
          '400': bad,
          '404': notFound,
          '429': tooManyStreams,
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
          '429': tooManyStreams,
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
    '/v1/workloads/{id}/placement': {
      get: {
        operationId: 'explainWorkloadPlacement',
        summary: 'Why a workload waits, worker by worker, or the decision that placed it',
        tags: ['workloads'],
        parameters: [idParam],
        responses: {
          '200': json('WorkloadPlacement', "The scheduler's latest evaluation."),
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
    '/v1/cluster': {
      get: {
        operationId: 'getCluster',
        summary: 'Instances of each service, and who leads the scheduler and the health monitor',
        tags: ['system'],
        responses: { '200': json('Cluster', 'The instances and leaders.'), '503': unavailable },
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
    '/ui': {
      get: {
        operationId: 'dashboard',
        summary: 'The web dashboard (its script and stylesheet are under /ui/assets/)',
        description:
          'Also at /ui/. Pages are addressed by the hash (/ui#/workloads/{id}). Signs in with an API key kept in session storage. Served with a Content-Security-Policy that allows only this origin and no inline script or style.',
        tags: ['system'],
        responses: {
          '200': {
            description: 'HTML page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '503': problem('The dashboard was not built (npm run build).'),
        },
      },
    },
    '/ui/': {
      get: {
        operationId: 'dashboardWithSlash',
        summary: 'The web dashboard, the same page as /ui',
        tags: ['system'],
        responses: {
          '200': {
            description: 'HTML page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '503': problem('The dashboard was not built (npm run build).'),
        },
      },
    },
    '/ui/assets/{file}': {
      get: {
        operationId: 'dashboardAsset',
        summary: "The dashboard's script, stylesheet and icon",
        tags: ['system'],
        parameters: [
          {
            name: 'file',
            in: 'path',
            required: true,
            description: `The file: ${Object.keys(UI_ASSETS).join(', ')}.`,
            schema: {
              type: 'string',
              pattern: `^(${Object.keys(UI_ASSETS)
                .map((f) => f.replaceAll('.', '\\.'))
                .join('|')})$`,
            },
          },
        ],
        responses: {
          '200': { description: 'The file, with an ETag.' },
          '304': { description: 'Unchanged since the If-None-Match ETag.' },
          '400': bad,
          '503': problem('The dashboard was not built (npm run build).'),
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
    '/docs/{asset}': {
      get: {
        operationId: 'docsAsset',
        summary: 'An asset of the Swagger UI page, from the installed swagger-ui-dist package',
        tags: ['system'],
        parameters: [
          {
            name: 'asset',
            in: 'path',
            required: true,
            description: 'One of the files the /docs page references.',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': { description: 'The file (CSS, JavaScript or an icon).' },
          '400': {
            description: 'Not a file the /docs page references (problem+json naming `asset`).',
          },
        },
      },
    },
  };
  out['/v1/workloads/{id}/signals/{name}'] = signalPath();
  for (const [command, effect] of Object.entries(COMMAND_EFFECTS)) {
    out[`/v1/workloads/{id}/${command}`] = commandPath(command, effect);
    out[`/v1/workloads/${command}`] = bulkCommandPath(command, effect);
  }
  return secure(out);
}

/** The OpenAPI 3.1 document of the API, generated from the JSON Schemas in `schemas/`. */
export function buildOpenApi(): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Niyanta API',
      version: '1.0.0',
      description:
        'Submit, query and control workloads. Every /v1 request needs `Authorization: Bearer <API key>`. Errors are application/problem+json (RFC 9457).',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [
      { name: 'workloads' },
      { name: 'workers' },
      { name: 'schedules' },
      { name: 'tenants' },
      { name: 'api-keys' },
      { name: 'secrets' },
      { name: 'audit' },
      { name: 'dead-letters' },
      { name: 'system' },
    ],
    paths: paths(),
    components: {
      schemas: components(),
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key (`nyk_<id>_<secret>`) of one tenant and role, or the installation root key (API_ROOT_KEY).',
        },
      },
    },
  };
}
