import type { ApiContext } from './api-context.js';

/** The API's context narrowed to one tenant and submitter: what a submission works with. */
export interface SubmitContext extends ApiContext {
  tenant: string;
  /** Key id (or `root`, `anonymous`) recorded on the workload row as its submitter. */
  submittedBy: string;
}
