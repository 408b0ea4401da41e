// Teacher's view of mastery, per school (sections are not on the roster yet): who struggles with which skill.
import { api } from '../api.js';
import { h, clear, section, percent } from '../dom.js';
import { barChart } from '../charts.js';
import { schoolsOf, casesFor } from '../data.js';
import { nameLink } from '../components.js';

export async function renderMastery(main, user) {
  main.append(h('h1', {}, 'Mastery'));
  let schools = schoolsOf(user).filter(Boolean);
  if (!schools.length) schools = [...new Set((await casesFor(user)).map(c => c.schoolId))].sort();
  if (!schools.length) {
    main.append(h('p', {}, 'No school to show.'));
    return;
  }
  const pick = h('select', { id: 'mastery-school' }, schools.map(s => h('option', { value: s }, s)));
  const out = h('div');
  main.append(h('div', { class: 'row' }, h('label', { for: 'mastery-school' }, 'School'), pick), out);
  const load = () => clear(out, overview(pick.value));
  pick.addEventListener('change', load);
  load();
}

function overview(school) {
  const grid = h('div', { class: 'grid' });
  let data;
  const get = () => (data ??= api(`/api/mastery/v1/schools/${encodeURIComponent(school)}/overview`));
  const struggling = section('Students struggling, by skill', async () => {
    const o = await get();
    const skills = (o.struggling ?? []).filter(s => s.studentCount > 0);
    if (!skills.length) return h('p', {}, `No student of ${o.students ?? 0} is struggling with any skill.`);
    return h('ul', { class: 'feed', id: 'struggling' }, skills.map(s => h('li', {},
      h('details', {},
        h('summary', {}, h('strong', {}, `${s.studentCount} student${s.studentCount === 1 ? '' : 's'}`), ` struggling with ${s.skillName || s.skillId}`),
        h('ul', {}, (s.students ?? []).map(st => h('li', {}, nameLink(st.studentId), ` — ${percent(st.probabilityMastered)} mastered after ${st.attempts} answers`)))))));
  });
  struggling.id = 'struggling-section';
  const failing = section('Skills most often answered wrong', async () => {
    const o = await get();
    const top = o.topFailureSkills ?? [];
    if (!top.length) return h('p', {}, 'No answers recorded yet.');
    return [barChart({
      title: 'Share of wrong answers per skill',
      description: `Top ${top.length} skills by failure rate; highest ${top[0].skillName || top[0].skillId} at ${percent(top[0].failureRate)}.`,
      bars: top.map(s => ({ label: s.skillName || s.skillId, value: s.failureRate })),
      min: 0, max: 1, format: v => `${Math.round(v * 100)}%`,
    }), (o.repeatedFailureItems ?? []).length ? h('table', {},
      h('caption', {}, 'Items answered wrong twice or more by the same students'),
      h('thead', {}, h('tr', {}, ['Item', 'Skills', 'Students', 'Wrong answers'].map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, o.repeatedFailureItems.map(i => h('tr', {}, h('td', {}, i.itemId), h('td', {}, (i.skillIds ?? []).join(', ')), h('td', { class: 'num' }, i.students), h('td', { class: 'num' }, i.wrong))))) : null];
  });
  failing.id = 'failing-section';
  grid.append(struggling, failing);
  return grid;
}
