import { uuidv7, validateMessage } from '@niyanta/messages';
import { SPAWN_MESSAGE_BYTES, spawnMessages } from '../src/spawn.js';

const parentId = uuidv7();
const call = (children: { index: number; type: string; input: unknown }[]) => ({
  parentId,
  attempt: 3,
  workerId: 'w1',
  traceparent: undefined,
  children,
});

describe('spawnMessages', () => {
  it('cuts a call into messages of at most 1,000 children, in order, named by attempt and first index', () => {
    const children = Array.from({ length: 2500 }, (_, i) => ({
      index: i + 7,
      type: 'leaf',
      input: i,
    }));
    const messages = spawnMessages(call(children));
    expect(messages.map((m) => m.message.children.length)).toEqual([1000, 1000, 500]);
    expect(messages.map((m) => m.msgId)).toEqual(
      [7, 1007, 2007].map((first) => `spawn:${parentId}:3:${first}`),
    );
    expect(messages.flatMap((m) => m.message.children.map((c) => c.index))).toEqual(
      children.map((c) => c.index),
    );
    for (const m of messages) {
      expect(m.subject).toBe(`niyanta.spawn.${parentId}`);
      expect(m.message).toMatchObject({ parentId, attempt: 3, workerId: 'w1' });
      expect(validateMessage('spawn', m.message)).toEqual([]);
    }
  });

  it('cuts by size too, so large inputs stay under the broker limit', () => {
    const big = 'x'.repeat(200 * 1024);
    const children = Array.from({ length: 5 }, (_, i) => ({ index: i, type: 'leaf', input: big }));
    const messages = spawnMessages(call(children));
    expect(messages.map((m) => m.message.children.length)).toEqual([2, 2, 1]);
    for (const m of messages)
      expect(Buffer.byteLength(JSON.stringify(m.message.children))).toBeLessThan(
        SPAWN_MESSAGE_BYTES + 1024,
      );
  });
});
