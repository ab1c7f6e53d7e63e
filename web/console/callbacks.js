// The callback queue: RESOLVED complaints awaiting a callback within the
// caller's scope, the earliest due first (`callbackQueue`), each with a form
// to record the attempt.

import { html, useState, useEffect } from '../vendor/preact-htm.mjs';
import * as api from './api.js';
import { t, label, when } from './i18n.js';
import { ErrorBox, Badge, Deadline, useNow, useAction } from './ui.js';
import { CallbackForm } from './closedloop.js';

const PAGE = 20;
const QUEUE = `query Callbacks($first: Int, $after: String) { callbackQueue(first: $first, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id reference title status version cycle callbackDue callbackReached
    customer { name phone masked } assignee { displayName }
    callbacks(first: 10) { edges { node { at reached cycle } } } } } } }`;

export function CallbackQueue() {
  const [items, setItems] = useState(null);
  const [pageInfo, setPageInfo] = useState(null);
  const [done, setDone] = useState({});
  const list = useAction();
  const now = useNow();
  const load = (after) => list.run(async () => {
    const d = await api.gql(QUEUE, { first: PAGE, after: after || null });
    const got = d.callbackQueue.edges.map((e) => e.node);
    setItems(after ? [...(items || []), ...got] : got);
    setPageInfo(d.callbackQueue.pageInfo);
  });
  useEffect(() => { load(); }, []);
  return html`<main>
    <h1>${t('Callback queue')}</h1>
    <p class="muted">${t('Resolved complaints awaiting a callback, the earliest due first. A satisfied customer closes the complaint; an unsatisfied one reopens it.')}</p>
    <${ErrorBox} error=${list.error} />
    ${items === null ? html`<p>${t('Loading…')}</p>` : items.length === 0 ? html`<p>${t('No callbacks are due.')}</p>` : null}
    <ul class="queue callbacks-queue">${(items || []).map((c) => html`<${CallbackItem} key=${c.id} c=${c} now=${now} result=${done[c.id]}
      onDone=${(r) => setDone({ ...done, [c.id]: r })} />`)}</ul>
    ${pageInfo && pageInfo.hasNextPage ? html`<button type="button" onClick=${() => load(pageInfo.endCursor)}>${t('Load more')}</button>` : null}
  </main>`;
}

function CallbackItem({ c, now, result, onDone }) {
  const attempts = c.callbacks.edges.map((e) => e.node).filter((x) => x.cycle === c.cycle);
  const unreached = attempts.filter((x) => !x.reached).length;
  return html`<li class="card" data-reference=${c.reference}>
    <div class="card-head"><a href=${`#/complaint/${c.id}`}>${c.reference}</a> ${c.title} <${Badge} value=${result ? result.status : c.status} /></div>
    <p class="muted">${c.customer.name}${c.customer.phone ? ` · ${c.customer.phone}` : ''} · ${t('Assignee')}: ${c.assignee ? c.assignee.displayName : '–'}</p>
    <p>${t('Callback due')}: <${Deadline} due=${result ? result.callbackDue : c.callbackDue} now=${now} />
      ${unreached ? html` · <span class="warn">${unreached} ${t('unreached attempts')}</span>` : null}</p>
    ${result ? html`<p class="ok" role="status">${t('Callback recorded')}: ${label(result.status)}${result.status === 'RESOLVED' && result.callbackDue ? ` · ${t('next attempt')} ${when(result.callbackDue)}` : ''}</p>`
      : html`<${CallbackForm} id=${c.id} version=${c.version} onDone=${onDone} />`}
  </li>`;
}
