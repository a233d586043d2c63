// The peer's producer process: `node bullmq-producer-main.js <host> <port> <queue> <n>
// <batchSize> <lanes>` adds <n> no-op jobs with addBulk, <batchSize> per call and <lanes> calls
// in flight, then prints one JSON line with the moments of its first and last call and stays
// until SIGTERM, so its CPU time can be read.
import { Queue } from 'bullmq';

const [host, port, queue, n, batchSize, lanes] = process.argv.slice(2);
if (lanes === undefined) {
  process.stderr.write(
    'usage: bullmq-producer-main <host> <port> <queue> <n> <batchSize> <lanes>\n',
  );
  process.exit(2);
}
const q = new Queue(queue!, { connection: { host, port: Number(port) } });
await q.waitUntilReady();

const sizes: number[] = [];
for (let left = Number(n); left > 0; left -= Number(batchSize))
  sizes.push(Math.min(Number(batchSize), left));
let nextChunk = 0;
const firstAt = Date.now();
await Promise.all(
  Array.from({ length: Math.min(Number(lanes), sizes.length) }, async () => {
    while (nextChunk < sizes.length) {
      const size = sizes[nextChunk++]!;
      await q.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data: {} })));
    }
  }),
);
process.stdout.write(
  `${JSON.stringify({ event: 'added', n: Number(n), firstAt, lastAt: Date.now() })}\n`,
);
process.once('SIGTERM', () => {
  void q.close().finally(() => process.exit(0));
});
// Stays until SIGTERM.
setInterval(() => undefined, 1 << 30);
