import type { MeV1 } from '@niyanta/messages';
import { ApiError } from './api.js';
import type { DashboardApi } from './api.js';

/** What every page gets: the API, who is signed in, and a signal that aborts when it is left. */
export interface View {
  api: DashboardApi;
  me: MeV1;
  main: HTMLElement;
  signal: AbortSignal;
  /** Query parameters of the page's hash route (`#/workloads?status=RUNNING`). */
  params: URLSearchParams;
  navigate(hash: string): void;
  /** Announces `text` to screen readers and shows it in the status line. */
  announce(text: string): void;
  /** The key stopped working (revoked, or the tenant disabled): back to the sign-in form. */
  expired(): void;
}

/** Runs `fn` now and every `ms` until the view is left; errors show in the status line. */
export function every(view: View, ms: number, fn: () => Promise<void>): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    try {
      await fn();
    } catch (err) {
      if (view.signal.aborted) return;
      if (err instanceof ApiError && err.status === 401) return view.expired();
      view.announce(`Refresh failed: ${(err as Error).message}`);
    }
    if (!view.signal.aborted) timer = setTimeout(() => void tick(), ms);
  };
  view.signal.addEventListener('abort', () => clearTimeout(timer));
  void tick();
}
