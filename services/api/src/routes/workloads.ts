import { Hono } from 'hono';
import type { Context } from 'hono';
import { validateHttp } from '@niyanta/messages';
import type { WorkloadBatchV1, WorkloadSubmissionV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES, readJsonBody } from '../body.js';
import { ProblemError, ValidationError } from '../errors.js';
import type { RequestFieldError } from '../errors.js';
import { jsonLimitErrors } from '../json-limits.js';
import { SUBMISSION_OUTCOME } from '../metrics.js';
import {
  decodeCursor,
  encodeCursor,
  parseIntParam,
  parseStatusParam,
  parseTypeParam,
  parseWorkloadId,
} from '../params.js';
import { submitWorkloads } from '../submissions.js';
import { listWorkloads, requireWorkload } from '../workload-store.js';

export const LIST_LIMIT = { min: 1, max: 500, default: 50 } as const;

const workloadPath = (id: string) => `/v1/workloads/${id}`;

function bodyErrors(errors: { path: string; message: string }[]): RequestFieldError[] {
  return errors.map((e) => ({ path: e.path, message: e.message, in: 'body' }));
}

function describe(errors: RequestFieldError[]): string {
  const shown = errors.slice(0, 5).map((e) => `${e.path || '/'} ${e.message}`);
  return `invalid body: ${shown.join('; ')}${errors.length > 5 ? `; and ${errors.length - 5} more` : ''}`;
}

/** Reads and validates a body; counts a refusal of `count` submissions on any 4xx. */
async function readValid<T>(
  ctx: ApiContext,
  c: Context,
  kind: 'workloadSubmission' | 'workloadBatch',
  limit: number,
  extraCheck?: (value: T) => RequestFieldError[],
): Promise<T> {
  try {
    const body = await readJsonBody(c, limit);
    const limits = jsonLimitErrors(body);
    const errors = limits.length > 0 ? limits : bodyErrors(validateHttp(kind, body));
    const all = errors.length > 0 ? errors : (extraCheck?.(body as T) ?? []);
    if (all.length > 0) throw new ValidationError(describe(all), all);
    return body as T;
  } catch (err) {
    if (err instanceof ProblemError && err.status < 500)
      ctx.metrics.submissions.inc({ outcome: SUBMISSION_OUTCOME.refused });
    throw err;
  }
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
    const body = await readValid<WorkloadSubmissionV1>(
      ctx,
      c,
      'workloadSubmission',
      MAX_BODY_BYTES,
    );
    const [result] = await submitWorkloads(ctx, [body], c.req.header('traceparent'));
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
    const batch = await readValid<WorkloadBatchV1>(
      ctx,
      c,
      'workloadBatch',
      MAX_BATCH_BODY_BYTES,
      duplicateKeys,
    );
    const results = await submitWorkloads(ctx, batch.workloads, c.req.header('traceparent'));
    const allPersisted = results.every((r) => r.kind !== 'submitted');
    return c.json({ items: results.map((r) => r.workload) }, allPersisted ? 201 : 202);
  });

  app.get('/v1/workloads', async (c) => {
    const status = parseStatusParam(c.req.query('status'));
    const type = parseTypeParam(c.req.query('type'));
    const limit = parseIntParam('limit', c.req.query('limit'), LIST_LIMIT);
    const beforeId = decodeCursor(c.req.query('cursor'));
    const page = await listWorkloads(ctx.connections.db(), ctx.tenant, {
      limit,
      ...(status === undefined ? {} : { status }),
      ...(type === undefined ? {} : { type }),
      ...(beforeId === undefined ? {} : { beforeId }),
    });
    return c.json({
      items: page.items,
      nextCursor: page.more && page.lastId !== undefined ? encodeCursor(page.lastId) : null,
    });
  });

  app.get('/v1/workloads/:id', async (c) => {
    const id = parseWorkloadId(c.req.param('id'));
    return c.json(await requireWorkload(ctx.connections.db(), ctx.tenant, id));
  });

  return app;
}
