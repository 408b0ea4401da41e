// Tiny DOM helpers. Text always goes in as text nodes (never innerHTML), so data cannot inject markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    // Through the CSSOM: a style attribute would be refused by the Content-Security-Policy (no inline styles).
    else if (k === 'style') el.style.cssText = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * A box that scrolls a wide table sideways: focusable and named, so a keyboard user can scroll it too (axe
 * scrollable-region-focusable).
 */
export function scrollBox(label, ...children) {
  return h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': label }, ...children);
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function announce(text) {
  const a = document.getElementById('announcer');
  if (!a) return;
  a.textContent = '';
  setTimeout(() => { a.textContent = text; }, 50);
}

export function message(kind, text) {
  return h('div', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

export const percent = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '—' : `${(v * 100).toFixed(digits)} %`);

export function date(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return iso.length <= 10 ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function bandBadge(band) {
  if (!band) return h('span', { class: 'badge status' }, 'not scored');
  return h('span', { class: `badge band-${band}` }, `${band} risk`);
}

let uid = 0;
export const id = prefix => `${prefix}-${++uid}`;

/** A section that loads its own data and shows its error in place, so one failing service does not blank the page. */
export function section(title, load, { level = 'h2', cls = 'card' } = {}) {
  const headingId = id('s');
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const el = h('section', { class: cls, 'aria-labelledby': headingId }, h(level, { id: headingId }, title), body);
  const run = async () => {
    try {
      const content = await load(el);
      clear(body, content);
    } catch (e) {
      clear(body, message('error', e.message ?? String(e)));
    }
  };
  el.reload = run;
  queueMicrotask(run);
  return el;
}
