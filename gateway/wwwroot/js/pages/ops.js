// Ops: the model registry (promote, roll back, train a candidate), the nightly re-score, the district threshold,
// and model monitoring read from Early warning's /monitoring endpoints (drift, weekly FPR, calibration,
// subgroups, counselor feedback, challenger). Aggregates only: no endpoint here returns a student's name.
import { api } from '../api.js';
import { onLeave } from '../lifecycle.js';
import { h, clear, section, message, percent, date, announce, id, scrollBox } from '../dom.js';
import { calibrationPlot } from '../charts.js';
import { alarmsSection, jobsSection, activeModelsSection } from '../opsAlarms.js';
import { dataQualitySection } from '../dataQuality.js';

const MONITORING = '/api/early-warning/v1/monitoring';
const MODELS = '/api/early-warning/v1/models';
const KINDS = { 'chronic-absence': 'chronic absence', dropout: 'dropout' };
// The model kind the page shows (the registry lists every kind); chosen with the selector below, kept for the session.
let KIND = sessionStorage.getItem('beacon.ops.kind') in KINDS ? sessionStorage.getItem('beacon.ops.kind') : 'chronic-absence';

export function renderOps(main) {
  main.append(h('h1', {}, 'Models'));
  // What needs ops first: the alarms (live), then the jobs and every active model at a glance.
  main.append(alarmsSection(), activeModelsSection(KINDS), jobsSection(), dataQualitySection());
  const kindId = id('kind');
  main.append(h('p', {}, h('label', { for: kindId }, 'Model kind '),
    h('select', {
      id: kindId, name: 'kind', 'data-role': 'model-kind',
      onchange: ev => {
        KIND = ev.currentTarget.value;
        sessionStorage.setItem('beacon.ops.kind', KIND);
        clear(main);
        renderOps(main);
      },
    }, Object.entries(KINDS).map(([value, label]) => h('option', { value, selected: value === KIND ? '' : null }, label)))));
  const registry = section('Model registry', el => registryView(el));
  registry.id = 'registry';
  main.append(registry);
  main.append(section('Nightly re-score', async () => {
    const n = await api('/api/early-warning/v1/scoring/nightly');
    return h('p', {}, n.enabled
      ? `Every night at ${n.nightlyAt}; next run ${date(n.nextRunAt)}. Last run ${n.lastRunAt ? `${date(n.lastRunAt)}: ${n.lastOutcome}, ${n.lastStudentsScored} students` : 'never'}.`
      : 'Turned off on this deployment.');
  }));
  const threshold = section('District threshold', el => thresholdView(el));
  threshold.id = 'threshold';
  main.append(threshold);

  main.append(h('h2', {}, 'Monitoring'),
    h('p', { class: 'muted' }, `Is the active ${KINDS[KIND]} model starting to cry wolf?`, ' Drift and expected figures work before outcomes are known; realised figures need labelled outcomes.'));
  main.append(
    monitoring('Drift over time', 'drift', driftView),
    monitoring('False-positive rate by week', 'report', reportView),
    monitoring('Calibration', 'calibration', calibrationView),
    monitoring('Subgroup gaps', 'fairness', fairnessView),
    monitoring('Counselor feedback', 'feedback', feedbackView),
    monitoring('Challenger and champion', 'challenger', challengerView));
}

// ---- registry ----------------------------------------------------------------------------------

async function registryView(el) {
  const models = (await api(MODELS)).models ?? [];
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
      await act('Trained', `${MODELS}/train`, { kind: KIND, students: 5000, seed: Math.floor(Math.random() * 1e6) });
    },
  }, `Train a candidate (${KINDS[KIND]})`);
  return [
    models.length ? scrollBox('Model versions', h('table', {},
      h('caption', { class: 'visually-hidden' }, 'Model versions'),
      h('thead', {}, h('tr', {}, ['Model', 'Status', 'Algorithm', 'Held-out AUC', 'PR-AUC', 'Precision', 'Recall', 'Threshold', 'Trained', 'Action'].map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, models.map(m => {
        const x = heldOut(m);
        return h('tr', { dataset: { modelId: m.modelId, status: m.status, kind: m.kind } },
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
            onclick: () => act('Promoted', `${MODELS}/${encodeURIComponent(m.modelId)}/promote`, {}),
          }, 'Promote')));
      })))) : h('p', {}, 'No model is registered: only the attendance indicator raises alerts.'),
    h('div', { class: 'row', style: 'margin-top:.75rem' },
      kinds.map(k => h('button', { type: 'button', class: 'secondary', onclick: () => act('Rolled back', `${MODELS}/rollback`, { kind: k }) }, `Roll back ${k}`)),
      train,
      h('button', {
        type: 'button', class: 'secondary',
        onclick: async () => {
          try {
            const r = await api(`${MODELS}/rescore`, { method: 'POST', body: { kind: KIND } });
            clear(status, message('ok', `Re-scored ${r.studentsScored} students with the active model.`));
          } catch (e) {
            clear(status, message('error', e.message));
          }
        },
      }, 'Re-score students (after a promotion)')),
    status,
  ];
}

// ---- district threshold ------------------------------------------------------------------------

const TARGETS = {
  'flag-top-share': { label: 'Flag the top share of students', field: 'flagTopShare', value: 'Share of students to flag (%)' },
  'min-precision': { label: 'Precision of at least', field: 'minPrecision', value: 'Lowest precision accepted (%)' },
};

function inUse(model) {
  const district = [...(model.districtThresholds ?? [])].sort((a, b) => (b.setAt ?? '').localeCompare(a.setAt ?? ''));
  if (!district.length) return h('p', { id: 'threshold-in-use', dataset: { threshold: model.threshold } }, `Threshold in use: ${percent(model.threshold, 1)}, the model's own (${model.thresholdRule || 'set at training'}). No district threshold is set.`);
  return h('div', { id: 'threshold-in-use', dataset: { threshold: district[0].threshold } },
    district.map(t => h('p', {},
      `Threshold in use for district ${t.districtId}: ${percent(t.threshold, 1)} (${TARGETS[t.target]?.label.toLowerCase() ?? t.target} ${percent(t.targetValue, 1)}; set ${date(t.setAt)}). `,
      `On the calibration slice it flags ${percent(t.calibrationFlaggedShare, 1)} of students with precision ${percent(t.calibrationPrecision, 1)}.`)),
    h('p', { class: 'muted' }, `The model's own threshold is ${percent(model.threshold, 1)}. Scores already stored keep their flag until the student is re-scored.`));
}

async function thresholdView(el) {
  const models = (await api(`${MODELS}?kind=${KIND}`)).models ?? [];
  const active = models.find(m => m.status === 'active');
  if (!active) return h('p', {}, `No ${KINDS[KIND]} model is active: promote one before setting a district threshold.`);
  const status = h('div', { id: 'threshold-status', 'aria-live': 'polite' });
  const targetName = id('target');
  const valueId = id('value');
  const valueLabel = h('label', { for: valueId }, TARGETS['flag-top-share'].value);
  const value = h('input', { id: valueId, name: 'value', type: 'text', inputmode: 'decimal', size: 6, value: '10', 'aria-describedby': `${valueId}-hint` });
  const radios = Object.entries(TARGETS).map(([key, t], i) => h('label', { class: 'inline' },
    h('input', { type: 'radio', name: targetName, value: key, checked: i === 0, onchange: () => { valueLabel.textContent = t.value; } }), t.label));
  const form = h('form', {
    novalidate: true,
    onsubmit: async ev => {
      ev.preventDefault();
      const target = form.querySelector(`input[name='${targetName}']:checked`).value;
      const typed = value.value.trim().replace(',', '.').replace(/\s*%$/, '');
      const number = Number(typed);
      // The service checks the range and says why; only text that is not a number at all is caught here.
      if (!typed || Number.isNaN(number)) {
        clear(status, message('error', `${TARGETS[target].value}: enter a number, e.g. 15 for 15 %.`));
        value.focus();
        return;
      }
      const button = form.querySelector('button[type=submit]');
      button.disabled = true;
      clear(status, message('info', 'Choosing the threshold on the model\'s calibration slice…'));
      try {
        const t = await api(`${MODELS}/${encodeURIComponent(active.modelId)}/thresholds`, { method: 'POST', body: { [TARGETS[target].field]: number / 100 } });
        const text = `District ${t.districtId} now uses threshold ${percent(t.threshold, 1)}: on the calibration slice it flags ${percent(t.calibrationFlaggedShare, 1)} of students with precision ${percent(t.calibrationPrecision, 1)}. ${t.rule ?? ''}`.trim();
        announce(text);
        await el.reload();
        document.getElementById('threshold-status')?.replaceChildren(message('ok', text));
      } catch (e) {
        clear(status, message('error', `The threshold was not changed. ${e.message}`));
        button.disabled = false;
      }
    },
  },
  h('fieldset', {}, h('legend', {}, 'Target'), h('div', { class: 'row' }, radios)),
  h('div', { class: 'field' }, valueLabel, value,
    h('div', { id: `${valueId}-hint`, class: 'muted' }, 'A percentage between 0 and 100, e.g. 15 flags the 15 % of students with the highest scores.')),
  h('button', { type: 'submit' }, 'Set threshold'));
  return [
    h('p', {}, `For the active model, ${active.kind} v${active.version}. Chosen on the model's calibration slice (training data it did not fit on), never the held-out test set.`),
    inUse(active),
    form,
    status,
  ];
}

// ---- monitoring sections -----------------------------------------------------------------------

function monitoring(title, part, render) {
  const el = section(title, () => render(el));
  el.dataset.monitoring = part;
  return el;
}

/**
 * A chart drawn by the service (SVG, ScottPlot). Fetched with the token and shown as an <img> from a blob
 * URL: an SVG in an <img> runs no script and cannot touch the page, and the alt text says what it shows.
 */
async function serviceChart(name, alt, query = '') {
  let blob;
  try {
    blob = await api(`${MONITORING}/charts/${name}?kind=${KIND}${query}`, { accept: 'image/svg+xml', as: 'blob' });
  } catch (e) {
    // The tables below still hold the numbers: say the chart failed instead of blanking the section.
    return message('error', `The chart could not be drawn: ${e.message}`);
  }
  const url = URL.createObjectURL(new Blob([blob], { type: 'image/svg+xml' }));
  onLeave(() => URL.revokeObjectURL(url));
  return h('img', { class: 'chart-img', src: url, alt, width: 800, height: name === 'fairness.svg' ? 600 : 450, dataset: { chart: name } });
}

function numbers(caption, headers, rows, attrs = {}) {
  return h('details', attrs,
    h('summary', {}, `${caption}: the numbers`),
    table(caption, headers, rows));
}

function table(caption, headers, rows, attrs = {}) {
  return scrollBox(caption, h('table', attrs,
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, headers.map(x => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows)));
}

const psi = v => (v === null || v === undefined ? '—' : v.toFixed(3));
const band = b => h('span', { class: `badge drift-${b}` }, b);
const cells = values => values.map(v => h('td', { class: typeof v === 'number' ? 'num' : '' }, v ?? '—'));

async function driftView(el) {
  const runs = await api(`${MONITORING}/drift?kind=${KIND}`);
  const status = h('div', { id: 'drift-status', 'aria-live': 'polite' });
  const post = async (button, path, done) => {
    button.disabled = true;
    clear(status, message('info', 'Measuring the current window…'));
    try {
      const answer = await api(`${MONITORING}/${path}`, { method: 'POST', body: { kind: KIND } });
      const text = done(answer);
      announce(text);
      await el.reload();
      document.getElementById('drift-status')?.replaceChildren(message('ok', text));
    } catch (e) {
      clear(status, message('error', e.message));
      button.disabled = false;
    }
  };
  const buttons = h('div', { class: 'row' },
    h('button', {
      type: 'button', id: 'drift-run',
      onclick: ev => post(ev.currentTarget, 'drift/run', r => `Drift checked: ${r.map(x => x.note ? `against the ${x.reference}: ${x.note}` : `score PSI ${psi(x.scorePsi)} (${x.scoreBand}) against the ${x.reference}`).join('; ')}.`),
    }, 'Run a drift check now'),
    h('button', {
      type: 'button', class: 'secondary', id: 'drift-baseline',
      onclick: ev => post(ev.currentTarget, 'drift/baseline', b => `Baseline pinned to the window as of ${b.asOf} (${b.students} students). Later checks compare with it.`),
    }, 'Pin the baseline to today'));
  if (!runs.length) {
    return [h('p', { id: 'drift-empty' }, 'No drift check has run yet. The daily check runs after the nightly re-score; a check needs enough students with 30 or more school days recorded.'), buttons, status];
  }
  // Newest day first (a backfill computes past days after today's check), then the latest run of a day first.
  const newest = [...runs].sort((a, b) => b.asOf.localeCompare(a.asOf) || b.ranAt.localeCompare(a.ranAt));
  const latestAt = newest[0].ranAt;
  const latest = newest.filter(r => r.ranAt === latestAt && r.asOf === newest[0].asOf);
  const backfilled = runs.filter(r => r.backfilled).length;
  const history = table(`Drift checks, newest first${runs.length > 30 ? ` (the 30 newest of ${runs.length})` : ''}`, ['Ran', 'As of', 'Model', 'Against', 'Students', 'Score PSI', 'Score', 'Worst input', 'Alert', 'Trigger'],
    newest.slice(0, 30).map(r => h('tr', { dataset: { runId: r.runId, reference: r.reference } },
      cells([date(r.ranAt), r.asOf, `v${r.modelVersion}`, r.reference, r.students, r.note ? null : psi(r.scorePsi)]), h('td', {}, band(r.scoreBand)), h('td', {}, band(r.worstBand)),
      cells([r.alerted ? 'drift alert sent' : 'no', r.backfilled ? 'backfill (computed afterwards)' : r.trigger]))), { id: 'drift-runs' });
  const measures = latest.map(r => r.note ? h('div', {}, h('h3', {}, `Latest check against the ${r.reference} (as of ${r.asOf})`), h('p', { class: 'drift-note' }, r.note)) : h('div', {},
    h('h3', {}, `Latest check against the ${r.reference} (as of ${r.asOf}, ${r.students} students, ${r.referenceRows} reference rows)`),
    table(`Each input's drift against the ${r.reference}`, ['Input', 'PSI', 'Band', 'KS', 'KS p-value', 'Wasserstein', 'Missing (ref / now)'],
      r.measures.map(m => h('tr', { class: m.measure === 'score' ? 'emphasis' : '' },
        h('th', { scope: 'row' }, m.measure === 'score' ? 'score (model output)' : m.measure),
        cells([psi(m.psi)]), h('td', {}, band(m.band)),
        cells([m.kolmogorovSmirnov.toFixed(3), m.ksPValue < 0.001 ? '< 0.001' : m.ksPValue.toFixed(3), m.wasserstein.toFixed(3), `${percent(m.referenceMissingRate)} / ${percent(m.currentMissingRate)}`]))),
      { class: 'drift-latest' })));
  return [
    h('p', {}, 'PSI bands: below 0.10 stable, 0.10–0.25 moderate, above 0.25 significant. Only the score against the baseline raises an alert.'),
    // One chart per reference, each on its own value axis: against the training sample a model served outside what it learnt
    // reaches a PSI of several units, which on a shared axis would flatten the baseline's (the one that alarms).
    await serviceChart('drift.svg', `Score drift (PSI) over time against the pinned baseline, with the 0.10 and 0.25 bands; ${runs.filter(r => r.reference === 'baseline').length} checks, numbers in the table below.`, '&reference=baseline'),
    await serviceChart('drift.svg', `Training/serving skew: score PSI against the training sample over time, with the same bands; ${runs.filter(r => r.reference === 'training').length} checks, numbers in the table below.`, '&reference=training'),
    buttons, status,
    h('h3', {}, 'Drift checks'),
    backfilled ? h('p', { id: 'drift-backfilled' }, `${backfilled} of the ${runs.length} checks were computed afterwards by a monitoring backfill, as of each past school day with only the data dated up to it; they raised no alert.`) : null,
    history,
    measures,
  ];
}

async function reportView() {
  const weeks = await api(`${MONITORING}/report?kind=${KIND}`);
  if (!weeks.length) return h('p', { id: 'report-empty' }, 'No weekly scores yet: the report starts once the active model has scored students.');
  const labelled = weeks.some(w => w.labelled > 0);
  const rows = [...weeks].reverse();
  return [
    labelled ? null : h('p', { id: 'report-unlabelled' }, 'No labelled outcomes yet: realised figures appear once outcomes are recorded. The expected figures come from the calibrated scores of all students.'),
    await serviceChart('fpr.svg', `Expected${labelled ? ' and realised' : ''} false-positive rate per week and model version; numbers in the table below.`),
    numbers('False-positive rate by week', ['Week', 'Model', 'Students', 'Flagged', 'Labelled', 'Realised FPR', 'Expected FPR', 'Realised precision', 'Expected precision', 'Recall', 'Expected recall', 'ECE', 'Alerts', 'False by counselor'],
      rows.map(w => h('tr', { dataset: { backfilled: String(w.backfilled) } }, cells([w.backfilled ? `${w.weekStart} (backfilled)` : w.weekStart, `v${w.modelVersion}`, w.students, w.flagged, w.labelled,
        percent(w.realisedFalsePositiveRate, 1), percent(w.expectedFalsePositiveRate, 1), percent(w.realisedPrecision, 1), percent(w.expectedPrecision, 1),
        percent(w.recall, 1), percent(w.expectedRecall, 1), w.expectedCalibrationError === null ? '—' : w.expectedCalibrationError.toFixed(3), w.alertsRaised, w.alertsFalseByCounselor]))),
      { id: 'report-weeks', open: true }),
  ];
}

async function calibrationView() {
  const [live, challenger] = await Promise.all([api(`${MONITORING}/calibration?kind=${KIND}`), api(`${MONITORING}/challenger?kind=${KIND}`)]);
  const parts = [h('h3', {}, 'Live: labelled students of the active model')];
  if (!live.students) {
    parts.push(h('p', { id: 'calibration-empty' }, 'No labelled outcomes yet: the live reliability diagram needs students whose outcome is known.'));
  } else {
    parts.push(h('p', {}, `v${live.modelVersion}: ${live.students} labelled students, expected calibration error ${live.expectedCalibrationError.toFixed(3)}.`),
      await serviceChart('reliability.svg', `Reliability diagram of the active model: mean predicted probability against the observed rate for ${live.students} labelled students; numbers in the table below.`),
      numbers('Live reliability', ['Scores from', 'to', 'Students', 'Mean predicted', 'Observed rate'],
        live.bins.filter(b => b.count > 0).map(b => h('tr', {}, cells([b.low.toFixed(1), b.high.toFixed(1), b.count, b.meanPredicted.toFixed(3), b.observedRate.toFixed(3)]))), { id: 'calibration-live' }));
  }
  const champion = challenger.champion;
  if (champion?.heldOut?.reliability?.length) {
    parts.push(h('h3', {}, `Held out at training: v${champion.version}`),
      calibrationPlot({
        title: `Held-out reliability of v${champion.version}`,
        description: `Mean predicted risk against the observed rate per score bin on ${champion.heldOut.examples} held-out students (${champion.dataSource}); on the dashed line the scores are calibrated. ECE ${champion.heldOut.expectedCalibrationError.toFixed(3)}.`,
        bins: champion.heldOut.reliability.filter(b => b.count > 0).map(b => ({ predicted: b.meanPredicted, observed: b.observedRate, count: b.count })),
      }));
  }
  return parts;
}

async function fairnessView() {
  const view = await api(`${MONITORING}/fairness?kind=${KIND}`);
  const report = view.report;
  if (!view.weekStart || !report.groups.length) return h('p', { id: 'fairness-empty' }, 'No scores yet for the active model: no subgroup figures.');
  const shown = report.groups.filter(g => !g.suppressed);
  const largest = new Map();
  for (const g of report.gaps) if (!largest.has(g.measure) || g.gap > largest.get(g.measure).gap) largest.set(g.measure, g);
  const flagged = new Set([...largest.values()]);
  const parts = [h('p', {}, `Model v${view.modelVersion}, week of ${view.weekStart}. Groups with fewer than ${report.minimumGroupSize} labelled students are suppressed: no figures, no count.`)];
  if (!shown.length) {
    parts.push(h('p', { id: 'fairness-suppressed' }, report.groups.some(g => g.labelled > 0)
      ? `Every group is suppressed: none has ${report.minimumGroupSize} labelled students yet.`
      : 'No labelled outcomes yet: every group is suppressed until outcomes are recorded.'));
  } else {
    parts.push(await serviceChart('fairness.svg', 'False-positive rate and recall per shown subgroup, the largest gap in the title; numbers in the tables below.'));
  }
  if (report.gaps.length) {
    parts.push(h('h3', {}, 'Largest gaps, per attribute'),
      table('Largest gaps in false-positive rate and recall', ['Attribute', 'Measure', 'Gap', 'Highest', 'Lowest'],
        report.gaps.map(g => h('tr', { class: flagged.has(g) ? 'highlight' : '', dataset: { largest: flagged.has(g) ? g.measure : undefined } },
          h('td', {}, g.attribute, flagged.has(g) ? h('strong', {}, ` — largest ${g.measure} gap`) : null),
          cells([g.measure, percent(g.gap, 1), `${g.highestGroup} ${percent(g.highest, 1)}`, `${g.lowestGroup} ${percent(g.lowest, 1)}`]))), { id: 'fairness-gaps' }));
  }
  parts.push(numbers('Subgroup figures', ['Attribute', 'Group', 'Students', 'Labelled', 'Flagged', 'FPR', 'Precision', 'Recall', 'Expected FPR'],
    report.groups.map(g => g.suppressed
      ? h('tr', { class: 'suppressed', dataset: { suppressed: 'true' } }, cells([g.attribute, g.group]), h('td', { colspan: 7 }, 'suppressed (too few labelled students)'))
      : h('tr', {}, cells([g.attribute, g.group, g.students, g.labelled, g.figures?.flagged, percent(g.figures?.falsePositiveRate, 1),
        percent(g.figures?.precision, 1), percent(g.figures?.recall, 1), percent(g.figures?.expectedFalsePositiveRate, 1)]))), { id: 'fairness-groups' }));
  return parts;
}

async function feedbackView() {
  const rows = await api(`${MONITORING}/feedback?kind=${KIND}`);
  if (!rows.length) return h('p', { id: 'feedback-empty' }, 'No counselor has marked an alert of this model as a false alarm yet.');
  const source = s => (s === 'intervention-case' ? 'case closed as false alarm' : s === 'counselor' ? 'counselor on the alert' : s);
  return [
    h('p', {}, `${rows.length} alert(s) judged by counselors. Feedback is not an outcome label: it is shown apart and never changes the realised figures.`),
    table('Counselor feedback, newest first', ['Recorded', 'Model', 'Verdict', 'Reason', 'Source'],
      rows.slice(0, 50).map(f => h('tr', {}, cells([date(f.recordedAt), f.modelVersion ? `v${f.modelVersion}` : '—', f.verdict, f.reason || '—', source(f.source)]))), { id: 'feedback-list' }),
  ];
}

async function challengerView(el) {
  const view = await api(`${MONITORING}/challenger?kind=${KIND}`);
  const status = h('div', { id: 'challenger-status', 'aria-live': 'polite' });
  const { champion, challenger } = view;
  const metric = (label, get) => h('tr', {}, h('th', { scope: 'row' }, label), [champion, challenger].map(m => h('td', { class: 'num' }, m ? get(m) : '—')));
  const check = h('button', {
    type: 'button', class: 'secondary', id: 'retraining-check',
    onclick: async () => {
      try {
        const r = await api(`${MONITORING}/retraining/check?kind=${KIND}`, { method: 'POST' });
        await el.reload();
        document.getElementById('challenger-status')?.replaceChildren(message('ok', r.started ? `A training job started: ${r.job.reason}` : 'The policy did not start a job (no sustained high false-positive rate, a job running, or within the cool-down).'));
      } catch (e) {
        clear(status, message('error', e.message));
      }
    },
  }, 'Check the retraining policy now');
  const promote = challenger ? h('button', {
    type: 'button', id: 'promote-challenger',
    onclick: async ev => {
      ev.currentTarget.disabled = true;
      try {
        const m = await api(`${MODELS}/${encodeURIComponent(challenger.modelId)}/promote`, { method: 'POST', body: {} });
        await el.reload();
        document.getElementById('challenger-status')?.replaceChildren(message('ok', `Promoted: ${m.kind} v${m.version} is ${m.status}. Re-score students to apply it to stored scores.`));
        document.getElementById('registry')?.reload();
      } catch (e) {
        clear(status, message('error', e.message));
        ev.currentTarget.disabled = false;
      }
    },
  }, `Promote challenger v${challenger.version}`) : null;
  return [
    champion || challenger ? table('Champion and challenger on their held-out data', ['', champion ? `Champion v${champion.version} (${champion.status})` : 'No champion', challenger ? `Challenger v${challenger.version} (${challenger.status})` : 'No challenger'], [
      metric('Trained', m => date(m.trainedAt)),
      metric('Held-out students', m => m.heldOut.examples),
      metric('AUC', m => m.heldOut.auc.toFixed(3)),
      metric('PR-AUC', m => m.heldOut.prAuc.toFixed(3)),
      metric('Precision at threshold', m => percent(m.heldOut.precision, 1)),
      metric('Recall at threshold', m => percent(m.heldOut.recall, 1)),
      metric('Precision, top 10 %', m => percent(m.heldOut.precisionAtTop10, 1)),
      metric('Calibration error (ECE)', m => m.heldOut.expectedCalibrationError.toFixed(3)),
      metric('Share flagged', m => percent(m.heldOut.flaggedShare, 1)),
    ], { id: 'challenger-table' }) : h('p', {}, 'No model registered for this kind.'),
    challenger ? null : h('p', {}, 'No challenger: the newest candidate is not newer than the champion. Train one in the registry, or let the retraining policy start one.'),
    h('p', { class: 'muted' }, 'Each model is measured on its own held-out cohort of synthetic students (Beacon holds no labelled district history), so the two columns are comparable draws, not a test on the district.'),
    h('div', { class: 'row' }, promote, check),
    status,
    h('h3', {}, 'Retraining policy'),
    h('p', {}, view.policy),
    view.jobs.length ? table('Retraining jobs, newest first', ['Started', 'Status', 'Reason', 'Finished'],
      view.jobs.slice(0, 10).map(j => h('tr', {}, cells([date(j.startedAt), j.status, j.error ? `${j.reason} (${j.error})` : j.reason, date(j.finishedAt)])))) : h('p', {}, 'No retraining job has run.'),
  ];
}
