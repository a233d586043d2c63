import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';

/** A TCP proxy whose traffic a test can stall (connections stay open, nothing flows) and resume. */
export interface PausableProxy extends AsyncDisposable {
  port: number;
  pause(): void;
  resume(): void;
}

/** Starts a proxy on a free port forwarding to 127.0.0.1:`targetPort`. */
export async function startPausableProxy(targetPort: number): Promise<PausableProxy> {
  let paused = false;
  const held: (() => void)[] = [];
  const open = new Set<Socket>();
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (paused) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
    from.on('close', () => {
      if (paused) held.push(() => to.destroy());
      else to.destroy();
    });
  };
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => undefined);
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const step of held.splice(0)) step();
    },
    async [Symbol.asyncDispose]() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
