import { withEffectivePriority } from '@niyanta/db';
import type { WorkloadV1 } from '@niyanta/messages';
import type { ApiContext } from './api-context.js';
import { API_SETTINGS } from './config.js';

/**
 * A workload as the API shows it one at a time (GET, a submission's answer, an event stream's
 * status event): with its `effectivePriority` at PRIORITY_AGING_MS.
 */
export function shownWorkload(ctx: Pick<ApiContext, 'priorityAgingMs'>, w: WorkloadV1): WorkloadV1 {
  return withEffectivePriority(w, ctx.priorityAgingMs ?? API_SETTINGS.PRIORITY_AGING_MS.default);
}
