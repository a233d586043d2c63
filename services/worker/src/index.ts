export { loadConfig, defaultWorkerId } from './config.js';
export type { WorkerConfig } from './config.js';
export { start, ASSIGN_MAX_ACK_PENDING } from './worker.js';
export type { Worker } from './worker.js';
export { createWorkerLogger } from './logger.js';
export { WorkerError, DuplicateWorkloadTypeError } from './errors.js';
export { CheckpointPublishError, PROGRESS_MIN_GAP_MS, STARTED_REPORT_DELAY_MS } from './run.js';
export {
  COMPLETION_BATCH_MAX,
  COMPLETION_BATCH_MAX_BYTES,
  COMPLETION_LINGER_MS,
  COMPLETION_MAX_BYTES,
} from './completion.js';
export { CheckpointStorage, CheckpointUploadError, RESTORE_FAILURES } from './checkpoint-upload.js';
export type { RestoreFailure } from './checkpoint-upload.js';
export { WORKER_STATUS } from './heartbeat.js';
export type { WorkerStatus } from './heartbeat.js';
export { LOG_FLUSH_MS, LOG_MAX_LINES, LOG_LINE_MAX_CHARS } from './log-buffer.js';
export { builtinWorkloads } from './workloads/index.js';
