import { COMPLETION_SHELLS } from './completion.js';
import type { Command, Flag } from './command.js';
import { GLOBAL_FLAGS } from './global-flags.js';

function flagLines(flags: Record<string, Flag>): string[] {
  const rows = Object.entries(flags).map(([name, f]) => [
    `${f.short ? `-${f.short}, ` : '    '}--${name}${f.value ? ` <${f.value}>` : ''}`,
    f.description,
  ]);
  const w = Math.max(...rows.map(([a]) => a!.length));
  return rows.map(([a, b]) => `  ${a!.padEnd(w)}  ${b}`);
}

/** `niyanta <command> --help`. */
export function commandHelp(c: Command): string {
  return [
    `${c.summary}.`,
    '',
    `Usage: niyanta ${c.name}${c.args ? ` ${c.args}` : ''} [flags]`,
    ...(Object.keys(c.flags).length ? ['', 'Flags:', ...flagLines(c.flags)] : []),
    '',
    'Global flags:',
    ...flagLines(GLOBAL_FLAGS),
    '',
    'Examples:',
    ...c.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

/** `niyanta --help`. */
export function mainHelp(commands: readonly Command[]): string {
  const w = Math.max(...commands.map((c) => `${c.name} ${c.args}`.length));
  return [
    'niyanta: submit, follow and operate Niyanta workloads over its HTTP API.',
    '',
    'Usage: niyanta <command> [args] [flags]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${`${c.name} ${c.args}`.padEnd(w)}  ${c.summary}`),
    `  ${'completion bash|zsh'.padEnd(w)}  Print a shell completion script:`,
    ...Object.values(COMPLETION_SHELLS).map((how) => `  ${''.padEnd(w)}    ${how}`),
    '',
    'Global flags:',
    ...flagLines(GLOBAL_FLAGS),
    '',
    'Configuration: flags, then NIYANTA_URL / NIYANTA_API_KEY / NIYANTA_TENANT, then the',
    'current context of ~/.config/niyanta/config.json (NIYANTA_CONFIG names another file).',
    '',
    'Exit codes: 0 ok; 1 the workload failed or was cancelled (submit --wait, watch);',
    '2 usage error; 3 API error (the problem details are printed); 4 cannot connect;',
    '130 interrupted while following (the workload keeps running).',
    '',
    'Examples:',
    `  niyanta submit sleep --input '{"durationMs": 3000}' --wait`,
    '  niyanta ls --status RUNNING',
    '  niyanta logs <id> -f',
    '',
    "Run 'niyanta <command> --help' for a command's flags and examples.",
    '',
  ].join('\n');
}
