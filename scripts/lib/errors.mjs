// Errors the scripts report as a message (no stack): they say what failed and what to do.

/** A precondition or step failed; `message` is written for the person running the script. */
export class ScriptError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'ScriptError';
  }
}

/** Startup was interrupted by Ctrl-C / SIGTERM; not a failure. */
export class CancelledError extends Error {
  constructor(message = 'cancelled', options) {
    super(message, options);
    this.name = 'CancelledError';
  }
}
