// Ops: the model registry (promote, roll back, train a candidate), the nightly re-score, and model monitoring.
// Monitoring endpoints are being built (issue 5): a 404 shows "not available" instead of an error.
import { api, apiOrNull } from '../api.js';
import { h, clear, section, message, percent, date, announce } from '../dom.js';
import { lineChart, calibrationPlot } from '../charts.js';

const MONITORING = '/api/early-warning/v1/monitoring';
const KIND = 'chronic-absence';

export function renderOps(main) {
  main.append(h('h1', {}, 'Models'));
  const registry = section('Model registry', el => registryView(el));
  registry.id = 'registry';
  main.append(registry);
  main.append(section('Nightly re-score', async () => {
    const n = await api('/api/early-warning/v1/scoring/nightly');
    return h('p', {}, n.enabled
      ? `Every night at ${n.nightlyAt}; next run ${date(n.nextRunAt)}. Last run ${n.lastRunAt ? `${date(n.lastRunAt)}: ${n.lastOutcome}, ${n.lastStudentsScored} students` : 'not since the service started'}.`
      : 'Turned off on this deployment.');
  }));
  const grid = h('div', { class: 'grid' });
  main.append(h('h2', {}, 'Monitoring'), grid);
  grid.classList.add('two');
  grid.append(
    monitoring('Drift over time', 'drift', d => series(d, 'Input drift (PSI) by day', 'Population stability of the model inputs against training')),
    monitoring('False-positive rate over time', 'false-positives', d => series(d, 'False-positive rate by day', 'Share of flagged students later closed as false alarms')),
    monitoring('Calibration', 'calibration', calibration),
    monitoring('Subgroup gaps', 'subgroups', rowsTable));
}

async function registryView(el) {
  const models = (await api('/api/early-warning/v1/models')).models ?? [];
  const status = h('div', { id: 'registry-status', 'aria-live': 'polite' });
  const act = async (what, path, body) => {
    try {
      const m = await api(path, { method: 'POST', body });
      const text = `${what}: ${m.kind} v${m.version} is ${m.status}.`;
      announce(text);
      await el.reload();
      document.getElementById('registry-status')?.replaceChildren(message('ok', text));
    } catch (e) {
      clear(status, message('error', e.message));
    }
  };
  const kinds = [...new Set(models.map(m => m.kind))];
  const heldOut = m => (m.metrics ?? []).find(x => x.scorer === m.algorithm) ?? (m.metrics ?? [])[0];
  const train = h('button', {
    type: 'button', class: 'secondary', id: 'train-candidate',
    onclick: async ev => {
      ev.currentTarget.disabled = true;
      clear(status, message('info', 'Training a candidate on 5,000 synthetic students…'));
      // A fresh seed, so the candidate is not a copy of the demo's model.
      await act('Trained', '/api/early-warning/v1/models/train', { kind: KIND, students: 5000, seed: Math.floor(Math.random() * 1e6) });
    },
  }, 'Train a candidate (chronic absence)');
  return [
    models.length ? h('table', {},
      h('caption', { class: 'visually-hidden' }, 'Model versions'),
      h('thead', {}, h('tr', {}, ['Model', 'Status', 'Algorithm', 'Held-out AUC', 'PR-AUC', 'Precision', 'Recall', 'Threshold', 'Trained', ''].map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, models.map(m => {
        const x = heldOut(m);
        return h('tr', { dataset: { modelId: m.modelId, status: m.status } },
          h('td', {}, `${m.kind} v${m.version}`, h('div', { class: 'muted' }, m.dataSource)),
          h('td', {}, h('span', { class: 'badge status' }, m.status), m.beatsBaseline ? '' : h('div', { class: 'muted' }, 'does not beat the baseline')),
          h('td', {}, m.algorithm),
          h('td', { class: 'num' }, x ? x.auc.toFixed(3) : '—'),
          h('td', { class: 'num' }, x ? x.prAuc.toFixed(3) : '—'),
          h('td', { class: 'num' }, x ? percent(x.precision) : '—'),
          h('td', { class: 'num' }, x ? percent(x.recall) : '—'),
          h('td', { class: 'num' }, percent(m.threshold, 1)),
          h('td', {}, date(m.trainedAt)),
          h('td', {}, m.status === 'active' ? null : h('button', {
            type: 'button', 'aria-label': `Promote ${m.kind} v${m.version}`,
            onclick: () => act('Promoted', `/api/early-warning/v1/models/${encodeURIComponent(m.modelId)}/promote`, {}),
          }, 'Promote')));
      }))) : h('p', {}, 'No model is registered: only the attendance indicator raises alerts.'),
    h('div', { class: 'row', style: 'margin-top:.75rem' },
      kinds.map(k => h('button', { type: 'button', class: 'secondary', onclick: () => act('Rolled back', '/api/early-warning/v1/models/rollback', { kind: k }) }, `Roll back ${k}`)),
      train,
      h('button', {
        type: 'button', class: 'secondary',
        onclick: async () => {
          try {
            const r = await api('/api/early-warning/v1/models/rescore', { method: 'POST', body: { kind: KIND } });
            clear(status, message('ok', `Re-scored ${r.studentsScored} students with the active model.`));
          } catch (e) {
            clear(status, message('error', e.message));
          }
        },
      }, 'Re-score students (after a promotion)')),
    status,
  ];
}

function monitoring(title, path, render) {
  const el = section(title, async () => {
    const url = `${MONITORING}/${path}?kind=${KIND}`;
    const data = await apiOrNull(url);
    if (data === null) return h('p', { class: 'muted', dataset: { unavailable: path } }, `Not available: this deployment does not serve ${url.split('?')[0]} yet.`);
    return render(data) ?? raw(data);
  });
  el.dataset.monitoring = path;
  return el;
}

// The monitoring answers are not fixed yet: find the first list of rows and draw what it holds, else show the JSON.
function rowsOf(data) {
  if (Array.isArray(data)) return data;
  for (const v of Object.values(data ?? {})) if (Array.isArray(v) && v.length && typeof v[0] === 'object') return v;
  return null;
}

const TIME_KEYS = ['date', 'day', 'week', 'at', 'measuredAt', 'windowStart', 'from'];

function series(data, title, description) {
  const rows = rowsOf(data);
  if (!rows?.length) return h('p', {}, 'No measurements yet.');
  const timeKey = TIME_KEYS.find(k => k in rows[0]);
  const numeric = Object.keys(rows[0]).filter(k => typeof rows[0][k] === 'number').slice(0, 3);
  if (!timeKey || !numeric.length) return null;
  const values = numeric.flatMap(k => rows.map(r => r[k])).filter(v => typeof v === 'number');
  return lineChart({
    title, description,
    labels: rows.map(r => String(r[timeKey]).slice(0, 10)),
    series: numeric.map(k => ({ name: k, values: rows.map(r => r[k]) })),
    yMin: Math.min(0, ...values), yMax: Math.max(...values, 0.1),
    format: v => v.toFixed(2),
  });
}

function calibration(data) {
  const rows = rowsOf(data);
  if (!rows?.length) return h('p', {}, 'No labelled outcomes yet.');
  const pick = (r, keys) => keys.map(k => r[k]).find(v => typeof v === 'number') ?? null;
  const bins = rows.map(r => ({
    predicted: pick(r, ['meanPredicted', 'predicted', 'meanScore']),
    observed: pick(r, ['observedRate', 'observed', 'actual', 'positiveRate']),
    count: pick(r, ['count', 'students', 'n']),
  }));
  if (bins.every(b => b.predicted === null)) return null;
  return calibrationPlot({ title: 'Calibration', description: 'Mean predicted risk against the observed rate per score bin; on the dashed line the scores are calibrated.', bins });
}

function rowsTable(data) {
  const rows = rowsOf(data);
  if (!rows?.length) return h('p', {}, 'No subgroups measured yet.');
  const keys = Object.keys(rows[0]).filter(k => typeof rows[0][k] !== 'object');
  return h('table', {}, h('thead', {}, h('tr', {}, keys.map(k => h('th', { scope: 'col' }, k)))),
    h('tbody', {}, rows.map(r => h('tr', {}, keys.map(k => h('td', { class: typeof r[k] === 'number' ? 'num' : '' }, typeof r[k] === 'number' ? +r[k].toFixed(4) : r[k]))))));
}

function raw(data) {
  return [h('p', { class: 'muted' }, 'The answer is shown as received:'), h('pre', {}, JSON.stringify(data, null, 2))];
}
