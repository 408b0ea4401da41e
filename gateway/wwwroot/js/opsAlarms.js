// Ops: the alarms feed (Notifications' ops alarms, live through the user's own feed stream), acknowledging an alarm with
// a note, every scheduled job's state (Early warning, Interventions) and a line per active model. Aggregates only.
import { api, session } from './api.js';
import { onLeave } from './lifecycle.js';
import { h, clear, section, message, percent, date, announce, id, scrollBox } from './dom.js';

const ALARMS = '/api/notifications/v1/ops/alarms';
const OPS_KINDS = new Set(['model-drift', 'fpr-above-bound', 'expected-fpr-band', 'subgroup-gap', 'retraining-failed', 'challenger-waiting']);
const KIND_LABELS = {
  'model-drift': 'drift',
  'fpr-above-bound': 'false alarms',
  'expected-fpr-band': 'expected false alarms',
  'subgroup-gap': 'subgroup gap',
  'retraining-failed': 'retraining failed',
  'challenger-waiting': 'challenger waiting',
};

export function alarmsSection() {
  const live = h('span', { class: 'muted', id: 'alarms-live', 'aria-live': 'polite' }, 'connecting…');
  const el = section('Alarms', async () => {
    const answer = await api(`${ALARMS}?limit=50`);
    const alarms = answer.alarms ?? [];
    return [
      h('p', { class: 'row' }, h('span', { id: 'alarms-unacknowledged' }, `${answer.unacknowledged} not acknowledged`),
        answer.withoutRecipient ? h('span', { class: 'badge drift-significant' }, `${answer.withoutRecipient} reached nobody`) : null, live),
      alarms.length
        ? h('ul', { class: 'feed', id: 'alarms-list' }, alarms.map(a => alarmItem(a, () => el.reload())))
        : h('p', { id: 'alarms-empty' }, 'No alarm yet: drift, a false-positive rate above its bound, and retraining jobs appear here.'),
    ];
  });
  el.id = 'alarms';
  followFeed(el, live);
  return el;
}

function alarmItem(a, reload) {
  const noteId = id('note');
  const status = h('div', { 'aria-live': 'polite' });
  const note = h('textarea', { id: noteId, name: 'note', rows: 2, cols: 60, maxlength: 2000 });
  const form = a.acknowledged ? null : h('form', {
    class: 'ack', novalidate: true,
    onsubmit: async ev => {
      ev.preventDefault();
      if (!note.value.trim()) {
        clear(status, message('error', 'Write a note: what was done, or why nothing needs doing.'));
        note.focus();
        return;
      }
      try {
        await api(`${ALARMS}/${encodeURIComponent(a.alarmId)}/acknowledge`, { method: 'POST', body: { note: note.value } });
        announce(`Acknowledged: ${a.title}`);
        await reload();
      } catch (e) {
        clear(status, message('error', e.message));
      }
    },
  }, h('label', { for: noteId }, 'Note'), note, h('button', { type: 'submit' }, 'Acknowledge'));
  return h('li', { class: a.acknowledged ? '' : 'unread', dataset: { alarmId: a.alarmId, kind: a.kind } },
    h('strong', {}, a.title), ' ', h('span', { class: 'badge' }, KIND_LABELS[a.kind] ?? a.kind), ' ', h('span', { class: 'muted' }, date(a.raisedAt)),
    h('div', {}, a.body),
    a.error ? h('div', { class: 'alarm-error' }, message('error', a.error)) : h('div', { class: 'muted' }, `Told: ${a.recipients.join(', ')}`),
    a.link.endsWith('.svg') ? chartButton(a) : null,
    a.acknowledged
      ? h('div', { class: 'acknowledged' }, `Acknowledged by ${a.acknowledged.by} on ${date(a.acknowledged.at)}: ${a.acknowledged.note}`)
      : form,
    status);
}

/** The chart the alarm links to, fetched with the token on demand (an SVG in an img runs no script). */
function chartButton(a) {
  const holder = h('div', {});
  return h('div', {}, h('button', {
    type: 'button', class: 'secondary',
    onclick: async ev => {
      ev.currentTarget.disabled = true;
      try {
        const blob = await api(a.link, { accept: 'image/svg+xml', as: 'blob' });
        const url = URL.createObjectURL(new Blob([blob], { type: 'image/svg+xml' }));
        onLeave(() => URL.revokeObjectURL(url));
        clear(holder, h('img', { class: 'chart-img', src: url, alt: `The chart for: ${a.title}`, width: 800, height: 450 }));
      } catch (e) {
        clear(holder, message('error', `The chart could not be drawn: ${e.message}`));
      }
    },
  }, 'Show the chart'), holder);
}

/** Live: the signed-in user's own feed stream (ops alarms reach them as feed entries); a new ops entry reloads the list. */
function followFeed(el, live) {
  const me = session()?.user?.id;
  if (!me) return;
  const base = `/api/notifications/v1/staff/${encodeURIComponent(me)}/feed`;
  let source = null;
  let left = false;
  let retry = 1000;
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
    source.addEventListener('feed-entry', ev => {
      let entry;
      try { entry = JSON.parse(ev.data); } catch { return; }
      if (!OPS_KINDS.has(entry.kind)) return;
      announce(`New alarm: ${entry.title}`);
      el.reload();
    });
    // A used ticket cannot reconnect: close and ask for a new one.
    source.onerror = () => {
      source.close();
      live.textContent = 'reconnecting…';
      setTimeout(connect, retry = Math.min(retry * 2, 30000));
    };
  };
  connect();
  onLeave(() => { left = true; source?.close(); });
}

const SERVICES = { 'Early warning': '/api/early-warning/v1/jobs', Interventions: '/api/interventions/v1/jobs' };

export function jobsSection() {
  const el = section('Scheduled jobs', async () => {
    const rows = [];
    const errors = [];
    for (const [service, path] of Object.entries(SERVICES)) {
      try {
        for (const j of (await api(path)).jobs ?? []) rows.push({ service, ...j });
      } catch (e) {
        errors.push(message('error', `${service}: ${e.message}`));
      }
    }
    const body = rows.length ? scrollBox('Scheduled jobs', h('table', { id: 'jobs-table' },
      h('caption', { class: 'visually-hidden' }, 'Scheduled jobs'),
      h('thead', {}, h('tr', {}, ['Service', 'Job', 'Schedule', 'Next run', 'Now', 'Last run', 'Outcome', 'Runs', 'Taken over'].map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map(j => h('tr', { dataset: { job: j.job } },
        h('td', {}, j.service), h('td', {}, j.job), h('td', {}, j.schedule), h('td', {}, date(j.nextRunAt)),
        h('td', {}, j.running ? `running on ${j.runningOn}` : 'idle'),
        h('td', {}, j.lastStartedAt ? `${date(j.lastStartedAt)} (${j.lastRunBy})` : 'never'),
        h('td', {}, j.lastOutcome), h('td', { class: 'num' }, j.runs), h('td', { class: 'num' }, j.recovered)))))) : h('p', { id: 'jobs-empty' }, 'No scheduled job has been planned yet.');
    return [h('p', { class: 'muted' }, 'Each job runs once per schedule across replicas; a run whose replica stopped is taken over when its lease runs out.'), body, errors];
  });
  el.id = 'jobs';
  return el;
}

const MONITORING = '/api/early-warning/v1/monitoring';

/** One line per active model: its latest score drift against the baseline and its latest weekly false-positive rates. */
export function activeModelsSection(kinds) {
  const el = section('Every active model', async () => {
    const models = ((await api('/api/early-warning/v1/models')).models ?? []).filter(m => m.status === 'active' && kinds[m.kind]);
    if (!models.length) return h('p', {}, 'No model is active.');
    const rows = await Promise.all(models.map(async m => {
      const [runs, weeks] = await Promise.all([api(`${MONITORING}/drift?kind=${m.kind}&reference=baseline`), api(`${MONITORING}/report?kind=${m.kind}`)]);
      const drift = [...runs].sort((a, b) => b.ranAt.localeCompare(a.ranAt))[0];
      const week = [...weeks].filter(w => w.modelVersion === m.version).sort((a, b) => b.weekStart.localeCompare(a.weekStart))[0];
      return h('tr', { dataset: { kind: m.kind } },
        h('td', {}, `${m.kind} v${m.version}`),
        h('td', {}, drift ? `PSI ${drift.scorePsi.toFixed(3)} (${drift.scoreBand}) as of ${drift.asOf}` : 'no check yet'),
        h('td', {}, week ? `${week.weekStart}: realised ${percent(week.realisedFalsePositiveRate, 1)}, expected ${percent(week.expectedFalsePositiveRate, 1)}` : 'no weekly scores yet'));
    }));
    return scrollBox('Active models', h('table', { id: 'active-models' },
      h('caption', { class: 'visually-hidden' }, 'Every active model'),
      h('thead', {}, h('tr', {}, ['Model', 'Score drift (latest, against the baseline)', 'False-positive rate (latest week)'].map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)));
  });
  el.id = 'active-models-section';
  return el;
}
