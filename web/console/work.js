// Work asked of other teams: a complaint's work items with the "Request work"
// form (shown when `viewerCan.requestWork`), and the Work queue of the
// caller's team (`workQueue`), where its members complete or decline items.

import { html, useState, useEffect } from '../vendor/preact-htm.mjs';
import * as api from './api.js';
import { t, label, when } from './i18n.js';
import { ENUMS, ErrorBox, Field, Select, Badge, Deadline, useNow, useQuery, useAction } from './ui.js';

const ITEM_FIELDS = 'id kind status request dueBy overdue result requestedAt closedAt team { id name } requestedBy { displayName } closedBy { displayName }';

// A local datetime-local value from a Date (the input has no time zone).
const localInput = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);

/** The complaint page's work items and the form that asks another team. */
export function WorkSection({ c, onDone }) {
  const q = useQuery(`query Work($id: ID!) { complaint(id: $id) { id workItems(first: 50) { edges { node { ${ITEM_FIELDS} } } } } teams { id name tier } }`,
    { id: c.id }, [c.id, c.version]);
  const now = useNow();
  const items = q.data && q.data.complaint ? q.data.complaint.workItems.edges.map((e) => e.node) : [];
  // "Another team": every team but the one handling the complaint.
  const teams = q.data ? q.data.teams.filter((tm) => !c.team || tm.id !== c.team.id) : [];
  return html`<section class="work-section" aria-labelledby="work-h"><h2 id="work-h">${t('Work items')}</h2>
    <${ErrorBox} error=${q.error} />
    ${q.data && items.length === 0 ? html`<p class="muted">${t('None.')}</p>` : null}
    ${items.length ? html`<div class="scroll"><table class="list work-items">
      <thead><tr><th>${t('Team')}</th><th>${t('Kind')}</th><th>${t('Request')}</th><th>${t('Status')}</th><th>${t('Due')}</th><th>${t('Result')}</th></tr></thead>
      <tbody>${items.map((w) => html`<tr data-status=${w.status}>
        <td>${w.team ? w.team.name : '–'}</td><td>${label(w.kind)}</td>
        <td class="pre">${w.request}<div class="muted">${t('Requested by')} ${w.requestedBy ? w.requestedBy.displayName : '–'}, ${when(w.requestedAt)}</div></td>
        <td><${Badge} value=${w.status} /></td>
        <td>${w.status === 'OPEN' ? html`<${Deadline} due=${w.dueBy} breached=${w.overdue} now=${now} />` : when(w.dueBy)}</td>
        <td>${w.result ? html`<span class="pre">${w.result}</span><div class="muted">${w.closedBy ? w.closedBy.displayName : ''}${w.closedAt ? `, ${when(w.closedAt)}` : ''}</div>` : '–'}</td></tr>`)}</tbody>
    </table></div>` : null}
    ${c.viewerCan.requestWork && q.data ? html`<${RequestWorkForm} c=${c} teams=${teams} onDone=${() => { q.reload(); onDone(); }} />` : null}
  </section>`;
}

function RequestWorkForm({ c, teams, onDone }) {
  const [v, setV] = useState({ teamId: '', kind: 'INVESTIGATE', request: '', dueBy: localInput(new Date(Date.now() + 24 * 3600 * 1000)) });
  const a = useAction();
  const set = (k) => (x) => setV({ ...v, [k]: x && x.target ? x.target.value : x });
  const submit = () => a.run(async () => {
    const input = { teamId: v.teamId, kind: v.kind, request: v.request, dueBy: v.dueBy ? new Date(v.dueBy).toISOString() : '' };
    if (!v.teamId) throw new api.ApiError(t('Choose the team to ask.'), 'VALIDATION', 'input.teamId');
    await api.gql('mutation RequestWork($c: ID!, $i: WorkRequestInput!) { requestWork(complaintId: $c, input: $i) { id } }', { c: c.id, i: input });
    setV({ ...v, request: '' });
    onDone();
  });
  const fe = (n) => a.fieldError(`input.${n}`);
  return html`<form class="grid request-work" aria-label=${t('Request work')} onSubmit=${(e) => { e.preventDefault(); submit(); }}>
    <${Field} label=${t('Team to ask')} error=${fe('teamId')}><select value=${v.teamId} onChange=${set('teamId')}>
      <option value="">–</option>${teams.map((tm) => html`<option value=${tm.id}>${tm.name} (${label(tm.tier)})</option>`)}</select><//>
    <${Field} label=${t('Kind of work')}><${Select} value=${v.kind} onChange=${set('kind')} options=${ENUMS.WorkKind} /><//>
    <${Field} label=${t('What is asked')} error=${fe('request')}><textarea rows="2" value=${v.request} onInput=${set('request')}></textarea><//>
    <${Field} label=${t('Due by')} error=${fe('dueBy')}><input type="datetime-local" value=${v.dueBy} onInput=${set('dueBy')} /><//>
    ${a.error && !(a.error.field || '').startsWith('input.') ? html`<${ErrorBox} error=${a.error} />` : null}
    ${a.done ? html`<p class="ok" role="status">${t('Work requested.')}</p>` : null}
    <button type="submit" disabled=${a.busy}>${t('Request work')}</button>
  </form>`;
}

// ---------------------------------------------------------------- work queue

const PAGE = 20;
const QUEUE = `query WorkQueue($first: Int, $after: String) { me { team { name } } workQueue(first: $first, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { ${ITEM_FIELDS} complaint { id reference title status } } } } }`;

/** The open work items asked of the caller's team, the earliest due first. */
export function WorkQueue() {
  const [items, setItems] = useState(null);
  const [pageInfo, setPageInfo] = useState(null);
  const [team, setTeam] = useState(null);
  const [done, setDone] = useState({});
  const list = useAction();
  const now = useNow();
  const load = (after) => list.run(async () => {
    const d = await api.gql(QUEUE, { first: PAGE, after: after || null });
    const got = d.workQueue.edges.map((e) => e.node);
    setItems(after ? [...(items || []), ...got] : got);
    setPageInfo(d.workQueue.pageInfo);
    setTeam(d.me.team);
  });
  useEffect(() => { load(); }, []);
  return html`<main>
    <h1>${t('Work queue')}</h1>
    <p class="muted">${team ? `${t('Open work asked of your team')}: ${team.name}. ` : ''}${t('The earliest due first. Complete with the result, or decline with the reason.')}</p>
    <${ErrorBox} error=${list.error} />
    ${items === null && !list.error ? html`<p>${t('Loading…')}</p>` : null}
    ${items && items.length === 0 ? html`<p>${team ? t('No open work for your team.') : t('You belong to no team, so no work is asked of you.')}</p>` : null}
    <ul class="queue work-queue">${(items || []).map((w) => html`<${WorkCard} key=${w.id} w=${w} now=${now} result=${done[w.id]}
      onDone=${(r) => setDone({ ...done, [w.id]: r })} />`)}</ul>
    ${pageInfo && pageInfo.hasNextPage ? html`<button type="button" onClick=${() => load(pageInfo.endCursor)}>${t('Load more')}</button>` : null}
  </main>`;
}

function WorkCard({ w, now, result, onDone }) {
  const [text, setText] = useState('');
  const a = useAction();
  const id = `work-${w.id.replace(/[^A-Za-z0-9_-]/g, '')}`;
  const finish = (complete) => a.run(async () => {
    const d = complete
      ? await api.gql('mutation Complete($id: ID!, $r: String!) { completeWork(id: $id, result: $r) { id status result } }', { id: w.id, r: text })
      : await api.gql('mutation Decline($id: ID!, $r: String!) { declineWork(id: $id, reason: $r) { id status result } }', { id: w.id, r: text });
    onDone(complete ? d.completeWork : d.declineWork);
  });
  const c = w.complaint;
  return html`<li class="card" data-reference=${c ? c.reference : ''} data-work=${w.id}>
    <div class="card-head">${c ? html`<a href=${`#/complaint/${c.id}`}>${c.reference}</a> ${c.title} <${Badge} value=${c.status} />` : html`<span class="muted">•••</span>`}</div>
    <p><strong>${label(w.kind)}</strong>: <span class="pre">${w.request}</span></p>
    <p class="muted">${t('Requested by')} ${w.requestedBy ? w.requestedBy.displayName : '–'}, ${when(w.requestedAt)} · ${t('Due')}: <${Deadline} due=${w.dueBy} breached=${w.overdue} now=${now} /></p>
    ${result ? html`<p class="ok" role="status"><${Badge} value=${result.status} /> ${result.result}</p>`
      : html`<form class="decide" onSubmit=${(e) => { e.preventDefault(); finish(true); }}>
        <label for=${id}>${t('Result or reason')}</label>
        <input id=${id} value=${text} onInput=${(e) => setText(e.target.value)} aria-invalid=${a.error && a.error.code === 'VALIDATION' ? 'true' : undefined} />
        <button type="submit" disabled=${a.busy}>${t('Complete')}</button>
        <button type="button" disabled=${a.busy} onClick=${() => finish(false)}>${t('Decline')}</button>
      </form>`}
    <${ErrorBox} error=${a.error} />
  </li>`;
}
