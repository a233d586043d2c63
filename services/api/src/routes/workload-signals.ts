import { Hono } from 'hono';
import {
  FINAL_STATUSES,
  MAX_SIGNAL_PAYLOAD_BYTES,
  SIGNAL_NAME_PATTERN,
  envelope,
} from '@niyanta/messages';
import type { CommandV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';
import { readBody } from '../body.js';
import { ConflictError, ValidationError } from '../errors.js';
import { parseWorkloadId } from '../params.js';
import { requireWorkload } from '../workload-store.js';
import { sendCommands } from './workload-commands.js';

/** The `{name}` of a signal route: 400 naming it when it is not a signal name. */
function parseSignalName(value: string | undefined): string {
  if (value === undefined || !SIGNAL_NAME_PATTERN.test(value)) {
    throw new ValidationError(
      `signal name ${JSON.stringify((value ?? '').slice(0, 200))} is not valid: use 1-128 characters from A-Z a-z 0-9 _ . : -, starting with a letter or digit`,
      [{ path: 'name', in: 'path', message: 'must be a signal name' }],
    );
  }
  return value;
}

/**
 * `POST /v1/workloads/{id}/signals/{name}` with `{payload}`: sent to the scheduler as a `signal`
 * command on niyanta.command.<tenant>, which keeps it until the workload's
 * `ctx.waitForSignal(name)` takes it (at once if it already waits). The API writes no workload
 * state; the audit log records the request as it does every state-changing request.
 */
export function workloadSignalRoutes(ctx: ApiContext): Hono {
  const app = new Hono();
  app.post('/v1/workloads/:id/signals/:name', async (c) => {
    const { tenant } = requirePermission(c, 'workloads:submit');
    const id = parseWorkloadId(c.req.param('id'));
    const name = parseSignalName(c.req.param('name'));
    const body = await readBody(c, {
      schema: 'workloadSignal',
      limitBytes: MAX_SIGNAL_PAYLOAD_BYTES,
      optional: true,
    });
    const workload = await requireWorkload(ctx.connections.db(), tenant, id);
    if (FINAL_STATUSES.includes(workload.status)) {
      throw new ConflictError(
        `workload ${id} already ended with status ${workload.status}: no wait can take the signal "${name}"`,
        id,
        workload.status,
      );
    }
    const message: CommandV1 = {
      ...envelope(),
      workloadId: id,
      command: 'signal',
      signal: { name, payload: body?.payload ?? null },
    };
    await sendCommands(ctx, tenant, 'signal', [message], c.req.header('traceparent'));
    return c.json(workload, 202);
  });
  return app;
}
