// Role grants: privileges waiting for a second administrator. One admin asks
// for a change (`updateUser` with a privileged role or a higher authority
// becomes a pending grant); another approves or rejects it. The four-eyes rule
// is shown: on a grant the caller requested (or one to themselves) "Approve"
// is marked unavailable with the reason, yet stays focusable, and pressing it
// still asks the API, whose FORBIDDEN (message and code) the console shows.

import { html, useState } from '../vendor/preact-htm.mjs';
import * as api from './api.js';
import { t, label, when } from './i18n.js';
import { ENUMS, ErrorBox, Field, Select, Badge, useQuery, useAction } from './ui.js';

const PAGE = 20;
const GRANTS = `query Grants($s: RoleGrantStatus!, $first: Int, $after: String) { roleGrants(status: $s, first: $first, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id status role authorityLimit authorityCurrency activatesAccount createdAt decidedAt decisionNote
    requestedBy { id displayName email } decidedBy { displayName } user { id displayName email role authorityLimit authorityCurrency active } } } } }`;

export function RoleGrants() {
  const [status, setStatus] = useState('PENDING');
  const [cursors, setCursors] = useState([null]);
  const after = cursors[cursors.length - 1];
  const q = useQuery(GRANTS, { s: status, first: PAGE, after }, [status, after]);
  const conn = q.data && q.data.roleGrants;
  const me = api.session.user;
  return html`<main>
    <h1>${t('Role grants')}</h1>
    <p class="muted">${t('A privileged role, a higher authority limit or a privileged new account takes effect only when a second administrator approves it: never its requester, never its grantee.')}</p>
    <${RequestChange} onDone=${() => { setStatus('PENDING'); setCursors([null]); q.reload(); }} />
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <${Field} label=${t('Status')}><${Select} value=${status} onChange=${(x) => { setStatus(x || 'PENDING'); setCursors([null]); }} options=${ENUMS.RoleGrantStatus} /><//>
    </form>
    <${ErrorBox} error=${q.error} />
    ${q.loading && !conn ? html`<p>${t('Loading…')}</p>` : null}
    ${conn && conn.edges.length === 0 ? html`<p>${status === 'PENDING' ? t('No grants are waiting.') : t('None.')}</p>` : null}
    <ul class="queue grants">${(conn ? conn.edges : []).map(({ node: g }) => html`<${GrantCard} key=${g.id} g=${g} me=${me} />`)}</ul>
    ${conn ? html`<div class="pager">
      <button type="button" disabled=${cursors.length < 2} onClick=${() => setCursors(cursors.slice(0, -1))}>${t('Previous page')}</button>
      <button type="button" disabled=${!conn.pageInfo.hasNextPage} onClick=${() => setCursors([...cursors, conn.pageInfo.endCursor])}>${t('Next page')}</button>
    </div>` : null}
  </main>`;
}

/**
 * What the grant changes: "Agent → Supervisor", a new authority, an activation.
 * The user's current values are the "before" only while the grant is pending.
 */
function Change({ g }) {
  const parts = [];
  const now = g.status === 'PENDING' && g.user;
  if (g.role) parts.push(html`<span>${t('Role')}: ${now ? `${label(g.user.role)} ` : ''}→ <strong>${label(g.role)}</strong></span>`);
  if (g.authorityLimit) parts.push(html`<span>${t('Authority limit')}: ${now ? `${g.user.authorityLimit} ${g.user.authorityCurrency} ` : ''}→ <strong>${g.authorityLimit} ${g.authorityCurrency || ''}</strong></span>`);
  if (g.activatesAccount) parts.push(html`<span><strong>${t('Activates a new account')}</strong></span>`);
  return html`<p class="change">${parts.map((p, i) => html`${i ? ' · ' : ''}${p}`)}</p>`;
}

// A decided card stays in place with its new status (the list reloads on the next visit).
function GrantCard({ g, me }) {
  const [reason, setReason] = useState('');
  const [decided, setDecided] = useState(null);
  const a = useAction();
  const own = g.requestedBy && g.requestedBy.id === me.id;
  const toMe = g.user && g.user.id === me.id;
  const blocked = own ? t('You requested this grant: a second administrator must approve it (four-eyes rule).')
    : toMe ? t('This grant is to you: another administrator decides it (four-eyes rule).') : null;
  const reasonId = `reason-${g.id.replace(/[^A-Za-z0-9_-]/g, '')}`;
  const whyId = `why-${g.id.replace(/[^A-Za-z0-9_-]/g, '')}`;
  const approve = () => a.run(async () => {
    const d = await api.gql('mutation Approve($id: ID!) { approveRoleGrant(id: $id) { id status } }', { id: g.id });
    setDecided(d.approveRoleGrant.status);
  });
  const reject = () => a.run(async () => {
    const d = await api.gql('mutation Reject($id: ID!, $r: String!) { rejectRoleGrant(id: $id, reason: $r) { id status } }', { id: g.id, r: reason });
    setDecided(d.rejectRoleGrant.status);
  });
  const who = (u) => (u ? `${u.displayName} <${u.email}>` : '–');
  return html`<li class="card grant" data-user=${g.user ? g.user.email : ''} data-status=${g.status}>
    <div class="card-head">${who(g.user)} <${Badge} value=${decided || g.status} /></div>
    <${Change} g=${g} />
    <p class="muted">${t('Requested by')} ${who(g.requestedBy)}, ${when(g.createdAt)}${g.decidedBy ? ` · ${t('Decided by')} ${g.decidedBy.displayName}, ${when(g.decidedAt)}` : ''}${g.decisionNote ? ` · ${g.decisionNote}` : ''}</p>
    ${g.status === 'PENDING' && !decided ? html`<div class="decide">
      ${blocked ? html`<p class="warn" id=${whyId}>${blocked}</p>` : null}
      <button type="button" aria-disabled=${blocked ? 'true' : undefined} aria-describedby=${blocked ? whyId : undefined} class=${blocked ? 'unavailable' : ''}
        disabled=${a.busy} onClick=${approve}>${t('Approve')}</button>
      ${toMe ? null : html`<label for=${reasonId}>${own ? t('Reason for withdrawing') : t('Reason for rejecting')}</label>
        <input id=${reasonId} value=${reason} onInput=${(e) => setReason(e.target.value)} aria-invalid=${a.fieldError('reason') ? 'true' : undefined} />
        <button type="button" disabled=${a.busy} onClick=${reject}>${own ? t('Withdraw') : t('Reject')}</button>`}
    </div>` : null}
    <${ErrorBox} error=${a.error} />
  </li>`;
}

/** Asks for a change of a user's role or authority (privileged changes become grants). */
function RequestChange({ onDone }) {
  const users = useQuery('query Users { users(first: 100) { edges { node { id email displayName role authorityLimit authorityCurrency version } } } }', {}, []);
  const [v, setV] = useState({ userId: '', role: '', authorityLimit: '' });
  const [outcome, setOutcome] = useState(null);
  const a = useAction();
  const list = users.data ? users.data.users.edges.map((e) => e.node) : [];
  const submit = () => a.run(async () => {
    const u = list.find((x) => x.id === v.userId);
    if (!u) throw new api.ApiError(t('Choose a user.'), 'VALIDATION', 'id');
    const input = {};
    if (v.role) input.role = v.role;
    if (v.authorityLimit.trim()) input.authorityLimit = v.authorityLimit.trim();
    const d = await api.gql('mutation Change($id: ID!, $v: Int!, $i: UpdateUserInput!) { updateUser(id: $id, expectedVersion: $v, input: $i) { id role authorityLimit version } }',
      { id: u.id, v: u.version, i: input });
    const after = d.updateUser;
    // What did not change at once waits for a second administrator.
    const waits = (input.role && after.role !== input.role) || (input.authorityLimit && Number(after.authorityLimit) !== Number(input.authorityLimit));
    setOutcome({ email: u.email, waits });
    setV({ userId: '', role: '', authorityLimit: '' });
    users.reload();
    onDone();
  });
  return html`<details class="request-change" open><summary>${t('Request a change of role or authority')}</summary>
    <form class="grid" onSubmit=${(e) => { e.preventDefault(); submit(); }}>
      <${Field} label=${t('User')} error=${a.fieldError('id')}><select value=${v.userId} onChange=${(e) => setV({ ...v, userId: e.target.value })}>
        <option value="">–</option>${list.map((u) => html`<option value=${u.id}>${u.displayName} (${u.email}) · ${label(u.role)}</option>`)}</select><//>
      <${Field} label=${t('New role')} error=${a.fieldError('input.role')}><select value=${v.role} onChange=${(e) => setV({ ...v, role: e.target.value })}>
        <option value="">${t('(unchanged)')}</option>${ENUMS.Role.map((r) => html`<option value=${r}>${label(r)}</option>`)}</select><//>
      <${Field} label=${t('New authority limit')} error=${a.fieldError('input.authorityLimit')}><input inputmode="decimal" value=${v.authorityLimit} onInput=${(e) => setV({ ...v, authorityLimit: e.target.value })} /><//>
      ${a.error && !(a.error.field === 'id' || (a.error.field || '').startsWith('input.')) ? html`<${ErrorBox} error=${a.error} />` : null}
      <button type="submit" disabled=${a.busy}>${t('Request change')}</button>
    </form>
    <${ErrorBox} error=${users.error} />
    ${outcome ? html`<p class="ok" role="status">${outcome.waits ? `${t('Requested for')} ${outcome.email}: ${t('it waits for a second administrator.')}` : `${t('Changed at once for')} ${outcome.email}.`}</p>` : null}
  </details>`;
}
