// The analysis dashboard (supervisors, legal, auditors): `complaintStats`
// over a range of months, drawn as SVG charts by charts.js — complaints by
// category and by channel, the monthly trend, SLA compliance and satisfaction.

import { html, useState, useEffect } from '../vendor/preact-htm.mjs';
import * as api from './api.js';
import { t, label } from './i18n.js';
import { ErrorBox, Field, useAction } from './ui.js';
import { BarChart, ColumnChart } from './charts.js';

const FIELDS = 'key label count openCount slaCompliance avgSatisfaction satisfiedRate satisfactionResponses firstResponseBreachedCount resolutionBreachedCount';
const STATS = `query Stats($from: DateTime!, $to: DateTime!) {
  byCategory: complaintStats(from: $from, to: $to, groupBy: CATEGORY) { ${FIELDS} }
  byChannel: complaintStats(from: $from, to: $to, groupBy: CHANNEL) { ${FIELDS} }
  byMonth: complaintStats(from: $from, to: $to, groupBy: MONTH) { ${FIELDS} } }`;

/** "2026-03" for a Date (local calendar). */
const monthOf = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;

/** The first instant of a "YYYY-MM" month (local), `add` months later. */
function monthStart(month, add = 0) {
  const [y, m] = month.split('-').map(Number);
  return new Date(y, m - 1 + add, 1);
}

const pct = (v) => `${Math.round(v)}%`;
const score = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const share = (v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 10);

export function Dashboard() {
  const now = new Date();
  const [range, setRange] = useState({ from: monthOf(new Date(now.getFullYear(), now.getMonth() - 11, 1)), to: monthOf(now) });
  const [applied, setApplied] = useState(range);
  const [data, setData] = useState(null);
  const a = useAction();
  useEffect(() => {
    a.run(async () => {
      setData(null);
      const from = monthStart(applied.from).toISOString();
      const to = monthStart(applied.to, 1).toISOString();
      setData(await api.gql(STATS, { from, to }));
    });
  }, [applied.from, applied.to]);

  const groups = (buckets) => buckets.map((b) => ({ key: b.key, label: b.key === 'NONE' ? t('None') : label(b.key), value: b.count, b }));
  const months = data ? data.byMonth : [];
  const total = data ? data.byCategory.reduce((n, b) => n + b.count, 0) : 0;
  const open = data ? data.byCategory.reduce((n, b) => n + b.openCount, 0) : 0;
  const responses = months.reduce((n, b) => n + b.satisfactionResponses, 0);
  const meanScore = responses ? months.reduce((n, b) => n + (b.avgSatisfaction || 0) * b.satisfactionResponses, 0) / responses : null;
  const breaches = months.reduce((n, b) => n + b.firstResponseBreachedCount + b.resolutionBreachedCount, 0);
  const extra = [
    { title: t('Open'), value: (r) => r.b.openCount },
    { title: t('SLA compliance'), value: (r) => (r.b.slaCompliance === null ? '–' : pct(share(r.b.slaCompliance))) },
    { title: t('Average satisfaction'), value: (r) => (r.b.avgSatisfaction === null ? '–' : score(r.b.avgSatisfaction)) },
  ];
  return html`<main class="dashboard">
    <h1>${t('Analysis')}</h1>
    <form class="filters" onSubmit=${(e) => { e.preventDefault(); setApplied(range); }}>
      <${Field} label=${t('From month')}><input type="month" value=${range.from} onInput=${(e) => setRange({ ...range, from: e.target.value })} /><//>
      <${Field} label=${t('To month')}><input type="month" value=${range.to} onInput=${(e) => setRange({ ...range, to: e.target.value })} /><//>
      <button type="submit" disabled=${a.busy}>${t('Apply')}</button>
    </form>
    <${ErrorBox} error=${a.error} />
    ${!data && !a.error ? html`<p>${t('Loading…')}</p>` : null}
    ${data ? html`
      <ul class="tiles" aria-label=${t('Summary')}>
        <li><span class="tile-value" data-tile="total">${total}</span> ${t('complaints')}</li>
        <li><span class="tile-value" data-tile="open">${open}</span> ${t('still open')}</li>
        <li><span class="tile-value" data-tile="breaches">${breaches}</span> ${t('deadlines missed')}</li>
        <li><span class="tile-value" data-tile="satisfaction">${meanScore === null ? '–' : score(meanScore)}</span> ${t('average satisfaction (1–5)')}</li>
      </ul>
      <div class="charts">
        <${BarChart} name="category" title=${t('Complaints by category')} rows=${groups(data.byCategory)}
          valueTitle=${t('Complaints')} groupTitle=${t('Category')} table=${extra} />
        <${BarChart} name="channel" title=${t('Complaints by channel')} rows=${groups(data.byChannel)}
          valueTitle=${t('Complaints')} groupTitle=${t('Channel')} table=${extra} />
        <${ColumnChart} name="trend" title=${t('Monthly trend')} rows=${months.map((b) => ({ key: b.key, label: b.key, value: b.count, b }))}
          valueTitle=${t('Complaints')} periodTitle=${t('Month')} table=${[extra[0]]} />
        <${ColumnChart} name="sla" title=${t('SLA compliance by month')} top=${100} format=${pct}
          rows=${months.map((b) => ({ key: b.key, label: b.key, value: share(b.slaCompliance), b }))}
          valueTitle=${t('Met both deadlines (%)')} periodTitle=${t('Month')}
          table=${[{ title: t('Deadlines missed'), value: (r) => r.b.firstResponseBreachedCount + r.b.resolutionBreachedCount }]} />
        <${ColumnChart} name="satisfaction" title=${t('Satisfaction by month')} top=${5} format=${score}
          rows=${months.map((b) => ({ key: b.key, label: b.key, value: b.avgSatisfaction, b }))}
          valueTitle=${t('Average score (1–5)')} periodTitle=${t('Month')}
          table=${[{ title: t('Answers'), value: (r) => r.b.satisfactionResponses }, { title: t('Satisfied'), value: (r) => (r.b.satisfiedRate === null ? '–' : pct(share(r.b.satisfiedRate))) }]} />
      </div>` : null}
  </main>`;
}
