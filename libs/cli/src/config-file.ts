import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliFailure, EXIT } from './exit-codes.js';

/** One named API to talk to. */
export interface Context {
  url?: string;
  apiKey?: string;
  tenant?: string;
}

/** `~/.config/niyanta/config.json`. */
export interface ConfigFile {
  currentContext?: string;
  contexts: Record<string, Context>;
}

/** Where the config file is: NIYANTA_CONFIG, else $XDG_CONFIG_HOME/niyanta, else ~/.config/niyanta. */
export function configPath(env: Record<string, string | undefined>): string {
  if (env.NIYANTA_CONFIG) return env.NIYANTA_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'niyanta', 'config.json');
}

/** The config file, or an empty one when it does not exist. */
export async function readConfig(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contexts: {} };
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliFailure(
      `${path} is not JSON (${(err as Error).message}). Fix or delete it.`,
      EXIT.usage,
    );
  }
  const file = parsed as Partial<ConfigFile>;
  if (typeof file !== 'object' || file === null || typeof file.contexts !== 'object')
    throw new CliFailure(
      `${path} has no "contexts" object. Expected {"currentContext": "...", "contexts": {"name": {"url": "...", "apiKey": "..."}}}.`,
      EXIT.usage,
    );
  return {
    contexts: file.contexts ?? {},
    ...(file.currentContext ? { currentContext: file.currentContext } : {}),
  };
}

/** Writes the config file atomically, readable by its owner only (it holds API keys). */
export async function writeConfig(path: string, config: ConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}
