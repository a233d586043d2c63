import { Hono } from 'hono';
import {
  FINAL_STATUSES,
  MessageTooLargeError,
  SUBJECTS,
  WORKLOAD_STATUS,
  envelope,
  publishAll,
} from '@niyanta/messages';
import type { CommandV1, WorkloadStatus, WorkloadV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';
import { MAX_BODY_BYTES, readBody } from '../body.js';
import { BrokerPayloadTooLargeError, ConflictError, UnavailableError } from '../errors.js';
import { parseWorkloadId } from '../params.js';
import { requireWorkload } from '../workload-store.js';

/** The commands a user sends over HTTP, each with the statuses it applies to. */
export const HTTP_COMMANDS = {
  cancel: { allowed: (s: WorkloadStatus) => !FINAL_STATUSES.includes(s) },
  pause: {
    allowed: (s: WorkloadStatus) =>
      s === WORKLOAD_STATUS.PENDING ||
      s === WORKLOAD_STATUS.SCHEDULED ||
      s === WORKLOAD_STATUS.RUNNING ||
      s === WORKLOAD_STATUS.WAITING,
  },
  resume: { allowed: (s: WorkloadStatus) => s === WORKLOAD_STATUS.PAUSED },
} as const satisfies Record<string, { allowed: (s: WorkloadStatus) => boolean }>;
export type HttpCommand = keyof typeof HTTP_COMMANDS;

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
      : `workload ${id} is ${status}: only a PENDING, SCHEDULED, RUNNING or WAITING workload can be paused`;
  return new ConflictError(detail, id, status);
}

/**
 * Publishes commands of one tenant to the scheduler, their acks awaited together: 413 when one is
 * larger than the broker takes (none sent), 503 when the broker does not take them.
 */
export async function sendCommands(
  ctx: ApiContext,
  tenant: string,
  command: HttpCommand | 'signal',
  messages: readonly CommandV1[],
  traceparent: string | undefined,
): Promise<void> {
  try {
    await publishAll(
      ctx.connections.nats().js,
      messages.map((message) => ({
        kind: 'command' as const,
        subject: SUBJECTS.command(tenant),
        message,
        traceparent: traceparent ?? null,
      })),
    );
  } catch (err) {
    if (err instanceof UnavailableError) throw err;
    if (err instanceof MessageTooLargeError)
      throw new BrokerPayloadTooLargeError(`the ${command} command`, '', err.size, err.limit, {
        cause: err,
      });
    throw new UnavailableError(
      messages.length === 1
        ? `the message broker did not accept the ${command} command: nothing was sent; retry shortly`
        : `the message broker did not accept every ${command} command: retry shortly (a command sent twice changes nothing more)`,
      { cause: err },
    );
  }
}

/** Cancel, pause and resume: checked against the current status, then sent to the scheduler. */
export function workloadCommandRoutes(ctx: ApiContext): Hono {
  const app = new Hono();
  for (const command of Object.keys(HTTP_COMMANDS) as HttpCommand[]) {
    app.post(`/v1/workloads/:id/${command}`, async (c) => {
      const { tenant } = requirePermission(c, 'workloads:operate');
      const id = parseWorkloadId(c.req.param('id'));
      // The optional body `{ reason? }` (schemas/http/workload-command.v1.json).
      const body = await readBody(c, {
        schema: 'workloadCommand',
        limitBytes: MAX_BODY_BYTES,
        optional: true,
      });
      const reason = body?.reason;
      const workload = await requireWorkload(ctx.connections.db(), tenant, id);
      if (!HTTP_COMMANDS[command].allowed(workload.status)) throw refusal(command, workload);
      const message: CommandV1 = {
        ...envelope(),
        workloadId: id,
        command,
        ...(reason === undefined ? {} : { reason }),
      };
      await sendCommands(ctx, tenant, command, [message], c.req.header('traceparent'));
      return c.json(workload, 202);
    });
  }
  return app;
}
