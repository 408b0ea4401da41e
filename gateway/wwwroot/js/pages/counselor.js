// Counselor: my worklist (one entry per student, most worth a call first, live), updates for me (cases assigned,
// overdue), my caseload sorted by risk, flagged students of my schools.
import { api, session } from '../api.js';
import { h, clear, section, message, date, announce } from '../dom.js';
import { casesFor, risksFor, byRisk, ACTIVE } from '../data.js';
import { onLeave } from '../lifecycle.js';
import { caseTable, riskTable, nameLink, caseCsv, riskCsv } from '../components.js';

export function renderCounselor(main, user) {
  main.append(h('h1', {}, `My students — ${user.name}`));
  const grid = h('div', { class: 'grid' });
  main.append(grid);
  const worklist = worklistSection(user);
  main.insertBefore(worklist, grid);
  grid.append(feedSection(user, worklist));
  const caseload = section('My caseload, highest risk first', async () => {
    const [cases, risks] = await Promise.all([casesFor(user), risksFor(user)]);
    const mine = cases.filter(c => ACTIVE.includes(c.status) && (c.assignedTo === user.id || (c.helperIds ?? []).includes(user.id)));
    mine.sort(byRisk(risks));
    if (!mine.length) return h('p', {}, 'No active cases are assigned to you.');
    return [caseTable(mine, risks, 'My caseload'), caseCsv(mine, risks, 'Download my caseload (CSV)', 'caseload', 'caseload-csv')];
  });
  caseload.id = 'caseload';
  main.append(caseload);
  main.append(section('Students flagged in my schools', async () => {
    const risks = [...(await risksFor(user)).values()].filter(r => r.flagged).sort((a, b) => b.score - a.score);
    if (!risks.length) return h('p', {}, 'No student is flagged by the active model.');
    const shown = risks.slice(0, 50);
    return [riskTable(shown, 'Flagged students'),
      risks.length > shown.length ? h('p', { class: 'muted' }, `The ${shown.length} highest of ${risks.length} flagged students; the file holds all ${risks.length}.`) : null,
      riskCsv(risks, 'Download the flagged students (CSV)', 'flagged-students', 'flagged-csv')];
  }));
}

const LEVEL_BADGE = { severe: 'band-high', flagged: 'band-elevated' };
const KINDS = [['chronic-absence', 'Attendance'], ['behavior', 'Behaviour'], ['course-performance', 'Course performance'], ['dropout', 'Dropout risk']];
const SORTS = [['priority', 'Most urgent first'], ['changed', 'Latest change first'], ['name', 'By name']];

/**
 * One entry per student: who (name, grade, school), how urgent, every current reason; read marks and "mark all read".
 * The list can be narrowed to one kind of reason (each with its count) and read in another order; the choice is kept
 * while the page is open, so a live update does not undo it.
 */
function worklistSection(user) {
  const base = `/api/notifications/v1/staff/${encodeURIComponent(user.id)}/worklist`;
  const view = { kind: '', sort: 'priority' };
  const el = section('Students to see', async () => {
    const query = new URLSearchParams({ limit: '100', sort: view.sort });
    if (view.kind) query.set('kind', view.kind);
    const w = await api(`${base}?${query}`);
    const entries = w.entries ?? [];
    const choose = kind => { view.kind = kind; el.reload(); };
    const filters = h('div', { class: 'row', role: 'group', 'aria-label': 'Show students with a reason of this kind', id: 'worklist-kinds' },
      [['', 'All', w.total], ...KINDS.map(([k, label]) => [k, label, w.kinds?.[k] ?? 0])].map(([k, label, n]) =>
        h('button', { type: 'button', class: view.kind === k ? '' : 'secondary', 'aria-pressed': String(view.kind === k), dataset: { kind: k },
          onclick: () => choose(k) }, `${label} (${n})`)),
      h('label', {}, 'Order ', h('select', { id: 'worklist-sort', onchange: ev => { view.sort = ev.target.value; el.reload(); } },
        SORTS.map(([v, label]) => h('option', { value: v, selected: view.sort === v }, label)))));
    const status = h('div', { 'aria-live': 'polite' });
    const markAll = h('button', {
      type: 'button', class: 'secondary', id: 'worklist-read-all', disabled: !w.unread,
      onclick: async () => {
        try {
          await api(`${base}/read`, { method: 'POST', body: {} });
          announce('Everything marked read.');
          await el.reload();
        } catch (e) {
          clear(status, message('error', e.message));
        }
      },
    }, 'Mark all read');
    const item = e => {
      const li = h('li', { class: e.read ? '' : 'unread', dataset: { studentId: e.studentId, level: e.level } },
        h('div', { class: 'row' },
          h('a', { class: 'title', href: `#/student/${encodeURIComponent(e.studentId)}` }, e.studentName || e.studentId),
          h('span', { class: 'muted' }, [e.gradeLevel ? `grade ${e.gradeLevel}` : null, e.schoolId].filter(Boolean).join(' · ')),
          h('span', { class: `badge ${LEVEL_BADGE[e.level] ?? 'status'}` }, e.level),
          e.read ? null : h('span', { class: 'badge status' }, 'new')),
        h('ul', { class: 'factors' }, (e.reasons ?? []).map(r => h('li', { dataset: { family: r.family } }, r.text))),
        h('div', { class: 'row muted' }, `changed ${date(e.changedAt)}`,
          e.read ? null : h('button', {
            type: 'button', class: 'secondary', 'aria-label': `Mark read: ${e.studentName || e.studentId}`,
            onclick: async ev => {
              ev.currentTarget.disabled = true;
              try {
                await api(`${base}/${encodeURIComponent(e.studentId)}/read`, { method: 'POST', body: {} });
                await el.reload();
              } catch (err) {
                li.append(message('error', err.message));
              }
            },
          }, 'Mark read')));
      return li;
    };
    const order = SORTS.find(([v]) => v === view.sort)[1].toLowerCase();
    return [h('p', { class: 'row', id: 'worklist-digest' }, h('span', {}, w.digest), markAll), filters, status,
      entries.length
        ? h('ol', { class: 'feed scrolling', id: 'worklist', 'aria-label': `Students to see, ${order}`, tabindex: 0 }, entries.map(item))
        : h('p', { id: 'worklist-empty' }, view.kind
          ? `No student on your list has a reason of this kind (${KINDS.find(([k]) => k === view.kind)[1].toLowerCase()}).`
          : 'No student of your schools has a current reason.')];
  });
  el.id = 'worklist-section';
  return el;
}

function feedSection(user, worklist) {
  const live = h('span', { class: 'live muted', role: 'status' }, 'connecting…');
  // Scrolls on its own when long; focusable so a keyboard can scroll it too.
  const list = h('ul', { class: 'feed scrolling', id: 'feed', 'aria-label': 'Updates for me', tabindex: 0 });
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
  // Risk alerts are in the worklist above, one entry per student; this list keeps what is about cases.
  const el = section('Updates for me', async () => {
    const feed = await api(base);
    const entries = (feed.entries ?? []).filter(e => e.kind !== 'risk-alert').sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    clear(list, entries.map(entryItem));
    return [h('p', { class: 'row' }, h('span', {}, `${entries.filter(e => !e.read).length} unread`), live),
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
    if (entry.kind === 'risk-alert') {
      // Something material changed for a student: their worklist entry is rewritten in place.
      worklist.reload();
      announce(`Worklist: ${entry.title}`);
      return;
    }
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
