import { Hono } from 'hono';
import type { Context } from 'hono';
import type { HttpTypes, WorkloadBatchV1, WorkloadSubmissionV1 } from '@niyanta/messages';
import { SCHEDULE_KEY_PREFIX } from '@niyanta/schedules';
import type { ApiContext } from '../api-context.js';
import { API_SETTINGS } from '../config.js';
import { requirePermission } from '../auth/principal.js';
import { MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES, describeBodyErrors, readBody } from '../body.js';
import { ProblemError, ValidationError } from '../errors.js';
import type { RequestFieldError } from '../errors.js';
import { SUBMISSION_OUTCOME } from '../metrics.js';
import {
  decodeCursor,
  encodeCursor,
  parseIntParam,
  parseLabelParam,
  parseParentIdParam,
  parseScheduleIdParam,
  parseStatusParam,
  parseTypeParam,
  parseWorkloadId,
} from '../params.js';
import { withWaitingFor } from '../waiting-for.js';
import { shownWorkload } from '../shown-workload.js';
import { submitWorkloads } from '../submissions.js';
import { checkBatchGraph } from '../dependency-graph.js';
import { childrenSummary } from '../workload-children.js';
import { withDependencies } from '../workload-dependencies.js';
import { listWorkloads, requireWorkload } from '../workload-store.js';

export const LIST_LIMIT = { min: 1, max: 500, default: 50 } as const;

const workloadPath = (id: string) => `/v1/workloads/${id}`;

/** Reads a valid body; counts a refusal of the submissions on any 4xx. */
async function readValid<K extends 'workloadSubmission' | 'workloadBatch'>(
  ctx: ApiContext,
  c: Context,
  schema: K,
  limitBytes: number,
  extraCheck?: (value: HttpTypes[K]) => RequestFieldError[],
): Promise<HttpTypes[K]> {
  try {
    const body = await readBody(c, { schema, limitBytes });
    const errors = extraCheck?.(body) ?? [];
    if (errors.length > 0) throw new ValidationError(describeBodyErrors(errors), errors);
    return body;
  } catch (err) {
    if (err instanceof ProblemError && err.status < 500)
      ctx.metrics.submissions.inc({ outcome: SUBMISSION_OUTCOME.refused });
    throw err;
  }
}

/** `schedule:` keys name a schedule's firings (GET shows their scheduleId): only firings use them. */
function reservedKeys(bodies: readonly WorkloadSubmissionV1[], pointer: (i: number) => string) {
  const errors: RequestFieldError[] = [];
  bodies.forEach((b, i) => {
    if (b.idempotencyKey?.startsWith(SCHEDULE_KEY_PREFIX) === true)
      errors.push({
        path: `${pointer(i)}/idempotencyKey`,
        in: 'body',
        message: `starts with "${SCHEDULE_KEY_PREFIX}", which is kept for the firings of schedules: choose another key`,
      });
  });
  return errors;
}

/** A second use of an idempotency key inside one batch would make two answers for one key. */
function duplicateKeys(batch: WorkloadBatchV1): RequestFieldError[] {
  const firstIndex = new Map<string, number>();
  const errors: RequestFieldError[] = [];
  batch.workloads.forEach((w, i) => {
    if (w.idempotencyKey === undefined) return;
    const first = firstIndex.get(w.idempotencyKey);
    if (first === undefined) firstIndex.set(w.idempotencyKey, i);
    else
      errors.push({
        path: `/workloads/${i}/idempotencyKey`,
        in: 'body',
        message: `repeats the key of /workloads/${first}/idempotencyKey`,
      });
  });
  return errors;
}

/** Submissions, queries of workloads. */
export function workloadRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.post('/v1/workloads', async (c) => {
    const principal = requirePermission(c, 'workloads:submit');
    const body = await readValid(ctx, c, 'workloadSubmission', MAX_BODY_BYTES, (b) =>
      reservedKeys([b], () => ''),
    );
    const [result] = await submitWorkloads(ctx, principal, [body], c.req.header('traceparent'));
    const { kind, workload } = result!;
    if (kind === 'replayed')
      return c.json(workload, 200, {
        'Idempotent-Replayed': 'true',
        Location: workloadPath(workload.id),
      });
    return c.json(workload, kind === 'created' ? 201 : 202, {
      Location: workloadPath(workload.id),
    });
  });

  app.post('/v1/workloads/batch', async (c) => {
    const principal = requirePermission(c, 'workloads:submit');
    const batch = await readValid(ctx, c, 'workloadBatch', MAX_BATCH_BODY_BYTES, (b) => [
      ...reservedKeys(b.workloads, (i) => `/workloads/${i}`),
      ...duplicateKeys(b),
      ...checkBatchGraph(b.workloads, (i) => `/workloads/${i}`).errors,
    ]);
    const results = await submitWorkloads(
      ctx,
      principal,
      batch.workloads,
      c.req.header('traceparent'),
      (i) => `/workloads/${i}`,
    );
    const allPersisted = results.every((r) => r.kind !== 'submitted');
    const answer: { items: (typeof results)[number]['workload'][]; refs?: Record<string, string> } =
      { items: results.map((r) => r.workload) };
    batch.workloads.forEach((w, i) => {
      if (w.ref !== undefined) (answer.refs ??= {})[w.ref] = results[i]!.workload.id;
    });
    return c.json(answer, allPersisted ? 201 : 202);
  });

  app.get('/v1/workloads', async (c) => {
    const { tenant } = requirePermission(c, 'workloads:read');
    const status = parseStatusParam(c.req.query('status'));
    const type = parseTypeParam(c.req.query('type'));
    const label = parseLabelParam(c.req.query('label'));
    const scheduleId = parseScheduleIdParam(c.req.query('scheduleId'));
    const parentId = parseParentIdParam(c.req.query('parentId'));
    const limit = parseIntParam('limit', c.req.query('limit'), LIST_LIMIT);
    const beforeId = decodeCursor(c.req.query('cursor'));
    const page = await listWorkloads(ctx.connections.db(), tenant, {
      limit,
      maxBytes: ctx.listMaxBytes ?? API_SETTINGS.LIST_MAX_BYTES.default,
      ...(status === undefined ? {} : { status }),
      ...(type === undefined ? {} : { type }),
      ...(label === undefined ? {} : { label }),
      ...(scheduleId === undefined ? {} : { scheduleId }),
      ...(parentId === undefined ? {} : { parentId }),
      ...(beforeId === undefined ? {} : { beforeId }),
    });
    return c.json({
      items: page.items,
      nextCursor: page.more && page.lastId !== undefined ? encodeCursor(page.lastId) : null,
    });
  });

  app.get('/v1/workloads/:id', async (c) => {
    const { tenant } = requirePermission(c, 'workloads:read');
    const id = parseWorkloadId(c.req.param('id'));
    const db = ctx.connections.db();
    const workload = await withWaitingFor(db, await requireWorkload(db, tenant, id));
    const children = await childrenSummary(db, tenant, id);
    const shown = await withDependencies(db, workload);
    return c.json(shownWorkload(ctx, children === undefined ? shown : { ...shown, children }));
  });

  return app;
}
