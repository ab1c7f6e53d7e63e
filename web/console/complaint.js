// The complaint page: details, only the actions viewerCan offers, notes,
// evidence, links, escalations, the closed loop (progress updates, contacts,
// callbacks, the customer's other complaints), work asked of other teams, the
// complaint's group and the audit timeline.

import { html, useState, useEffect, useRef } from '../vendor/preact-htm.mjs';
import * as api from './api.js';
import { t, label, when } from './i18n.js';
import { ENUMS, ErrorBox, Field, Select, Badge, useNow, Deadline, useQuery, useAction, ActionForm } from './ui.js';
import { ProgressSection, ContactsSection, CallbacksSection, CustomerPanel, CLOSED_LOOP_FIELDS } from './closedloop.js';
import { GroupPanel } from './groups.js';
import { WorkSection } from './work.js';

// ---------------------------------------------------------------- complaint page

const COMPLAINT = `query One($id: ID!) { complaint(id: $id) {
  id reference title description status severity category channel coreDemand emotion requestedAmount currency orderReference occurredAt
  version tier sensitive legalHold vulnerableCustomer mediaAttention groupComplaint slaBreached overdue
  firstResponseDue resolutionDue acknowledgedAt resolvedAt createdAt rootCause responsibility findingSummary
  customer { id name phone email masked } assignee { id displayName } team { id name tier }
  resolution { summary compensationAmount currency remedies }
  viewerCan { update assign acknowledge recordFinding proposeResolution recordCustomerDecision resolve recordCallback close reopen
    addNote uploadEvidence deleteEvidence setFlags markSensitive requestEscalation referToLegal link
    postProgressUpdate recordContact resolveAtFirstContact requestWork }
  ${CLOSED_LOOP_FIELDS}
  notes { id body visibility createdAt author { displayName } }
  evidence(first: 50) { totalCount edges { node { id filename kind size sha256 contentType downloadUrl uploadedAt description uploadedBy { displayName } } } }
  links { id kind primary complaint { id reference title status } }
  escalations { id trigger status reason toTier requestedAt dueBy decisionNote requestedBy { displayName } decidedBy { displayName } }
} }`;

const CUSTOMER = `query Customer($id: ID!) { customer(id: $id) { id complaints(first: 20) { edges { node { id reference title status createdAt } } } } }`;

export function ComplaintPage({ id, user, live }) {
  const q = useQuery(COMPLAINT, { id }, [id]);
  const c0 = q.data && q.data.complaint;
  const customerId = c0 ? c0.customer.id : null;
  const cq = useQuery(customerId ? CUSTOMER : null, { id: customerId }, [customerId]);
  const now = useNow();
  // Live: any change to this complaint (e.g. a supervisor's approval) reloads it.
  useEffect(() => {
    if (!live) return undefined;
    return live.subscribe('subscription Changes($id: ID) { complaintEvents(complaintId: $id) { action complaint { id version } } }', { id }, () => q.reload());
  }, [live, id]);
  if (q.error) return html`<main><${ErrorBox} error=${q.error} /></main>`;
  if (!q.data) return html`<main><p>${t('Loading…')}</p></main>`;
  const c = q.data.complaint;
  if (!c) return html`<main><${ErrorBox} error=${{ message: 'complaint not found', code: 'NOT_FOUND' }} /></main>`;
  const readsTrail = ['SUPERVISOR', 'LEGAL', 'AUDITOR'].includes(user.role);
  return html`<main class="complaint">
    <h1><span class="ref">${c.reference}</span> ${c.title}</h1>
    <p class="status-line"><${Badge} value=${c.status} /> <${Badge} value=${c.severity} kind="sev" /> <span class="muted">${label(c.tier)} · ${t('Version')} ${c.version}</span>
      ${c.sensitive ? html` <span class="badge flag">${t('Sensitive')}</span>` : null}${c.legalHold ? html` <span class="badge flag">${t('Legal hold')}</span>` : null}
      ${c.vulnerableCustomer ? html` <span class="badge flag">${t('Vulnerable customer')}</span>` : null}</p>
    <div class="cols">
      <section aria-labelledby="details-h"><h2 id="details-h">${t('Details')}</h2>
        <dl>
          <dt>${t('Description')}</dt><dd class="pre">${c.description}</dd>
          <dt>${t('Classification')}</dt><dd>${label(c.channel)} · ${label(c.category)} · ${label(c.coreDemand)} · ${label(c.emotion)}</dd>
          ${c.requestedAmount ? html`<dt>${t('Requested amount')}</dt><dd>${c.requestedAmount} ${c.currency}</dd>` : null}
          ${c.orderReference ? html`<dt>${t('Order reference')}</dt><dd>${c.orderReference}</dd>` : null}
          <dt>${t('First response due')}</dt><dd>${when(c.firstResponseDue)} ${c.acknowledgedAt || c.closedAt ? '' : html`(<${Deadline} due=${c.firstResponseDue} breached=${c.slaBreached} now=${now} />)`}</dd>
          <dt>${t('Resolution due')}</dt><dd>${when(c.resolutionDue)} (<${Deadline} due=${c.resolutionDue} breached=${c.slaBreached} done=${!!(c.resolvedAt || c.closedAt)} now=${now} />)</dd>
          <dt>${t('Assignee')}</dt><dd>${c.assignee ? c.assignee.displayName : '–'} · ${c.team ? c.team.name : '–'}</dd>
          ${c.findingSummary ? html`<dt>${t('Finding')}</dt><dd>${label(c.rootCause)}: ${c.findingSummary}</dd>` : null}
          ${c.closeOutcome ? html`<dt>${t('Closed')}</dt><dd><${Badge} value=${c.closeOutcome} /> ${c.closeReason || ''} <span class="muted">${when(c.closedAt)}</span></dd>` : null}
          ${c.satisfactionScore || c.satisfied !== null ? html`<dt>${t('Satisfaction')}</dt><dd>${c.satisfied === null ? '–' : c.satisfied ? t('Satisfied') : t('Not satisfied')}${c.satisfactionScore ? ` · ${c.satisfactionScore}/5` : ''}</dd>` : null}
          ${c.resolution ? html`<dt>${t('Resolution')}</dt><dd>${c.resolution.summary}${c.resolution.compensationAmount ? ` · ${c.resolution.compensationAmount} ${c.resolution.currency || c.currency}` : ''}</dd>` : null}
        </dl>
      </section>
      <section aria-labelledby="actions-h"><h2 id="actions-h">${t('Actions')}</h2>
        <${Actions} c=${c} onDone=${q.reload} />
      </section>
    </div>
    <div class="cols">
      <${ProgressSection} c=${c} now=${now} onDone=${q.reload} />
      <${CustomerPanel} c=${c} customer=${cq.data && cq.data.customer} />
    </div>
    <${ErrorBox} error=${cq.error} />
    <div class="cols">
      <${WorkSection} c=${c} onDone=${q.reload} />
      <${GroupPanel} c=${c} user=${user} onDone=${q.reload} />
    </div>
    <${ContactsSection} c=${c} onDone=${q.reload} />
    <${CallbacksSection} c=${c} now=${now} onDone=${q.reload} />
    <${Notes} c=${c} onDone=${q.reload} />
    <${EvidenceSection} c=${c} onDone=${q.reload} />
    <${Links} c=${c} onDone=${q.reload} />
    <section aria-labelledby="esc-h"><h2 id="esc-h">${t('Escalations')}</h2>
      ${c.escalations.length === 0 ? html`<p class="muted">${t('None.')}</p>` : html`<ul class="plain">${c.escalations.map((e) => html`<li>
        <${Badge} value=${e.status} /> ${label(e.trigger)} → ${label(e.toTier)}: ${e.reason} <span class="muted">${t('Requested by')} ${e.requestedBy ? e.requestedBy.displayName : 'system'}, ${when(e.requestedAt)}${e.decidedBy ? ` · ${t('Decided by')} ${e.decidedBy.displayName}` : ''}${e.decisionNote ? ` · ${e.decisionNote}` : ''}</span></li>`)}</ul>`}
    </section>
    ${readsTrail ? html`<${Timeline} id=${c.id} version=${c.version} />` : null}
  </main>`;
}

function Actions({ c, onDone }) {
  const can = c.viewerCan;
  const [v, setV] = useState({ message: '', rootCause: 'UNKNOWN', responsibility: '', summary: '', compensation: '', remedies: '', decisionNote: '',
    resolveSummary: '', promisedBy: '', firstContactSummary: '', firstContactSatisfied: true, outcome: '', reason: '', toTier: 'TIER2', trigger: 'CUSTOMER_REQUEST', escReason: '', legalReason: '',
    vulnerableCustomer: c.vulnerableCustomer, mediaAttention: c.mediaAttention, groupComplaint: c.groupComplaint, sensitive: c.sensitive });
  const set = (k) => (e) => setV({ ...v, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const a = useAction();
  const mutate = (name, sig, args, vars) => a.run(async () => {
    await api.gql(`mutation Act($id: ID!, $v: Int!${sig}) { ${name}(id: $id, expectedVersion: $v${args}) { id version status } }`, { id: c.id, v: c.version, ...vars });
    onDone();
  });
  const other = (query, vars) => a.run(async () => { await api.gql(query, vars); onDone(); });
  const fe = (n) => a.fieldError(n);
  const any = Object.values(can).some(Boolean);
  const me = api.session.user;
  return html`<div class="actions">
    ${!any ? html`<p class="muted">${t('No actions are open to you now.')}</p>` : null}
    ${can.assign && (!c.assignee || c.assignee.id !== me.id) && (me.role !== 'AGENT' || !c.assignee) ? html`<p><button type="button" disabled=${a.busy}
      onClick=${() => mutate('assignComplaint', ', $u: ID', ', assigneeId: $u', { u: me.id })}>${t('Assign to me')}</button></p>` : null}
    ${can.acknowledge ? html`<${ActionForm} title=${t('Acknowledge')} a=${a} open onSubmit=${() => mutate('acknowledgeComplaint', ', $m: String, $p: DateTime', ', message: $m, promisedBy: $p',
      { m: v.message || null, p: v.promisedBy ? new Date(v.promisedBy).toISOString() : null })}>
      <${Field} label=${t('Message to the customer')}><input value=${v.message} onInput=${set('message')} /><//>
      <${Field} label=${t('Promise an answer by')} error=${fe('promisedBy')}><input type="datetime-local" value=${v.promisedBy} onInput=${set('promisedBy')} /><//><//>` : null}
    ${can.resolveAtFirstContact ? html`<${ActionForm} title=${t('Resolve at first contact')} a=${a} onSubmit=${() => mutate('resolveAtFirstContact', ', $s: String!, $ok: Boolean!', ', summary: $s, satisfied: $ok',
      { s: v.firstContactSummary, ok: v.firstContactSatisfied })}>
      <${Field} label=${t('What was done')} error=${fe('summary')}><input value=${v.firstContactSummary} onInput=${set('firstContactSummary')} /><//>
      <${Field} label=${t('Customer satisfied')}><input type="checkbox" checked=${v.firstContactSatisfied} onChange=${set('firstContactSatisfied')} /><//><//>` : null}
    ${can.recordFinding ? html`<${ActionForm} title=${t('Record finding')} a=${a} open=${c.status !== 'INVESTIGATING'} onSubmit=${() => mutate('recordFinding', ', $f: FindingInput!', ', input: $f',
      { f: { rootCause: v.rootCause, responsibility: v.responsibility || null, summary: v.summary } })}>
      <${Field} label=${t('Root cause')}><${Select} value=${v.rootCause} onChange=${(x) => setV({ ...v, rootCause: x })} options=${ENUMS.RootCause} /><//>
      <${Field} label=${t('Responsibility')} error=${fe('input.responsibility')}><input value=${v.responsibility} onInput=${set('responsibility')} /><//>
      <${Field} label=${t('Summary')} error=${fe('input.summary')}><textarea value=${v.summary} onInput=${set('summary')}></textarea><//><//>` : null}
    ${can.proposeResolution ? html`<${ActionForm} title=${t('Propose resolution')} a=${a} open onSubmit=${() => mutate('proposeResolution', ', $r: ResolutionInput!', ', input: $r',
      { r: { summary: v.summary, compensationAmount: v.compensation || null, remedies: v.remedies || null } })}>
      <${Field} label=${t('Summary')} error=${fe('input.summary')}><textarea value=${v.summary} onInput=${set('summary')}></textarea><//>
      <${Field} label=${t('Compensation')} error=${fe('input.compensationAmount')} hint=${c.currency}><input inputmode="decimal" value=${v.compensation} onInput=${set('compensation')} /><//>
      <${Field} label=${t('Remedies')} error=${fe('input.remedies')}><input value=${v.remedies} onInput=${set('remedies')} /><//><//>` : null}
    ${can.recordCustomerDecision ? html`<details class="action" open><summary>${t('Customer accepted')} / ${t('Customer declined')}</summary>
      <${Field} label=${t('Note')}><input value=${v.decisionNote} onInput=${set('decisionNote')} /><//>
      <${ErrorBox} error=${a.error} />
      <button type="button" disabled=${a.busy} onClick=${() => mutate('recordCustomerDecision', ', $a: Boolean!, $n: String', ', accepted: $a, note: $n', { a: true, n: v.decisionNote || null })}>${t('Customer accepted')}</button>
      <button type="button" disabled=${a.busy} onClick=${() => mutate('recordCustomerDecision', ', $a: Boolean!, $n: String', ', accepted: $a, note: $n', { a: false, n: v.decisionNote || null })}>${t('Customer declined')}</button>
    </details>` : null}
    ${can.resolve ? html`<${ActionForm} title=${t('Resolve')} a=${a} open onSubmit=${() => mutate('resolveComplaint', ', $s: String!', ', summary: $s', { s: v.resolveSummary })}>
      <${Field} label=${t('Summary')} error=${fe('summary')}><input value=${v.resolveSummary} onInput=${set('resolveSummary')} /><//><//>` : null}
    ${can.recordCallback ? html`<p><a href="#callbacks-h">${t('Record the callback below.')}</a></p>` : null}
    ${can.requestEscalation ? html`<${ActionForm} title=${t('Request escalation')} a=${a} onSubmit=${() => other(
      'mutation Esc($c: ID!, $t: Tier!, $g: EscalationTrigger!, $r: String!) { requestEscalation(complaintId: $c, toTier: $t, trigger: $g, reason: $r) { id } }',
      { c: c.id, t: v.toTier, g: v.trigger, r: v.escReason })}>
      <${Field} label=${t('To tier')}><${Select} value=${v.toTier} onChange=${(x) => setV({ ...v, toTier: x })} options=${ENUMS.Tier} /><//>
      <${Field} label=${t('Trigger')}><${Select} value=${v.trigger} onChange=${(x) => setV({ ...v, trigger: x })} options=${ENUMS.Trigger} /><//>
      <${Field} label=${t('Reason')} error=${fe('reason')}><input value=${v.escReason} onInput=${set('escReason')} /><//><//>` : null}
    ${can.setFlags ? html`<${ActionForm} title=${t('Save flags')} a=${a} onSubmit=${() => mutate('setFlags', ', $f: FlagsInput!', ', input: $f',
      { f: { vulnerableCustomer: v.vulnerableCustomer, mediaAttention: v.mediaAttention, groupComplaint: v.groupComplaint, ...(can.markSensitive ? { sensitive: v.sensitive } : {}) } })}>
      <${Field} label=${t('Vulnerable customer')}><input type="checkbox" checked=${v.vulnerableCustomer} onChange=${set('vulnerableCustomer')} /><//>
      <${Field} label=${t('Media attention')}><input type="checkbox" checked=${v.mediaAttention} onChange=${set('mediaAttention')} /><//>
      <${Field} label=${t('Group complaint')}><input type="checkbox" checked=${v.groupComplaint} onChange=${set('groupComplaint')} /><//>
      ${can.markSensitive ? html`<${Field} label=${t('Sensitive')}><input type="checkbox" checked=${v.sensitive} onChange=${set('sensitive')} /><//>` : null}<//>` : null}
    ${can.referToLegal ? html`<${ActionForm} title=${t('Refer to legal')} a=${a} onSubmit=${() => other('mutation Legal($c: ID!, $r: String!) { referToLegal(id: $c, reason: $r) { id } }', { c: c.id, r: v.legalReason })}>
      <${Field} label=${t('Reason')} error=${fe('reason')}><input value=${v.legalReason} onInput=${set('legalReason')} /><//><//>` : null}
    ${can.close ? html`<${ActionForm} title=${t('Close')} a=${a} onSubmit=${() => mutate('closeComplaint', ', $r: String!, $o: CloseOutcome', ', reason: $r, outcome: $o',
      { r: v.reason, o: v.outcome || null })}>
      <${Field} label=${t('Outcome')} error=${fe('outcome')}><${Select} any value=${v.outcome} onChange=${(x) => setV({ ...v, outcome: x || '' })} options=${ENUMS.CloseOutcome} /><//>
      <${Field} label=${t('Reason')} error=${fe('reason')}><input value=${v.reason} onInput=${set('reason')} /><//><//>` : null}
    ${can.reopen ? html`<${ActionForm} title=${t('Reopen')} a=${a} onSubmit=${() => mutate('reopenComplaint', ', $r: String!', ', reason: $r', { r: v.reason })}>
      <${Field} label=${t('Reason')} error=${fe('reason')}><input value=${v.reason} onInput=${set('reason')} /><//><//>` : null}
  </div>`;
}

function Notes({ c, onDone }) {
  const [body, setBody] = useState('');
  const [visibility, setVisibility] = useState('INTERNAL');
  const a = useAction();
  const submit = () => a.run(async () => {
    await api.gql('mutation Note($c: ID!, $b: String!, $v: NoteVisibility!) { addNote(complaintId: $c, body: $b, visibility: $v) { id } }', { c: c.id, b: body, v: visibility });
    setBody(''); onDone();
  });
  return html`<section aria-labelledby="notes-h"><h2 id="notes-h">${t('Notes')}</h2>
    ${c.notes.length === 0 ? html`<p class="muted">${t('None.')}</p>` : html`<ul class="plain">${c.notes.map((n) => html`<li><${Badge} value=${n.visibility} /> <span class="pre">${n.body}</span>
      <span class="muted"> — ${n.author ? n.author.displayName : ''}, ${when(n.createdAt)}</span></li>`)}</ul>`}
    ${c.viewerCan.addNote ? html`<form class="inline" onSubmit=${(e) => { e.preventDefault(); submit(); }}>
      <${Field} label=${t('Note')} error=${a.fieldError('body')}><textarea rows="2" value=${body} onInput=${(e) => setBody(e.target.value)}></textarea><//>
      <${Field} label=${t('Visibility')}><${Select} value=${visibility} onChange=${setVisibility} options=${ENUMS.NoteVisibility} /><//>
      <${ErrorBox} error=${a.error && !a.error.field ? a.error : null} />
      <button type="submit" disabled=${a.busy}>${t('Add note')}</button></form>` : null}
  </section>`;
}

function EvidenceSection({ c, onDone }) {
  const [file, setFile] = useState(null);
  const [kind, setKind] = useState('DOCUMENT');
  const [description, setDescription] = useState('');
  const [progress, setProgress] = useState(null);
  const [over, setOver] = useState(false);
  const [last, setLast] = useState(null);
  const a = useAction();
  const dl = useAction();
  const inputRef = useRef(null);
  const upload = () => a.run(async () => {
    if (!file) throw new api.ApiError('choose a file first', 'VALIDATION', 'file');
    setProgress(0);
    try {
      const ev = await api.uploadEvidence(c.id, kind, file, description, setProgress);
      setLast(ev); setFile(null); setDescription(''); if (inputRef.current) inputRef.current.value = '';
      onDone();
    } finally { setProgress(null); }
  });
  const drop = (e) => { e.preventDefault(); setOver(false); if (e.dataTransfer.files.length) setFile(e.dataTransfer.files[0]); };
  const edges = c.evidence.edges;
  return html`<section aria-labelledby="ev-h"><h2 id="ev-h">${t('Evidence')} (${c.evidence.totalCount})</h2>
    ${edges.length === 0 ? html`<p class="muted">${t('None.')}</p>` : html`<div class="scroll"><table class="list">
      <thead><tr><th>${t('File')}</th><th>${t('Kind')}</th><th>SHA-256</th><th></th></tr></thead>
      <tbody>${edges.map(({ node: ev }) => html`<tr><td>${ev.filename} <span class="muted">${(ev.size / 1024).toFixed(1)} KiB · ${ev.contentType}</span></td>
        <td>${label(ev.kind)}</td><td><code class="hash" title=${ev.sha256}>${ev.sha256.slice(0, 16)}…</code></td>
        <td>${ev.downloadUrl ? html`<button type="button" onClick=${() => dl.run(() => api.download(ev.downloadUrl, ev.filename))}>${t('Download')} <span class="sr">${ev.filename}</span></button>` : null}</td></tr>`)}</tbody>
    </table></div>`}
    <${ErrorBox} error=${dl.error} />
    ${c.viewerCan.uploadEvidence ? html`<form class="upload" onSubmit=${(e) => { e.preventDefault(); upload(); }}>
      <div class=${`dropzone${over ? ' over' : ''}`} onDragOver=${(e) => { e.preventDefault(); setOver(true); }} onDragLeave=${() => setOver(false)} onDrop=${drop}>
        <p>${t('Drop a file here or choose one')}</p>
        <${Field} label=${t('File')}><input type="file" ref=${inputRef} onChange=${(e) => setFile(e.target.files[0] || null)} /><//>
        ${file ? html`<p class="chosen">${file.name} (${(file.size / 1024).toFixed(1)} KiB)</p>` : null}
      </div>
      <${Field} label=${t('Kind')}><${Select} value=${kind} onChange=${setKind} options=${ENUMS.EvidenceKind} /><//>
      <${Field} label=${t('Description')}><input value=${description} onInput=${(e) => setDescription(e.target.value)} /><//>
      ${progress !== null ? html`<div class="progress"><label for="up-progress">${t('uploading')} ${Math.round(progress * 100)}%</label>
        <progress id="up-progress" max="1" value=${progress}></progress></div>` : null}
      <${ErrorBox} error=${a.error} />
      ${last ? html`<p class="ok" role="status">${t('Saved.')} ${last.filename} · SHA-256 <code class="hash">${last.sha256}</code></p>` : null}
      <button type="submit" disabled=${a.busy}>${t('Upload')}</button>
    </form>` : null}
  </section>`;
}

function Links({ c, onDone }) {
  const [ref, setRef] = useState('');
  const [kind, setKind] = useState('RELATED');
  const a = useAction();
  const submit = () => a.run(async () => {
    const found = await api.gql('query Ref($r: String!) { complaintByReference(reference: $r) { id } }', { r: ref.trim() });
    if (!found.complaintByReference) throw new api.ApiError(`no complaint ${ref}`, 'NOT_FOUND');
    await api.gql('mutation Link($ids: [ID!]!, $k: LinkKind!) { linkComplaints(ids: $ids, kind: $k) { id } }', { ids: [c.id, found.complaintByReference.id], k: kind });
    setRef(''); onDone();
  });
  return html`<section aria-labelledby="links-h"><h2 id="links-h">${t('Links')}</h2>
    ${c.links.length === 0 ? html`<p class="muted">${t('None.')}</p>` : html`<ul class="plain">${c.links.map((l) => html`<li><${Badge} value=${l.kind} />
      ${l.complaint ? html`<a href=${`#/complaint/${l.complaint.id}`}>${l.complaint.reference}</a> ${l.complaint.title} <${Badge} value=${l.complaint.status} />` : '•••'}</li>`)}</ul>`}
    ${c.viewerCan.link ? html`<form class="inline" onSubmit=${(e) => { e.preventDefault(); submit(); }}>
      <${Field} label=${t('Other complaint reference')}><input value=${ref} placeholder="CMP-2026-000001" onInput=${(e) => setRef(e.target.value)} /><//>
      <${Field} label=${t('Kind')}><${Select} value=${kind} onChange=${setKind} options=${ENUMS.LinkKind} /><//>
      <${ErrorBox} error=${a.error} />
      <button type="submit" disabled=${a.busy}>${t('Link')}</button></form>` : null}
  </section>`;
}

/** Before → after for each changed field of an audit event. */
function Changes({ changes }) {
  if (!changes || typeof changes !== 'object') return null;
  const entries = Object.entries(changes);
  if (!entries.length) return null;
  const show = (x) => (x === null || x === undefined ? '∅' : typeof x === 'object' ? JSON.stringify(x) : String(x));
  return html`<ul class="changes">${entries.map(([k, pair]) => {
    const [before, after] = Array.isArray(pair) && pair.length === 2 ? pair : [undefined, pair];
    return html`<li><code>${k}</code>: <del>${show(before)}</del> → <ins>${show(after)}</ins></li>`;
  })}</ul>`;
}

export const EVENT_FIELDS = 'id seq action actorId actorRole occurredAt targetType complaintId changes masked reason chainKey';

function Timeline({ id, version }) {
  const q = useQuery(`query Trail($id: ID!) { complaint(id: $id) { auditTrail(first: 100) { edges { node { ${EVENT_FIELDS} } } } } }`, { id }, [id, version]);
  const events = q.data && q.data.complaint ? q.data.complaint.auditTrail.edges.map((e) => e.node) : [];
  return html`<section aria-labelledby="tl-h"><h2 id="tl-h">${t('Timeline')}</h2>
    <${ErrorBox} error=${q.error} />
    <${EventTable} events=${events} />
  </section>`;
}

export function EventTable({ events }) {
  if (!events.length) return html`<p class="muted">${t('No events.')}</p>`;
  return html`<div class="scroll"><table class="list events">
    <thead><tr><th>#</th><th>${t('When')}</th><th>${t('Action')}</th><th>${t('Role')}</th><th>${t('Actor')}</th><th>${t('Changes')}</th></tr></thead>
    <tbody>${events.map((e) => html`<tr><td>${e.seq}</td><td>${when(e.occurredAt)}</td><td><code>${e.action}</code></td><td>${label(e.actorRole) || 'system'}</td>
      <td><code class="hash" title=${e.actorId || ''}>${e.actorId ? `…${e.actorId.slice(-8)}` : '–'}</code></td>
      <td><${Changes} changes=${e.changes} />${e.masked ? html`<em class="muted">(${t('masked')})</em>` : null}${e.reason ? html`<div class="muted">${e.reason}</div>` : null}</td></tr>`)}</tbody>
  </table></div>`;
}
