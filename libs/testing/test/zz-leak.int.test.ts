import { startNatsServer } from '@niyanta/testing';
import { writeFileSync } from 'node:fs';
it('leaks a server on purpose', async () => {
  const nats = await startNatsServer();
  writeFileSync('/tmp/leaktest/pid', String(nats.pid));
  expect(nats.pid).toBeGreaterThan(0);
});
