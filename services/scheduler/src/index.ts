export { start } from './service.js';
export type { SchedulerService, StartOptions } from './service.js';
export { loadConfig } from './config.js';
export type { SchedulerConfig } from './config.js';
export { placeWorkloads } from './placement/place-workloads.js';
export type {
  PendingWorkload,
  Placement,
  PlacementResult,
  PlacementWorker,
  Resources,
  RunningWorkload,
  Strategy,
  Unplaced,
  WorkerUsage,
} from './placement/place-workloads.js';
export { retryBackoffMs } from './workload-core/decisions/backoff.js';
export { SchedulerError, PublishError } from './errors.js';
