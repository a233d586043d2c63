import type { JetStreamClient } from '@nats-io/jetstream';
import { envelope, publishAll, SUBJECTS, spawnMsgId } from '@niyanta/messages';
import type { Outgoing, SpawnV1 } from '@niyanta/messages';
import type { SpawnedChild } from '@niyanta/worker-sdk';

/** Children per spawn message (the schema's bound). */
export const SPAWN_MESSAGE_CHILDREN = 1_000;
/** Bytes of children per spawn message, well under the broker's max_payload (1 MiB by default). */
export const SPAWN_MESSAGE_BYTES = 512 * 1024;

/** One spawn call of one attempt. */
export interface SpawnCall {
  parentId: string;
  attempt: number;
  workerId: string;
  traceparent: string | undefined;
  children: readonly SpawnedChild[];
}

/**
 * The messages of one spawn call on `niyanta.spawn.<parentId>`: at most
 * {@link SPAWN_MESSAGE_CHILDREN} children and about {@link SPAWN_MESSAGE_BYTES} each, in call
 * order. Each message's Nats-Msg-Id names the attempt and its first call index, so a resend within
 * the broker's window is dropped; the scheduler skips children it already has.
 */
export function spawnMessages(spawn: SpawnCall): Outgoing<'spawn'>[] {
  type Child = SpawnV1['children'][number];
  const messages: Outgoing<'spawn'>[] = [];
  let chunk: Child[] = [];
  let bytes = 0;
  const flush = () => {
    if (chunk.length === 0) return;
    messages.push({
      kind: 'spawn',
      subject: SUBJECTS.spawn(spawn.parentId),
      msgId: spawnMsgId(spawn.parentId, spawn.attempt, chunk[0]!.index),
      traceparent: spawn.traceparent,
      message: {
        ...envelope(),
        parentId: spawn.parentId,
        attempt: spawn.attempt,
        workerId: spawn.workerId,
        children: chunk as SpawnV1['children'],
      },
    });
    chunk = [];
    bytes = 0;
  };
  for (const child of spawn.children) {
    const size = Buffer.byteLength(JSON.stringify(child)) + 1;
    if (
      chunk.length > 0 &&
      (chunk.length >= SPAWN_MESSAGE_CHILDREN || bytes + size > SPAWN_MESSAGE_BYTES)
    )
      flush();
    chunk.push(child as Child);
    bytes += size;
  }
  flush();
  return messages;
}

/**
 * Publishes one spawn call, its acks awaited together. A child alone over the broker's limit is
 * refused by `publishAll` (MessageTooLargeError) before anything of the call is sent.
 */
export async function publishSpawns(js: JetStreamClient, spawn: SpawnCall): Promise<void> {
  await publishAll(js, spawnMessages(spawn));
}
