import type { RateLimit } from '@niyanta/messages';
import { RateLimitedError } from '../errors.js';
import { TokenBucket } from '../token-bucket.js';

/** The policy name in the RateLimit-Policy and RateLimit headers. */
export const RATE_LIMIT_POLICY = 'tenant';

/**
 * Per-tenant token buckets of ONE API instance (a tenant talking to N instances behind a
 * balancer gets up to N times its rate): no round trip to a shared store on every request, and
 * a balancer spreads a tenant's requests evenly enough that the rate holds per instance.
 * Headers follow draft-ietf-httpapi-ratelimit-headers (structured fields): `RateLimit-Policy`
 * gives the burst as the quota `q` over the window `w` the bucket takes to refill; `RateLimit`
 * gives the remaining requests `r` and the seconds `t` until the bucket is full again (when
 * `r` is 0: until the next request is allowed, as `Retry-After` says).
 */
export class TenantRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  /** Takes one request of `tenant`'s rate; throws 429 when spent. Returns the headers to send. */
  take(tenant: string, limit: RateLimit | null): Record<string, string> {
    if (limit === null) {
      this.buckets.delete(tenant);
      return {};
    }
    let bucket = this.buckets.get(tenant);
    if (
      bucket === undefined ||
      bucket.perSecond !== limit.requestsPerSecond ||
      bucket.burst !== limit.burst
    ) {
      if (this.buckets.size >= 100_000) this.buckets.clear();
      bucket = new TokenBucket(limit.requestsPerSecond, limit.burst);
      this.buckets.set(tenant, bucket);
    }
    const now = Date.now();
    const windowSeconds = Math.max(1, Math.ceil(limit.burst / limit.requestsPerSecond));
    const policy = `"${RATE_LIMIT_POLICY}";q=${limit.burst};w=${windowSeconds}`;
    if (!bucket.take(now)) {
      const retryAfter = bucket.secondsUntilToken(now);
      throw new RateLimitedError(tenant, {
        'Retry-After': String(retryAfter),
        'RateLimit-Policy': policy,
        RateLimit: `"${RATE_LIMIT_POLICY}";r=0;t=${retryAfter}`,
      });
    }
    return {
      'RateLimit-Policy': policy,
      RateLimit: `"${RATE_LIMIT_POLICY}";r=${bucket.remaining(now)};t=${bucket.secondsUntilFull(now)}`,
    };
  }
}
