// Components more than one page shows: tables of cases and of risks, a link to a student that fills in the name.
// Pages import them from here, never from each other.
import { student, studentName } from './api.js';
import { h, percent, bandBadge } from './dom.js';
import { isOverdue } from './data.js';

export function caseTable(cases, risks, caption) {
  return h('table', {},
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ['Student', 'Risk', 'Top factor', 'Status', 'Contact by'].map(x => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, cases.map(c => {
      const r = risks.get(c.studentId);
      return h('tr', { dataset: { caseId: c.caseId, studentId: c.studentId } },
        h('td', {}, nameLink(c.studentId), h('div', { class: 'muted' }, c.schoolId)),
        h('td', {}, bandBadge(r?.band), ' ', r ? percent(r.score) : ''),
        h('td', {}, r?.factors?.[0]?.text ?? c.reason ?? ''),
        h('td', {}, h('span', { class: 'badge status' }, c.status), c.assignedTo ? h('div', { class: 'muted' }, c.takenBy ? `taken by ${c.assignedTo}` : `assigned to ${c.assignedTo}`) : null),
        h('td', {}, c.contactDueBy || '—', isOverdue(c) ? [' ', h('span', { class: 'badge overdue' }, 'overdue')] : null));
    })));
}

export function riskTable(risks, caption) {
  return h('table', {},
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ['Student', 'Risk', 'Why'].map(x => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, risks.map(r => h('tr', {},
      h('td', {}, nameLink(r.studentId), h('div', { class: 'muted' }, r.schoolId)),
      h('td', {}, bandBadge(r.band), ' ', percent(r.score)),
      h('td', {}, h('ul', { class: 'factors' }, (r.factors ?? []).slice(0, 3).map(f => h('li', {}, f.text))))))));
}

export function nameLink(studentId) {
  const a = h('a', { href: `#/student/${encodeURIComponent(studentId)}` }, studentId);
  studentName(studentId).then(n => { a.textContent = n; });
  student(studentId);
  return a;
}
