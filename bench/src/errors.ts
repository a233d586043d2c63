/** Base error of the benchmark: every error it throws on purpose is one of these. */
export class BenchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchError';
  }
}

/** The command line is wrong; the message says what to type instead. */
export class UsageError extends BenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** A scenario could not finish (a stall, a refused submission, a service that died). */
export class ScenarioError extends BenchError {
  readonly scenario: string;

  constructor(scenario: string, message: string, options?: { cause?: unknown }) {
    super(`${scenario}: ${message}`, options);
    this.name = 'ScenarioError';
    this.scenario = scenario;
  }
}

/** The run was interrupted (Ctrl-C / SIGTERM). */
export class BenchAbortedError extends BenchError {
  constructor(options?: { cause?: unknown }) {
    super('interrupted: servers stopped, no result written', options);
    this.name = 'BenchAbortedError';
  }
}
