// Inline SVG charts drawn from data. Each chart is an <svg role="img"> with a title and a one-line
// description, followed by the same numbers as a table inside <details> for screen readers and keyboard users.
import { h, id } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const COLORS = ['#1d4ed8', '#a3140f', '#1f6b35', '#8a4b00', '#6b21a8'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '12 4'];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'style') el.style.cssText = String(v);   // CSSOM: the CSP refuses style attributes
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function frame(title, description, width, height) {
  const titleId = id('t');
  const descId = id('d');
  return s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}` },
    s('title', { id: titleId }, title), s('desc', { id: descId }, description));
}

function dataTable(caption, headers, rows) {
  return h('details', {},
    h('summary', {}, `${caption}: the numbers`),
    h('table', {},
      h('thead', {}, h('tr', {}, headers.map(x => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map(r => h('tr', {}, r.map(c => h('td', {}, c)))))));
}

const fmt = (v, format) => (v === null || v === undefined || Number.isNaN(v) ? '—' : format(v));

/**
 * Lines over a shared x axis. series: [{ name, values: [number|null] }], labels: x labels.
 * Missing values break the line instead of being drawn as zero.
 */
export function lineChart({ title, description, labels, series, yMin = 0, yMax = 1, format = v => v.toFixed(2), height = 220 }) {
  const width = 640, left = 48, right = 30, top = 16, bottom = 40;
  const svg = frame(title, description, width, height);
  const x = i => left + (labels.length <= 1 ? (width - left - right) / 2 : (i * (width - left - right)) / (labels.length - 1));
  const y = v => top + (1 - (v - yMin) / (yMax - yMin || 1)) * (height - top - bottom);
  for (let t = 0; t <= 4; t++) {
    const v = yMin + ((yMax - yMin) * t) / 4;
    svg.append(s('line', { class: 'grid', x1: left, x2: width - right, y1: y(v), y2: y(v) }),
      s('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  svg.append(s('line', { class: 'axis', x1: left, x2: left, y1: top, y2: height - bottom }),
    s('line', { class: 'axis', x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }));
  const every = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((l, i) => {
    if (i % every === 0 || i === labels.length - 1) svg.append(s('text', { x: x(i), y: height - bottom + 16, 'text-anchor': 'middle' }, l));
  });
  series.forEach((ser, k) => {
    const color = COLORS[k % COLORS.length];
    let d = '';
    let pen = false;
    ser.values.forEach((v, i) => {
      if (v === null || v === undefined || Number.isNaN(v)) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    });
    if (d) svg.append(s('path', { d, fill: 'none', stroke: color, 'stroke-width': 2.5, 'stroke-dasharray': DASHES[k % DASHES.length] || undefined }));
    ser.values.forEach((v, i) => {
      if (v !== null && v !== undefined && !Number.isNaN(v)) {
        svg.append(s('circle', { cx: x(i), cy: y(v), r: 3.5, fill: color }, s('title', {}, `${ser.name}, ${labels[i]}: ${format(v)}`)));
      }
    });
  });
  const table = dataTable(title, ['', ...series.map(x => x.name)], labels.map((l, i) => [l, ...series.map(ser => fmt(ser.values[i], format))]));
  // The legend is HTML below the chart: long names wrap instead of overlapping; line style, not only colour, tells series apart.
  const legend = series.length > 1 ? h('ul', { class: 'legend', 'aria-hidden': 'true' }, series.map((ser, k) => h('li', {},
    s('svg', { width: 28, height: 10, viewBox: '0 0 28 10' }, s('line', { x1: 1, x2: 27, y1: 5, y2: 5, stroke: COLORS[k % COLORS.length], 'stroke-width': 2.5, 'stroke-dasharray': DASHES[k % DASHES.length] || undefined })),
    ser.name))) : null;
  return h('figure', { class: 'figure' }, svg, legend, table);
}

/**
 * Horizontal bars, optionally with an interval (ci: [low, high]) drawn as a whisker; negative values go left of zero.
 */
export function barChart({ title, description, bars, format = v => v.toFixed(2), min, max, barHeight = 30 }) {
  const width = 640, left = 200, right = 70, top = 10;
  const values = bars.flatMap(b => [b.value, ...(b.ci ?? [])]).filter(v => v !== null && v !== undefined);
  const lo = min ?? Math.min(0, ...values);
  const hi = max ?? Math.max(0, ...values, 1e-9);
  const height = top + bars.length * barHeight + 28;
  const svg = frame(title, description, width, height);
  const x = v => left + ((v - lo) / (hi - lo || 1)) * (width - left - right);
  svg.append(s('line', { class: 'axis', x1: x(0), x2: x(0), y1: top - 4, y2: height - 24 }));
  [lo, (lo + hi) / 2, hi].forEach(v => svg.append(s('text', { x: x(v), y: height - 8, 'text-anchor': 'middle' }, format(v))));
  bars.forEach((b, i) => {
    const yTop = top + i * barHeight;
    const label = b.label.length > 28 ? `${b.label.slice(0, 27)}…` : b.label;
    svg.append(s('text', { x: left - 8, y: yTop + barHeight / 2 + 4, 'text-anchor': 'end' }, label));
    if (b.value === null || b.value === undefined) {
      svg.append(s('text', { x: x(0) + 6, y: yTop + barHeight / 2 + 4 }, 'no estimate'));
      return;
    }
    const x0 = Math.min(x(0), x(b.value));
    const w = Math.max(1, Math.abs(x(b.value) - x(0)));
    svg.append(s('rect', { x: x0, y: yTop + 5, width: w, height: barHeight - 10, fill: b.value < 0 ? COLORS[1] : COLORS[0] },
      s('title', {}, `${b.label}: ${format(b.value)}${b.ci ? ` (95 % interval ${format(b.ci[0])} to ${format(b.ci[1])})` : ''}`)));
    if (b.ci) {
      const cy = yTop + barHeight / 2;
      svg.append(s('line', { x1: x(b.ci[0]), x2: x(b.ci[1]), y1: cy, y2: cy, stroke: '#1a1f2b', 'stroke-width': 1.5 }),
        s('line', { x1: x(b.ci[0]), x2: x(b.ci[0]), y1: cy - 6, y2: cy + 6, stroke: '#1a1f2b', 'stroke-width': 1.5 }),
        s('line', { x1: x(b.ci[1]), x2: x(b.ci[1]), y1: cy - 6, y2: cy + 6, stroke: '#1a1f2b', 'stroke-width': 1.5 }));
    }
    svg.append(s('text', { x: Math.max(x(b.value), b.ci ? x(b.ci[1]) : 0) + 6, y: yTop + barHeight / 2 + 4 }, format(b.value)));
  });
  const withCi = bars.some(b => b.ci);
  const table = dataTable(title, withCi ? ['', 'value', '95 % interval'] : ['', 'value'],
    bars.map(b => withCi ? [b.label, fmt(b.value, format), b.ci ? `${format(b.ci[0])} to ${format(b.ci[1])}` : '—'] : [b.label, fmt(b.value, format)]));
  return h('figure', { class: 'figure' }, svg, table);
}

/** Reliability diagram: mean predicted probability against observed rate per bin, with the diagonal of perfect calibration. */
export function calibrationPlot({ title, description, bins }) {
  const size = 320, pad = 40;
  const svg = frame(title, description, size + pad, size + pad);
  svg.style.maxWidth = '360px';   // CSSOM, not a style attribute (the CSP allows no inline styles)
  const x = v => pad + v * (size - pad);
  const y = v => size - v * (size - pad);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s('line', { class: 'grid', x1: x(t), x2: x(t), y1: y(0), y2: y(1) }), s('line', { class: 'grid', x1: x(0), x2: x(1), y1: y(t), y2: y(t) }),
      s('text', { x: x(t), y: size + 16, 'text-anchor': 'middle' }, t.toFixed(2)), s('text', { x: pad - 6, y: y(t) + 4, 'text-anchor': 'end' }, t.toFixed(2)));
  }
  svg.append(s('line', { x1: x(0), y1: y(0), x2: x(1), y2: y(1), stroke: '#6b7385', 'stroke-dasharray': '4 3' }),
    s('text', { x: x(0.5), y: size + 34, 'text-anchor': 'middle' }, 'predicted'),
    s('text', { x: 10, y: y(0.5), transform: `rotate(-90 10 ${y(0.5)})`, 'text-anchor': 'middle' }, 'observed'));
  const pts = bins.filter(b => b.predicted !== null && b.observed !== null);
  if (pts.length) svg.append(s('path', { d: pts.map((b, i) => `${i ? 'L' : 'M'}${x(b.predicted)},${y(b.observed)}`).join(' '), fill: 'none', stroke: COLORS[0], 'stroke-width': 2 }));
  pts.forEach(b => svg.append(s('circle', { cx: x(b.predicted), cy: y(b.observed), r: 4, fill: COLORS[0] },
    s('title', {}, `predicted ${b.predicted.toFixed(2)}, observed ${b.observed.toFixed(2)}${b.count ? `, ${b.count} students` : ''}`))));
  const table = dataTable(title, ['predicted', 'observed', 'students'], bins.map(b => [fmt(b.predicted, v => v.toFixed(3)), fmt(b.observed, v => v.toFixed(3)), b.count ?? '—']));
  return h('figure', { class: 'figure' }, svg, table);
}
