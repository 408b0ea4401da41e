// One student: risk with its reasons in plain words, attendance and mastery trends, the case and its actions.
import { api, apiOrNull, student, hasRole } from '../api.js';
import { h, clear, section, message, percent, date, bandBadge, announce, scrollBox } from '../dom.js';
import { lineChart } from '../charts.js';
import { ACTIVE, isOverdue, today } from '../data.js';
import { suggestedTypes } from '../resources.js';

const OUTCOMES = ['improved', 'no-change', 'worsened', 'moved', 'duplicate', 'false-alarm'];
const PLAN_TYPES = ['attendance-outreach', 'tutoring', 're-teach-module', 'small-group-session', 'family-meeting', 'referral'];
const FREQUENCIES = ['daily', 'twice-weekly', 'weekly', 'biweekly', 'monthly'];
const CONTACT_WITH = [['student', 'Student'], ['parent-guardian', 'Parent/guardian'], ['teacher', 'Teacher']];
const CONTACT_HOW = [['call', 'Call'], ['meeting', 'Meeting'], ['message', 'Message']];

export function renderStudent(main, user, studentId) {
  if (!studentId) {
    main.append(message('error', 'No student named in the address.'));
    return;
  }
  const enc = encodeURIComponent(studentId);
  const heading = h('h1', {}, studentId);
  main.append(heading, h('p', { class: 'muted', id: 'student-meta' }));
  student(studentId).then(s => {
    if (!s) {
      clear(main, h('h1', {}, 'Student not found'), message('error', `No student ${studentId} that you may see.`));
      return;
    }
    heading.textContent = `${s.givenName} ${s.familyName}`.trim() || studentId;
    document.getElementById('student-meta').textContent = `${studentId} · school ${s.schoolId}${s.gradeLevel ? ` · grade ${s.gradeLevel}` : ''}`;
  });

  const grid = h('div', { class: 'grid' });
  main.append(grid);
  grid.append(section('Risk', async () => {
    const [absence, dropout, ind] = await Promise.all([
      apiOrNull(`/api/early-warning/v1/students/${enc}/risk`),
      apiOrNull(`/api/early-warning/v1/students/${enc}/risk?kind=dropout`),
      apiOrNull(`/api/early-warning/v1/students/${enc}/indicators`),
    ]);
    // Both models, each with its own reasons: chronic absence reads attendance, dropout every signal.
    const parts = [riskView(absence, 'chronic-absence', 'of ending the term chronically absent', 'no attendance scored'),
      riskView(dropout, 'dropout', 'of dropping out', 'no signal scored')];
    if (ind) {
      // The three ABC indicators (attendance, behaviour, course performance), each with the numbers behind it.
      const names = { 'chronic-absence': 'Attendance', behavior: 'Behaviour', 'course-performance': 'Course performance' };
      parts.push(h('h3', {}, 'ABC indicators'),
        h('p', {}, `${ind.daysAbsent ?? 0} absent of ${ind.daysEnrolled ?? 0} school days (${percent(ind.absenceRate, 1)})`,
          ind.chronicallyAbsent ? ' — chronically absent.' : '.'),
        h('ul', { class: 'factors', id: 'abc-indicators' }, (ind.indicators ?? []).map(i =>
          h('li', { 'data-kind': i.kind }, h('strong', {}, names[i.kind] ?? i.kind), i.flagged ? ' — flagged: ' : ': ', i.explanation))));
    }
    return parts;
  }));

  grid.append(section('Attendance by week', async () => {
    const history = await api(`/api/ingestion/v1/students/${enc}/attendance`);
    const weeks = weekly(history.days ?? []);
    if (!weeks.length) return h('p', {}, 'No attendance recorded.');
    return [lineChart({
      title: 'Attendance rate by week',
      description: `Share of recorded school days attended (present or tardy), ${weeks.length} weeks from ${weeks[0].label} to ${weeks.at(-1).label}; last week ${percent(weeks.at(-1).rate)}.`,
      labels: weeks.map(w => w.label),
      series: [{ name: 'attended', values: weeks.map(w => w.rate) }],
      format: v => `${Math.round(v * 100)}%`,
    }), h('p', { class: 'muted' }, `Weeks start on Monday. Absences: ${weeks.map(w => w.absent).join(', ')}.`)];
  }));

  grid.append(section('Mastery by week', async () => {
    const [mastery, weekly] = await Promise.all([
      apiOrNull(`/api/mastery/v1/students/${enc}/mastery`),
      apiOrNull(`/api/mastery/v1/students/${enc}/mastery/weekly`),
    ]);
    const skills = mastery?.skills ?? [];
    if (!skills.length) return h('p', {}, 'No answers recorded for this student.');
    skills.sort((a, b) => a.probabilityMastered - b.probabilityMastered);
    const name = sk => sk.skillName || sk.skillId;
    // The weakest skills only: five lines are the most a reader can tell apart.
    const shown = skills.slice(0, 5).map(sk => sk.skillId);
    const lines = (weekly?.skills ?? []).filter(x => shown.includes(x.skillId))
      .sort((a, b) => shown.indexOf(a.skillId) - shown.indexOf(b.skillId));
    return [lines.length && weekly.weekStarts.length > 1 ? lineChart({
      title: 'Probability of mastery at the end of each week',
      description: `${lines.length} weakest skills over ${weekly.weekStarts.length} weeks; now the weakest is ${name(skills[0])} at ${percent(skills[0].probabilityMastered)}.`,
      labels: weekly.weekStarts.map(w => w.slice(5)),
      series: lines.map(x => ({ name: x.skillName || x.skillId, values: x.values })),
      format: v => `${Math.round(v * 100)}%`,
      height: 260,
    }) : h('p', { class: 'muted' }, weekly ? 'Answers from one week only: no trend yet.' : 'The weekly history is not available from this deployment.'),
    scrollBox('Skills, weakest first', h('table', {},
      h('caption', {}, 'Skills, weakest first'),
      h('thead', {}, h('tr', {}, ['Skill', 'Mastery', 'A week ago', 'Trend', 'Correct'].map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, skills.map(sk => h('tr', {},
        h('td', {}, name(sk), sk.struggling ? [' ', h('span', { class: 'badge overdue' }, 'struggling')] : null),
        // The evidence beside the estimate: a high estimate from few or mixed answers should read as such.
        h('td', { class: 'num' }, percent(sk.probabilityMastered), h('div', { class: 'muted' }, `${sk.correctAnswers ?? 0} of ${sk.attempts ?? 0} correct`)),
        h('td', { class: 'num' }, percent(sk.probabilityAWeekAgo)),
        h('td', {}, sk.trend),
        h('td', { class: 'num' }, `${sk.correctAnswers ?? 0}/${sk.attempts ?? 0}`))))))];
  }));

  main.append(caseSection(user, studentId));
}

/** One model's score for the student, its reasons and where it comes from; a line saying why when there is none. */
function riskView(risk, kind, outcome, missing) {
  const title = kind === 'dropout' ? 'Dropout risk' : 'Chronic-absence risk';
  if (!risk) return h('div', { class: 'risk', dataset: { kind } }, h('h3', {}, title), h('p', {}, `No model score yet (no active ${kind} model, or ${missing}).`));
  return h('div', { class: 'risk', dataset: { kind }, id: kind === 'dropout' ? 'dropout-score' : null },
    h('h3', {}, title),
    h('p', { id: kind === 'dropout' ? null : 'risk-score' }, bandBadge(risk.band), ' ', h('strong', {}, percent(risk.score)),
      ` chance ${outcome}${risk.flagged ? ' — flagged' : ''}.`),
    h('p', {}, risk.explanation),
    h('ul', { class: 'factors', id: kind === 'dropout' ? 'dropout-factors' : 'risk-factors', 'aria-label': `What drives the ${kind} score` }, (risk.factors ?? []).map(f =>
      h('li', {}, f.text, ' ', h('span', { class: 'muted' }, f.raisesRisk ? '(raises risk)' : '(lowers risk)')))),
    h('p', { class: 'muted' }, `Model ${risk.kind} v${risk.modelVersion}, threshold ${percent(risk.threshold)}, scored ${date(risk.scoredAt)}.`));
}

/** Monday-based weeks: share of recorded days attended (present or tardy count as attended). */
export function weekly(days) {
  const weeks = new Map();
  for (const d of days) {
    const day = new Date(`${d.date}T00:00:00Z`);
    const monday = new Date(day);
    monday.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
    const key = monday.toISOString().slice(0, 10);
    const w = weeks.get(key) ?? { label: key.slice(5), days: 0, attended: 0, absent: 0 };
    w.days++;
    if (d.status === 'present' || d.status === 'tardy') w.attended++;
    else w.absent++;
    weeks.set(key, w);
  }
  return [...weeks.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, w]) => ({ ...w, rate: w.attended / w.days }));
}

function caseSection(user, studentId) {
  const el = section('Case', async () => {
    const cases = (await api(`/api/interventions/v1/cases?studentId=${encodeURIComponent(studentId)}`)).cases ?? [];
    cases.sort((a, b) => (b.openedAt ?? '').localeCompare(a.openedAt ?? ''));
    const c = cases.find(x => ACTIVE.includes(x.status)) ?? cases[0];
    if (!c) return openCaseForm(user, studentId, el);
    // The case keeps the reason it was opened for; the risk beside it is the student's current one.
    const risk = await apiOrNull(`/api/early-warning/v1/students/${encodeURIComponent(studentId)}/risk`).catch(() => null);
    return caseView(user, c, el, risk);
  });
  el.id = 'case';
  return el;
}

function openCaseForm(user, studentId, el) {
  const reason = h('textarea', { id: 'open-reason', required: true });
  const status = h('div');
  return [h('p', {}, 'This student has no case.'),
    h('form', {
      onsubmit: async ev => {
        ev.preventDefault();
        try {
          const s = await student(studentId);
          await api('/api/interventions/v1/cases', { method: 'POST', body: { studentId, schoolId: s?.schoolId, reason: reason.value, openedBy: user.id } });
          announce('Case opened.');
          el.reload();
        } catch (e) {
          clear(status, message('error', e.message));
        }
      },
    }, h('div', { class: 'field' }, h('label', { for: 'open-reason' }, 'Why open a case'), reason), status, h('button', { type: 'submit' }, 'Open a case'))];
}

function caseView(user, c, el, risk) {
  const base = `/api/interventions/v1/cases/${encodeURIComponent(c.caseId)}`;
  const status = h('div', { id: 'case-status', 'aria-live': 'polite' });
  const act = async (what, path, body, method = 'POST') => {
    try {
      await api(`${base}${path}`, { method, body });
      announce(`${what}: done.`);
      await el.reload();
      document.getElementById('case-status')?.replaceChildren(message('ok', `${what}: done.`));
    } catch (e) {
      clear(status, message('error', e.message));
    }
  };
  const active = ACTIVE.includes(c.status);
  const parts = [
    h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), h('dd', { id: 'case-status-value' }, h('span', { class: 'badge status' }, c.status), isOverdue(c) ? [' ', h('span', { class: 'badge overdue' }, 'overdue')] : null),
      h('dt', {}, 'Owner'), h('dd', { id: 'case-owner' }, c.assignedTo || 'unassigned', c.takenBy ? h('span', { class: 'muted' }, ' (took it)') : null),
      h('dt', {}, 'Risk now'), h('dd', { id: 'case-risk-now' }, risk ? [bandBadge(risk.band), ' ', percent(risk.score), h('span', { class: 'muted' }, ` (scored ${date(risk.scoredAt)})`)] : 'not scored'),
      h('dt', {}, 'Contact by'), h('dd', {}, c.contactDueBy || '—'),
      h('dt', {}, 'First contact'), h('dd', {}, date(c.firstContactAt)),
      h('dt', {}, 'Last contact'), h('dd', {}, date(c.lastContactAt)),
      h('dt', {}, 'Next check-in'), h('dd', { id: 'case-next-check-in' }, c.nextCheckIn || '—'),
      c.outcome ? [h('dt', {}, 'Outcome'), h('dd', { id: 'case-outcome' }, c.outcome)] : null),
    h('p', {}, h('span', { class: 'muted' }, `Opened ${date(c.openedAt)} for: `), c.reason),
    c.plan?.type ? h('p', {}, `Plan: ${c.plan.type}, tier ${c.plan.tier}, from ${c.plan.startDate} for ${c.plan.durationWeeks} weeks, check-in ${c.plan.checkInFrequency}${c.plan.expectedHours ? `, about ${c.plan.expectedHours} staff hour(s)` : ''}. Goal: ${c.plan.goal}`) : null,
    status,
  ];

  // A counselor need not wait for a coordinator: an unassigned case of their school can be taken.
  if (c.status === 'open' && !c.assignedTo && hasRole(user, 'counselor')) {
    parts.push(h('div', { class: 'row' }, h('button', { type: 'button', id: 'take-case', onclick: () => act('Case taken', '/take', {}) }, 'Take this case'),
      h('span', { class: 'muted' }, 'It becomes yours; the coordinator sees that you took it.')));
  }

  // Whom to call: the family as the roster names them (OneRoster agents), parents and guardians first.
  const family = h('div', { class: 'card', id: 'case-family' }, h('p', { class: 'muted' }, 'Loading family contacts…'));
  api(`${base}/family`).then(f => clear(family, h('h3', {}, 'Whom to call'), (f.contacts ?? []).length
    ? h('ul', {}, f.contacts.map(p => h('li', { dataset: { contactId: p.contactId } },
      `${p.givenName} ${p.familyName} (${p.relationship})`,
      p.phone ? [' · ', h('a', { href: `tel:${p.phone}` }, p.phone)] : null,
      p.email ? [' · ', h('a', { href: `mailto:${p.email}` }, p.email)] : null)))
    : h('p', { class: 'muted' }, 'No parent, guardian or relative on the roster for this student.'))).catch(e => clear(family, message('error', e.message)));
  parts.push(family);

  if (active) {
    const withWhom = select('contact-with', CONTACT_WITH);
    const how = select('contact-how', CONTACT_HOW);
    const what = h('input', { id: 'contact-note', type: 'text', size: 40 });
    const minutes = h('input', { id: 'contact-minutes', type: 'number', min: 1, max: 600 });
    parts.push(h('form', {
      class: 'card', 'aria-label': 'Log a contact',
      onsubmit: ev => { ev.preventDefault(); act('Contact logged', '/contacts', { with: withWhom.value, how: how.value, note: what.value || undefined, minutesSpent: minutes.value ? Number(minutes.value) : undefined }); },
    }, h('h3', {}, 'Log a contact'),
    h('div', { class: 'row' }, field('contact-with', 'With', withWhom), field('contact-how', 'How', how), field('contact-minutes', 'Minutes spent (optional)', minutes)),
    field('contact-note', 'What came of it (optional)', what),
    h('button', { type: 'submit' }, 'Log contact')));

    const next = h('input', { id: 'check-in-date', type: 'date', min: today(), value: c.nextCheckIn || '' });
    parts.push(h('form', {
      class: 'card', 'aria-label': 'Next check-in',
      onsubmit: ev => { ev.preventDefault(); act('Check-in scheduled', '/next-check-in', { date: next.value }, 'PUT'); },
    }, field('check-in-date', 'Next check-in', next), h('button', { type: 'submit' }, 'Schedule check-in')));
  }

  const note = h('textarea', { id: 'note-text' });
  const contact = h('input', { type: 'checkbox', id: 'note-contact' });
  const noteMinutes = h('input', { id: 'note-minutes', type: 'number', min: 1, max: 600 });
  parts.push(h('form', {
    class: 'card', 'aria-label': 'Add a note',
    onsubmit: ev => { ev.preventDefault(); act('Note added', '/notes', { text: note.value, authorId: user.id, contact: contact.checked, minutesSpent: noteMinutes.value ? Number(noteMinutes.value) : undefined }); },
  }, h('div', { class: 'field' }, h('label', { for: 'note-text' }, 'Note'), note),
  field('note-minutes', 'Minutes spent (optional)', noteMinutes),
  h('div', { class: 'field' }, h('label', { class: 'inline', for: 'note-contact' }, contact, 'This note records a contact with the student or family')),
  h('button', { type: 'submit' }, 'Add note')));

  // The plan can be written (and rewritten) once the case has an owner, before or after it starts.
  if (c.status === 'assigned' || c.status === 'in-progress') {
    const type = select('plan-type', PLAN_TYPES, c.plan?.type);
    const tier = select('plan-tier', ['1', '2', '3']);
    const freq = select('plan-frequency', FREQUENCIES, 'weekly');
    const goal = h('input', { id: 'plan-goal', type: 'text', size: 40 });
    const start = h('input', { id: 'plan-start', type: 'date', value: today() });
    const weeks = h('input', { id: 'plan-weeks', type: 'number', min: 1, max: 52, value: 6 });
    const hours = h('input', { id: 'plan-hours', type: 'number', min: 0.25, max: 500, step: 0.25, value: c.plan?.expectedHours ?? '' });
    parts.push(suggestedTypes(base));
    parts.push(h('form', {
      class: 'card', 'aria-label': 'Plan',
      onsubmit: ev => {
        ev.preventDefault();
        act('Plan saved', '/plan', { type: type.value, tier: Number(tier.value), goal: goal.value, startDate: start.value, durationWeeks: Number(weeks.value), checkInFrequency: freq.value, by: user.id, expectedHours: hours.value ? Number(hours.value) : undefined }, 'PUT');
      },
    }, h('h3', {}, 'Plan'),
    field('plan-type', 'Intervention', type), field('plan-tier', 'Tier', tier), field('plan-goal', 'Goal', goal),
    field('plan-start', 'Start date', start), field('plan-weeks', 'Weeks', weeks), field('plan-frequency', 'Check-in', freq),
    field('plan-hours', 'Staff hours expected in all (optional)', hours),
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save plan'),
      c.plan?.type && c.status === 'assigned' ? h('button', { type: 'button', onclick: () => act('Started', '/start', { by: user.id }) }, 'Start the plan') : null)));
  }

  if (active) {
    const outcome = select('end-outcome', OUTCOMES);
    const reason = h('input', { id: 'end-reason', type: 'text', size: 40 });
    parts.push(h('div', { class: 'card' }, h('h3', {}, 'End the case'),
      field('end-outcome', 'Outcome', outcome), field('end-reason', 'Reason (optional)', reason),
      h('div', { class: 'row' },
        c.status === 'in-progress' ? h('button', { type: 'button', onclick: () => act('Completed', '/completion', { outcome: outcome.value, by: user.id }) }, 'Complete') : null,
        h('button', { type: 'button', class: 'secondary', onclick: () => act('Closed', '/closure', { outcome: outcome.value, by: user.id, reason: reason.value || undefined }) }, 'Close'),
        h('button', { type: 'button', class: 'danger', id: 'false-alarm', onclick: () => act('Marked as a false alarm', '/closure', { outcome: 'false-alarm', by: user.id, reason: reason.value || 'not at risk on review' }) }, 'Mark as false alarm'))));
  }

  const history = h('div', {}, h('p', { class: 'muted' }, 'Loading history…'));
  api(`${base}/activity`).then(a => clear(history, h('h3', {}, 'History'), h('ol', { id: 'case-history' }, (a.activity ?? []).map(x =>
    h('li', {}, h('span', { class: 'muted' }, `${date(x.at)} · ${x.kind}${x.by ? ` · ${x.by}` : ''}${x.minutesSpent ? ` · ${x.minutesSpent} min` : ''}`), h('div', {}, x.text)))))).catch(e => clear(history, message('error', e.message)));
  parts.push(history);
  return parts;
}

/** Values are strings, or [value, label] pairs. */
function select(id, values, selected) {
  return h('select', { id }, values.map(v => {
    const [value, label] = Array.isArray(v) ? v : [v, v];
    return h('option', { value, selected: value === selected }, label);
  }));
}

function field(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}
