import { ProblemError } from './errors.js';

/** How many Server-Sent Events streams may be open at once, and how far one may fall behind. */
export interface SseLimits {
  /** Open streams of this API instance. */
  maxStreams: number;
  /** Open streams of one tenant on this instance. */
  maxPerTenant: number;
  /** Bytes written to a stream and not yet taken by its client, past which it is disconnected. */
  queueMaxBytes: number;
}

export const DEFAULT_SSE_LIMITS: SseLimits = {
  maxStreams: 1000,
  maxPerTenant: 100,
  queueMaxBytes: 1024 * 1024,
};

/** What a client waits before opening a stream again after a 429. */
const RETRY_AFTER_S = 5;

/** 429: opening one more stream would pass SSE_MAX_STREAMS or SSE_MAX_STREAMS_PER_TENANT. */
export class TooManyStreamsError extends ProblemError {
  override name = 'TooManyStreamsError';
  constructor(
    readonly scope: 'instance' | 'tenant',
    readonly limit: number,
  ) {
    super(
      429,
      'too-many-streams',
      'Too many open streams',
      scope === 'tenant'
        ? `this tenant has ${limit} event streams open on this API instance, its limit: close one, or retry after ${RETRY_AFTER_S} s`
        : `this API instance has ${limit} event streams open, its limit: retry after ${RETRY_AFTER_S} s`,
      {
        headers: { 'Retry-After': String(RETRY_AFTER_S) },
        members: { code: 'TOO_MANY_STREAMS', limit },
      },
    );
  }
}

/** A reserved place for one stream: `onClose` sets how shutdown ends it, `release` frees it. */
export interface SseSlot {
  onClose(close: () => void): void;
  release(): void;
}

/**
 * Open Server-Sent Events streams: bounded per instance and per tenant, and ended by shutdown
 * instead of waited for.
 */
export class SseRegistry {
  private readonly closers = new Map<SseSlot, () => void>();
  private readonly perTenant = new Map<string, number>();

  constructor(readonly limits: SseLimits = DEFAULT_SSE_LIMITS) {}

  /** Takes a place for a stream of `tenant`; throws `TooManyStreamsError` when none is left. */
  reserve(tenant: string): SseSlot {
    if (this.closers.size >= this.limits.maxStreams)
      throw new TooManyStreamsError('instance', this.limits.maxStreams);
    const open = this.perTenant.get(tenant) ?? 0;
    if (open >= this.limits.maxPerTenant)
      throw new TooManyStreamsError('tenant', this.limits.maxPerTenant);
    this.perTenant.set(tenant, open + 1);
    let released = false;
    const slot: SseSlot = {
      onClose: (close) => {
        if (!released) this.closers.set(slot, close);
      },
      release: () => {
        if (released) return;
        released = true;
        this.closers.delete(slot);
        const left = (this.perTenant.get(tenant) ?? 1) - 1;
        if (left > 0) this.perTenant.set(tenant, left);
        else this.perTenant.delete(tenant);
      },
    };
    this.closers.set(slot, () => undefined);
    return slot;
  }

  get size(): number {
    return this.closers.size;
  }

  closeAll(): void {
    for (const close of [...this.closers.values()]) close();
  }
}
