import type { MeV1 } from '@niyanta/messages';
import { ApiError } from '../api.js';
import type { DashboardApi } from '../api.js';
import { h } from '../dom.js';
import { session } from '../session.js';

/** Asks for an API key, checks it with GET /v1/me and keeps it for this tab. */
export function signInPage(api: DashboardApi, signedIn: (me: MeV1) => void): HTMLElement {
  const error = h('p', { class: 'error', role: 'alert', id: 'sign-in-error' });
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    required: true,
    spellcheck: 'false',
    'aria-describedby': 'api-key-help sign-in-error',
  });
  const form = h(
    'form',
    {
      class: 'sign-in',
      'aria-labelledby': 'sign-in-title',
      onsubmit: (e: Event) => {
        e.preventDefault();
        error.textContent = '';
        session.signIn(input.value.trim());
        api.me().then(signedIn, (err: unknown) => {
          session.signOut();
          error.textContent =
            err instanceof ApiError && err.status === 401
              ? 'That key is not valid (unknown, revoked or mistyped).'
              : `Could not sign in: ${(err as Error).message}`;
          input.focus();
        });
      },
    },
    h('h1', { id: 'sign-in-title' }, 'Sign in to Niyanta'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h(
      'p',
      { id: 'api-key-help', class: 'help' },
      'The key stays in this tab (session storage) and is sent only to this server.',
    ),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  const main = h('main', { id: 'main', tabindex: '-1' }, form);
  queueMicrotask(() => input.focus());
  return main;
}
