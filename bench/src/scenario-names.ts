/** The scenarios `--scenario` accepts. */
export const SCENARIOS = {
  throughput: 'throughput',
  latency: 'latency',
  recovery: 'recovery',
  placement: 'placement',
  running: 'running',
  failover: 'failover',
} as const;
export type ScenarioName = (typeof SCENARIOS)[keyof typeof SCENARIOS];

/** Submission paths of `throughput`. */
export const SUBMIT_PATHS = { http: 'http', broker: 'broker' } as const;
export type SubmitPath = (typeof SUBMIT_PATHS)[keyof typeof SUBMIT_PATHS];

/** Heartbeat settings of `recovery`: the services' defaults, or 500 ms / 2 s. */
export const HEARTBEAT_MODES = { default: 'default', fast: 'fast' } as const;
export type HeartbeatMode = (typeof HEARTBEAT_MODES)[keyof typeof HEARTBEAT_MODES];

/** Processes `--profile` can take a CPU profile of. */
export const PROFILE_TARGETS = {
  api: 'api',
  scheduler: 'scheduler',
  healthMonitor: 'health-monitor',
  checkpoint: 'checkpoint',
  worker: 'worker',
} as const;
export type ProfileTarget = (typeof PROFILE_TARGETS)[keyof typeof PROFILE_TARGETS];
