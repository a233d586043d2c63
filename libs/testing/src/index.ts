export { MissingBinaryError, ServerStartError, TestingError, WaitTimeoutError } from './errors.js';
export { deadLetterRow } from './dead-letter-row.js';
export { freePort } from './free-port.js';
export { waitFor } from './wait-for.js';
export { repoRoot } from './repo-root.js';
export type { WaitForOptions } from './wait-for.js';
export { hasContainerRuntime } from './container-runtime.js';
export { NATS_INSTALL_HINT, startNatsServer } from './nats-server.js';
export type { NatsServerHandle, NatsServerOptions } from './nats-server.js';
export {
  BROKER_ROLES,
  brokerConfigFile,
  brokerPermissionsFile,
  passwordVariable,
  startSecuredNatsServer,
} from './secured-nats.js';
export type { BrokerRole, SecuredNats } from './secured-nats.js';
export { POSTGRES_BIN_ENV, startPostgresServer } from './postgres-server.js';
export type { PostgresHandle, PostgresServerOptions } from './postgres-server.js';
export { createTestDatabase, TEST_PG_ENV } from './test-database.js';
export type { TestDatabase } from './test-database.js';
export { SERVICE_NAMES, startNodeProcess, startServiceProcess } from './service-process.js';
export type { ServiceName, ServiceProcess, ServiceProcessOptions } from './service-process.js';
export type { ExitInfo } from './managed-child.js';
export { waitForHttpReady } from './http-ready.js';
export { S3_REGION, S3_TEST_BUCKET, startS3Server } from './s3-server.js';
export type { S3Handle } from './s3-server.js';
export { s3Request, signS3Request } from './s3-request.js';
export type { S3Credentials } from './s3-request.js';
