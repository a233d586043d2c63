import type { PlacementPolicy } from './framework.js';

/** What a worker an earlier attempt failed on loses: more than any other preference gives. */
export const RETRY_AWAY_PENALTY = 1000;

/** Retry away: a retry prefers a worker other than those its earlier attempts failed on (soft). */
export const retryAwayPolicy: PlacementPolicy = {
  name: 'retryAway',
  stage: 'dynamic',
  scorer(job, fleet) {
    if (!job.failedOn || job.failedOn.length === 0) return null;
    const failed = new Set(job.failedOn);
    return {
      name: 'retryAway',
      score: (w) => (failed.has(fleet.ids[w]!) ? -RETRY_AWAY_PENALTY : 0),
    };
  },
};
