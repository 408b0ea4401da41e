// Coordinator: new unassigned alerts with bulk assignment, overdue cases, caseloads, intervention effect, tests of change.
import { api } from '../api.js';
import { h, clear, section, message, percent, date, bandBadge, announce } from '../dom.js';
import { barChart } from '../charts.js';
import { casesFor, risksFor, counselorsFor, isOverdue, byRisk, schoolsOf, ACTIVE } from '../data.js';
import { caseTable, nameLink, caseCsv } from '../components.js';
import { masteryEffect } from '../groupInterventions.js';
import { changeTests } from '../changeTests.js';
import { resourceSection } from '../resources.js';

export function renderCoordinator(main, user) {
  main.append(h('h1', {}, `Coordinator — ${(user.schools ?? []).join(', ') || 'all schools'}`));
  const unassigned = section('New alerts, not assigned yet', el => unassignedView(user, el));
  unassigned.id = 'unassigned';
  main.append(unassigned);
  const grid = h('div', { class: 'grid' });
  main.append(grid);
  const overdue = section('Overdue: no contact by the deadline', async () => {
    const [cases, risks] = await Promise.all([casesFor(user), risksFor(user)]);
    const late = cases.filter(isOverdue).sort(byRisk(risks));
    if (!late.length) return h('p', {}, 'No case is overdue.');
    return [h('p', {}, `${late.length} case${late.length === 1 ? '' : 's'} overdue.`), caseTable(late, risks, 'Overdue cases'),
      caseCsv(late, risks, 'Download the overdue cases (CSV)', 'overdue-cases', 'overdue-csv')];
  });
  overdue.id = 'overdue';
  grid.append(overdue);
  const caseloads = section('Caseloads', async () => {
    const lists = await Promise.all(schoolsOf(user).map(s => api(`/api/interventions/v1/caseloads${s ? `?schoolId=${encodeURIComponent(s)}` : ''}`)));
    const byStaff = new Map();
    for (const row of lists.flatMap(l => l.caseloads ?? [])) {
      const t = byStaff.get(row.staffId) ?? { staffId: row.staffId, active: 0, assigned: 0, inProgress: 0 };
      t.active += row.active; t.assigned += row.assigned; t.inProgress += row.inProgress;
      byStaff.set(row.staffId, t);
    }
    if (!byStaff.size) return h('p', {}, 'Nobody has an active case.');
    return h('table', {}, h('caption', { class: 'visually-hidden' }, 'Active cases per counselor'),
      h('thead', {}, h('tr', {}, ['Counselor', 'Active', 'Assigned', 'In progress'].map(x => h('th', { scope: 'col', class: x === 'Counselor' ? '' : 'num' }, x)))),
      h('tbody', {}, [...byStaff.values()].map(r => h('tr', {}, h('td', {}, r.staffId), h('td', { class: 'num' }, r.active), h('td', { class: 'num' }, r.assigned), h('td', { class: 'num' }, r.inProgress)))));
  });
  caseloads.id = 'caseloads';
  grid.append(caseloads);
  // Counselors take unassigned cases themselves: the coordinator sees who took what.
  const taken = section('Taken by counselors themselves', async () => {
    const [cases, risks] = await Promise.all([casesFor(user), risksFor(user)]);
    const mine = cases.filter(c => c.takenBy && ACTIVE.includes(c.status)).sort(byRisk(risks));
    if (!mine.length) return h('p', {}, 'No counselor has taken a case themself.');
    return caseTable(mine, risks, 'Cases taken by counselors');
  });
  taken.id = 'taken';
  grid.append(taken);
  main.append(effectSection(user));
  main.append(resourceSection(user));
  // Teachers' group interventions on failing skills: what they did to mastery, per type and subgroup.
  const mastery = section('Group interventions: effect on mastery', () => masteryEffect({ schoolId: user.schools?.length === 1 ? user.schools[0] : undefined }));
  mastery.id = 'mastery-effect';
  main.append(mastery);
  // Small tests of change: which way of reaching students works, learnt by random assignment.
  const tests = section('Tests of change', el => changeTests(user, el));
  tests.id = 'tests-of-change';
  main.append(tests);
}

async function unassignedView(user, el) {
  const [cases, risks, counselors] = await Promise.all([casesFor(user, 'open'), risksFor(user), counselorsFor(user)]);
  cases.sort(byRisk(risks));
  if (!cases.length) return h('p', {}, 'Every alert has an owner.');
  const status = h('div', { 'aria-live': 'polite', id: 'assign-status' });
  const boxes = cases.map(c => h('input', { type: 'checkbox', value: c.caseId, id: `pick-${c.caseId}`, 'aria-label': `Select case of ${c.studentId}` }));
  const all = h('input', { type: 'checkbox', id: 'pick-all', 'aria-label': 'Select all', onchange: ev => boxes.forEach(b => { b.checked = ev.currentTarget.checked; }) });
  const owner = h('select', { id: 'assign-owner' },
    h('option', { value: '' }, 'Choose a counselor…'),
    counselors.map(c => h('option', { value: c.staffId }, `${[c.givenName, c.familyName].filter(Boolean).join(" ") || c.staffId} (${c.schoolId})`)));
  const submit = async ev => {
    ev.preventDefault();
    const caseIds = boxes.filter(b => b.checked).map(b => b.value);
    if (!caseIds.length) { clear(status, message('error', 'Select at least one case.')); return; }
    if (!owner.value) { clear(status, message('error', 'Choose a counselor.')); owner.focus(); return; }
    try {
      await api('/api/interventions/v1/assignments', { method: 'POST', body: { caseIds, ownerId: owner.value, assignedBy: user.id } });
      const text = `${caseIds.length} case${caseIds.length === 1 ? '' : 's'} assigned to ${owner.selectedOptions[0].textContent}.`;
      announce(text);
      await el.reload();
      document.getElementById('assign-status')?.replaceChildren(message('ok', text));
      if (!document.getElementById('assign-status')) el.querySelector('div')?.prepend(message('ok', text));
    } catch (e) {
      clear(status, message('error', e.message));
    }
  };
  // Interventions picks the school's counselor with the fewest active cases (for the first selected case).
  const suggest = async () => {
    const first = boxes.find(b => b.checked);
    if (!first) { clear(status, message('error', 'Select a case first.')); return; }
    try {
      const s = await api(`/api/interventions/v1/cases/${encodeURIComponent(first.value)}/suggested-owner`);
      const best = s.suggested;
      if ([...owner.options].some(o => o.value === best.staffId)) owner.value = best.staffId;
      clear(status, message('info', `Suggested: ${best.name || best.staffId}, ${best.activeCases} active case${best.activeCases === 1 ? '' : 's'}.`));
    } catch (e) {
      clear(status, message('error', e.message));
    }
  };
  return h('form', { onsubmit: submit },
    h('p', {}, `${cases.length} case${cases.length === 1 ? '' : 's'} waiting for an owner, highest risk first.`),
    h('table', {},
      h('caption', { class: 'visually-hidden' }, 'Unassigned cases'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, all), ['Student', 'Risk', 'Why', 'Opened', 'Contact by'].map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, cases.map((c, i) => {
        const r = risks.get(c.studentId);
        return h('tr', { dataset: { caseId: c.caseId, studentId: c.studentId } },
          h('td', {}, boxes[i]),
          h('td', {}, nameLink(c.studentId), h('div', { class: 'muted' }, c.schoolId)),
          h('td', {}, bandBadge(r?.band), ' ', r ? percent(r.score) : ''),
          h('td', {}, r?.factors?.[0]?.text ?? c.reason),
          h('td', {}, date(c.openedAt)),
          h('td', {}, c.contactDueBy || '—', isOverdue(c) ? [' ', h('span', { class: 'badge overdue' }, 'overdue')] : null));
      }))),
    h('div', { class: 'row', style: 'margin-top:.75rem' },
      h('label', { for: 'assign-owner' }, 'Assign the selected cases to'), owner,
      h('button', { type: 'button', class: 'secondary', onclick: suggest }, 'Suggest (lightest caseload)'),
      h('button', { type: 'submit', id: 'assign-submit' }, 'Assign selected')),
    status);
}

function effectSection(user) {
  const weeks = h('select', { id: 'effect-weeks' }, h('option', { value: '2' }, '2 weeks'), h('option', { value: '1' }, '1 week'));
  const outcome = h('select', { id: 'effect-outcome' }, h('option', { value: 'attendance' }, 'Attendance'), h('option', { value: 'risk' }, 'Risk score'));
  const out = h('div');
  const load = async () => {
    clear(out, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const schools = user.schools?.length === 1 ? `&schoolId=${encodeURIComponent(user.schools[0])}` : '';
      const r = await api(`/api/interventions/v1/effect-report?windowWeeks=${weeks.value}&outcome=${outcome.value}${schools}`);
      const types = r.interventionTypes ?? [];
      const risk = r.outcome === 'risk';
      // Risk rows are per risk kind and type; a negative difference is risk lowered.
      const label = t => (risk ? `${t.kind}, ${t.type}` : t.type);
      const pts = v => (v === null || v === undefined ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} pts`);
      clear(out,
        h('p', {}, `Measure: ${r.measure}.`),
        types.length ? barChart({
          title: risk ? 'Change in risk score against comparison students' : 'Change in attendance against comparison students',
          description: `Difference in differences per ${risk ? 'risk kind and ' : ''}intervention type, ${r.windowWeeks}-week windows, with 95 % intervals.`,
          bars: types.map(t => ({ label: `${label(t)} (${t.cases})`, value: t.difference, ci: t.ci95 ?? undefined })),
          format: pts,
        }) : h('p', {}, risk ? 'No ended case with a plan and risk scores around it yet: nothing to measure.' : 'No completed case with a plan yet: nothing to measure.'),
        types.length ? h('table', {},
          h('caption', {}, 'Effect per intervention type'),
          h('thead', {}, h('tr', {}, [...(risk ? ['Risk kind'] : []), 'Intervention', 'Cases', 'Excluded', 'Change', 'Comparison', 'Difference', '95 % interval'].map(x => h('th', { scope: 'col' }, x)))),
          h('tbody', {}, types.map(t => h('tr', {}, risk ? h('td', {}, t.kind) : null, h('td', {}, t.type), h('td', { class: 'num' }, t.cases), h('td', { class: 'num' }, t.excluded),
            h('td', { class: 'num' }, pts(t.meanChange)), h('td', { class: 'num' }, pts(t.comparisonChange)), h('td', { class: 'num' }, pts(t.difference)),
            h('td', { class: 'num' }, t.ci95 ? `${pts(t.ci95[0])} to ${pts(t.ci95[1])}` : '—'))))) : null,
        h('details', {}, h('summary', {}, 'How it is measured'), h('p', {}, r.method)));
    } catch (e) {
      clear(out, message('error', e.message));
    }
  };
  weeks.addEventListener('change', load);
  outcome.addEventListener('change', load);
  load();
  return h('section', { class: 'card', id: 'effect', 'aria-labelledby': 'effect-h' },
    h('h2', { id: 'effect-h' }, 'Intervention effect'),
    h('div', { class: 'row' }, h('label', { for: 'effect-weeks' }, 'Window'), weeks, h('label', { for: 'effect-outcome' }, 'Outcome'), outcome), out);
}
