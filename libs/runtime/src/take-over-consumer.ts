import type { ConsumerConfig, JetStreamManager } from '@nats-io/jetstream';
import { ensureConsumer } from '@niyanta/messages';
import type { Logger } from 'pino';

/**
 * Makes a new leader the owner of a shared durable consumer on a work-queue stream: the consumer
 * is deleted and created again, so every message still unacknowledged (delivered to the old
 * leader, which died or was deposed holding them) is delivered again at once instead of after
 * its ack wait. Safe on a work queue only: acknowledged messages are gone from it, so the new
 * consumer starts at the first unhandled one. Any other consumer is only ensured.
 */
export async function takeOverConsumer(
  jsm: JetStreamManager,
  def: { stream: string; durable_name: string } & Partial<ConsumerConfig>,
  log: Logger,
): Promise<void> {
  const stream = await jsm.streams.info(def.stream);
  if (stream.config.retention !== 'workqueue') {
    await ensureConsumer(jsm, def);
    return;
  }
  const pending = await jsm.consumers
    .info(def.stream, def.durable_name)
    .then((c) => c.num_ack_pending)
    .catch(() => 0);
  await jsm.consumers.delete(def.stream, def.durable_name).catch(() => false);
  await ensureConsumer(jsm, def);
  if (pending > 0)
    log.info(
      { stream: def.stream, consumer: def.durable_name, redelivered: pending },
      'took over a consumer: its unacknowledged messages are delivered again now',
    );
}
