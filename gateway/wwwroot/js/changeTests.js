// Small tests of change on the coordinator page: start one (two or more ways of reaching students, drawn at random
// among the active cases of the coordinator's schools), and read each test's report. Not a page: coordinator.js imports it.
import { api } from './api.js';
import { h, clear, message, announce } from './dom.js';

// A line naming one of these is an intervention type; any other line is an outreach message wording.
const TYPES = ['attendance-outreach', 'tutoring', 're-teach-module', 'small-group-session', 'family-meeting', 'referral'];

const pts = v => (v === null || v === undefined ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} pts`);

/** The section's content: the form, then every test with its report (newest first). */
export async function changeTests(user, el) {
  const tests = await api('/api/interventions/v1/tests-of-change');
  return [createForm(user, el), tests.length ? tests.map(testView) : h('p', {}, 'No test of change yet.')];
}

function createForm(user, el) {
  const name = h('input', { type: 'text', id: 'ct-name', required: true, maxlength: '200', placeholder: 'e.g. Which first message brings students back' });
  const arms = h('textarea', { id: 'ct-arms', rows: '3', required: true, placeholder: 'One arm per line: an intervention type (attendance-outreach, tutoring, …) or a message wording' });
  const days = h('input', { type: 'number', id: 'ct-days', min: '1', max: '42', value: '14', required: true });
  const status = h('div', { 'aria-live': 'polite', id: 'ct-status' });
  const submit = async ev => {
    ev.preventDefault();
    const lines = arms.value.split('\n').map(l => l.trim()).filter(Boolean);
    const body = {
      name: name.value,
      arms: lines.map(l => (TYPES.includes(l) ? { interventionType: l } : { message: l })),
      eligible: { schoolIds: user.schools ?? [] },
      outcome: 'attendance',
      windowDays: Number(days.value),
    };
    try {
      const t = await api('/api/interventions/v1/tests-of-change', { method: 'POST', body });
      const text = `Test "${t.name}" started: ${t.arms.map(a => `arm ${a.label} ${a.students}`).join(', ')} students (seed ${t.seed}).`;
      announce(text);
      await el.reload();
      el.querySelector('form')?.prepend(message('ok', text));
    } catch (e) {
      clear(status, message('error', e.message));
    }
  };
  return h('form', { onsubmit: submit, id: 'ct-form' },
    h('p', {}, 'Compare ways of reaching students: each active case of your schools is assigned at random to one arm (balanced per school and risk band). '
      + 'Staff see the arm on the case and stay free to act as they judge best. Attendance is compared over the window before and from today.'),
    h('div', { class: 'row' }, h('label', { for: 'ct-name' }, 'Name'), name),
    h('div', { class: 'row' }, h('label', { for: 'ct-arms' }, 'Arms'), arms),
    h('div', { class: 'row' }, h('label', { for: 'ct-days' }, 'Window (days)'), days, h('button', { type: 'submit' }, 'Start the test')),
    status);
}

function testView(t) {
  const out = h('div', {}, h('p', { class: 'muted' }, 'Loading the report…'));
  api(`/api/interventions/v1/tests-of-change/${encodeURIComponent(t.testId)}/report`).then(r => {
    if (r.status !== 'measured') { clear(out, h('p', {}, r.sentence)); return; }
    clear(out,
      h('table', {},
        h('caption', {}, `Change in ${t.outcome} per arm`),
        h('thead', {}, h('tr', {}, ['Arm', 'Students', 'Change', '95 % interval'].map(x => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, r.arms.map(a => h('tr', {}, h('td', {}, `${a.label}: ${a.arm}`), h('td', { class: 'num' }, a.students),
          h('td', { class: 'num' }, pts(a.meanChange)), h('td', { class: 'num' }, a.ci95 ? `${pts(a.ci95[0])} to ${pts(a.ci95[1])}` : '—'))))),
      r.differences.map(d => h('p', { class: d.detectable ? '' : 'muted' }, d.sentence)),
      h('details', {}, h('summary', {}, 'How it is measured'), h('p', {}, r.method)));
  }).catch(e => clear(out, message('error', e.message)));
  return h('article', { class: 'change-test', dataset: { testId: t.testId } },
    h('h3', {}, t.name),
    h('p', { class: 'muted' }, `${t.arms.map(a => `arm ${a.label} (${a.value}): ${a.students}`).join(' · ')} — from ${t.startDate}, ${t.windowDays} days, seed ${t.seed}`),
    out);
}
