import type { WorkloadSubmissionV1 } from '@niyanta/messages';
import type { SubmitContext } from './submit-context.js';
import { ValidationError } from './errors.js';
import type { RequestFieldError } from './errors.js';

/**
 * Checks that every secret the submissions name exists in their tenant; 400 naming each unknown
 * one (by its pointer) otherwise. One query for a whole batch.
 */
export async function checkSecretNames(
  ctx: SubmitContext,
  bodies: readonly { index: number; body: WorkloadSubmissionV1 }[],
  pointer: (index: number) => string,
): Promise<void> {
  const names = new Set(bodies.flatMap(({ body }) => body.secrets ?? []));
  if (names.size === 0) return;
  const rows = await ctx.connections
    .db()
    .selectFrom('secrets')
    .select('name')
    .where('tenant', '=', ctx.tenant)
    .where('name', 'in', [...names])
    .execute();
  const known = new Set(rows.map((r) => r.name));
  const errors: RequestFieldError[] = [];
  for (const { index, body } of bodies) {
    (body.secrets ?? []).forEach((name, j) => {
      if (!known.has(name)) {
        errors.push({
          path: `${pointer(index)}/secrets/${j}`,
          in: 'body',
          message: `no secret "${name}" in tenant ${ctx.tenant}`,
        });
      }
    });
  }
  if (errors.length > 0) {
    throw new ValidationError(
      `the submission names secrets its tenant does not have: create them with PUT /v1/secrets/{name} first`,
      errors,
    );
  }
}
