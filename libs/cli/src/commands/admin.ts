import type { ApiKeyV1, TenantV1 } from '@niyanta/client';
import type { Command } from '../command.js';
import { CliFailure, EXIT, UsageError } from '../exit-codes.js';
import { age, formatFields } from '../output.js';

const ROLES = ['admin', 'operator', 'submitter', 'viewer'] as const;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function num(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} ${JSON.stringify(v)} is not a positive number`);
  return n;
}

const tenantsCreate: Command = {
  name: 'tenants create',
  summary: 'Create a tenant (root key)',
  args: '<id>',
  flags: {
    name: { type: 'string', value: 'text', description: 'Display name' },
    weight: { type: 'string', value: 'n', description: 'Fair-share weight' },
    rate: { type: 'string', value: 'n', description: 'Rate limit: requests per second' },
    burst: {
      type: 'string',
      value: 'n',
      description: 'Rate limit: requests at once (default: --rate)',
    },
  },
  examples: [
    'niyanta tenants create acme --name "Acme Corp" --weight 2',
    'niyanta tenants create trial --rate 5 --burst 10',
  ],
  async run(ctx, positionals, values) {
    if (positionals.length !== 1)
      throw new UsageError('tenants create takes one tenant id', 'tenants create');
    const rate = num('rate', values.rate);
    const burst = num('burst', values.burst) ?? rate;
    const weight = num('weight', values.weight);
    const name = str(values.name);
    const t = await ctx.client().createTenant({
      id: positionals[0]!,
      ...(name === undefined ? {} : { name }),
      ...(weight === undefined ? {} : { weight }),
      ...(rate === undefined
        ? {}
        : { rateLimit: { requestsPerSecond: rate, burst: Math.ceil(burst!) } }),
    });
    ctx.printValue(t, () => `tenant ${t.id} created\n`);
    return EXIT.ok;
  },
};

const tenantsLs: Command = {
  name: 'tenants ls',
  summary: 'List tenants (root key)',
  args: '',
  flags: {},
  examples: ['niyanta tenants ls', 'niyanta tenants ls -o json'],
  async run(ctx) {
    const items = await ctx.client().tenants();
    ctx.printRows<TenantV1>(
      items,
      [
        { header: 'ID', cell: (t) => t.id },
        { header: 'NAME', cell: (t) => t.name ?? '', flexible: true },
        { header: 'WEIGHT', cell: (t) => String(t.weight) },
        {
          header: 'RATE',
          cell: (t) =>
            t.rateLimit ? `${t.rateLimit.requestsPerSecond}/s burst ${t.rateLimit.burst}` : '-',
        },
        { header: 'AGE', cell: (t) => age(t.createdAt) },
      ],
      items,
    );
    return EXIT.ok;
  },
};

const keysCreate: Command = {
  name: 'keys create',
  summary: 'Create an API key of the tenant; the key is shown only this once',
  args: '<name>',
  flags: {
    role: {
      type: 'string',
      value: 'role',
      choices: ROLES,
      description: `One of ${ROLES.join(', ')} (default submitter)`,
    },
  },
  examples: [
    'niyanta keys create ci --role submitter',
    'niyanta --tenant acme keys create acme-admin --role admin -o json',
  ],
  async run(ctx, positionals, values) {
    if (positionals.length !== 1)
      throw new UsageError('keys create takes one key name', 'keys create');
    const role = str(values.role) ?? 'submitter';
    if (!(ROLES as readonly string[]).includes(role))
      throw new UsageError(
        `--role ${JSON.stringify(role)} is not one of ${ROLES.join(', ')}`,
        'keys create',
      );
    const k = await ctx
      .client()
      .createApiKey({ name: positionals[0]!, role: role as ApiKeyV1['role'] });
    ctx.printValue(
      k,
      () =>
        formatFields(
          [
            ['id', k.id],
            ['name', k.name],
            ['role', k.role],
            ['key', k.key],
          ],
          ctx.style.bold,
        ) + ctx.style.yellow('Store the key now: it is not shown again.\n'),
    );
    return EXIT.ok;
  },
};

const keysLs: Command = {
  name: 'keys ls',
  summary: "List the tenant's API keys (without secrets)",
  args: '',
  flags: {},
  examples: ['niyanta keys ls', 'niyanta --tenant acme keys ls'],
  async run(ctx) {
    const items = await ctx.client().apiKeys();
    ctx.printRows<ApiKeyV1>(
      items,
      [
        { header: 'ID', cell: (k) => k.id },
        { header: 'NAME', cell: (k) => k.name, flexible: true },
        { header: 'ROLE', cell: (k) => k.role },
        { header: 'REVOKED', cell: (k) => (k.revokedAt ? age(k.revokedAt) + ' ago' : '-') },
        { header: 'AGE', cell: (k) => age(k.createdAt) },
      ],
      items,
    );
    return EXIT.ok;
  },
};

const keysRevoke: Command = {
  name: 'keys revoke',
  summary: 'Revoke API keys',
  args: '<id...>',
  flags: {},
  examples: ['niyanta keys revoke <key-id>'],
  async run(ctx, positionals) {
    if (positionals.length === 0)
      throw new UsageError('keys revoke needs at least one key id', 'keys revoke');
    for (const id of positionals) {
      await ctx.client().revokeApiKey(id);
      if (ctx.output === 'table') ctx.io.out.write(`${id} revoked\n`);
    }
    if (ctx.output !== 'table') ctx.printValue({ revoked: positionals }, () => '');
    return EXIT.ok;
  },
};

const auditVerify: Command = {
  name: 'audit verify',
  summary: "Check the audit log's hash chain; exit 1 when it is broken",
  args: '',
  flags: {},
  examples: ['niyanta audit verify', 'niyanta audit verify -o json'],
  async run(ctx) {
    const v = await ctx.client().verifyAudit();
    ctx.printValue(v, () =>
      v.ok
        ? `${ctx.style.green('ok')}: ${v.checked} entries, the chain holds\n`
        : `${ctx.style.red('broken')}: the chain breaks at entry ${v.firstBadSeq} (${v.checked} checked)\n`,
    );
    if (!v.ok) throw new CliFailure('the audit chain is broken', EXIT.workloadFailed);
    return EXIT.ok;
  },
};

/** Tenants, keys and the audit log. */
export const ADMIN_COMMANDS: Command[] = [
  tenantsCreate,
  tenantsLs,
  keysCreate,
  keysLs,
  keysRevoke,
  auditVerify,
];
