import { parseArgs } from 'node:util';
import {
  Niyanta,
  NiyantaApiError,
  NiyantaConfigError,
  NiyantaConnectionError,
} from '@niyanta/client';
import type { Command, Flag, RunContext } from './command.js';
import { ADMIN_COMMANDS } from './commands/admin.js';
import { CONTEXT_COMMANDS } from './commands/context.js';
import { WORKLOAD_COMMANDS } from './commands/workloads.js';
import { bashCompletion, zshCompletion } from './completion.js';
import { configPath, readConfig } from './config-file.js';
import type { Context } from './config-file.js';
import { CliFailure, EXIT, UsageError } from './exit-codes.js';
import { DEFAULT_URL, GLOBAL_FLAGS } from './global-flags.js';
import { commandHelp, mainHelp } from './help.js';
import { formatData, formatTable, parseOutput } from './output.js';
import { styleFor } from './style.js';
import type { Io } from './style.js';

/** Every command of `niyanta`. */
export const COMMANDS: readonly Command[] = [
  ...WORKLOAD_COMMANDS,
  ...ADMIN_COMMANDS,
  ...CONTEXT_COMMANDS,
];

type ParseOptions = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
>;

function parseOptions(flags: Record<string, Flag>): ParseOptions {
  return Object.fromEntries(
    Object.entries(flags).map(([name, f]) => [
      name,
      {
        type: f.type,
        ...(f.short ? { short: f.short } : {}),
        ...(f.multiple ? { multiple: true } : {}),
      },
    ]),
  );
}

/** The command the words name: two words (`tenants create`) before one (`submit`). */
function findCommand(words: string[]): Command | undefined {
  const two = words.slice(0, 2).join(' ');
  return COMMANDS.find((c) => c.name === two) ?? COMMANDS.find((c) => c.name === words[0]);
}

/** Runs `niyanta <argv>`; resolves with the exit code (never throws). */
export async function main(argv: string[], io: Partial<Io> = {}): Promise<number> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  const full: Io = {
    out: io.out ?? process.stdout,
    err: io.err ?? process.stderr,
    env: io.env ?? process.env,
    signal: io.signal ?? controller.signal,
  };
  if (io.signal === undefined) process.once('SIGINT', onSigint);
  try {
    return await runCli(argv, full);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

async function runCli(argv: string[], io: Io): Promise<number> {
  // A first, lenient pass finds the command words among flags and their values.
  const loose = parseArgs({
    args: argv,
    options: parseOptions(GLOBAL_FLAGS),
    strict: false,
    allowPositionals: true,
  });
  const style0 = styleFor(io, loose.values['no-color'] === true);
  const words = loose.positionals;
  if (words[0] === 'completion') {
    if (words[1] === 'bash') io.out.write(bashCompletion(COMMANDS));
    else if (words[1] === 'zsh') io.out.write(zshCompletion(COMMANDS));
    else return usage(io, new UsageError('completion takes bash or zsh'));
    return EXIT.ok;
  }
  if (words[0] === 'help') {
    const c = findCommand(words.slice(1));
    io.out.write(c ? commandHelp(c) : mainHelp(COMMANDS));
    return EXIT.ok;
  }
  const command = findCommand(words);
  if (command === undefined) {
    if (words.length === 0) {
      if (loose.values.help === true) {
        io.out.write(mainHelp(COMMANDS));
        return EXIT.ok;
      }
      io.err.write(mainHelp(COMMANDS));
      return EXIT.usage;
    }
    const group = COMMANDS.filter((c) => c.name.startsWith(`${words[0]} `));
    return usage(
      io,
      new UsageError(
        group.length > 0
          ? `${words[0]} needs one of: ${group.map((c) => c.name.split(' ')[1]).join(', ')}${words[1] ? ` (not ${JSON.stringify(words[1])})` : ''}`
          : `unknown command ${JSON.stringify(words[0])}. Run niyanta --help for the commands.`,
      ),
    );
  }
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...parseOptions(GLOBAL_FLAGS), ...parseOptions(command.flags) },
      strict: true,
      allowPositionals: true,
    });
    if (parsed.values.help === true) {
      io.out.write(commandHelp(command));
      return EXIT.ok;
    }
    const positionals = parsed.positionals.slice(command.name.split(' ').length);
    const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
    const ctx = await runContext(io, values);
    return await command.run(ctx, positionals, values);
  } catch (err) {
    return report(io, err, command, style0);
  }
}

async function runContext(io: Io, values: Record<string, unknown>): Promise<RunContext> {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const output = parseOutput(str(values.output));
  const style = styleFor(io, values['no-color'] === true);
  const path = configPath(io.env);
  let chosen: { name: string | undefined; value: Context } | undefined;
  const context = async () => {
    if (chosen) return chosen;
    const file = await readConfig(path);
    const name = str(values.context) ?? file.currentContext;
    if (
      name !== undefined &&
      file.contexts[name] === undefined &&
      str(values.context) !== undefined
    )
      throw new UsageError(`no context named ${JSON.stringify(name)} in ${path}`);
    chosen = { name, value: (name === undefined ? undefined : file.contexts[name]) ?? {} };
    return chosen;
  };
  const ctxValue = await context();
  let client: Niyanta | undefined;
  const width = () => (io.out.isTTY === true ? (io.out.columns ?? 80) : undefined);
  return {
    io,
    style,
    output,
    configPath: path,
    context: ctxValue,
    client() {
      const url = str(values.url) ?? str(io.env.NIYANTA_URL) ?? ctxValue.value.url ?? DEFAULT_URL;
      const apiKey = str(values['api-key']) ?? str(io.env.NIYANTA_API_KEY) ?? ctxValue.value.apiKey;
      const tenant = str(values.tenant) ?? str(io.env.NIYANTA_TENANT) ?? ctxValue.value.tenant;
      client ??= new Niyanta({
        url,
        ...(apiKey === undefined ? {} : { apiKey }),
        ...(tenant === undefined ? {} : { tenant }),
        retry: { maxRetries: 2 },
      });
      return client;
    },
    printRows(rows, columns, data) {
      if (output !== 'table') io.out.write(formatData(data ?? rows, output));
      else if (rows.length === 0) io.out.write(style.dim('(none)\n'));
      else io.out.write(formatTable(rows, columns, width(), style.bold));
    },
    printValue(data, human) {
      io.out.write(output === 'table' ? human() : formatData(data, output));
    },
  };
}

function usage(io: Io, err: UsageError): number {
  const style = styleFor(io, false);
  io.err.write(`${style.red('error:')} ${err.message}\n`);
  io.err.write(`Run 'niyanta ${err.command ? `${err.command} ` : ''}--help' for usage.\n`);
  return EXIT.usage;
}

function report(
  io: Io,
  err: unknown,
  command: Command,
  style: ReturnType<typeof styleFor>,
): number {
  const red = style.red('error:');
  if (err instanceof UsageError)
    return usage(io, new UsageError(err.message, err.command ?? command.name));
  if ((err as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS'))
    return usage(io, new UsageError((err as Error).message, command.name));
  if (err instanceof CliFailure) {
    io.err.write(`${red} ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof NiyantaApiError) {
    io.err.write(`${red} ${err.status} ${err.title}${err.detail ? `: ${err.detail}` : ''}\n`);
    for (const e of err.errors)
      io.err.write(`  ${e.path || '(body)'}${e.in ? ` (${e.in})` : ''}: ${e.message}\n`);
    return EXIT.api;
  }
  if (err instanceof NiyantaConnectionError) {
    io.err.write(`${red} ${err.message}\n`);
    return EXIT.connect;
  }
  if (err instanceof NiyantaConfigError) {
    io.err.write(`${red} ${err.message}\n`);
    return EXIT.usage;
  }
  io.err.write(`${red} ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.workloadFailed;
}
