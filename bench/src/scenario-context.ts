import type { BenchArgs } from './args.js';
import type { Progress } from './progress.js';

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
  figures: Record<string, unknown>;
  table: TableRow[];
  settings: Record<string, unknown>;
}
