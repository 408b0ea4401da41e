// Reads shared by several pages: cases and risks of the user's schools, overdue rule, counselors.
import { api, hasRole } from './api.js';

export const ACTIVE = ['open', 'assigned', 'in-progress'];

/** The schools a user may see; an administrator without school claims sees every school (one unfiltered call). */
export function schoolsOf(user) {
  const schools = user.schools ?? [];
  return schools.length ? schools : hasRole(user, 'administrator') ? [''] : [];
}

async function perSchool(user, load) {
  const results = await Promise.all(schoolsOf(user).map(load));
  return results.flat();
}

export async function casesFor(user, status = '') {
  return perSchool(user, async school => {
    const q = new URLSearchParams();
    if (status) q.set('status', status);
    if (school) q.set('schoolId', school);
    return (await api(`/api/interventions/v1/cases?${q}`)).cases ?? [];
  });
}

/** Every scored student of the user's schools, by id (flagged or not), so lists can sort by risk. */
export async function risksFor(user) {
  const risks = await perSchool(user, async school => {
    const q = new URLSearchParams({ flaggedOnly: 'false', limit: '5000' });
    if (school) q.set('schoolId', school);
    return (await api(`/api/early-warning/v1/risks?${q}`)).risks ?? [];
  });
  return new Map(risks.map(r => [r.studentId, r]));
}

export async function counselorsFor(user) {
  const schools = (user.schools ?? []).length ? user.schools : await knownSchools(user);
  const lists = await Promise.all(schools.map(async school =>
    ((await api(`/api/ingestion/v1/schools/${encodeURIComponent(school)}/counselors`)).counselors ?? []).map(c => ({ ...c, schoolId: c.schoolId || school }))));
  return lists.flat();
}

async function knownSchools(user) {
  const cases = await casesFor(user);
  return [...new Set(cases.map(c => c.schoolId))].sort();
}

export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Not contacted by its deadline (the service escalates these once; the flag may lag its 15-minute scan). */
export function isOverdue(c) {
  if (!ACTIVE.includes(c.status) || c.firstContactAt) return false;
  return !!c.escalated || (!!c.contactDueBy && c.contactDueBy < today());
}

export const byRisk = risks => (a, b) => (risks.get(b.studentId)?.score ?? -1) - (risks.get(a.studentId)?.score ?? -1);
