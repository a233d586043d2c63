import type { MeV1 } from '@niyanta/messages';
import { ApiError, DashboardApi } from './api.js';
import { h, replace } from './dom.js';
import { keysPage } from './pages/keys.js';
import { signInPage } from './pages/sign-in.js';
import { workersPage } from './pages/workers.js';
import { workloadPage } from './pages/workload.js';
import { workloadsPage } from './pages/workloads.js';
import { can } from './roles.js';
import { session } from './session.js';
import type { View } from './view.js';

const api = new DashboardApi();
const TITLES: Record<string, string> = { workloads: 'Workloads', workers: 'Workers', keys: 'Keys' };
const root = document.getElementById('app')!;
let leave: AbortController | undefined;
let me: MeV1 | undefined;

/** What the API said in the page: with authentication off, no key is asked for. */
const authenticationEnabled = () =>
  document.querySelector('meta[name="niyanta-authentication"]')?.getAttribute('content') !==
  'disabled';

function route(): { path: string[]; params: URLSearchParams } {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = hash.split('?', 2);
  return { path: path.split('/').filter(Boolean), params: new URLSearchParams(query) };
}

function navigate(hash: string): void {
  if (location.hash === hash) void render();
  else location.hash = hash;
}

function layout(user: MeV1, current: string): { main: HTMLElement; status: HTMLElement } {
  const link = (hash: string, text: string, name: string) =>
    h('a', { href: hash, 'aria-current': current === name ? 'page' : undefined }, text);
  const main = h('main', { id: 'main', tabindex: '-1' });
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const signOut =
    user.authentication === 'enabled'
      ? h(
          'button',
          {
            type: 'button',
            onclick: () => {
              session.signOut();
              me = undefined;
              navigate('#/workloads');
            },
          },
          'Sign out',
        )
      : null;
  replace(
    root,
    h(
      'header',
      { class: 'top' },
      h('a', { class: 'brand', href: '#/workloads' }, 'Niyanta'),
      h(
        'nav',
        { 'aria-label': 'Main' },
        h(
          'ul',
          {},
          h('li', {}, link('#/workloads', 'Workloads', 'workloads')),
          can.seeWorkers(user) ? h('li', {}, link('#/workers', 'Workers', 'workers')) : null,
          can.manageKeys(user) ? h('li', {}, link('#/keys', 'Keys', 'keys')) : null,
        ),
      ),
      h(
        'div',
        { class: 'who' },
        h('span', { 'data-testid': 'identity' }, `${user.tenant} · ${user.role}`),
        signOut,
      ),
    ),
    status,
    main,
  );
  return { main, status };
}

async function render(): Promise<void> {
  leave?.abort();
  leave = new AbortController();
  const signal = leave.signal;
  if (me === undefined) {
    let refused = session.key() === null && authenticationEnabled();
    if (!refused) {
      try {
        me = await api.me();
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 401) throw err;
        refused = true;
      }
    }
    if (refused || me === undefined) {
      session.signOut();
      replace(
        root,
        signInPage(api, (user) => {
          me = user;
          void render();
        }),
      );
      return;
    }
  }
  const { path, params } = route();
  const name = path[0] ?? 'workloads';
  const { main, status } = layout(me, name);
  document.title = `${TITLES[name] ?? 'Workloads'} · Niyanta`;
  const view: View = {
    api,
    me,
    main,
    signal,
    params,
    navigate,
    announce: (text) => {
      status.textContent = text;
    },
    expired: () => {
      session.signOut();
      me = undefined;
      void render();
    },
  };
  if (name === 'workloads' && path[1]) workloadPage(view, decodeURIComponent(path[1]));
  else if (name === 'workers') workersPage(view);
  else if (name === 'keys') keysPage(view);
  else workloadsPage(view);
}

window.addEventListener('hashchange', () => void render());
// The skip link moves focus to the page's content; following its href (#main) would route away.
document.addEventListener('click', (e) => {
  const link = (e.target as Element | null)?.closest?.('a.skip');
  if (link === null || link === undefined) return;
  e.preventDefault();
  document.getElementById('main')?.focus();
});
void render().catch((err: unknown) => {
  replace(
    root,
    h(
      'main',
      { id: 'main' },
      h('p', { role: 'alert' }, `The dashboard failed to start: ${String(err)}`),
    ),
  );
});
