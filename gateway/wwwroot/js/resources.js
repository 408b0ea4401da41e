// Resources follow impact (#27 item 4): the coordinator's ranking of intervention types by attendance effect per staff hour,
// and on a case the types that worked best for students in the same risk band. Figures come with their evidence.
import { api } from './api.js';
import { h, clear, message } from './dom.js';

const pts = v => (v === null || v === undefined ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} pts`);
const range = (ci, f) => (ci ? `${f(ci[0])} to ${f(ci[1])}` : '—');
const perHour = v => (v === null || v === undefined ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)} pts/h`);

function table(caption, rows, extra) {
  return h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ['Intervention', ...extra.map(e => e[0]), 'Cases', 'Change vs similar students', '95 % interval', 'Staff hours per case', 'Per staff hour', '95 % interval', 'Ranked']
      .map(x => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map(r => h('tr', { dataset: { type: r.type } },
      h('td', {}, r.type), ...extra.map(e => h('td', {}, r[e[1]] ?? '—')),
      h('td', { class: 'num' }, r.cases), h('td', { class: 'num' }, pts(r.difference)), h('td', { class: 'num' }, range(r.ci95, pts)),
      h('td', { class: 'num', title: `${r.casesWithLoggedTime} of ${r.cases} cases with logged time, ${r.casesWithHours} with hours` },
        r.meanStaffHours === null ? '—' : r.meanStaffHours.toFixed(1)),
      h('td', { class: 'num' }, perHour(r.perStaffHour)), h('td', { class: 'num' }, range(r.perStaffHourCi95, perHour)),
      h('td', {}, r.ranked ? 'yes' : 'too little evidence')))));
}

/** The coordinator's section: what works per hour of staff time, overall, by risk band and by school. */
export function resourceSection(user) {
  const out = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const schools = user.schools?.length === 1 ? `?schoolId=${encodeURIComponent(user.schools[0])}` : '';
  api(`/api/interventions/v1/resource-report${schools}`).then(r => {
    const byType = r.byType ?? [];
    clear(out, byType.length
      ? [h('p', {}, `Measure: ${r.measure}. A type is ranked with at least ${r.minimumCases} measured cases and staff hours for most of them.`),
        table('Intervention types by effect per staff hour', byType, []),
        h('details', {}, h('summary', {}, 'By risk band when the plan was set'), table('By risk band', r.byTypeAndRiskBand ?? [], [['Risk band', 'riskBand']])),
        h('details', {}, h('summary', {}, 'By school'), table('By school', r.byTypeAndSchool ?? [], [['School', 'schoolId']])),
        h('details', {}, h('summary', {}, 'How it is measured'), h('p', {}, r.method))]
      : h('p', {}, 'No completed case with a plan yet: nothing to rank.'));
  }).catch(e => clear(out, message('error', e.message)));
  return h('section', { class: 'card', id: 'resources', 'aria-labelledby': 'resources-h' },
    h('h2', { id: 'resources-h' }, 'What works per hour of staff time'), out);
}

/** On a case: the types that worked best for students like this one, with the figure and its uncertainty. */
export function suggestedTypes(base) {
  const card = h('div', { class: 'card', id: 'case-suggestions' }, h('p', { class: 'muted' }, 'Loading what worked for similar students…'));
  api(`${base}/suggested-types`).then(s => clear(card,
    h('h3', {}, 'What worked for students like this one'),
    h('p', { class: 'muted' }, `Based on ${s.basis}.`),
    (s.suggestions ?? []).length
      ? h('ol', {}, s.suggestions.map(x => h('li', { dataset: { type: x.type } }, x.sentence)))
      : h('p', {}, s.note),
    (s.suggestions ?? []).length ? h('p', { class: 'muted' }, s.note) : null)).catch(e => clear(card, message('error', e.message)));
  return card;
}
