export { createDb, PREPARED, settingOptions } from './connection.js';
export { readWorkloadAttempts } from './attempts.js';
export { recordDeadLetters } from './dead-letters.js';
export type { DeadLetterRecord } from './dead-letters.js';
export type { WorkloadAttemptRow } from './attempts.js';
export type { DbOptions } from './connection.js';
export { migrateDb, migrateToLatest, MigrationError } from './migrate.js';
export { MIGRATIONS } from './migrations/index.js';
export type { Database } from './database.js';
export type { WorkloadsTable } from './tables/workloads.js';
export type { WorkloadEventsTable } from './tables/workload-events.js';
export type { WorkloadDependenciesTable } from './tables/workload-dependencies.js';
export type { WorkersTable } from './tables/workers.js';
export type { CheckpointsTable } from './tables/checkpoints.js';
export type { RejectedSubmissionsTable } from './tables/rejected-submissions.js';
export type { DeadLettersTable } from './tables/dead-letters.js';
export type { TenantsTable, TenantQuotas, TenantRateLimit } from './tables/tenants.js';
export type { ApiKeysTable } from './tables/api-keys.js';
export type { AuditLogTable } from './tables/audit-log.js';
export type { SecretsTable } from './tables/secrets.js';
export type { LeadershipTable } from './tables/leadership.js';
export type { ServiceInstancesTable } from './tables/service-instances.js';
export type {
  ExplainedWorker,
  PlacementExplanation,
  PlacementExplanationsTable,
} from './tables/placement-explanations.js';
export type { ScheduleCursorsTable, ScheduleOverlap, SchedulesTable } from './tables/schedules.js';
export { toWorkload, withEffectivePriority } from './mappers/workload.js';
export { effectivePriority, PRIORITY_MAX } from './effective-priority.js';
export { isoTimestamp, parseTimestamptz } from './timestamps.js';
export type { WorkloadRow } from './mappers/workload.js';
export type { WorkloadPlacement } from './tables/workload-placement.js';
