// Export what a table shows as CSV (RFC 4180, UTF-8 with a byte-order mark so spreadsheets read accents right).
// A cell that begins with =, +, -, @, tab or carriage return gets a leading apostrophe, so a name a feed sent cannot
// run as a formula when the file is opened (the escaping the services' CSV downloads use too).
import { h, message, clear, announce } from './dom.js';

const FORMULA = /^[=+\-@\t\r]/;

export function toCsv(header, rows) {
  const cell = v => {
    let s = v === null || v === undefined ? '' : String(v);
    if (typeof v === 'string' && FORMULA.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [header, ...rows].map(r => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** Saves text or a blob under a file name (a link to an object URL, clicked, then let go). */
export function saveFile(fileName, content, type = 'text/csv;charset=utf-8') {
  const blob = content instanceof Blob ? content : new Blob(['\uFEFF', content], { type });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: fileName, class: 'visually-hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A "Download CSV" button: <paramref name="load"/> gives { header, rows } (or a Blob from a service's own CSV) at
 * the moment of the click, so the file holds what the table shows then. Errors show beside the button.
 */
export function csvButton(label, fileName, load, idAttr) {
  const status = h('span', { 'aria-live': 'polite' });
  const button = h('button', {
    type: 'button', class: 'secondary', id: idAttr,
    onclick: async () => {
      button.disabled = true;
      try {
        const data = await load();
        const name = typeof fileName === 'function' ? fileName() : fileName;
        saveFile(name, data instanceof Blob ? data : toCsv(data.header, data.rows));
        clear(status);
        announce(`${name} downloaded.`);
      } catch (e) {
        clear(status, message('error', e.message ?? String(e)));
      } finally {
        button.disabled = false;
      }
    },
  }, label);
  return h('div', { class: 'row export' }, button, status);
}
