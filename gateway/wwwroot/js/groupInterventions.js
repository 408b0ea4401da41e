// Group interventions on the teacher page: the form that starts one for a failing skill's students, and the measured
// mastery effect of the section's groups. Not a page (only app.js imports pages): teacher.js imports it.
import { api } from './api.js';
import { h, clear, message, announce, id } from './dom.js';

const TYPES = [
  ['practice-set', 'Extra practice set'],
  ['re-teach-module', 'Re-teach module'],
  ['small-group', 'Small-group session'],
];

function nextMonday() {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + ((8 - d.getUTCDay()) % 7 || 7));
  return d.toISOString().slice(0, 10);
}

/** The action under a failing skill: one group intervention for the students who struggle with it (all ticked to start). */
export function groupForm(skill, week, onCreated) {
  if (!skill.strugglingStudents.length) return null;
  const f = id('group');
  const type = h('select', { id: `${f}-type`, name: 'type' }, TYPES.map(([v, label]) => h('option', { value: v }, label)));
  const start = h('input', { type: 'date', id: `${f}-start`, name: 'startDate', value: nextMonday(), required: true });
  const weeks = h('select', { id: `${f}-weeks`, name: 'durationWeeks' }, h('option', { value: '1' }, '1 week'), h('option', { value: '2' }, '2 weeks'));
  const note = h('input', { type: 'text', id: `${f}-note`, name: 'note', maxlength: '2000', placeholder: 'What you will do (optional)' });
  const boxes = skill.strugglingStudents.map(st => h('input', { type: 'checkbox', value: st.studentId, checked: true, id: `${f}-${st.studentId}` }));
  const status = h('div', { 'aria-live': 'polite', class: 'group-status' });
  const submit = async ev => {
    ev.preventDefault();
    const studentIds = boxes.filter(b => b.checked).map(b => b.value);
    if (!studentIds.length) { clear(status, message('error', 'Tick at least one student.')); return; }
    try {
      const g = await api('/api/interventions/v1/group-interventions', {
        method: 'POST',
        body: { sectionId: week.sectionId, type: type.value, skillId: skill.skillId, studentIds, startDate: start.value, durationWeeks: Number(weeks.value), note: note.value || undefined },
      });
      const text = `Started: ${type.selectedOptions[0].textContent.toLowerCase()} on ${skill.skillName || skill.skillId} for ${g.studentIds.length} student${g.studentIds.length === 1 ? '' : 's'}, ${g.startDate} to ${g.endDate}.`;
      clear(status, message('ok', text));
      announce(text);
      onCreated?.();
    } catch (e) {
      clear(status, message('error', e.message));
    }
  };
  return h('form', { class: 'group-form', onsubmit: submit, dataset: { skillId: skill.skillId } },
    h('fieldset', {},
      h('legend', {}, `Act on ${skill.skillName || skill.skillId}: one intervention for these students`),
      h('ul', { class: 'plain' }, skill.strugglingStudents.map((st, i) => h('li', {}, boxes[i], ' ',
        h('label', { for: boxes[i].id }, `${st.givenName ?? ''} ${st.familyName ?? ''}`.trim() || st.studentId)))),
      h('div', { class: 'row' },
        h('label', { for: type.id }, 'Intervention'), type,
        h('label', { for: start.id }, 'Starting'), start,
        h('label', { for: weeks.id }, 'For'), weeks),
      h('div', { class: 'row' }, h('label', { for: note.id }, 'Note'), note, h('button', { type: 'submit' }, 'Start group intervention'))),
    status);
}

const pts = v => (v === null || v === undefined ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} pts`);
const ci = e => (e?.ci95 ? `${pts(e.ci95[0])} to ${pts(e.ci95[1])}` : '—');

/** Group interventions (of a section, a school, or all the caller sees) and what they did to mastery, against comparable students not in a group. */
export async function masteryEffect({ sectionId, schoolId } = {}) {
  const q = new URLSearchParams({ windowWeeks: '2' });
  if (sectionId) q.set('sectionId', sectionId);
  if (schoolId) q.set('schoolId', schoolId);
  const r = await api(`/api/interventions/v1/mastery-effect?${q}`);
  const rows = (r.groups ?? []);
  const parts = [];
  if (!rows.length && !(r.pending ?? []).length) return h('p', {}, 'No group intervention yet.');
  if (rows.length) {
    parts.push(h('table', { id: 'mastery-effect-groups' },
      h('caption', {}, 'Change in mastery 2 weeks after the start, against comparable students'),
      h('thead', {}, h('tr', {}, ['Intervention', 'Skill', 'Start', 'Students', 'Their change', 'Comparison', 'Difference', '95 % interval'].map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map(g => h('tr', { dataset: { groupId: g.groupId } },
        h('td', {}, g.type), h('td', {}, g.skillId), h('td', {}, g.startDate), h('td', { class: 'num' }, g.effect.students),
        h('td', { class: 'num' }, pts(g.effect.meanChange)), h('td', { class: 'num' }, pts(g.effect.comparisonChange)),
        h('td', { class: 'num' }, pts(g.effect.difference)), h('td', { class: 'num' }, ci(g.effect)))))));
    parts.push(h('table', { id: 'mastery-effect-types' },
      h('caption', {}, 'Per intervention type'),
      h('thead', {}, h('tr', {}, ['Intervention', 'Students', 'Excluded', 'Difference', '95 % interval'].map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, (r.interventionTypes ?? []).map(t => h('tr', {}, h('td', {}, t.type), h('td', { class: 'num' }, t.effect.students),
        h('td', { class: 'num' }, t.effect.excluded), h('td', { class: 'num' }, pts(t.effect.difference)), h('td', { class: 'num' }, ci(t.effect)))))));
    const subgroups = r.subgroups ?? [];
    const gaps = r.gaps ?? [];
    if (subgroups.length) {
      const gapOf = s => gaps.find(g => g.type === s.type && g.subgroup === s.subgroup);
      // The gap: this subgroup's effect minus the rest of the type's students', suppressed when either side is small.
      const gapText = g => (!g ? null : g.suppressed ? h('span', { class: 'muted' }, ' gap: too few students on one side to show')
        : `; gap against the others ${pts(g.gap)} (${g.ci95 ? `${pts(g.ci95[0])} to ${pts(g.ci95[1])}` : '—'})`);
      parts.push(h('details', {}, h('summary', {}, 'By subgroup (growth gaps)'),
        h('ul', { id: 'mastery-effect-subgroups' }, subgroups.map(s => h('li', {}, `${s.type}, ${s.subgroup}: `,
          s.suppressed ? h('span', { class: 'muted' }, 'too few students to show') : `${pts(s.effect.difference)} (${ci(s.effect)})`, gapText(gapOf(s)))))));
    }
  }
  if ((r.pending ?? []).length) {
    parts.push(h('p', { class: 'muted' }, `${r.pending.length} group intervention${r.pending.length === 1 ? '' : 's'} still running: measured from ${r.pending.map(p => p.measurableFrom).sort()[0]}.`));
  }
  parts.push(h('details', {}, h('summary', {}, 'How it is measured'), h('p', {}, r.method)));
  return parts;
}
