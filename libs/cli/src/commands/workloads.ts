import { readFile } from 'node:fs/promises';
import { NiyantaApiError } from '@niyanta/client';
import type { LogLine, WorkerV1, WorkloadStatus, WorkloadV1 } from '@niyanta/client';
import type { Command } from '../command.js';
import { CliFailure, EXIT, UsageError } from '../exit-codes.js';
import type { ExitCode } from '../exit-codes.js';
import { followWorkload } from '../follow.js';
import { age, formatData, formatFields } from '../output.js';
import { formatPlacement } from '../placement-view.js';
import type { Column } from '../output.js';

const STATUSES: readonly WorkloadStatus[] = [
  'SUBMITTED',
  'PENDING',
  'SCHEDULED',
  'RUNNING',
  'PAUSED',
  'WAITING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
];

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function intFlag(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      `--${name} ${JSON.stringify(value)} is not a whole number from ${min} to ${max}`,
    );
  return n;
}

function one(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1)
    throw new UsageError(`${command} takes one ${what}; got ${positionals.length}`, command);
  return positionals[0]!;
}

async function readInput(value: string | undefined): Promise<unknown> {
  if (value === undefined) return {};
  let text = value;
  if (value.startsWith('@')) {
    const path = value.slice(1);
    try {
      text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
    } catch (err) {
      throw new UsageError(`--input ${value}: cannot read ${path} (${(err as Error).message})`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(
      `--input is not JSON: ${(err as Error).message}. Give '{"key": 1}' or @file.json`,
    );
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function labels(values: unknown): Record<string, string> | undefined {
  if (!Array.isArray(values) || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const v of values as string[]) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label ${JSON.stringify(v)} is not key=value`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

const progressOf = (w: WorkloadV1) =>
  w.progress ? `${Math.floor(w.progress.fraction * 100)}%` : '-';

/** The columns of `ls`. */
export function workloadColumns(): Column<WorkloadV1>[] {
  return [
    { header: 'ID', cell: (w) => w.id },
    { header: 'TYPE', cell: (w) => w.type, flexible: true },
    { header: 'STATUS', cell: (w) => w.status },
    { header: 'PRI', cell: (w) => String(w.priority) },
    { header: 'PROGRESS', cell: progressOf },
    { header: 'AGE', cell: (w) => age(w.createdAt) },
    { header: 'WORKER', cell: (w) => w.workerId ?? '-', flexible: true },
    {
      header: 'NOTE',
      cell: (w) => w.error?.message ?? w.pendingReason ?? '',
      flexible: true,
    },
  ];
}

function workloadFields(w: WorkloadV1): [string, string][] {
  const fields: [string, string][] = [
    ['id', w.id],
    ['type', w.type],
    ['status', w.status],
    ['tenant', w.tenant],
    ['priority', String(w.priority)],
    ['attempt', `${w.attempt} of ${w.maxAttempts}`],
    [
      'progress',
      w.progress ? `${progressOf(w)}${w.progress.message ? ` ${w.progress.message}` : ''}` : '-',
    ],
    ['worker', w.workerId ?? '-'],
    ['created', `${w.createdAt} (${age(w.createdAt)} ago)`],
    ['updated', w.updatedAt],
  ];
  if (w.pendingReason) fields.push(['pending', w.pendingReason]);
  if (w.dependsOn !== undefined && w.dependsOn.length > 0)
    fields.push([
      'depends on',
      `${w.dependsOn.join(', ')}${w.onDependencyFailure === 'run' ? ' (runs even if one fails)' : ''}`,
    ]);
  if (w.dependents !== undefined && w.dependents.length > 0)
    fields.push(['dependents', w.dependents.join(', ')]);
  if (w.parentId) fields.push(['parent', `${w.parentId}${w.detached ? ' (detached)' : ''}`]);
  if (w.children) {
    const counts = Object.entries(w.children.counts).map(([status, n]) => `${n} ${status}`);
    fields.push(['children', `${w.children.total} (${counts.join(', ')})`]);
  }
  if (Object.keys(w.labels).length > 0)
    fields.push([
      'labels',
      Object.entries(w.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    ]);
  fields.push(['input', JSON.stringify(w.input)]);
  if (w.result !== null && w.result !== undefined)
    fields.push(['result', JSON.stringify(w.result)]);
  if (w.error)
    fields.push(['error', `${w.error.message}${w.error.code ? ` (${w.error.code})` : ''}`]);
  return fields;
}

const submit: Command = {
  name: 'submit',
  summary: 'Submit a workload; with --wait, follow it to the end',
  args: '<type>',
  flags: {
    input: {
      type: 'string',
      value: "'<json>'|@file",
      description: 'The input as JSON, or @file.json (@- for stdin); default {}',
    },
    priority: { type: 'string', value: 'n', description: 'Higher runs first' },
    label: { type: 'string', multiple: true, value: 'k=v', description: 'A label (repeatable)' },
    'idempotency-key': {
      type: 'string',
      value: 'key',
      description: 'The same key answers with the same workload',
    },
    'max-attempts': { type: 'string', value: 'n', description: 'Attempts allowed' },
    'depends-on': {
      type: 'string',
      multiple: true,
      value: 'id',
      description: 'Run only after this workload has completed (repeatable)',
    },
    'on-dependency-failure': {
      type: 'string',
      value: 'cancel|run',
      choices: ['cancel', 'run'],
      description: 'When a dependency fails: cancel this one (default) or run it anyway',
    },
    wait: {
      type: 'boolean',
      description: 'Follow it: status lines, a progress bar, the result; exit 1 if it fails',
    },
  },
  examples: [
    `niyanta submit sleep --input '{"durationMs": 5000}' --wait`,
    'niyanta submit exec --input @job.json --priority 10 --label team=video',
    `niyanta submit sleep --input '{"durationMs": 1000}' --idempotency-key nightly-2026-01-01 -o json`,
    'niyanta submit publish --depends-on <id> --depends-on <id> --wait',
  ],
  async run(ctx, positionals, values) {
    const type = one(positionals, 'workload type', 'submit');
    const input = await readInput(str(values.input));
    const priority = intFlag('priority', values.priority, -1_000_000, 1_000_000);
    const maxAttempts = intFlag('max-attempts', values['max-attempts'], 1, 1000);
    const l = labels(values.label);
    const key = str(values['idempotency-key']);
    const dependsOn = Array.isArray(values['depends-on'])
      ? values['depends-on'].filter((v): v is string => typeof v === 'string')
      : [];
    const onFailure = str(values['on-dependency-failure']);
    if (onFailure !== undefined && onFailure !== 'cancel' && onFailure !== 'run')
      throw new UsageError(`--on-dependency-failure is cancel or run; got ${onFailure}`, 'submit');
    const handle = await ctx.client().submit({
      type,
      input,
      ...(priority === undefined ? {} : { priority }),
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      ...(l === undefined ? {} : { labels: l }),
      ...(key === undefined ? {} : { idempotencyKey: key }),
      ...(dependsOn.length === 0 ? {} : { dependsOn }),
      ...(onFailure === undefined ? {} : { onDependencyFailure: onFailure }),
    });
    if (values.wait === true) {
      if (ctx.output === 'table')
        ctx.io.out.write(
          `${ctx.style.bold('submitted')} ${handle.id} (${type})${handle.replayed ? ' (same idempotency key: an earlier submission)' : ''}\n`,
        );
      return followWorkload(ctx, handle);
    }
    ctx.printValue(handle.initial, () => `${handle.id}\n`);
    return EXIT.ok;
  },
};

const get: Command = {
  name: 'get',
  summary: 'Show one workload',
  args: '<id>',
  flags: {},
  examples: [
    'niyanta get 01936f0e-7c4a-7000-8000-000000000000',
    'niyanta get <id> -o json | jq .result',
  ],
  async run(ctx, positionals) {
    const w = await ctx.client().get(one(positionals, 'workload id', 'get'));
    ctx.printValue(w, () => formatFields(workloadFields(w), ctx.style.bold));
    return EXIT.ok;
  },
};

const ls: Command = {
  name: 'ls',
  summary: 'List workloads, newest first',
  args: '',
  flags: {
    status: {
      type: 'string',
      value: 'S',
      choices: STATUSES,
      description: `One of ${STATUSES.join(', ')}`,
    },
    type: { type: 'string', value: 'T', description: 'Only this workload type' },
    limit: {
      type: 'string',
      value: 'n',
      description: 'At most n workloads (default 20, up to 500)',
    },
    watch: { type: 'boolean', short: 'w', description: 'Refresh every 2 seconds until Ctrl-C' },
  },
  examples: [
    'niyanta ls',
    'niyanta ls --status RUNNING --type exec --limit 100',
    'niyanta ls --watch',
  ],
  async run(ctx, positionals, values) {
    if (positionals.length > 0)
      throw new UsageError(`ls takes no arguments; got ${positionals.join(' ')}`, 'ls');
    const status = str(values.status)?.toUpperCase();
    if (status !== undefined && !(STATUSES as readonly string[]).includes(status))
      throw new UsageError(
        `--status ${JSON.stringify(values.status)} is not one of ${STATUSES.join(', ')}`,
        'ls',
      );
    const type = str(values.type);
    const limit = intFlag('limit', values.limit, 1, 500) ?? 20;
    const query = {
      limit,
      ...(status === undefined ? {} : { status: status as WorkloadStatus }),
      ...(type === undefined ? {} : { type }),
    };
    const show = async () => {
      const page = await ctx.client().listPage(query);
      ctx.printRows(page.items, workloadColumns(), page);
    };
    if (values.watch !== true) {
      await show();
      return EXIT.ok;
    }
    const tty = ctx.io.out.isTTY === true;
    while (!ctx.io.signal.aborted) {
      if (tty) ctx.io.out.write('\x1b[H\x1b[2J');
      else ctx.io.out.write(`--- ${new Date().toISOString()}\n`);
      await show();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        ctx.io.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    }
    return EXIT.ok;
  },
};

const watch: Command = {
  name: 'watch',
  summary: 'Follow a workload to its end (status lines, progress bar, result)',
  args: '<id>',
  flags: {},
  examples: ['niyanta watch <id>', 'niyanta watch <id> -o json   # only the final workload'],
  async run(ctx, positionals) {
    return followWorkload(ctx, ctx.client().workload(one(positionals, 'workload id', 'watch')));
  },
};

const logs: Command = {
  name: 'logs',
  summary: "Print a workload's log lines; -f follows them until it ends",
  args: '<id>',
  flags: {
    follow: {
      type: 'boolean',
      short: 'f',
      description: 'Keep printing new lines until the workload ends or Ctrl-C',
    },
    limit: { type: 'string', value: 'n', description: 'The newest n lines (default 1000)' },
  },
  examples: ['niyanta logs <id>', 'niyanta logs <id> -f', 'niyanta logs <id> -o json'],
  async run(ctx, positionals, values) {
    const handle = ctx.client().workload(one(positionals, 'workload id', 'logs'));
    const print = (l: LogLine) => {
      if (ctx.output === 'table')
        ctx.io.out.write(
          `${ctx.style.dim(l.at.slice(11, 23))} ${l.stream === 'stderr' || l.stream === 'error' ? ctx.style.red(l.stream) : ctx.style.dim(l.stream)} ${l.line}\n`,
        );
      else if (ctx.output === 'json') ctx.io.out.write(`${JSON.stringify(l)}\n`);
      else ctx.io.out.write(formatData([l], 'yaml'));
    };
    if (values.follow !== true) {
      const limit = intFlag('limit', values.limit, 1, 100_000);
      for (const l of await handle.logs(limit === undefined ? {} : { limit })) print(l);
      return EXIT.ok;
    }
    // Lines follow until Ctrl-C or the workload ends (the lines it wrote last still arrive).
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    ctx.io.signal.addEventListener('abort', onAbort, { once: true });
    const ended = (async () => {
      for await (const e of handle.events({ signal: stop.signal }))
        if (e.type === 'status' && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(e.toStatus)) {
          setTimeout(() => stop.abort(), 1000).unref();
          return;
        }
    })().catch(() => undefined);
    try {
      for await (const l of handle.followLogs({ signal: stop.signal })) print(l);
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    } finally {
      stop.abort();
      ctx.io.signal.removeEventListener('abort', onAbort);
      await ended;
    }
    return EXIT.ok;
  },
};

function commandOf(name: 'cancel' | 'pause' | 'resume', verb: string): Command {
  return {
    name,
    summary: `${verb} workloads`,
    args: '<id...>',
    flags: {
      reason: { type: 'string', value: 'text', description: 'Why (recorded with the change)' },
    },
    examples: [
      `niyanta ${name} <id>`,
      `niyanta ${name} <id1> <id2> --reason "${name} by operator"`,
    ],
    async run(ctx, positionals, values) {
      if (positionals.length === 0)
        throw new UsageError(`${name} needs at least one workload id`, name);
      const reason = str(values.reason);
      let code: ExitCode = EXIT.ok;
      const results: unknown[] = [];
      for (const id of positionals) {
        try {
          const w = await ctx.client().workload(id)[name](reason);
          results.push({ id, accepted: true, status: w.status });
          if (ctx.output === 'table')
            ctx.io.out.write(`${id}  ${name} requested (was ${w.status})\n`);
        } catch (err) {
          if (!(err instanceof NiyantaApiError)) throw err;
          code = EXIT.api;
          results.push({
            id,
            accepted: false,
            status: err.status,
            detail: err.detail ?? err.title,
          });
          if (ctx.output === 'table')
            ctx.io.err.write(
              `${id}  ${ctx.style.red('refused')}: ${err.detail ?? err.title} (${err.status})\n`,
            );
        }
      }
      if (ctx.output !== 'table') ctx.io.out.write(formatData(results, ctx.output));
      return code;
    },
  };
}

const signal: Command = {
  name: 'signal',
  summary: 'Send a signal to a workload (its ctx.waitForSignal(name) returns the payload)',
  args: '<id> <name>',
  flags: {
    payload: { type: 'string', value: 'json', description: 'The payload, as JSON (default null)' },
  },
  examples: ['niyanta signal <id> approve', `niyanta signal <id> approve --payload '{"by":"ann"}'`],
  async run(ctx, positionals, values) {
    if (positionals.length !== 2)
      throw new UsageError('signal needs a workload id and a signal name', 'signal');
    const [id, name] = positionals as [string, string];
    const text = str(values.payload);
    let payload: unknown = null;
    if (text !== undefined) {
      try {
        payload = JSON.parse(text) as unknown;
      } catch (err) {
        throw new UsageError(
          `--payload is not JSON (${(err as Error).message}): quote it, e.g. --payload '{"ok":true}'`,
          'signal',
        );
      }
    }
    const w = await ctx.client().workload(id).signal(name, payload);
    ctx.printValue(
      { id, signal: name, sent: true, status: w.status },
      () => `${id}  signal ${name} sent (now ${ctx.style.status(w.status)})\n`,
    );
    return EXIT.ok;
  },
};

const workers: Command = {
  name: 'workers',
  summary: 'List workers: status, slots, labels, zone, heartbeat age',
  args: '',
  flags: {},
  examples: ['niyanta workers', 'niyanta workers -o yaml'],
  async run(ctx) {
    const items = await ctx.client().workers();
    const cols: Column<WorkerV1>[] = [
      { header: 'ID', cell: (w) => w.id, flexible: true },
      { header: 'STATUS', cell: (w) => w.status },
      { header: 'SLOTS', cell: (w) => `${w.capacity.slots - w.freeSlots}/${w.capacity.slots}` },
      { header: 'CPU', cell: (w) => String(w.capacity.cpu) },
      { header: 'MEM', cell: (w) => `${w.capacity.memoryMb}M` },
      { header: 'RUNNING', cell: (w) => String(w.running.length) },
      { header: 'ZONE', cell: (w) => w.zone ?? '-' },
      { header: 'HEARTBEAT', cell: (w) => age(w.lastHeartbeatAt) },
      { header: 'TYPES', cell: (w) => w.types.join(','), flexible: true },
      {
        header: 'LABELS',
        cell: (w) =>
          Object.entries(w.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        flexible: true,
      },
    ];
    ctx.printRows(items, cols, items);
    return EXIT.ok;
  },
};

const placement: Command = {
  name: 'placement',
  summary: 'Explain where a workload can run and why it waits',
  args: '<id>',
  flags: {},
  examples: [
    'niyanta placement <id>            # why it waits: every worker, feasible or why not',
    "niyanta placement <id> -o json | jq '.workers[] | select(.feasible)'",
  ],
  async run(ctx, positionals) {
    const id = one(positionals, 'workload id', 'placement');
    const client = ctx.client();
    try {
      const explanation = await client.placement(id);
      const width = ctx.io.out.isTTY === true ? ctx.io.out.columns || 80 : undefined;
      ctx.printValue(explanation, () =>
        formatPlacement(explanation, { width, bold: ctx.style.bold }),
      );
      return EXIT.ok;
    } catch (err) {
      if (!(err instanceof NiyantaApiError) || err.status !== 404) throw err;
      // Tell a missing workload from a missing route: the workload's own 404 says which.
      const w = await client.get(id);
      throw new CliFailure(
        `this API has no placement explanation yet (GET /v1/workloads/${id}/placement answered 404). ` +
          `What it says now: status ${w.status}${w.pendingReason ? `, pending: ${w.pendingReason}` : ''}${w.workerId ? `, on worker ${w.workerId}` : ''}.`,
        EXIT.api,
      );
    }
  },
};

/** The workload commands. */
export const WORKLOAD_COMMANDS: Command[] = [
  submit,
  get,
  ls,
  watch,
  logs,
  commandOf('cancel', 'Cancel'),
  commandOf('pause', 'Pause'),
  commandOf('resume', 'Resume paused'),
  signal,
  workers,
  placement,
];
