#!/usr/bin/env node
// Submits a workload straight to the broker, without the HTTP API.
//
//   node examples/direct-publish.mjs [type] [input-json] [idempotency-key]
//   NATS_URL=nats://127.0.0.1:4222 TENANT=default NATS_USER=submitter-default \
//     NATS_PASSWORD=... node examples/direct-publish.mjs sleep '{"durationMs":3000}'
//
// With infra/nats (npm run dev, docker compose) connect as the tenant's submitter user: it may
// publish only niyanta.submit.<tenant> and receives the PubAck under _INBOX.submit.<tenant>.
// The PubAck means the submission is durable in JetStream: the scheduler will persist it in
// PostgreSQL (or record why it refused it in rejected_submissions and on niyanta.rejected).
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers, usernamePasswordAuthenticator } from '@nats-io/transport-node';

const [type = 'sleep', inputJson = '{"durationMs":2000}', keyArg] = process.argv.slice(2);
// An empty key is no key (the schema refuses an empty idempotencyKey).
const idempotencyKey = keyArg === '' ? undefined : keyArg;
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const tenant = process.env.TENANT ?? 'default';

/** A UUIDv7: 48 bits of Unix milliseconds, then random bits. */
function uuidv7() {
  const b = randomBytes(16);
  const ms = Date.now();
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

let input;
try {
  input = JSON.parse(inputJson);
} catch (err) {
  console.error(`input is not JSON: ${inputJson} (${err.message})`);
  process.exit(2);
}

// The envelope is the HTTP body plus the publisher-chosen id and the schema version.
const submission = {
  schemaVersion: 1,
  id: uuidv7(),
  type,
  input,
  ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
};
// The broker drops a second message with the same id inside its duplicate window.
const msgID = `${tenant}:${idempotencyKey ?? submission.id}`;

const { NATS_USER: user, NATS_PASSWORD: pass } = process.env;
const nc = await connect({
  servers: natsUrl,
  ...(user ? { authenticator: usernamePasswordAuthenticator(user, pass ?? '') } : {}),
  // The submitter's permissions allow replies only under its tenant's inbox prefix.
  inboxPrefix: `_INBOX.submit.${tenant}`,
});
try {
  const h = headers();
  h.set(
    'traceparent',
    `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
  );
  const ack = await jetstream(nc).publish(`niyanta.submit.${tenant}`, JSON.stringify(submission), {
    msgID,
    headers: h,
  });
  console.log(
    JSON.stringify({
      id: submission.id,
      stream: ack.stream,
      seq: ack.seq,
      duplicate: ack.duplicate,
    }),
  );
} finally {
  await nc.close();
}
