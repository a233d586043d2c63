import { waitFor } from './wait-for.js';

/** Polls GET `url` until it answers 200. */
export async function waitForHttpReady(url: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
      return true;
    },
    { timeoutMs, intervalMs: 50, message: `GET ${url} to answer 200` },
  );
}
