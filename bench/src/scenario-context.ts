import type { BenchArgs } from './args.js';
import type { Progress } from './progress.js';
import type { ServerVersions } from './server-versions.js';

/** What every scenario gets. */
export interface ScenarioContext {
  args: BenchArgs;
  progress: Progress;
  signal: AbortSignal;
  /** The run's timestamp (file names, labels). */
  stamp: string;
}

/** One line of the summary table. */
export interface TableRow {
  figure: string;
  value: string;
  target?: string;
  verdict?: string;
}

/** What a scenario hands back: its figures (merged into the result file) and its table. */
export interface ScenarioReport {
  n: number;
  /** The PostgreSQL and nats-server measured (scenarios that start or reach them). */
  servers?: ServerVersions;
  figures: Record<string, unknown>;
  table: TableRow[];
  settings: Record<string, unknown>;
}
