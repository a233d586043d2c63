export { main, COMMANDS } from './main.js';
export { EXIT, UsageError, CliFailure } from './exit-codes.js';
export type { ExitCode } from './exit-codes.js';
export { formatTable, formatData } from './output.js';
export { progressBar } from './progress.js';
