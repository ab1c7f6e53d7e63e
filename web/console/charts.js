// Charts drawn by the console itself in SVG (no chart library): horizontal
// bars for groups, columns for periods. Each chart is a <figure> with a
// caption, labelled axes, an SVG described for screen readers, and its data
// as a table (the fallback, and what a keyboard or screen-reader user reads).
// Colours and fonts come from console.css (the CSP allows no inline style).

import { html } from '../vendor/preact-htm.mjs';
import { t } from './i18n.js';

let chartCounter = 0;

/** A round upper bound and tick step for values up to `max`. */
export function scale(max, ticks = 4) {
  if (!(max > 0)) return { top: 1, step: 1 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const whole = Number.isInteger(max) && step < 1 ? 1 : step;
  return { top: Math.ceil(max / whole) * whole, step: whole };
}

/** A fixed axis (100 for percentages in quarters, 5 for scores in ones). */
const fixed = (top) => ({ top, step: top >= 20 ? top / 4 : 1 });

const fmt = (format, v) => (v === null || v === undefined ? '–' : format ? format(v) : String(v));

function Table({ rows, columns, caption }) {
  return html`<details class="chart-table"><summary>${t('Show as table')}</summary>
    <div class="scroll"><table class="list"><caption class="sr">${caption}</caption>
      <thead><tr>${columns.map((c) => html`<th scope="col">${c.title}</th>`)}</tr></thead>
      <tbody>${rows.map((r) => html`<tr>${columns.map((c, i) => (i === 0 ? html`<th scope="row">${c.value(r)}</th>` : html`<td>${c.value(r)}</td>`))}</tr>`)}</tbody>
    </table></div></details>`;
}

/**
 * Horizontal bars, one per row: `rows` of { key, label, value }; `valueTitle`
 * names the value axis, `groupTitle` the groups; `table` adds columns.
 */
export function BarChart({ name, title, rows, valueTitle, groupTitle, format, top, table }) {
  const id = `chart-${name || ++chartCounter}`;
  const W = 640, left = 200, right = 40, barH = 26, gap = 8, topPad = 10, axisH = 50;
  const plotW = W - left - right;
  const H = topPad + rows.length * (barH + gap) + axisH;
  const s = top !== undefined ? fixed(top) : scale(Math.max(0, ...rows.map((r) => r.value || 0)));
  const x = (v) => left + (plotW * (v || 0)) / s.top;
  const ticks = [];
  for (let v = 0; v <= s.top + 1e-9; v += s.step) ticks.push(Number(v.toFixed(6)));
  const axisY = topPad + rows.length * (barH + gap);
  const desc = rows.map((r) => `${r.label}: ${fmt(format, r.value)}`).join('; ');
  return html`<figure class="chart" data-chart=${name}>
    <figcaption id=${`${id}-t`}>${title}</figcaption>
    ${rows.length === 0 ? html`<p class="muted">${t('No data in this range.')}</p>` : html`
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-labelledby=${`${id}-t ${id}-d`} preserveAspectRatio="xMinYMin meet">
      <desc id=${`${id}-d`}>${desc}</desc>
      ${ticks.map((v) => html`<g class="tick"><line x1=${x(v)} x2=${x(v)} y1=${topPad} y2=${axisY} /><text x=${x(v)} y=${axisY + 16} text-anchor="middle">${fmt(format, v)}</text></g>`)}
      ${rows.map((r, i) => {
        const y = topPad + i * (barH + gap);
        return html`<g class="bar" data-key=${r.key} data-value=${r.value === null ? '' : r.value}>
          <text class="group-label" x=${left - 8} y=${y + barH / 2 + 5} text-anchor="end">${r.label}</text>
          ${r.value !== null && r.value !== undefined ? html`<rect x=${left} y=${y} width=${Math.max(1, x(r.value) - left)} height=${barH} rx="3" />` : null}
          <text class="value" x=${r.value ? x(r.value) + 6 : left + 6} y=${y + barH / 2 + 5}>${fmt(format, r.value)}</text>
        </g>`;
      })}
      <line class="axis" x1=${left} x2=${left + plotW} y1=${axisY} y2=${axisY} />
      <line class="axis" x1=${left} x2=${left} y1=${topPad} y2=${axisY} />
      <text class="axis-title" x=${left + plotW / 2} y=${H - 4} text-anchor="middle">${valueTitle}</text>
      <text class="axis-title" x="12" y=${topPad + (axisY - topPad) / 2} text-anchor="middle" transform=${`rotate(-90 12 ${topPad + (axisY - topPad) / 2})`}>${groupTitle}</text>
    </svg>`}
    <${Table} caption=${title} rows=${rows} columns=${[{ title: groupTitle, value: (r) => r.label }, { title: valueTitle, value: (r) => fmt(format, r.value) }, ...(table || [])]} />
  </figure>`;
}

/**
 * Columns over periods: `rows` of { key, label, value } in time order (null
 * values leave a gap); `top` fixes the axis (100 for percentages, 5 for scores).
 */
export function ColumnChart({ name, title, rows, valueTitle, periodTitle, format, top, table }) {
  const id = `chart-${name || ++chartCounter}`;
  const W = 640, H = 320, left = 72, right = 12, topPad = 20, bottom = 84;
  const plotW = W - left - right, plotH = H - topPad - bottom;
  const s = top !== undefined ? fixed(top) : scale(Math.max(0, ...rows.map((r) => r.value || 0)));
  const y = (v) => topPad + plotH - (plotH * (v || 0)) / s.top;
  const slot = rows.length ? plotW / rows.length : plotW;
  const colW = Math.min(40, slot * 0.7);
  const ticks = [];
  for (let v = 0; v <= s.top + 1e-9; v += s.step) ticks.push(Number(v.toFixed(6)));
  const axisY = topPad + plotH;
  // Label every period when they fit, else every other one.
  const every = slot < 34 ? 2 : 1;
  const desc = rows.map((r) => `${r.label}: ${fmt(format, r.value)}`).join('; ');
  return html`<figure class="chart" data-chart=${name}>
    <figcaption id=${`${id}-t`}>${title}</figcaption>
    ${rows.length === 0 ? html`<p class="muted">${t('No data in this range.')}</p>` : html`
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-labelledby=${`${id}-t ${id}-d`} preserveAspectRatio="xMinYMin meet">
      <desc id=${`${id}-d`}>${desc}</desc>
      ${ticks.map((v) => html`<g class="tick"><line x1=${left} x2=${left + plotW} y1=${y(v)} y2=${y(v)} /><text x=${left - 6} y=${y(v) + 4} text-anchor="end">${fmt(format, v)}</text></g>`)}
      ${rows.map((r, i) => {
        const cx = left + slot * i + slot / 2;
        const has = r.value !== null && r.value !== undefined;
        return html`<g class="bar" data-key=${r.key} data-value=${has ? r.value : ''}>
          ${has ? html`<rect x=${cx - colW / 2} y=${y(r.value)} width=${colW} height=${Math.max(has && r.value > 0 ? 1 : 0, axisY - y(r.value))} rx="2" />` : null}
          ${has && r.value > 0 ? html`<text class="value" x=${cx} y=${y(r.value) - 4} text-anchor="middle">${fmt(format, r.value)}</text>` : null}
          ${i % every === 0 ? html`<text class=${`period${i % 2 ? ' odd' : ''}`} x=${cx} y=${axisY + 14} text-anchor="end" transform=${`rotate(-40 ${cx} ${axisY + 14})`}>${r.label}</text>` : null}
        </g>`;
      })}
      <line class="axis" x1=${left} x2=${left + plotW} y1=${axisY} y2=${axisY} />
      <line class="axis" x1=${left} x2=${left} y1=${topPad} y2=${axisY} />
      <text class="axis-title" x=${left + plotW / 2} y=${H - 4} text-anchor="middle">${periodTitle}</text>
      <text class="axis-title" x="12" y=${topPad + plotH / 2} text-anchor="middle" transform=${`rotate(-90 12 ${topPad + plotH / 2})`}>${valueTitle}</text>
    </svg>`}
    <${Table} caption=${title} rows=${rows} columns=${[{ title: periodTitle, value: (r) => r.label }, { title: valueTitle, value: (r) => fmt(format, r.value) }, ...(table || [])]} />
  </figure>`;
}
