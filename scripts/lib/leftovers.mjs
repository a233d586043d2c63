// Records the processes a dev run starts in .data/dev-state.json, so a run that died without
// cleaning up (kill -9, a closed laptop) is detected and its servers stopped by the next run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { ScriptError } from './errors.mjs';
import { warn } from './log.mjs';

function commandLine(pid) {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

async function waitGone(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

/** Tracks this run's children in `file`; `claim()` first, `forget()` on a clean exit. */
export class DevState {
  constructor(file) {
    this.file = file;
    this.children = [];
  }

  read() {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch {
      return undefined;
    }
  }

  write() {
    fs.writeFileSync(
      this.file,
      `${JSON.stringify({ devPid: process.pid, children: this.children }, null, 2)}\n`,
    );
  }

  /**
   * Refuses to run beside another live dev run on the same data dir, stops the processes a dead
   * run left behind (only those whose command line still matches), then records this run.
   */
  async claim() {
    const previous = this.read();
    if (
      previous &&
      previous.devPid !== process.pid &&
      alive(previous.devPid) &&
      commandLine(previous.devPid).includes('dev.mjs')
    ) {
      throw new ScriptError(
        `Another \`npm run dev\` is already running from this checkout (pid ${previous.devPid}) and uses .data/. Stop it (Ctrl-C in its terminal, or kill ${previous.devPid}) and run this again.`,
      );
    }
    for (const entry of previous?.children ?? []) {
      if (!alive(entry.pid) || !commandLine(entry.pid).includes(entry.match)) continue;
      warn(
        `Stopping ${entry.name} (pid ${entry.pid}) left running by an earlier dev run that did not exit cleanly`,
      );
      try {
        process.kill(entry.pid, entry.stopSignal ?? 'SIGTERM');
      } catch {
        continue;
      }
      if (!(await waitGone(entry.pid, 15_000))) {
        try {
          process.kill(-entry.pid, 'SIGKILL');
        } catch {
          process.kill(entry.pid, 'SIGKILL');
        }
        await waitGone(entry.pid, 5_000);
      }
    }
    this.children = [];
    this.write();
  }

  /** Records a started child; `match` must appear in its command line for it to be stopped later. */
  add(name, pid, match, stopSignal = 'SIGTERM') {
    if (!pid) return;
    this.children.push({ name, pid, match, stopSignal });
    this.write();
  }

  /** Removes the state file after everything stopped. */
  forget() {
    const current = this.read();
    if (!current || current.devPid === process.pid) fs.rmSync(this.file, { force: true });
  }
}
