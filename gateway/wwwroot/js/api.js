// The session, and one fetch wrapper for every API call. Two kinds of session:
// - staff signed in with the district's identity provider: the gateway holds the tokens in an HttpOnly cookie this
//   script cannot read (backend-for-frontend); the page only knows the user, from GET /auth/session;
// - the development issuer of the local run: a bearer token in sessionStorage (gone when the tab closes).
const KEY = 'beacon.session';
let cookieSession = null;

/** Asks the gateway whether this browser has a staff session (its cookie); call once before routing. */
export async function restoreSession() {
  cookieSession = null;
  try {
    const response = await fetch('/auth/session', { headers: { Accept: 'application/json' } });
    if (response.ok) cookieSession = { cookie: true, user: (await response.json()).user };
  } catch {
    cookieSession = null;
  }
  return cookieSession;
}

export function session() {
  if (cookieSession) return cookieSession;
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY));
    if (!s || !s.accessToken || Date.now() >= s.expiresAt) return null;
    return s;
  } catch {
    return null;
  }
}

export function saveSession(answer) {
  const s = {
    accessToken: answer.accessToken,
    expiresAt: Date.now() + (answer.expiresIn ?? 3600) * 1000,
    user: answer.user,
  };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

/** Forgets the session in this page (after a 401: the gateway already ended it). */
export function forgetSession() {
  cookieSession = null;
  sessionStorage.removeItem(KEY);
}

/** Signs out; a staff session also ends at the identity provider, whose sign-out page the browser then visits. */
export async function signOut() {
  const hadCookie = !!cookieSession;
  forgetSession();
  if (!hadCookie) return;
  const response = await fetch('/auth/signout', { method: 'POST', headers: { Accept: 'application/json', 'X-Beacon-Request': '1' } });
  const answer = response.ok ? await response.json() : null;
  location.assign(answer?.endSessionUrl ?? '/');
}

export function hasRole(user, ...roles) {
  return !!user && (user.roles ?? []).some(r => roles.includes(r));
}

export class ApiError extends Error {
  constructor(status, problem, path) {
    super(describe(status, problem, path));
    this.status = status;
    this.problem = problem;
    this.path = path;
  }
}

// Problem details name the field ("errors": {"status": ["..."]}): show them as the service wrote them.
function describe(status, problem, path) {
  if (problem && typeof problem === 'object') {
    // gRPC JSON transcoding answers a refusal as a google.rpc.Status: { code, message }.
    const parts = [problem.title || problem.message || `HTTP ${status}`];
    if (problem.detail) parts.push(problem.detail);
    if (problem.errors) {
      for (const [field, messages] of Object.entries(problem.errors)) {
        parts.push(`${field}: ${[].concat(messages).join(' ')}`);
      }
    }
    return parts.join(' — ');
  }
  if (typeof problem === 'string' && problem.trim()) return `HTTP ${status}: ${problem.trim().slice(0, 300)}`;
  return `HTTP ${status} from ${path}`;
}

let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export async function api(path, { method = 'GET', body, signal, accept = 'application/json', as = 'json' } = {}) {
  // The header tells the gateway the call comes from this page's script, which a form on another site cannot send.
  const headers = { Accept: accept, 'X-Beacon-Request': '1' };
  const s = session();
  if (s?.accessToken) headers.Authorization = `Bearer ${s.accessToken}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'The gateway did not answer', detail: String(e.message ?? e) }, path);
  }
  if (as === 'blob' && response.ok) return response.blob();
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (response.status === 401) {
    forgetSession();
    onUnauthorized();
  }
  if (!response.ok) throw new ApiError(response.status, data, path);
  return data;
}

/** Resolves to null on 404 (e.g. a student not scored yet, an endpoint this deployment does not serve). */
export async function apiOrNull(path, options) {
  try {
    return await api(path, options);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** Student names from the roster, asked once per student per page load. */
const students = new Map();
export function student(id) {
  if (!students.has(id)) {
    students.set(id, apiOrNull(`/api/ingestion/v1/students/${encodeURIComponent(id)}`).catch(() => null));
  }
  return students.get(id);
}

export async function studentName(id) {
  const s = await student(id);
  const name = s ? `${s.givenName ?? ''} ${s.familyName ?? ''}`.trim() : '';
  return name || id;
}
