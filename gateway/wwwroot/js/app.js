// The dashboard's shell: sign-in state, navigation by role, hash routing (#/counselor, #/student/stu-010, ...).
import { session, signOut, restoreSession, hasRole, whenUnauthorized } from './api.js';
import { h, clear } from './dom.js';
import { leavePage } from './lifecycle.js';
import { renderSignIn } from './pages/signin.js';
import { renderCounselor } from './pages/counselor.js';
import { renderStudent } from './pages/student.js';
import { renderCoordinator } from './pages/coordinator.js';
import { renderMastery } from './pages/mastery.js';
import { renderOps } from './pages/ops.js';
import { renderTeacher } from './pages/teacher.js';
import { renderSearch, searchForm } from './pages/search.js';

const STAFF = ['counselor', 'coordinator', 'administrator'];
const pages = [
  { path: 'teacher', title: 'My sections', roles: ['teacher'], render: renderTeacher },
  { path: 'counselor', title: 'My students', roles: ['counselor', 'administrator'], render: renderCounselor },
  { path: 'coordinator', title: 'Coordinator', roles: ['coordinator', 'administrator'], render: renderCoordinator },
  { path: 'mastery', title: 'Mastery', roles: STAFF, render: renderMastery },
  { path: 'ops', title: 'Models', roles: ['ops', 'administrator'], render: renderOps },
  { path: 'student', title: 'Student', roles: STAFF, render: renderStudent, hidden: true },
  { path: 'search', title: 'Find a student', roles: STAFF, render: renderSearch, hidden: true },
];

function home(user) {
  return pages.find(p => !p.hidden && hasRole(user, ...p.roles))?.path;
}

function renderChrome(s, current) {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!s) {
    clear(nav);
    clear(who);
    return;
  }
  clear(nav, pages.filter(p => !p.hidden && hasRole(s.user, ...p.roles)).map(p =>
    h('a', { href: `#/${p.path}`, 'aria-current': p.path === current ? 'page' : undefined }, p.title)));
  clear(who,
    hasRole(s.user, ...STAFF) && current !== 'search' ? searchForm() : null,
    h('span', {}, `${s.user.name} (${(s.user.roles ?? []).join(', ')})`),
    h('button', { type: 'button', class: 'secondary', onclick: async () => { location.hash = '#/signin'; await signOut(); } }, 'Sign out'));
}

function route() {
  leavePage();
  const main = document.getElementById('main');
  const [path, ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const s = session();
  if (!s || path === 'signin') {
    renderChrome(null);
    document.title = 'Sign in — Beacon';
    renderSignIn(main, () => { location.hash = `#/${home(session()?.user) ?? 'signin'}`; });
    return;
  }
  const page = pages.find(p => p.path === path);
  if (!page) {
    const target = home(s.user);
    if (target) { location.hash = `#/${target}`; return; }
    renderChrome(s, '');
    clear(main, h('h1', {}, 'Nothing to show'), h('p', {}, `Your roles (${(s.user.roles ?? []).join(', ') || 'none'}) have no page in the dashboard.`));
    return;
  }
  renderChrome(s, page.path);
  if (!hasRole(s.user, ...page.roles)) {
    clear(main, h('h1', {}, 'Not for your role'), h('p', {}, `${page.title} is for ${page.roles.join(', ')}.`));
    return;
  }
  document.title = `${page.title} — Beacon`;
  clear(main);
  page.render(main, s.user, ...params);
  main.focus();
}

whenUnauthorized(() => { if (!location.hash.startsWith('#/signin')) location.hash = '#/signin'; });
window.addEventListener('hashchange', route);
restoreSession().finally(route);
