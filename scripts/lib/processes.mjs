// Long-running child processes (servers, services) with prefixed output and ordered stopping.
//
// Children start in their own process group (`detached`), so the terminal's Ctrl-C reaches only
// the dev script, which then stops them in order: a service must drain before NATS and
// PostgreSQL go away. Killing the group also reaches grandchildren (commands a worker runs).
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { color } from './log.mjs';

const PALETTE = [color.cyan, color.magenta, color.blue, color.yellow, color.green];
let nextColor = 0;
let prefixWidth = 14;

/** Widens the `[name]` column so every prefix lines up. */
export function setPrefixWidth(width) {
  prefixWidth = Math.max(prefixWidth, width + 2);
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/**
 * Starts `command` as a managed child. `format(line)` renders each output line (return
 * undefined to hide it); `onUnexpectedExit` runs when it exits before `stop()` was called.
 */
export function startProcess(
  name,
  command,
  args,
  { cwd, env, uid, gid, format = (l) => l, onLine, onUnexpectedExit },
) {
  const paint = PALETTE[nextColor++ % PALETTE.length];
  const prefix = paint(`[${name}]`.padEnd(prefixWidth));
  const child = spawn(command, args, {
    cwd,
    env,
    uid,
    gid,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stopping = false;
  let exitInfo;
  const exited = new Promise((resolve) => {
    child.once('error', (err) => {
      exitInfo = { code: null, signal: null, error: err };
      resolve(exitInfo);
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      onLine?.(line);
      const shown = format(line);
      if (shown === undefined) return;
      for (const part of shown.split('\n')) console.log(`${prefix} ${part}`);
    });
  }
  void exited.then((info) => {
    // Reap anything the child left in its group (e.g. a command a worker was running).
    if (child.pid) killGroup(child.pid, 'SIGKILL');
    if (!stopping) onUnexpectedExit?.(info);
  });

  return {
    name,
    pid: child.pid,
    exited,
    /** Exit details once it exited, else undefined. */
    get exitInfo() {
      return exitInfo;
    },
    /** Sends `signal`, waits up to `deadlineMs`, then SIGKILLs the whole process group. */
    async stop({ signal = 'SIGTERM', deadlineMs = 15_000, onWaiting } = {}) {
      stopping = true;
      if (exitInfo || !child.pid) return exitInfo;
      child.kill(signal);
      let timer;
      const timedOut = new Promise((resolve) => {
        timer = setTimeout(() => resolve('timeout'), deadlineMs);
      });
      const result = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (result === 'timeout') {
        onWaiting?.(`did not stop within ${deadlineMs} ms after ${signal}; sending SIGKILL`);
        killGroup(child.pid, 'SIGKILL');
        return exited;
      }
      return result;
    },
    /** SIGKILLs the process group at once (the second Ctrl-C). */
    forceKill() {
      stopping = true;
      if (child.pid) killGroup(child.pid, 'SIGKILL');
    },
  };
}

/** "exit code 1" / "signal SIGKILL" / the spawn error, for messages. */
export function describeExit(info) {
  if (!info) return 'still running';
  if (info.error) return `could not start: ${info.error.message}`;
  return info.signal ? `signal ${info.signal}` : `exit code ${info.code}`;
}
