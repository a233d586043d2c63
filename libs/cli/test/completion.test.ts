import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bashCompletion, zshCompletion } from '../src/completion.js';
import { COMMANDS } from '../src/main.js';

const run = promisify(execFile);
const ZSH_HARNESS = path.join(__dirname, 'fixtures', 'zsh-complete.zsh');
/** zsh is optional on a machine: its cases run where it is installed (apt-get install -y zsh). */
const ZSH = ['/usr/bin/zsh', '/bin/zsh'].find((p) => fs.existsSync(p));

// What a user types (before TAB) and the words each shell must offer.
const CASES: [string, string[]][] = [
  ['niyanta su', ['submit']],
  ['niyanta keys ', ['create', 'ls', 'revoke']],
  ['niyanta submit sleep --w', ['--wait']],
  ['niyanta keys create ci --r', ['--role']],
  ['niyanta keys create ci --role ', ['admin', 'operator', 'submitter', 'viewer']],
  ['niyanta ls --output ', ['json', 'table', 'yaml']],
  ['niyanta ls --status RU', ['RUNNING']],
  ['niyanta -o json ke', ['keys']],
  ['niyanta --context prod tenants c', ['create']],
  ['niyanta completion ', ['bash', 'zsh']],
  ['niyanta pla', ['placement']],
];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'niyanta-completion-'));
  fs.writeFileSync(path.join(dir, 'niyanta.bash'), bashCompletion(COMMANDS));
  fs.writeFileSync(path.join(dir, 'niyanta.zsh'), zshCompletion(COMMANDS));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function bashOffers(line: string): Promise<string[]> {
  const words = line.split(' ');
  const script = [
    `source ${JSON.stringify(path.join(dir, 'niyanta.bash'))}`,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    '_niyanta',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const { stdout } = await run('bash', ['-c', script], { timeout: 20_000 });
  return stdout.split('\n').filter((w) => w !== '');
}

async function zshOffers(zsh: string, line: string): Promise<string[]> {
  const { stdout } = await run(zsh, ['-f', ZSH_HARNESS, path.join(dir, 'niyanta.zsh'), line], {
    timeout: 20_000,
  });
  // The terminal may append its own redraw (spaces, escape sequences) to a printed line.
  const words = stdout
    .split('\n')
    .map((w) => w.split(new RegExp(`[\\s${String.fromCharCode(27)}]`))[0]!);
  return [...new Set(words.filter((w) => w !== ''))];
}

/**
 * The offers for `line`, asked again (at most 3 times) while they differ from `expected`: the
 * pseudo-terminal harness can read a shell that has not drawn its answer yet on a loaded machine.
 * A real mistake in the script gives the same wrong answer every time.
 */
async function settledOffers(
  ask: (line: string) => Promise<string[]>,
  line: string,
  expected: string[],
): Promise<string[]> {
  let offers: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    offers = (await ask(line)).sort();
    if (JSON.stringify(offers) === JSON.stringify(expected)) break;
  }
  return offers;
}

describe('shell completion', () => {
  it('completes commands, subcommands, flags and flag values in bash', async () => {
    await run('bash', ['-n', path.join(dir, 'niyanta.bash')]);
    for (const [line, words] of CASES)
      expect({ line, offers: await settledOffers(bashOffers, line, words) }).toEqual({
        line,
        offers: words,
      });
  }, 120_000);

  it('completes the same in zsh, sourced into a shell without compinit', async () => {
    const script = zshCompletion(COMMANDS);
    expect(script.startsWith('#compdef niyanta\n')).toBe(true);
    if (ZSH === undefined) {
      console.warn('zsh is not installed: only the zsh script text was checked');
      return;
    }
    await run(ZSH, ['-n', path.join(dir, 'niyanta.zsh')]);
    for (const [line, words] of CASES)
      expect({ line, offers: await settledOffers((l) => zshOffers(ZSH, l), line, words) }).toEqual({
        line,
        offers: words,
      });
  }, 120_000);

  it('quotes summaries for the shell, whatever they hold', () => {
    const odd = COMMANDS.map((c) =>
      c.name === 'logs' ? { ...c, summary: `it's a "test" $(rm -rf /)` } : c,
    );
    expect(zshCompletion(odd)).toContain(`'logs:it'\\''s a "test" $(rm -rf /)'`);
  });
});
