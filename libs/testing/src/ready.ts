import { ServerStartError } from './errors.js';
import type { ManagedChild } from './managed-child.js';
import { waitFor } from './wait-for.js';

/** Waits until `check` passes while `child` runs; an exit or the deadline throws with the log tail. */
export async function waitUntilReady(
  child: ManagedChild,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  let outcome: 'ready' | 'exited';
  try {
    outcome = await waitFor(
      async () => {
        if (child.exitInfo !== undefined) return 'exited';
        return (await check()) ? 'ready' : undefined;
      },
      { timeoutMs, intervalMs: 50, message: `${child.name} to accept connections` },
    );
  } catch (err) {
    await child.kill('SIGKILL');
    throw new ServerStartError(
      child.name,
      `${child.name} was not ready within ${timeoutMs} ms.`,
      child.output.tail(),
      {
        cause: err,
      },
    );
  }
  if (outcome === 'exited') {
    const { code, signal } = child.exitInfo ?? { code: null, signal: null };
    throw new ServerStartError(
      child.name,
      `${child.name} exited (code ${String(code)}, signal ${String(signal)}) before it was ready.`,
      child.output.tail(),
    );
  }
}
