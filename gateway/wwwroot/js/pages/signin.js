// Sign-in: with the district's identity provider (the gateway runs the OpenID Connect flow and keeps the session in
// a cookie), and/or, on the local run, with the development issuer: pick a demo user, get a token for this tab.
import { api, apiOrNull, saveSession, ApiError } from '../api.js';
import { h, clear, message } from '../dom.js';

export async function renderSignIn(main, done) {
  const status = h('div', { 'aria-live': 'polite' });
  const list = h('ul', { class: 'users', 'aria-label': 'Demo users' });
  const provider = h('div', {});
  clear(main, h('div', { class: 'signin card' },
    h('h1', {}, 'Sign in to Beacon'),
    provider, status, list));
  const options = await apiOrNull('/auth/options').catch(() => null);
  if (options?.oidc) {
    provider.append(h('p', {}, h('a', { class: 'button', id: 'signin-district', href: '/auth/signin?returnUrl=%2F' }, 'Sign in with your district account')));
    if (!options.devIssuer) {
      provider.querySelector('a').focus();
      return;
    }
  }
  provider.append(h('p', {}, `${options?.oidc ? 'Or choose' : 'Choose'} a demo user. Each sees what their role allows.`));
  let users;
  try {
    users = await api('/auth/dev/users');
  } catch (e) {
    const detail = e instanceof ApiError && e.status === 404
      ? 'The development sign-in is turned off on this gateway (Auth:DevIssuer:Enabled). Sign in through your district\'s identity provider.'
      : e.message;
    clear(status, message('error', detail));
    return;
  }
  for (const u of users) {
    list.append(h('li', {}, h('button', {
      type: 'button',
      'data-user': u.id,
      onclick: async ev => {
        ev.currentTarget.disabled = true;
        clear(status, message('info', `Signing in as ${u.name}…`));
        try {
          saveSession(await api('/auth/dev/token', { method: 'POST', body: { user: u.id } }));
          done();
        } catch (err) {
          ev.currentTarget.disabled = false;
          clear(status, message('error', err.message));
        }
      },
    }, h('strong', {}, u.name), ' ', h('span', { class: 'roles' }, `${u.id} · ${(u.roles ?? []).join(', ')}${u.schools?.length ? ` · ${u.schools.join(', ')}` : ''}`))));
  }
  list.querySelector('button')?.focus();
}
