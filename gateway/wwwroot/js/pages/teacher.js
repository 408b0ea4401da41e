// A teacher's week: pick one of my sections, see the skills most often answered wrong this week and the change since
// last week, who struggles with each (and the evidence), items failed repeatedly, and what to go back to first.
import { api } from '../api.js';
import { h, clear, section, percent, date } from '../dom.js';
import { barChart } from '../charts.js';
import { groupForm, masteryEffect } from '../groupInterventions.js';

export async function renderTeacher(main) {
  main.append(h('h1', {}, 'My sections'));
  const sections = await api('/api/mastery/v1/sections').catch(e => { main.append(h('p', { role: 'alert' }, e.message)); return null; });
  if (!sections) return;
  if (!sections.length) {
    main.append(h('p', { id: 'no-sections' }, 'No section names you as its teacher yet (sections come from the roster feed).'));
    return;
  }
  const pick = h('select', { id: 'teacher-section' }, sections.map(s => h('option', { value: s.sectionId }, `${s.title} (${s.schoolId}, ${s.students} students)`)));
  const week = h('input', { type: 'date', id: 'teacher-week', value: new Date().toISOString().slice(0, 10) });
  const out = h('div');
  main.append(h('div', { class: 'row' }, h('label', { for: 'teacher-section' }, 'Section'), pick, h('label', { for: 'teacher-week' }, 'Week of'), week), out);
  const load = () => clear(out, weekView(pick.value, week.value));
  pick.addEventListener('change', load);
  week.addEventListener('change', load);
  load();
}

function weekView(sectionId, day) {
  let data;
  const get = () => (data ??= api(`/api/mastery/v1/sections/${encodeURIComponent(sectionId)}/week${day ? `?weekOf=${encodeURIComponent(day)}` : ''}`));
  const top = section('Skills most often answered wrong this week', async () => {
    const w = await get();
    if (!w.topSkills.length) return h('p', {}, `No answers from the ${w.students} students of this section in the week of ${w.weekStart}.`);
    return [
      h('p', {}, `Week of ${w.weekStart}: ${w.answersThisWeek} answers from ${w.students} students.`),
      barChart({
        title: 'Share of wrong answers per skill, this week',
        description: `Top ${w.topSkills.length} skills by failure rate; highest ${label(w.topSkills[0])} at ${percent(w.topSkills[0].failureRate)}.`,
        bars: w.topSkills.map(s => ({ label: label(s), value: s.failureRate })),
        min: 0, max: 1, format: v => `${Math.round(v * 100)}%`,
      }),
      h('table', { id: 'top-skills' },
        h('caption', {}, 'Failure rate this week and the change since last week'),
        h('thead', {}, h('tr', {}, ['Skill', 'Wrong this week', 'Answers', 'Students', 'Last week', 'Change'].map(x => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, w.topSkills.map(s => h('tr', { dataset: { skillId: s.skillId } },
          h('td', {}, label(s)), h('td', { class: 'num' }, percent(s.failureRate)), h('td', { class: 'num' }, s.answers), h('td', { class: 'num' }, s.students),
          h('td', { class: 'num' }, s.lastWeekFailureRate === null ? 'no answers' : percent(s.lastWeekFailureRate)),
          h('td', { class: 'num' }, s.change === null ? '—' : `${s.change > 0 ? '+' : ''}${Math.round(s.change * 100)} pts`))))),
    ];
  });
  top.id = 'week-top';
  const struggling = section('Who struggles with each skill', async () => {
    const w = await get();
    if (!w.topSkills.length) return h('p', {}, 'Nothing to show this week.');
    return w.topSkills.map(s => h('div', { class: 'card', dataset: { skillId: s.skillId } },
      h('h3', {}, label(s)),
      s.strugglingStudents.length
        ? h('ul', { class: 'feed struggling-students' }, s.strugglingStudents.map(st => h('li', { dataset: { studentId: st.studentId } },
          h('details', {},
            h('summary', {}, h('strong', {}, name(st)), ` — ${percent(st.probabilityMastered)} mastered; ${st.wrongThisWeek} of ${st.answersThisWeek} wrong this week, ${st.hintsThisWeek} hint${st.hintsThisWeek === 1 ? '' : 's'}`,
              st.weakestPrerequisite ? h('span', { class: 'prerequisite' }, ` · go back to ${st.weakestPrerequisite.skillName || st.weakestPrerequisite.skillId} (${percent(st.weakestPrerequisite.probabilityMastered)})`) : null),
            h('ul', {}, st.latestAnswers.map(a => h('li', {}, `${date(a.answeredAt)}: ${a.itemId} (attempt ${a.attemptNumber}) ${a.correct ? 'right' : 'wrong'}${a.hintsUsed ? `, ${a.hintsUsed} hints` : ''}`)))))))
        : h('p', {}, 'Nobody in particular: the wrong answers are spread across the section.'),
      groupForm(s, w, () => effect.reload())));
  });
  struggling.id = 'week-struggling';
  const items = section('Items answered wrong twice or more by the same student', async () => {
    const w = await get();
    if (!w.repeatedFailureItems.length) return h('p', {}, 'No item was failed repeatedly this week.');
    return h('table', { id: 'repeated-items' },
      h('caption', { class: 'visually-hidden' }, 'Items failed repeatedly'),
      h('thead', {}, h('tr', {}, ['Item', 'Skills', 'Students', 'Wrong answers'].map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, w.repeatedFailureItems.map(i => h('tr', {}, h('td', {}, i.itemId), h('td', {}, i.skillIds.join(', ')), h('td', { class: 'num' }, i.students), h('td', { class: 'num' }, i.wrong)))));
  });
  items.id = 'week-items';
  const effect = section('What the group interventions did to mastery', () => masteryEffect({ sectionId }));
  effect.id = 'week-effect';
  return [top, struggling, items, effect];
}

const label = s => s.skillName || s.skillId;
const name = st => `${st.givenName ?? ''} ${st.familyName ?? ''}`.trim() || st.studentId;
