/** The exit codes of `niyanta`, as documented in `niyanta --help` and the README. */
export const EXIT = {
  ok: 0,
  /** The workload ended FAILED or CANCELLED (submit --wait, watch), or the audit chain is broken. */
  workloadFailed: 1,
  /** Bad command, flag or value. */
  usage: 2,
  /** The API refused the request (its problem details are printed). */
  api: 3,
  /** The API could not be reached. */
  connect: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A command line that cannot be run: wrong command, flag or value. Exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    /** The command whose usage to point at. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** An expected failure with its own exit code and message (no stack). */
export class CliFailure extends Error {
  override name = 'CliFailure';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}
