import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as fc from 'fast-check';

/**
 * How many runs and which seed a property uses: FUZZ_RUNS (default: the property's own small
 * count, so `npm test` stays quick) and FUZZ_SEED (default: a new one, printed on failure).
 * `npm run fuzz` sets a large FUZZ_RUNS and FUZZ_REPORT_DIR, where each suite leaves its figures.
 */
export interface FuzzSettings {
  runs: number;
  seed: number;
  /** The environment that replays this run: `FUZZ_SEED=… FUZZ_RUNS=…`. */
  replay: string;
}

function intFromEnv(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n))
    throw new Error(`${name} is "${value}". Expected an integer (e.g. ${name}=1000).`);
  return n;
}

/** The settings of a property whose default run count is `defaultRuns`. */
export function fuzzSettings(defaultRuns: number): FuzzSettings {
  const runs = intFromEnv('FUZZ_RUNS') ?? defaultRuns;
  if (runs < 1) throw new Error(`FUZZ_RUNS is ${runs}. Expected at least 1.`);
  const seed = intFromEnv('FUZZ_SEED') ?? Math.floor(Math.random() * 2 ** 31);
  return { runs, seed, replay: `FUZZ_SEED=${seed} FUZZ_RUNS=${runs}` };
}

/**
 * Runs `property` with the settings; a failure says how to replay it (fast-check names the seed
 * and the counterexample's path; this adds the command line).
 */
export async function assertProperty<T>(
  name: string,
  property: fc.IAsyncProperty<T>,
  settings: FuzzSettings,
  extra: Partial<fc.Parameters<T>> = {},
): Promise<void> {
  try {
    await fc.assert(property, { numRuns: settings.runs, seed: settings.seed, ...extra });
  } catch (err) {
    throw new Error(
      `${name} failed. Replay: ${settings.replay} npx jest ${expect.getState().testPath ?? ''}\n${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** A check after a property (accounting, liveness) that names the seed of the run before it. */
export function withReplay(settings: FuzzSettings, what: string, failures: string[]): void {
  if (failures.length === 0) return;
  throw new Error(`${what} (after the run with ${settings.replay}):\n- ${failures.join('\n- ')}`);
}

/** Figures one suite leaves for `npm run fuzz`'s summary. */
export interface FuzzReport {
  suite: string;
  seed: number;
  runs: number;
  requestsSent?: number;
  messagesSent?: number;
  status5xx?: number;
  /** Answers by status code. */
  statuses?: Record<string, number>;
  stalledConsumers?: string[];
  probes?: { name: string; ok: boolean; ms: number; failures: string[] }[];
  deadLetters?: Record<string, number>;
  rejectedSubmissions?: number;
  failures?: string[];
}

/** Writes the report to FUZZ_REPORT_DIR when set (by `npm run fuzz`); otherwise nothing. */
export function writeReport(report: FuzzReport): void {
  const dir = process.env.FUZZ_REPORT_DIR;
  if (dir === undefined || dir === '') return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${report.suite}.json`), `${JSON.stringify(report, null, 2)}\n`);
}
