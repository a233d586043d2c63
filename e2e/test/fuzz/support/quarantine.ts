import type { JetStreamManager } from '@nats-io/jetstream';

/**
 * Clean-up for tests that share one system: removes messages a test published (or caused) from
 * their stream, so that a consumer stuck on one today is freed for the next test and each test
 * fails for its own reason. On a system that meets issue 18 they are long gone (acked, or
 * termed as dead letters) and this finds nothing to do.
 */
export async function forgetMessages(
  jsm: JetStreamManager,
  stream: string,
  seqs: readonly number[],
): Promise<void> {
  for (const seq of seqs) await jsm.streams.deleteMessage(stream, seq, false).catch(() => false);
}

/** Removes every message of `stream` whose payload mentions `text` (a small work queue). */
export async function forgetMessagesMentioning(
  jsm: JetStreamManager,
  stream: string,
  text: string,
): Promise<void> {
  const info = await jsm.streams.info(stream);
  const { first_seq: first, last_seq: last } = info.state;
  for (let seq = first; seq <= last && seq > 0; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (msg !== null && Buffer.from(msg.data).toString('utf8').includes(text))
      await jsm.streams.deleteMessage(stream, seq, false).catch(() => false);
  }
}

/**
 * Deletes a service's durable consumer so that the service creates it again (its consume loop
 * does, on a missing consumer): what the old one held un-acked is not waited out (ack_wait).
 */
export async function resetConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
): Promise<void> {
  await jsm.consumers.delete(stream, durable).catch(() => false);
}
