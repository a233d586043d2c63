import { DiscardPolicy } from '@nats-io/jetstream';
import { STREAMS, WORK_QUEUE_STREAMS, streamConfig } from '../src/index.js';
import type { StreamKey } from '../src/index.js';

describe('stream configurations', () => {
  it('bounds every work queue by message count and refuses new messages when full', () => {
    for (const key of WORK_QUEUE_STREAMS) {
      const config = streamConfig(key);
      expect(config.discard).toBe(DiscardPolicy.New);
      expect(config.max_msgs).toBeGreaterThan(0);
      expect(config.max_bytes).toBe(-1);
    }
  });

  it('applies the deployment limits: the submit queue apart, bytes only when given', () => {
    const limits = {
      submitMaxMsgs: 10,
      workQueueMaxMsgs: 20,
      workQueueMaxBytes: 4096,
      eventsMaxBytes: 1 << 20,
    };
    expect(streamConfig('submit', limits)).toMatchObject({ max_msgs: 10, max_bytes: -1 });
    expect(streamConfig('assign', limits)).toMatchObject({ max_msgs: 20, max_bytes: 4096 });
    expect(streamConfig('events', limits)).toMatchObject({ max_bytes: 1 << 20 });
    expect(streamConfig('logs', limits)).toMatchObject({ max_bytes: -1 });
  });

  it('lists every work-queue stream as one', () => {
    const workQueues = (Object.keys(STREAMS) as StreamKey[]).filter(
      (k) => (STREAMS[k] as { retention?: string }).retention === 'workqueue',
    );
    expect([...WORK_QUEUE_STREAMS].sort()).toEqual(workQueues.sort());
  });

  it('creates every stream with the deployment replicas, one copy by default', () => {
    for (const key of Object.keys(STREAMS) as StreamKey[]) {
      expect(streamConfig(key).num_replicas).toBe(1);
      const limits = { submitMaxMsgs: 10, workQueueMaxMsgs: 10, replicas: 3 };
      expect(streamConfig(key, limits).num_replicas).toBe(3);
    }
  });
});
