// Sign-in with the development issuer: pick a demo user, get a token, keep it in sessionStorage.
import { api, saveSession, ApiError } from '../api.js';
import { h, clear, message } from '../dom.js';

export async function renderSignIn(main, done) {
  const status = h('div', { 'aria-live': 'polite' });
  const list = h('ul', { class: 'users', 'aria-label': 'Demo users' });
  clear(main, h('div', { class: 'signin card' },
    h('h1', {}, 'Sign in to Beacon'),
    h('p', {}, 'Choose a demo user. Each sees what their role allows.'),
    status, list));
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
