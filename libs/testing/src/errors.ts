/** Base error of the test harness: every error it throws is one of these. */
export class TestingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TestingError';
  }
}

/** A server or process did not come up; `output` holds the tail of its log. */
export class ServerStartError extends TestingError {
  readonly server: string;
  readonly output: string;

  constructor(server: string, message: string, output: string, options?: { cause?: unknown }) {
    super(output ? `${message}\n--- last output of ${server} ---\n${output}` : message, options);
    this.name = 'ServerStartError';
    this.server = server;
    this.output = output;
  }
}

/** A binary the harness needs is not installed. */
export class MissingBinaryError extends TestingError {
  readonly binary: string;

  constructor(binary: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MissingBinaryError';
    this.binary = binary;
  }
}

/** `waitFor` reached its deadline. */
export class WaitTimeoutError extends TestingError {
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WaitTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}
