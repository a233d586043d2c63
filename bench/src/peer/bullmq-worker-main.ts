// The peer's worker process: `node bullmq-worker-main.js <host> <port> <queue> <concurrency>
// <targets>` completes no-op jobs of <queue> and prints one JSON line when it starts and one
// each time its count of completed jobs reaches the next of the comma-separated <targets>.
// It runs until SIGTERM, so its CPU time can be read after the last target.
import { Worker } from 'bullmq';

const [host, port, queue, concurrency, targetList] = process.argv.slice(2);
if (targetList === undefined) {
  process.stderr.write('usage: bullmq-worker-main <host> <port> <queue> <concurrency> <targets>\n');
  process.exit(2);
}
const targets = targetList.split(',').map(Number);
const say = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

let completed = 0;
let next = 0;
const worker = new Worker(queue!, async () => undefined, {
  connection: { host, port: Number(port), maxRetriesPerRequest: null },
  concurrency: Number(concurrency),
});
worker.on('completed', () => {
  completed++;
  while (next < targets.length && completed >= targets[next]!) {
    say({ event: 'reached', target: targets[next], completed, at: Date.now() });
    next++;
  }
});
worker.on('error', (err) => say({ event: 'error', message: err.message }));
await worker.waitUntilReady();
say({ event: 'ready' });
process.once('SIGTERM', () => {
  void worker.close().finally(() => process.exit(0));
});
