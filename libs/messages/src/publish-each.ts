import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { publishAll, publishOne } from './publish.js';
import type { Outgoing } from './publish.js';

/** What `buildEach` made of a list: the items it built a value for, and the others with why. */
export interface BuiltEach<T, V> {
  built: { item: T; value: V }[];
  failed: { item: T; error: unknown }[];
}

/**
 * Builds one value (a message) per item. An item whose build throws (an id that cannot be a
 * subject token, say) goes to `failed` with its error; the others are built all the same.
 */
export function buildEach<T, V>(items: readonly T[], build: (item: T) => V): BuiltEach<T, V> {
  const out: BuiltEach<T, V> = { built: [], failed: [] };
  for (const item of items) {
    try {
      out.built.push({ item, value: build(item) });
    } catch (error) {
      out.failed.push({ item, error });
    }
  }
  return out;
}

/** The outcome of publishing one message: its PubAck, or why it was not published. */
export type Published = { ok: true; ack: PubAck } | { ok: false; error: unknown };

/**
 * Publishes the messages and says, for each, whether the broker took it. All of them go out
 * together first (`publishAll`: one wait for every ack); when that fails, each is published on
 * its own, so a message the client or the broker refuses costs only itself. The same message
 * objects are sent again, with the same Nats-Msg-Id: the broker drops what the first try stored.
 */
export async function publishEach(
  js: JetStreamClient,
  items: readonly Outgoing[],
): Promise<Published[]> {
  if (items.length === 0) return [];
  try {
    const acks = await publishAll(js, items);
    return acks.map((ack) => ({ ok: true, ack }));
  } catch {
    const settled = await Promise.allSettled(items.map((item) => publishOne(js, item)));
    return settled.map((s) =>
      s.status === 'fulfilled' ? { ok: true, ack: s.value } : { ok: false, error: s.reason },
    );
  }
}
