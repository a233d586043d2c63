import type { Flag } from './command.js';

/** Flags every command takes. */
export const GLOBAL_FLAGS: Record<string, Flag> = {
  output: {
    type: 'string',
    short: 'o',
    value: 'table|json|yaml',
    choices: ['table', 'json', 'yaml'],
    description: 'Output format (default table; json for scripts)',
  },
  url: {
    type: 'string',
    value: 'url',
    description: 'API URL (else NIYANTA_URL, the context, http://localhost:8080)',
  },
  'api-key': {
    type: 'string',
    value: 'key',
    description: 'API key (else NIYANTA_API_KEY, the context)',
  },
  tenant: {
    type: 'string',
    value: 'id',
    description: 'Tenant a root key acts on (Niyanta-Tenant; else NIYANTA_TENANT, the context)',
  },
  context: {
    type: 'string',
    value: 'name',
    description: 'Use this context of the config file instead of the current one',
  },
  'no-color': {
    type: 'boolean',
    description: 'No colours (also NO_COLOR=1; colours only on a terminal)',
  },
  help: { type: 'boolean', short: 'h', description: 'Show help' },
};

/** The API URL when neither a flag, NIYANTA_URL nor a context names one. */
export const DEFAULT_URL = 'http://localhost:8080';
