import { E2E_AUTH } from './system.js';

/** One Server-Sent Event. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Reads an SSE stream into `events` until `until(events)` holds, the stream ends or the deadline
 * passes; returns what it saw.
 */
export async function readSse(
  url: string,
  until: (events: SseEvent[]) => boolean,
  timeoutMs = 30_000,
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: SseEvent[] = [];
  try {
    const res = await fetch(url, {
      signal: controller.signal,
      headers: { accept: 'text/event-stream', ...E2E_AUTH },
    });
    if (!res.ok || !res.body) throw new Error(`SSE ${url} answered ${res.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length === 0) continue; // a keep-alive comment
        events.push({ event, data: JSON.parse(data.join('\n')) });
        if (until(events)) return events;
      }
    }
    return events;
  } catch (err) {
    if (controller.signal.aborted) return events;
    throw err;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
