// Running commands in the foreground (inherited terminal) and finding executables.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// Debian installs some daemons (nats-server) into sbin, which is not on a normal user's PATH.
const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The absolute path of an executable on PATH (then the sbin directories), or undefined. */
export function which(name) {
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
    ...EXTRA_BIN_DIRS,
  ];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** The path of a tool installed in the repo's node_modules/.bin. */
export function localBin(root, name) {
  return path.join(root, 'node_modules', '.bin', name);
}

let current;

/**
 * Runs a command with the terminal attached and resolves with its exit code (never rejects
 * for a non-zero exit). It stays in our process group, so Ctrl-C reaches it directly.
 */
export function run(command, args, { cwd, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: 'inherit' });
    current = child;
    child.once('error', (err) => {
      current = undefined;
      reject(err);
    });
    child.once('exit', (code, signal) => {
      current = undefined;
      resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1));
    });
  });
}

/** Sends a signal to the command `run` is waiting on, if any (for SIGTERM, which the terminal does not fan out). */
export function signalForeground(signal) {
  current?.kill(signal);
}

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
function signalNumber(signal) {
  return SIGNAL_NUMBERS[signal];
}
