import type { ApiKeysTable } from './tables/api-keys.js';
import type { AuditLogTable } from './tables/audit-log.js';
import type { CheckpointsTable } from './tables/checkpoints.js';
import type { DeadLettersTable } from './tables/dead-letters.js';
import type { LeadershipTable } from './tables/leadership.js';
import type { PlacementExplanationsTable } from './tables/placement-explanations.js';
import type { ScheduleCursorsTable, SchedulesTable } from './tables/schedules.js';
import type { SecretsTable } from './tables/secrets.js';
import type { ServiceInstancesTable } from './tables/service-instances.js';
import type { RejectedSubmissionsTable } from './tables/rejected-submissions.js';
import type { TenantsTable } from './tables/tenants.js';
import type { WorkersTable } from './tables/workers.js';
import type { WorkloadDependenciesTable } from './tables/workload-dependencies.js';
import type { WorkloadEventsTable } from './tables/workload-events.js';
import type { WorkloadsTable } from './tables/workloads.js';

/** The whole schema, for `Kysely<Database>`. */
export interface Database {
  tenants: TenantsTable;
  workloads: WorkloadsTable;
  workload_events: WorkloadEventsTable;
  workers: WorkersTable;
  checkpoints: CheckpointsTable;
  rejected_submissions: RejectedSubmissionsTable;
  dead_letters: DeadLettersTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  secrets: SecretsTable;
  leadership: LeadershipTable;
  service_instances: ServiceInstancesTable;
  placement_explanations: PlacementExplanationsTable;
  schedules: SchedulesTable;
  schedule_cursors: ScheduleCursorsTable;
  workload_dependencies: WorkloadDependenciesTable;
}
