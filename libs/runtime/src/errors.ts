/** Base error of `@niyanta/runtime`. */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
}

/** One or more settings are missing or malformed; `problems` names each. */
export class ConfigError extends RuntimeError {
  override name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}
