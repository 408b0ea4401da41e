// Ops: Ingestion's data-quality report for a day (rows per source, rejections by field, students with no attendance,
// the open quarantine), with its two CSV downloads. Counts and student ids only, no names.
import { api } from './api.js';
import { h, section, id } from './dom.js';
import { csvButton } from './csv.js';
import { today } from './data.js';

const REPORT = '/api/ingestion/v1/data-quality';

export function dataQualitySection() {
  const view = { day: today() };
  const dayId = id('dq-day');
  const el = section('Data quality', async () => {
    const r = await api(`${REPORT}?day=${view.day}`);
    const picker = h('p', {}, h('label', { for: dayId }, 'Day '),
      h('input', { id: dayId, type: 'date', value: view.day, onchange: ev => { if (ev.target.value) { view.day = ev.target.value; el.reload(); } } }));
    const sources = r.sources ?? [];
    const download = part => () => api(`${REPORT}/export?day=${view.day}&part=${part}`, { accept: 'text/csv', as: 'blob' });
    return [
      picker,
      h('p', {}, `${r.studentsWithoutAttendance} student${r.studentsWithoutAttendance === 1 ? '' : 's'} on the roster with no attendance in the last ${r.silentStudentDays} days; `,
        `${r.openQuarantine} row${r.openQuarantine === 1 ? '' : 's'} waiting in the quarantine.`),
      sources.length
        ? h('table', { id: 'data-quality-sources' }, h('caption', { class: 'visually-hidden' }, `Rows received per source on ${view.day}`),
          h('thead', {}, h('tr', {}, ['Source', 'Kind', 'Received', 'Accepted', 'Rejected', 'Late', 'Rejected for'].map(x => h('th', { scope: 'col' }, x)))),
          h('tbody', {}, sources.map(s => h('tr', {},
            h('td', {}, s.source), h('td', {}, s.kind), h('td', { class: 'num' }, s.received), h('td', { class: 'num' }, s.accepted),
            h('td', { class: 'num' }, s.rejected), h('td', { class: 'num' }, s.lateArrivals),
            h('td', {}, Object.entries(s.rejectedByField ?? {}).sort((a, b) => b[1] - a[1]).map(([f, n]) => `${f} (${n})`).join(', ') || '—')))))
        : h('p', { class: 'muted' }, `Nothing was received on ${view.day}.`),
      h('div', { class: 'row' },
        csvButton('Download the report (CSV)', () => `data-quality-${view.day}.csv`, download('sources'), 'data-quality-csv'),
        csvButton('Download students without attendance (CSV)', () => `silent-students-${view.day}.csv`, download('silent-students'), 'silent-students-csv')),
    ];
  });
  el.id = 'data-quality';
  return el;
}
