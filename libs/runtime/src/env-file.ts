import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

/** The variable naming a file of settings read at start-up and again on SIGHUP. */
export const ENV_FILE_SETTING = 'ENV_FILE';

const LINE_RE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

/**
 * Parses `KEY=VALUE` lines (blank lines and `#` comments skipped; a value may be in single or
 * double quotes). Throws ConfigError naming the file and line of anything else.
 */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const values: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = LINE_RE.exec(line);
    if (match === null) {
      throw new ConfigError([
        `${ENV_FILE_SETTING} ${file}:${i + 1} is not a KEY=VALUE line: "${line}".`,
      ]);
    }
    let value = match[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
    }
    values[match[1]!] = value;
  });
  return values;
}

/**
 * Reads the file ENV_FILE names (when set) over `env`: its settings win over the process's
 * environment. Returns the names it set. Throws ConfigError when the file cannot be read or
 * parsed.
 */
export function applyEnvFile(env: NodeJS.ProcessEnv = process.env): string[] {
  const file = env[ENV_FILE_SETTING];
  if (file === undefined || file === '') return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `${ENV_FILE_SETTING} cannot be read: "${file}" (${(err as Error).message}). Point it at a file of KEY=VALUE lines, or unset it.`,
    ]);
  }
  const values = parseEnvFile(text, file);
  Object.assign(env, values);
  return Object.keys(values);
}
