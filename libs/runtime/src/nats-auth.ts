import { readFileSync } from 'node:fs';
import {
  credsAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from '@nats-io/transport-node';
import type { Authenticator, TlsOptions } from '@nats-io/transport-node';

type Env = Record<string, string | undefined>;

/** The NATS credentials and TLS settings, as `parseConfig` returns them. */
export interface NatsAuthSettings {
  NATS_CREDS?: string | undefined;
  NATS_USER?: string | undefined;
  NATS_PASSWORD?: string | undefined;
  NATS_TOKEN?: string | undefined;
  NATS_TLS_CA?: string | undefined;
  NATS_TLS_CERT?: string | undefined;
  NATS_TLS_KEY?: string | undefined;
}

/** How a service authenticates to NATS and whether it requires TLS. */
export interface NatsAuth {
  authenticator?: Authenticator;
  /** Set when any NATS_TLS_* is: the client then refuses a server without TLS. */
  tls?: TlsOptions;
}

const set = (env: Env, name: string) => env[name] !== undefined && env[name] !== '';

/**
 * The rules between the NATS settings: one way to authenticate (a creds file, a user and its
 * password, or a token), and a client certificate only with its key. Names variables, never values.
 */
export function natsAuthProblems(env: Env): string[] {
  const problems: string[] = [];
  const user = set(env, 'NATS_USER');
  const password = set(env, 'NATS_PASSWORD');
  if (user && !password) {
    problems.push('NATS_USER is set without NATS_PASSWORD: set both, or neither.');
  }
  if (password && !user) {
    problems.push('NATS_PASSWORD is set without NATS_USER: set both, or neither.');
  }
  const ways = [
    set(env, 'NATS_CREDS') ? 'NATS_CREDS' : undefined,
    user || password ? 'NATS_USER/NATS_PASSWORD' : undefined,
    set(env, 'NATS_TOKEN') ? 'NATS_TOKEN' : undefined,
  ].filter((w) => w !== undefined);
  if (ways.length > 1) {
    problems.push(
      `NATS credentials are given more than one way (${ways.join(', ')}): set only one of them.`,
    );
  }
  const cert = set(env, 'NATS_TLS_CERT');
  const key = set(env, 'NATS_TLS_KEY');
  if (cert !== key) {
    problems.push(
      `${cert ? 'NATS_TLS_CERT' : 'NATS_TLS_KEY'} is set without ${cert ? 'NATS_TLS_KEY' : 'NATS_TLS_CERT'}: a client certificate needs its key (set both, or neither).`,
    );
  }
  return problems;
}

/**
 * The connection options of validated settings: the authenticator of the one way given, and TLS
 * (required, no plaintext fallback) when any NATS_TLS_* is set.
 */
export function natsAuth(settings: NatsAuthSettings): NatsAuth {
  const out: NatsAuth = {};
  const creds = settings.NATS_CREDS;
  if (creds !== undefined) {
    // Read again at every (re)connect, so a rotated file is picked up.
    out.authenticator = credsAuthenticator(() => readFileSync(creds));
  } else if (settings.NATS_USER !== undefined && settings.NATS_PASSWORD !== undefined) {
    out.authenticator = usernamePasswordAuthenticator(settings.NATS_USER, settings.NATS_PASSWORD);
  } else if (settings.NATS_TOKEN !== undefined) {
    out.authenticator = tokenAuthenticator(settings.NATS_TOKEN);
  }
  const { NATS_TLS_CA: caFile, NATS_TLS_CERT: certFile, NATS_TLS_KEY: keyFile } = settings;
  if (caFile !== undefined || certFile !== undefined || keyFile !== undefined) {
    out.tls = {
      ...(caFile !== undefined ? { caFile } : {}),
      ...(certFile !== undefined ? { certFile } : {}),
      ...(keyFile !== undefined ? { keyFile } : {}),
    };
  }
  return out;
}
