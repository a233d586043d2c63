/** The scenarios `--scenario` accepts. */
export const SCENARIOS = {
  throughput: 'throughput',
  latency: 'latency',
  recovery: 'recovery',
  placement: 'placement',
  running: 'running',
  failover: 'failover',
  fanout: 'fanout',
} as const;
export type ScenarioName = (typeof SCENARIOS)[keyof typeof SCENARIOS];

/** Submission paths of `throughput`. */
export const SUBMIT_PATHS = { http: 'http', broker: 'broker' } as const;
export type SubmitPath = (typeof SUBMIT_PATHS)[keyof typeof SUBMIT_PATHS];

/** Heartbeat settings of `recovery`: the services' defaults, or 500 ms / 2 s. */
export const HEARTBEAT_MODES = { default: 'default', fast: 'fast' } as const;
export type HeartbeatMode = (typeof HEARTBEAT_MODES)[keyof typeof HEARTBEAT_MODES];

/**
 * How the control plane runs: each service its own process, or api, scheduler, health-monitor
 * and checkpoint in one (services/all). Workers are their own processes in both.
 */
export const LAYOUTS = { split: 'split', single: 'single' } as const;
export type Layout = (typeof LAYOUTS)[keyof typeof LAYOUTS];

/** The queue `throughput` measures beside Niyanta in the same run, or none. */
export const PEERS = { bullmq: 'bullmq', none: 'none' } as const;
export type Peer = (typeof PEERS)[keyof typeof PEERS];

/**
 * Processes `--profile` can take a CPU profile of. In the single layout every hosted service
 * (and `all`) names the one process that hosts them.
 */
export const PROFILE_TARGETS = {
  all: 'all',
  api: 'api',
  scheduler: 'scheduler',
  healthMonitor: 'health-monitor',
  checkpoint: 'checkpoint',
  worker: 'worker',
} as const;
export type ProfileTarget = (typeof PROFILE_TARGETS)[keyof typeof PROFILE_TARGETS];
