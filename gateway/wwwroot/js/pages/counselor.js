// Counselor: my alerts (live), my caseload sorted by risk, flagged students of my schools.
import { api, session } from '../api.js';
import { h, clear, section, message, date, announce } from '../dom.js';
import { casesFor, risksFor, byRisk, ACTIVE } from '../data.js';
import { onLeave } from '../lifecycle.js';
import { caseTable, riskTable, nameLink } from '../components.js';

export function renderCounselor(main, user) {
  main.append(h('h1', {}, `My students — ${user.name}`));
  const grid = h('div', { class: 'grid' });
  main.append(grid);
  grid.append(feedSection(user));
  const caseload = section('My caseload, highest risk first', async () => {
    const [cases, risks] = await Promise.all([casesFor(user), risksFor(user)]);
    const mine = cases.filter(c => ACTIVE.includes(c.status) && (c.assignedTo === user.id || (c.helperIds ?? []).includes(user.id)));
    mine.sort(byRisk(risks));
    if (!mine.length) return h('p', {}, 'No active cases are assigned to you.');
    return caseTable(mine, risks, 'My caseload');
  });
  caseload.id = 'caseload';
  main.append(caseload);
  main.append(section('Students flagged in my schools', async () => {
    const risks = [...(await risksFor(user)).values()].filter(r => r.flagged).sort((a, b) => b.score - a.score);
    if (!risks.length) return h('p', {}, 'No student is flagged by the active model.');
    return riskTable(risks.slice(0, 50), 'Flagged students');
  }));
}

function feedSection(user) {
  const live = h('span', { class: 'live muted', role: 'status' }, 'connecting…');
  // Scrolls on its own when long; focusable so a keyboard can scroll it too.
  const list = h('ul', { class: 'feed scrolling', id: 'feed', 'aria-label': 'Alerts for me', tabindex: 0 });
  const base = `/api/notifications/v1/staff/${encodeURIComponent(user.id)}/feed`;
  const entryItem = e => {
    const li = h('li', { class: e.read ? '' : 'unread', dataset: { entryId: e.entryId, kind: e.kind, studentId: e.studentId ?? '' } },
      h('div', { class: 'title' }, e.title, e.read ? '' : h('span', { class: 'visually-hidden' }, ' (unread)')),
      h('div', {}, e.body),
      h('div', { class: 'row muted' }, date(e.createdAt), e.studentId ? nameLink(e.studentId) : null,
        e.read ? null : h('button', {
          type: 'button', class: 'secondary', 'aria-label': `Mark read: ${e.title}`,
          onclick: async ev => {
            ev.currentTarget.disabled = true;
            try {
              await api(`${base}/${encodeURIComponent(e.entryId)}/read`, { method: 'POST', body: {} });
              li.classList.remove('unread');
              ev.currentTarget.remove();
            } catch (err) {
              li.append(message('error', err.message));
            }
          },
        }, 'Mark read')));
    return li;
  };
  const el = section('Alerts for me', async () => {
    const feed = await api(base);
    const entries = (feed.entries ?? []).sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    clear(list, entries.map(entryItem));
    return [h('p', { class: 'row' }, h('span', {}, `${feed.unread ?? 0} unread`), live),
      entries.length ? list : [h('p', { id: 'feed-empty' }, 'Nothing yet.'), list]];
  });

  // Live: the feed's server-sent events. EventSource cannot send headers and a bearer token in a URL ends up in
  // logs, so each connection gets its own single-use ticket (30 s, this stream only) asked for with the token.
  let source = null;
  let left = false;
  let retry = 1000;
  const onEntry = ev => {
    let entry;
    try { entry = JSON.parse(ev.data); } catch { return; }
    if (list.querySelector(`[data-entry-id="${CSS.escape(String(entry.entryId ?? ''))}"]`)) return;
    document.getElementById('feed-empty')?.remove();
    list.prepend(entryItem(entry));
    announce(`New alert: ${entry.title}`);
  };
  const connect = async () => {
    if (left || !session()) return;
    let ticket;
    try {
      ({ ticket } = await api(`${base}/stream-ticket`, { method: 'POST', body: {} }));
    } catch {
      live.textContent = 'reconnecting…';
      setTimeout(connect, retry = Math.min(retry * 2, 30000));
      return;
    }
    if (left) return;
    source = new EventSource(`${base}/stream?ticket=${encodeURIComponent(ticket)}`);
    source.addEventListener('ready', () => { live.textContent = '● live'; retry = 1000; });
    source.addEventListener('feed-entry', onEntry);
    // The browser would reconnect with the same, now used, ticket: close and ask for a new one instead.
    source.onerror = () => {
      source.close();
      live.textContent = 'reconnecting…';
      setTimeout(connect, retry = Math.min(retry * 2, 30000));
    };
  };
  connect();
  onLeave(() => { left = true; source?.close(); });
  return el;
}
