import type { Niyanta } from '@niyanta/client';
import type { Context } from './config-file.js';
import type { ExitCode } from './exit-codes.js';
import type { Column, OutputFormat } from './output.js';
import type { Io, Style } from './style.js';

/** A flag of a command (node:util parseArgs option, plus its help text). */
export interface Flag {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  description: string;
  /** Shown in help as the value's name: `--priority <n>`. */
  value?: string;
  /** The values it takes, when they are a closed set (shell completion offers them). */
  choices?: readonly string[];
}

/** What a command runs with. */
export interface RunContext {
  io: Io;
  style: Style;
  output: OutputFormat;
  /** The client for the chosen API (made on first use, so `context` and `completion` need none). */
  client(): Niyanta;
  /** Where the config file is, and the context in use. */
  configPath: string;
  context: { name: string | undefined; value: Context };
  /** Prints rows as a table, or the data as JSON/YAML. */
  printRows<T>(rows: readonly T[], columns: readonly Column<T>[], data?: unknown): void;
  /** Prints a value as JSON/YAML, or with `table` as the lines `human` makes. */
  printValue(data: unknown, human: () => string): void;
}

/** One command: `niyanta <name> ...`. */
export interface Command {
  /** One or two words: `submit`, `tenants create`. */
  name: string;
  summary: string;
  /** Positional arguments as shown in usage: `<type>`, `<id...>`. */
  args: string;
  flags: Record<string, Flag>;
  examples: string[];
  run(
    ctx: RunContext,
    positionals: string[],
    values: Record<string, string | boolean | string[] | undefined>,
  ): Promise<ExitCode>;
}
