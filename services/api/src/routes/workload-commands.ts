import { Hono } from 'hono';
import {
  FINAL_STATUSES,
  SUBJECTS,
  WORKLOAD_STATUS,
  envelope,
  publishOne,
  validateHttp,
} from '@niyanta/messages';
import type { CommandV1, WorkloadCommandV1, WorkloadStatus, WorkloadV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { MAX_BODY_BYTES, readOptionalJsonBody } from '../body.js';
import { ConflictError, UnavailableError, ValidationError } from '../errors.js';
import type { RequestFieldError } from '../errors.js';
import { jsonLimitErrors } from '../json-limits.js';
import { parseWorkloadId } from '../params.js';
import { requireWorkload } from '../workload-store.js';

/** The commands a user sends over HTTP, each with the statuses it applies to. */
export const HTTP_COMMANDS = {
  cancel: { allowed: (s: WorkloadStatus) => !FINAL_STATUSES.includes(s) },
  pause: {
    allowed: (s: WorkloadStatus) =>
      s === WORKLOAD_STATUS.PENDING ||
      s === WORKLOAD_STATUS.SCHEDULED ||
      s === WORKLOAD_STATUS.RUNNING,
  },
  resume: { allowed: (s: WorkloadStatus) => s === WORKLOAD_STATUS.PAUSED },
} as const satisfies Record<string, { allowed: (s: WorkloadStatus) => boolean }>;
export type HttpCommand = keyof typeof HTTP_COMMANDS;

/** The optional body `{ reason? }` (schemas/http/workload-command.v1.json). */
function parseCommandBody(body: unknown): WorkloadCommandV1 {
  if (body === undefined) return {};
  const errors: RequestFieldError[] = [
    ...jsonLimitErrors(body),
    ...validateHttp('workloadCommand', body).map((e) => ({ ...e, in: 'body' as const })),
  ];
  if (errors.length > 0) {
    throw new ValidationError(
      `invalid body: ${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`,
      errors,
    );
  }
  return body as WorkloadCommandV1;
}

const PAST_TENSE: Record<HttpCommand, string> = {
  cancel: 'cancelled',
  pause: 'paused',
  resume: 'resumed',
};

function refusal(command: HttpCommand, workload: WorkloadV1): ConflictError {
  const { id, status } = workload;
  const detail = FINAL_STATUSES.includes(status)
    ? `workload ${id} already ended with status ${status}: it cannot be ${PAST_TENSE[command]}`
    : command === 'resume'
      ? `workload ${id} is ${status}, not PAUSED: only a paused workload can be resumed`
      : `workload ${id} is ${status}: only a PENDING, SCHEDULED or RUNNING workload can be paused`;
  return new ConflictError(detail, id, status);
}

/** Cancel, pause and resume: checked against the current status, then sent to the scheduler. */
export function workloadCommandRoutes(ctx: ApiContext): Hono {
  const app = new Hono();
  for (const command of Object.keys(HTTP_COMMANDS) as HttpCommand[]) {
    app.post(`/v1/workloads/:id/${command}`, async (c) => {
      const id = parseWorkloadId(c.req.param('id'));
      const { reason } = parseCommandBody(await readOptionalJsonBody(c, MAX_BODY_BYTES));
      const workload = await requireWorkload(ctx.connections.db(), ctx.tenant, id);
      if (!HTTP_COMMANDS[command].allowed(workload.status)) throw refusal(command, workload);
      const message: CommandV1 = {
        ...envelope(),
        workloadId: id,
        command,
        ...(reason === undefined ? {} : { reason }),
      };
      try {
        await publishOne(ctx.connections.nats().js, {
          kind: 'command',
          subject: SUBJECTS.command(ctx.tenant),
          message,
          traceparent: c.req.header('traceparent') ?? null,
        });
      } catch (err) {
        if (err instanceof UnavailableError) throw err;
        throw new UnavailableError(
          `the message broker did not accept the ${command} command: nothing was sent; retry shortly`,
          { cause: err },
        );
      }
      return c.json(workload, 202);
    });
  }
  return app;
}
