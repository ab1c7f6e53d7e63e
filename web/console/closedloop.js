// The closed loop on the complaint page: progress updates told to the
// customer, every contact with them, callback attempts after resolution, and
// the customer's other complaints. Each form shows only when viewerCan offers it.

import { html, useState } from '../vendor/preact-htm.mjs';
import * as api from './api.js';
import { t, label, when } from './i18n.js';
import { ENUMS, ErrorBox, Field, Select, Badge, Deadline, useAction } from './ui.js';

/** The complaint fields these sections read (part of the complaint page's query). */
export const CLOSED_LOOP_FIELDS = `cycle isRepeat repeatOf { id reference title status }
  promisedBy promiseBreached nextUpdateDue updateOverdue lastUpdateAt delayReason expectedResolutionAt
  callbackDue callbackReached satisfied satisfactionScore closeOutcome closeReason closedAt
  contacts(first: 100) { edges { node { id at channel direction kind note outcome recordedBy { displayName } } } }
  callbacks(first: 50) { edges { node { at cycle reached satisfied score comment by { displayName } } } }`;

/** `datetime-local` text → RFC 3339 (the browser's time zone), or null. */
const isoOrNull = (local) => (local ? new Date(local).toISOString() : null);

/** Progress: what was promised, when the next update is owed, and the updates given. */
export function ProgressSection({ c, now, onDone }) {
  const [v, setV] = useState({ message: '', delayReason: '', expected: '' });
  const a = useAction();
  const submit = () => a.run(async () => {
    await api.gql(`mutation Progress($id: ID!, $v: Int!, $i: ProgressUpdateInput!) {
      postProgressUpdate(id: $id, expectedVersion: $v, input: $i) { id version } }`,
    { id: c.id, v: c.version, i: { message: v.message, delayReason: v.delayReason || null, expectedResolutionAt: isoOrNull(v.expected) } });
    setV({ message: '', delayReason: '', expected: '' });
    onDone();
  });
  const updates = c.contacts.edges.map((e) => e.node).filter((x) => x.kind === 'PROGRESS_UPDATE');
  const open = !c.resolvedAt && !c.closedAt;
  return html`<section aria-labelledby="progress-h" class="progress-section"><h2 id="progress-h">${t('Progress updates')}</h2>
    <dl>
      <dt>${t('Promised by')}</dt><dd>${c.promisedBy ? html`${when(c.promisedBy)}${c.promiseBreached ? html` <span class="badge late">${t('Promise broken')}</span>` : ''}` : '–'}</dd>
      ${open ? html`<dt>${t('Next update due')}</dt><dd>${c.nextUpdateDue ? html`<${Deadline} due=${c.nextUpdateDue} breached=${c.updateOverdue} now=${now} />` : '–'}</dd>` : null}
      ${c.delayReason ? html`<dt>${t('Delay reason')}</dt><dd>${label(c.delayReason)}</dd>` : null}
      ${c.expectedResolutionAt ? html`<dt>${t('Expected resolution')}</dt><dd>${when(c.expectedResolutionAt)}</dd>` : null}
    </dl>
    ${updates.length === 0 ? html`<p class="muted">${t('No progress updates yet.')}</p>` : html`<ol class="plain updates">${updates.map((u) => html`<li>
      <span class="pre">${u.note}</span> <span class="muted">— ${u.recordedBy ? u.recordedBy.displayName : ''}, ${when(u.at)}</span></li>`)}</ol>`}
    ${c.viewerCan.postProgressUpdate ? html`<form class="inline" aria-label=${t('Post a progress update')} onSubmit=${(e) => { e.preventDefault(); submit(); }}>
      <${Field} label=${t('Update for the customer')} error=${a.fieldError('input.message')}><textarea rows="2" value=${v.message} onInput=${(e) => setV({ ...v, message: e.target.value })}></textarea><//>
      <${Field} label=${t('Delay reason')}><${Select} any value=${v.delayReason} onChange=${(x) => setV({ ...v, delayReason: x || '' })} options=${ENUMS.DelayReason} /><//>
      <${Field} label=${t('Expected resolution')} error=${a.fieldError('input.expectedResolutionAt')} hint=${t('Becomes the new promise to the customer.')}>
        <input type="datetime-local" value=${v.expected} onInput=${(e) => setV({ ...v, expected: e.target.value })} /><//>
      <${ErrorBox} error=${a.error && !a.error.field ? a.error : null} />
      <button type="submit" disabled=${a.busy}>${t('Post update')}</button>
    </form>` : null}
  </section>`;
}

/** Every contact with the customer, and a form to record one. */
export function ContactsSection({ c, onDone }) {
  const [v, setV] = useState({ channel: c.channel, direction: 'INBOUND', kind: 'CHASER', outcome: '', note: '' });
  const a = useAction();
  const [raised, setRaised] = useState(false);
  const set = (k) => (x) => setV({ ...v, [k]: x && x.target ? x.target.value : x });
  const submit = () => a.run(async () => {
    const known = new Set(c.escalations.map((e) => e.id));
    await api.gql(`mutation Contact($c: ID!, $i: ContactInput!) { recordContact(complaintId: $c, input: $i) { id } }`,
      { c: c.id, i: { channel: v.channel, direction: v.direction, kind: v.kind, outcome: v.outcome || null, note: v.note || null } });
    // A chaser past the promise may have raised a CUSTOMER_REQUEST escalation: say so when it did.
    const d = await api.gql('query Latest($id: ID!) { complaint(id: $id) { latestEscalation { id trigger } } }', { id: c.id });
    const latest = d.complaint && d.complaint.latestEscalation;
    setRaised(!!latest && !known.has(latest.id) && latest.trigger === 'CUSTOMER_REQUEST');
    setV({ ...v, outcome: '', note: '' });
    onDone();
  });
  const contacts = c.contacts.edges.map((e) => e.node);
  return html`<section aria-labelledby="contacts-h"><h2 id="contacts-h">${t('Contacts')} (${contacts.length})</h2>
    ${contacts.length === 0 ? html`<p class="muted">${t('None.')}</p>` : html`<div class="scroll"><table class="list contacts">
      <thead><tr><th>${t('When')}</th><th>${t('Kind')}</th><th>${t('Direction')}</th><th>${t('Channel')}</th><th>${t('Outcome')}</th><th>${t('Note')}</th><th>${t('Recorded by')}</th></tr></thead>
      <tbody>${contacts.map((x) => html`<tr><td>${when(x.at)}</td><td><${Badge} value=${x.kind} /></td><td>${label(x.direction)}</td><td>${label(x.channel)}</td>
        <td>${x.outcome || '–'}</td><td class="pre">${x.note || '–'}</td><td>${x.recordedBy ? x.recordedBy.displayName : '–'}</td></tr>`)}</tbody>
    </table></div>`}
    ${raised ? html`<p class="warn" role="status">${t('The customer chased after the promised time: an escalation was requested.')}</p>` : null}
    ${c.viewerCan.recordContact ? html`<details class="action"><summary>${t('Record contact')}</summary>
      <form onSubmit=${(e) => { e.preventDefault(); submit(); }}>
        <${Field} label=${t('Direction')}><${Select} value=${v.direction} onChange=${set('direction')} options=${ENUMS.ContactDirection} /><//>
        <${Field} label=${t('Contact kind')}><${Select} value=${v.kind} onChange=${set('kind')} options=${ENUMS.ContactKind} /><//>
        <${Field} label=${t('Channel')}><${Select} value=${v.channel} onChange=${set('channel')} options=${ENUMS.Channel} /><//>
        <${Field} label=${t('Outcome')} error=${a.fieldError('input.outcome')}><input value=${v.outcome} onInput=${set('outcome')} /><//>
        <${Field} label=${t('Note')} error=${a.fieldError('input.note')}><textarea rows="2" value=${v.note} onInput=${set('note')}></textarea><//>
        <${ErrorBox} error=${a.error && !a.error.field ? a.error : null} />
        <button type="submit" disabled=${a.busy}>${t('Record contact')}</button>
      </form></details>` : null}
  </section>`;
}

/**
 * Records one callback attempt on a RESOLVED complaint (`id`, `version`):
 * reached and satisfied closes it, reached and unsatisfied reopens it, not
 * reached schedules the next attempt. Used on the complaint page and in the queue.
 */
export function CallbackForm({ id, version, onDone, idPrefix }) {
  const [v, setV] = useState({ reached: true, satisfied: true, score: '5', comment: '' });
  const a = useAction();
  const submit = () => a.run(async () => {
    const input = { reached: v.reached, satisfied: v.reached && v.satisfied, score: v.reached && v.score ? Number(v.score) : null, comment: v.comment || null };
    const r = await api.gql(`mutation Callback($id: ID!, $v: Int!, $i: CallbackInput!) {
      recordCallback(id: $id, expectedVersion: $v, input: $i) { id version status callbackDue } }`, { id, v: version, i: input });
    onDone(r.recordCallback);
  });
  const p = idPrefix || `cb-${id}`;
  return html`<form class="callback-form" aria-label=${t('Record callback')} onSubmit=${(e) => { e.preventDefault(); submit(); }}>
    <div class="checks">
      <input type="checkbox" id=${`${p}-reached`} checked=${v.reached} onChange=${(e) => setV({ ...v, reached: e.target.checked })} />
      <label for=${`${p}-reached`}>${t('Customer reached')}</label>
      ${v.reached ? html`<input type="checkbox" id=${`${p}-satisfied`} checked=${v.satisfied} onChange=${(e) => setV({ ...v, satisfied: e.target.checked })} />
        <label for=${`${p}-satisfied`}>${t('Satisfied')}</label>` : null}
    </div>
    ${v.reached ? html`<${Field} label=${t('Score (1–5)')} error=${a.fieldError('input.score')}>
      <input type="number" min="1" max="5" value=${v.score} onInput=${(e) => setV({ ...v, score: e.target.value })} /><//>` : null}
    <${Field} label=${t('Comment')} error=${a.fieldError('input.comment')}><input value=${v.comment} onInput=${(e) => setV({ ...v, comment: e.target.value })} /><//>
    <${ErrorBox} error=${a.error && !a.error.field ? a.error : null} />
    <button type="submit" disabled=${a.busy}>${t('Record callback')}</button>
  </form>`;
}

/** Callback attempts across cycles, when the next one is due, and the form. */
export function CallbacksSection({ c, now, onDone }) {
  const attempts = c.callbacks.edges.map((e) => e.node);
  if (!attempts.length && !c.viewerCan.recordCallback && !c.callbackDue) return null;
  return html`<section aria-labelledby="callbacks-h"><h2 id="callbacks-h">${t('Callbacks')} (${attempts.length})</h2>
    ${c.callbackDue ? html`<p>${t('Next callback due')}: <${Deadline} due=${c.callbackDue} now=${now} /></p>` : null}
    ${attempts.length === 0 ? html`<p class="muted">${t('No callback attempts yet.')}</p>` : html`<div class="scroll"><table class="list callbacks">
      <thead><tr><th>${t('When')}</th><th>${t('Cycle')}</th><th>${t('Reached')}</th><th>${t('Satisfied')}</th><th>${t('Score')}</th><th>${t('Comment')}</th><th>${t('By')}</th></tr></thead>
      <tbody>${attempts.map((x) => html`<tr><td>${when(x.at)}</td><td>${x.cycle}</td><td>${x.reached ? t('yes') : t('no')}</td>
        <td>${x.satisfied === null ? '–' : x.satisfied ? t('yes') : t('no')}</td><td>${x.score || '–'}</td><td>${x.comment || '–'}</td><td>${x.by ? x.by.displayName : '–'}</td></tr>`)}</tbody>
    </table></div>`}
    ${c.viewerCan.recordCallback ? html`<${CallbackForm} id=${c.id} version=${c.version} idPrefix="cb-page" onDone=${() => onDone()} />` : null}
  </section>`;
}

/** The customer: repeat mark, the complaint this one repeats, and their other complaints. */
export function CustomerPanel({ c, customer }) {
  const others = customer && customer.complaints ? customer.complaints.edges.map((e) => e.node).filter((x) => x.id !== c.id) : [];
  return html`<section aria-labelledby="customer-h" class="customer-panel"><h2 id="customer-h">${t('Customer')}</h2>
    <p><strong>${c.customer.name}</strong>${c.customer.phone ? ` · ${c.customer.phone}` : ''}${c.customer.email ? ` · ${c.customer.email}` : ''}
      ${c.customer.masked ? html` <em>(${t('masked')})</em>` : null}
      ${c.isRepeat ? html` <span class="badge repeat">${t('Repeat complaint')}</span>` : null}</p>
    ${c.repeatOf ? html`<p>${t('Repeats')} <a href=${`#/complaint/${c.repeatOf.id}`}>${c.repeatOf.reference}</a> ${c.repeatOf.title} <${Badge} value=${c.repeatOf.status} /></p>` : null}
    <h3>${t("The customer's other complaints")}</h3>
    ${others.length === 0 ? html`<p class="muted">${t('None.')}</p>` : html`<ul class="plain others">${others.map((x) => html`<li>
      <a href=${`#/complaint/${x.id}`}>${x.reference}</a> ${x.title} <${Badge} value=${x.status} /> <span class="muted">${when(x.createdAt)}</span></li>`)}</ul>`}
  </section>`;
}
