import type { ApiKeyV1 } from '@niyanta/messages';
import { h, replace } from '../dom.js';
import { time } from '../format.js';
import { can } from '../roles.js';
import type { View } from '../view.js';

const ROLES = ['viewer', 'submitter', 'operator', 'admin'] as const;

/** The tenant's API keys (create one, shown once; revoke), and for the root key the tenants. */
export function keysPage(view: View): void {
  const rows = h('tbody');
  const created = h('div', { class: 'created', 'aria-live': 'polite' });
  const nameInput = h('input', { id: 'k-name', name: 'name', required: true, maxlength: 100 });
  const roleSelect = h(
    'select',
    { id: 'k-role', name: 'role' },
    ROLES.map((r) => h('option', { value: r, selected: r === 'viewer' }, r)),
  );
  const tenants = h('div');

  const load = async () => {
    const items = await view.api.keys();
    replace(
      rows,
      items.length === 0 ? h('tr', {}, h('td', { colspan: 6 }, 'No keys.')) : items.map(row),
    );
  };

  const row = (k: ApiKeyV1) =>
    h(
      'tr',
      { 'data-key': k.id },
      h('td', { class: 'mono' }, k.id),
      h('td', {}, k.name),
      h('td', {}, k.role),
      h('td', {}, time(k.createdAt)),
      h('td', {}, time(k.lastUsedAt)),
      h(
        'td',
        {},
        k.revokedAt
          ? `revoked ${time(k.revokedAt)}`
          : h(
              'button',
              {
                type: 'button',
                class: 'danger',
                'aria-label': `Revoke key ${k.name}`,
                onclick: () => {
                  if (!confirm(`Revoke the key "${k.name}"? Requests with it will fail.`)) return;
                  view.api.revokeKey(k.id).then(
                    () => {
                      view.announce(`Key ${k.name} revoked`);
                      return load();
                    },
                    (err: unknown) => view.announce(`Revoke failed: ${(err as Error).message}`),
                  );
                },
              },
              'Revoke',
            ),
      ),
    );

  const form = h(
    'form',
    {
      class: 'inline-form',
      'aria-labelledby': 'h-new-key',
      onsubmit: (e: Event) => {
        e.preventDefault();
        view.api.createKey(nameInput.value.trim(), roleSelect.value as ApiKeyV1['role']).then(
          (k) => {
            const field = h('input', {
              id: 'new-key',
              readonly: true,
              value: k.key,
              class: 'mono wide',
            });
            replace(
              created,
              h('h3', {}, `Key "${k.name}" (${k.role})`),
              h('p', {}, 'Copy it now: it is shown only this once.'),
              h('label', { for: 'new-key' }, 'New API key'),
              field,
              h('button', { type: 'button', onclick: () => replace(created) }, 'Done'),
            );
            field.focus();
            field.select();
            nameInput.value = '';
            return load();
          },
          (err: unknown) => view.announce(`Could not create the key: ${(err as Error).message}`),
        );
      },
    },
    h('h2', { id: 'h-new-key' }, 'New key'),
    h('label', { for: 'k-name' }, 'Name'),
    nameInput,
    h('label', { for: 'k-role' }, 'Role'),
    roleSelect,
    h('button', { type: 'submit' }, 'Create key'),
  );

  replace(
    view.main,
    h('h1', {}, `API keys of ${view.me.tenant}`),
    form,
    created,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['ID', 'Name', 'Role', 'Created', 'Last used', ''].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        rows,
      ),
    ),
    tenants,
  );
  load().catch((err: unknown) => view.announce(`Could not list keys: ${(err as Error).message}`));
  if (can.manageTenants(view.me)) tenantsSection(view, tenants);
}

function tenantsSection(view: View, into: HTMLElement): void {
  const rows = h('tbody');
  const idInput = h('input', {
    id: 't-id',
    name: 'id',
    required: true,
    pattern: '[a-z0-9][a-z0-9-]{0,62}',
  });
  const nameInput = h('input', { id: 't-name', name: 'name' });
  const load = async () => {
    const items = await view.api.tenants();
    replace(
      rows,
      items.map((t) =>
        h(
          'tr',
          {},
          h('td', {}, t.id),
          h('td', {}, t.name),
          h('td', {}, t.status),
          h('td', {}, t.weight),
          h('td', {}, `${t.usage?.pending ?? 0} pending, ${t.usage?.running ?? 0} running`),
        ),
      ),
    );
  };
  replace(
    into,
    h('h2', {}, 'Tenants'),
    h(
      'form',
      {
        class: 'inline-form',
        'aria-label': 'New tenant',
        onsubmit: (e: Event) => {
          e.preventDefault();
          view.api.createTenant(idInput.value.trim(), nameInput.value.trim()).then(
            (t) => {
              view.announce(`Tenant ${t.id} created`);
              idInput.value = '';
              nameInput.value = '';
              return load();
            },
            (err: unknown) =>
              view.announce(`Could not create the tenant: ${(err as Error).message}`),
          );
        },
      },
      h('label', { for: 't-id' }, 'Tenant id'),
      idInput,
      h('label', { for: 't-name' }, 'Name'),
      nameInput,
      h('button', { type: 'submit' }, 'Create tenant'),
    ),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['ID', 'Name', 'Status', 'Weight', 'Usage'].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        rows,
      ),
    ),
  );
  load().catch((err: unknown) =>
    view.announce(`Could not list tenants: ${(err as Error).message}`),
  );
}
