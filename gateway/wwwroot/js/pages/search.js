// Find a student by name or id within the caller's schools (Ingestion's roster search): the header's search box
// lands here as #/search/<words>; the page can search again without leaving it.
import { api } from '../api.js';
import { h, section, message } from '../dom.js';

export function renderSearch(main, user, words = '') {
  main.append(h('h1', {}, 'Find a student'));
  main.append(searchForm(words, 'search-page-q'));
  if (words.trim().length < 2) {
    main.append(h('p', { class: 'muted' }, 'Type at least two letters of a name, or a student id, and press Search.'));
    return;
  }
  main.append(section(`Students matching “${words}”`, async () => {
    const q = new URLSearchParams({ q: words, limit: '50' });
    const found = await api(`/api/ingestion/v1/students?${q}`);
    const students = found.students ?? [];
    if (!students.length) return message('info', `No student of your schools matches “${words}”. Check the spelling, or try part of the name or id.`);
    return [
      h('p', { id: 'search-count' }, found.truncated ? `The first ${students.length} students; add a word to narrow the search.` : `${students.length} student${students.length === 1 ? '' : 's'}.`),
      h('table', { id: 'search-results' },
        h('caption', { class: 'visually-hidden' }, 'Students found'),
        h('thead', {}, h('tr', {}, ['Student', 'Id', 'School', 'Grade', 'Status'].map(x => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, students.map(s => h('tr', { dataset: { studentId: s.studentId } },
          h('td', {}, h('a', { href: `#/student/${encodeURIComponent(s.studentId)}` }, `${s.givenName} ${s.familyName}`.trim() || s.studentId)),
          h('td', {}, s.studentId),
          h('td', {}, s.schoolId),
          h('td', {}, s.gradeLevel || '—'),
          h('td', {}, h('span', { class: 'badge status' }, s.status)))))),
    ];
  }));
}

/** The search box: the header has one on every page for staff, the search page its own. */
export function searchForm(value = '', inputId = 'search-q') {
  const input = h('input', { id: inputId, type: 'search', name: 'q', value, minlength: '2', maxlength: '100', required: true, autocomplete: 'off', placeholder: 'Name or id' });
  return h('form', {
    role: 'search', class: 'search', 'aria-label': 'Find a student',
    onsubmit: ev => {
      ev.preventDefault();
      const words = input.value.trim();
      if (words.length >= 2) location.hash = `#/search/${encodeURIComponent(words)}`;
    },
  }, h('label', { for: inputId, class: 'visually-hidden' }, 'Find a student by name or id'), input, h('button', { type: 'submit', class: 'secondary' }, 'Search'));
}
