export {
  parseConfig,
  streamLimits,
  COMMON_SETTINGS,
  CONSUMER_SETTINGS,
  DATABASE_SETTING,
  STREAM_SETTINGS,
} from './config.js';
export type { Setting, ConfigOf } from './config.js';
export { createLogger, setLogLevel } from './logger.js';
export { ENV_FILE_SETTING, applyEnvFile, parseEnvFile } from './env-file.js';
export type { Logger } from './logger.js';
export { connectNats } from './nats.js';
export { natsAuth, natsAuthProblems } from './nats-auth.js';
export type { NatsAuth, NatsAuthSettings } from './nats-auth.js';
export { redactUrl, REDACTED } from './redact.js';
export type { Nats } from './nats.js';
export { connectDatabase, redact } from './database.js';
export type { Db } from './database.js';
export { startHealthServer } from './health-server.js';
export type { HealthServer, ReadinessCheck } from './health-server.js';
export { Batcher } from './batcher.js';
export { consumeBatches, RETRY_MAX_MS, RETRY_MIN_MS } from './consumer.js';
export {
  DEAD_LETTER_ANNOUNCED_BYTES,
  DeadLetters,
  announcingDeadLetterSink,
  databaseDeadLetterSink,
  deadLetterAnnouncement,
  deadLetterFromAnnouncement,
  deadLetterOf,
} from './dead-letters.js';
export type { DeadLetterSink, DecodedMessage, Refusal } from './dead-letters.js';
export { TransientError, isTransientError } from './transient.js';
export type { BatchConsumer } from './consumer.js';
export { retryUntilDone, backoffMs } from './retry.js';
export { runMain, exitOnConfigError, serviceMain } from './main.js';
export type { Reloadable } from './main.js';
export { RuntimeError, ConfigError } from './errors.js';
export { every } from './periodic.js';
export {
  RECORD_RETENTION_DAYS,
  RETENTION_BATCH,
  RETENTION_BATCHES_PER_RUN,
  RETENTION_INTERVAL_MS,
  RETENTION_SETTING,
  runRetention,
} from './retention.js';
export type { RetentionStep } from './retention.js';
export type { Periodic } from './periodic.js';
export { openServiceConnections, ShutdownSteps } from './service-connections.js';
export type { ServiceConnections } from './service-connections.js';
export {
  DEFAULT_SECRET_KEY_ID,
  SecretOpenError,
  openSecret,
  parseSecretKeys,
  sealSecret,
} from './secret-box.js';
export type { SealedSecret, SecretKeys, SecretOwner } from './secret-box.js';
export {
  DEFAULT_LEADERSHIP_TIMINGS,
  FENCED_SQLSTATE,
  LEADERSHIP_SETTINGS,
  LED_SERVICES,
  ROLES,
  isFencedWrite,
  leaderApplicationName,
  leadershipProblem,
  leadershipTimings,
  newInstanceId,
  startLeadership,
} from './leadership.js';
export type {
  LeaderTerm,
  Leadership,
  LeadershipOptions,
  LeadershipTimings,
  LedService,
  Role,
} from './leadership.js';
export { INSTANCE_BEAT_MS, registerInstance } from './instance-registry.js';
export type { InstanceRegistration } from './instance-registry.js';
export { runWhenLeading } from './led-service.js';
export { takeOverConsumer } from './take-over-consumer.js';
