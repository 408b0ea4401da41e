// Components more than one page shows: tables of cases and of risks, a link to a student that fills in the name.
// Pages import them from here, never from each other.
import { student, studentName } from './api.js';
import { h, percent, bandBadge } from './dom.js';
import { isOverdue } from './data.js';
import { csvButton } from './csv.js';

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

/** A case table's rows as CSV, names filled in from the roster, with everything the table shows and the dates behind it. */
export function caseCsv(cases, risks, label, fileName, idAttr) {
  return csvButton(label, () => `${fileName}-${new Date().toISOString().slice(0, 10)}.csv`, async () => ({
    header: ['student_id', 'student_name', 'school_id', 'risk_band', 'risk_score', 'top_factor', 'case_id', 'status', 'assigned_to', 'contact_due_by', 'overdue', 'opened_at'],
    rows: await Promise.all(cases.map(async c => {
      const r = risks.get(c.studentId);
      return [c.studentId, await studentName(c.studentId), c.schoolId, r?.band ?? '', r ? r.score.toFixed(3) : '', r?.factors?.[0]?.text ?? c.reason ?? '',
        c.caseId, c.status, c.assignedTo ?? '', c.contactDueBy ?? '', isOverdue(c) ? 'yes' : 'no', c.openedAt ?? ''];
    })),
  }), idAttr);
}

/** A risk list as CSV: every row the list shows, with its three top factors. */
export function riskCsv(risks, label, fileName, idAttr) {
  return csvButton(label, () => `${fileName}-${new Date().toISOString().slice(0, 10)}.csv`, async () => ({
    header: ['student_id', 'student_name', 'school_id', 'kind', 'risk_band', 'risk_score', 'flagged', 'factor_1', 'factor_2', 'factor_3', 'scored_at'],
    rows: await Promise.all(risks.map(async r => {
      const f = (r.factors ?? []).map(x => x.text);
      return [r.studentId, await studentName(r.studentId), r.schoolId, r.kind ?? '', r.band ?? '', r.score.toFixed(3), r.flagged ? 'yes' : 'no',
        f[0] ?? '', f[1] ?? '', f[2] ?? '', r.scoredAt ?? ''];
    })),
  }), idAttr);
}
