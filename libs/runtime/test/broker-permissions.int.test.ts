import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { connect, usernamePasswordAuthenticator } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { STREAMS, SUBJECTS } from '@niyanta/messages';
import { connectNats, createLogger, natsAuth } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { startSecuredNatsServer, waitFor } from '@niyanta/testing';
import type { SecuredNats } from '@niyanta/testing';

const log = createLogger('broker-permissions-test', 'silent');

let broker: SecuredNats;
let scheduler: Nats;

beforeAll(async () => {
  broker = await startSecuredNatsServer({ tenants: ['A', 'B'] });
  const env = broker.env('scheduler');
  // The scheduler's user creates the streams; every other role may only read them.
  scheduler = await connectNats({
    url: env.NATS_URL!,
    name: 'scheduler',
    log,
    auth: natsAuth({ NATS_USER: env.NATS_USER, NATS_PASSWORD: env.NATS_PASSWORD }),
  });
});

afterAll(async () => {
  await scheduler?.close();
  await broker?.[Symbol.asyncDispose]();
});

async function connectAs(
  user: string,
  pass: string,
  inboxPrefix: string,
): Promise<{ nc: NatsConnection; violations: string[] }> {
  const nc = await connect({
    servers: broker.server.url,
    authenticator: usernamePasswordAuthenticator(user, pass),
    inboxPrefix,
  });
  const violations: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error') violations.push(String(s.error.message));
    }
  })();
  return { nc, violations };
}

async function countOn(jsm: JetStreamManager, stream: string, subject: string): Promise<number> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

describe('the broker configuration of infra/nats', () => {
  it('refuses a tenant-A submitter publishing to niyanta.submit.B and stores nothing', async () => {
    const { user, pass } = broker.submitter('A');
    const { nc, violations } = await connectAs(user, pass, '_INBOX.submit.A');
    try {
      const js = jetstream(nc, { timeout: 2_000 });
      const ack = await js.publish(SUBJECTS.submit('A'), '{}', { msgID: 'own-tenant' });
      expect(ack.stream).toBe(STREAMS.submit.name);

      await expect(
        js.publish(SUBJECTS.submit('B'), '{}', { msgID: 'other-tenant' }),
      ).rejects.toThrow();
      await waitFor(() => violations.some((v) => v.includes('niyanta.submit.B')), {
        timeoutMs: 5_000,
      });
      await nc.flush();
      expect(await countOn(scheduler.jsm, STREAMS.submit.name, SUBJECTS.submit('B'))).toBe(0);
      expect(await countOn(scheduler.jsm, STREAMS.submit.name, SUBJECTS.submit('A'))).toBe(1);
    } finally {
      await nc.close();
    }
  });

  it('refuses a tenant submitter reading the replies of another user', async () => {
    const { user, pass } = broker.submitter('A');
    const { nc, violations } = await connectAs(user, pass, '_INBOX.submit.A');
    try {
      nc.subscribe('_INBOX.>');
      nc.subscribe('_INBOX.api.>');
      await nc.flush();
      await waitFor(() => violations.filter((v) => /subscription/i.test(v)).length >= 2, {
        timeoutMs: 5_000,
      });
    } finally {
      await nc.close();
    }
  });

  it('refuses a worker publishing assignments, events or submissions', async () => {
    const env = broker.env('worker');
    const { nc, violations } = await connectAs(
      env.NATS_USER!,
      env.NATS_PASSWORD!,
      '_INBOX.worker.w1',
    );
    try {
      const js = jetstream(nc, { timeout: 2_000 });
      const forged = [SUBJECTS.assign('w2'), SUBJECTS.events('wl-1'), SUBJECTS.submit('A')];
      for (const subject of forged) {
        await expect(js.publish(subject, '{}')).rejects.toThrow();
      }
      nc.publish(SUBJECTS.workerDead('w2'), '{}');
      nc.publish(SUBJECTS.command('A'), '{}');
      await waitFor(
        () =>
          [...forged, SUBJECTS.workerDead('w2'), SUBJECTS.command('A')].every((s) =>
            violations.some((v) => v.includes(s)),
          ),
        { timeoutMs: 5_000 },
      );
      const jsm = scheduler.jsm;
      expect(await countOn(jsm, STREAMS.assign.name, SUBJECTS.assign('w2'))).toBe(0);
      expect(await countOn(jsm, STREAMS.events.name, SUBJECTS.events('wl-1'))).toBe(0);
      expect(await countOn(jsm, STREAMS.workerDead.name, SUBJECTS.workerDead('w2'))).toBe(0);
      // What a worker does do is allowed: its heartbeat is stored.
      await js.publish(SUBJECTS.heartbeat('w1'), '{}');
      expect(await countOn(jsm, STREAMS.heartbeat.name, SUBJECTS.heartbeat('w1'))).toBe(1);
      // And so are the children its runs spawn (the scheduler fences them).
      const parent = '0193a1b2-0000-7000-8000-000000000001';
      await js.publish(SUBJECTS.spawn(parent), '{}');
      expect(await countOn(jsm, STREAMS.spawn.name, SUBJECTS.spawn(parent))).toBe(1);
    } finally {
      await nc.close();
    }
  });

  it('refuses a tenant submitter spawning children; only workers and the scheduler touch NIYANTA_SPAWN', async () => {
    const { user, pass } = broker.submitter('A');
    const { nc, violations } = await connectAs(user, pass, '_INBOX.submit.A');
    const parent = '0193a1b2-0000-7000-8000-000000000002';
    try {
      const js = jetstream(nc, { timeout: 2_000 });
      await expect(js.publish(SUBJECTS.spawn(parent), '{}')).rejects.toThrow();
      await waitFor(() => violations.some((v) => v.includes(SUBJECTS.spawn(parent))), {
        timeoutMs: 5_000,
      });
      expect(await countOn(scheduler.jsm, STREAMS.spawn.name, SUBJECTS.spawn(parent))).toBe(0);
    } finally {
      await nc.close();
    }
  });

  it('lets the scheduler publish per-tenant status events and the api read them; a tenant user reads no other tenant', async () => {
    const api = broker.env('api');
    const reader = await connectAs(api.NATS_USER!, api.NATS_PASSWORD!, '_INBOX.api');
    const { user, pass } = broker.submitter('A');
    const tenant = await connectAs(user, pass, '_INBOX.submit.A');
    try {
      const received: string[] = [];
      reader.nc.subscribe('niyanta.events.*', {
        callback: (_err, m) => {
          received.push(m.subject);
        },
      });
      await reader.nc.flush();
      // The subjects the scheduler publishes on (one per tenant), allowed to its user.
      scheduler.nc.publish(SUBJECTS.events('A'), '{}');
      scheduler.nc.publish(SUBJECTS.events('B'), '{}');
      await scheduler.nc.flush();
      await waitFor(() => received.length === 2, { timeoutMs: 5_000 });
      expect(received.sort()).toEqual([SUBJECTS.events('A'), SUBJECTS.events('B')]);
      expect(reader.violations).toEqual([]);
      tenant.nc.subscribe(SUBJECTS.events('B'));
      await tenant.nc.flush();
      await waitFor(() => tenant.violations.some((v) => v.includes(SUBJECTS.events('B'))), {
        timeoutMs: 5_000,
      });
    } finally {
      await reader.nc.close();
      await tenant.nc.close();
    }
  });

  it('refuses a worker changing or deleting a stream', async () => {
    const env = broker.env('worker');
    const { nc } = await connectAs(env.NATS_USER!, env.NATS_PASSWORD!, '_INBOX.worker.w1');
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2_000 });
      await expect(jsm.streams.purge(STREAMS.submit.name)).rejects.toThrow();
      await expect(jsm.streams.delete(STREAMS.events.name)).rejects.toThrow();
      await expect(
        jsm.streams.update(STREAMS.submit.name, { ...STREAMS.submit, max_age: 1_000_000_000 }),
      ).rejects.toThrow();
      expect((await scheduler.jsm.streams.info(STREAMS.events.name)).config.name).toBe(
        STREAMS.events.name,
      );
    } finally {
      await nc.close();
    }
  });

  it('starts a service that may only read streams once the scheduler created them', async () => {
    const env = broker.env('checkpoint');
    await using nats = await connectNats({
      url: env.NATS_URL!,
      name: 'checkpoint',
      log,
      auth: natsAuth({ NATS_USER: env.NATS_USER, NATS_PASSWORD: env.NATS_PASSWORD }),
    });
    expect(nats.isConnected()).toBe(true);
    expect(broker.server.output()).not.toMatch(/User "checkpoint"/);
  });

  it('starts a read-only role on a stream the scheduler defined differently', async () => {
    // E.g. a history stream sized by a setting only the scheduler has.
    await scheduler.jsm.streams.update(STREAMS.events.name, {
      ...STREAMS.events,
      max_msgs_per_subject: 300,
    });
    const env = broker.env('health-monitor');
    await using nats = await connectNats({
      url: env.NATS_URL!,
      name: 'health-monitor',
      log,
      auth: natsAuth({ NATS_USER: env.NATS_USER, NATS_PASSWORD: env.NATS_PASSWORD }),
    });
    expect(nats.isConnected()).toBe(true);
    const events = await scheduler.jsm.streams.info(STREAMS.events.name);
    expect(events.config.max_msgs_per_subject).toBe(300);
  });

  it('logs each refusal as a violation (what the e2e suites look for)', async () => {
    await waitFor(
      () =>
        /Publish Violation - User "submitter-A", Subject "niyanta\.submit\.B"/.test(
          broker.server.output(),
        ),
      { timeoutMs: 5_000 },
    );
    expect(broker.server.output()).toMatch(/Subscription Violation - User "submitter-A"/);
  });
});
