import type { Command } from '../command.js';
import { readConfig, writeConfig } from '../config-file.js';
import { EXIT, UsageError } from '../exit-codes.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const contextSet: Command = {
  name: 'context set',
  summary: 'Create or change a named context (URL, API key, tenant) in the config file',
  args: '<name>',
  flags: {
    url: { type: 'string', value: 'url', description: 'The API URL' },
    'api-key': { type: 'string', value: 'key', description: 'The API key' },
    tenant: {
      type: 'string',
      value: 'id',
      description: 'The tenant (Niyanta-Tenant) for a root key',
    },
  },
  examples: [
    'niyanta context set local --url http://localhost:8080 --api-key "$API_ROOT_KEY"',
    'niyanta context set prod --url https://niyanta.example.com --api-key nyk_... --tenant acme',
  ],
  async run(ctx, positionals, values) {
    if (positionals.length !== 1)
      throw new UsageError('context set takes one context name', 'context set');
    const name = positionals[0]!;
    const file = await readConfig(ctx.configPath);
    const current = file.contexts[name] ?? {};
    const url = str(values.url);
    const apiKey = str(values['api-key']);
    const tenant = str(values.tenant);
    file.contexts[name] = {
      ...current,
      ...(url === undefined ? {} : { url }),
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(tenant === undefined ? {} : { tenant }),
    };
    file.currentContext ??= name;
    await writeConfig(ctx.configPath, file);
    ctx.io.out.write(
      `context ${name} saved in ${ctx.configPath}${file.currentContext === name ? ' (in use)' : ''}\n`,
    );
    return EXIT.ok;
  },
};

const contextUse: Command = {
  name: 'context use',
  summary: 'Use a named context from now on',
  args: '<name>',
  flags: {},
  examples: ['niyanta context use prod'],
  async run(ctx, positionals) {
    if (positionals.length !== 1)
      throw new UsageError('context use takes one context name', 'context use');
    const name = positionals[0]!;
    const file = await readConfig(ctx.configPath);
    if (file.contexts[name] === undefined)
      throw new UsageError(
        `no context named ${JSON.stringify(name)} in ${ctx.configPath} (have: ${Object.keys(file.contexts).join(', ') || 'none'}). Create it with niyanta context set ${name} --url ...`,
        'context use',
      );
    file.currentContext = name;
    await writeConfig(ctx.configPath, file);
    ctx.io.out.write(`using context ${name}\n`);
    return EXIT.ok;
  },
};

const contextLs: Command = {
  name: 'context ls',
  summary: 'List the contexts of the config file',
  args: '',
  flags: {},
  examples: ['niyanta context ls'],
  async run(ctx) {
    const file = await readConfig(ctx.configPath);
    const rows = Object.entries(file.contexts).map(([name, c]) => ({
      current: file.currentContext === name,
      name,
      url: c.url ?? '',
      tenant: c.tenant ?? '',
      apiKey: c.apiKey ? `${c.apiKey.slice(0, 8)}…` : '',
    }));
    ctx.printRows(
      rows,
      [
        { header: '', cell: (r) => (r.current ? '*' : '') },
        { header: 'NAME', cell: (r) => r.name },
        { header: 'URL', cell: (r) => r.url, flexible: true },
        { header: 'TENANT', cell: (r) => r.tenant },
        { header: 'KEY', cell: (r) => r.apiKey },
      ],
      rows,
    );
    return EXIT.ok;
  },
};

/** Named contexts of ~/.config/niyanta/config.json. */
export const CONTEXT_COMMANDS: Command[] = [contextUse, contextSet, contextLs];
