import { STREAMS, SUBJECTS, decode } from '@niyanta/messages';
import type { LogV1 } from '@niyanta/messages';
import type { Logger, Nats } from '@niyanta/runtime';

/** One log line with the attempt that wrote it. */
export interface LogLine {
  attempt: number;
  at: string;
  stream: LogV1['lines'][number]['stream'];
  line: string;
}

/** Bound on a one-shot read, in case the stream's tail moves under it (age limits). */
const READ_TIMEOUT_MS = 10_000;

/**
 * Reads the log messages of one workload from NIYANTA_LOGS through an ordered consumer filtered
 * on its one subject (the 2.9 server takes a single filter subject). Calls `onLines` per message.
 * With `follow` it keeps reading new messages until `signal` aborts; without, it stops at the
 * last message present when it started.
 */
export async function readLogs(opts: {
  nats: Nats;
  workloadId: string;
  follow: boolean;
  signal: AbortSignal;
  log: Logger;
  onLines: (lines: LogLine[]) => void | Promise<void>;
}): Promise<void> {
  const consumer = await opts.nats.js.consumers.get(STREAMS.logs.name, {
    filter_subjects: SUBJECTS.logs(opts.workloadId),
  });
  try {
    const info = await consumer.info(true);
    if (!opts.follow && info.num_pending === 0) return;
    const messages = await consumer.consume({ max_messages: 256 });
    const stop = () => void messages.close().catch(() => undefined);
    opts.signal.addEventListener('abort', stop, { once: true });
    const timer = opts.follow ? undefined : setTimeout(stop, READ_TIMEOUT_MS);
    try {
      if (opts.signal.aborted) return;
      for await (const m of messages) {
        const decoded = decode('log', m.data);
        if (decoded.ok) {
          const { attempt, lines } = decoded.value;
          await opts.onLines(
            lines.map((l) => ({ attempt, at: l.at, stream: l.stream, line: l.line })),
          );
        } else {
          opts.log.warn(
            { subject: m.subject, seq: m.seq, reason: decoded.reason },
            'skipping an invalid log message',
          );
        }
        if (!opts.follow && m.info.pending === 0) break;
      }
    } finally {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', stop);
      await messages.close().catch(() => undefined);
    }
  } finally {
    // Ordered consumers are ephemeral; deleting spares the server keeping it until it times out.
    await consumer.delete().catch(() => undefined);
  }
}
