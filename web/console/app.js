// The casework reference console: a single-page app on the public API only.
// Preact + htm as ES modules (vendored, no build step), hash routing.

import { html, render, useState, useEffect } from '../vendor/preact-htm.mjs';
import * as api from './api.js';
import { t, label, when, getLang, setLang } from './i18n.js';
import { ENUMS, ErrorBox, Field, Select, Badge, useNow, Deadline, useQuery, useAction, go } from './ui.js';
import { ComplaintPage, EventTable, EVENT_FIELDS } from './complaint.js';
import { CallbackQueue } from './callbacks.js';
import { Dashboard } from './dashboard.js';
import { GroupList, GroupPage } from './groups.js';
import { WorkQueue } from './work.js';
import { RoleGrants } from './grants.js';

// ---------------------------------------------------------------- sign-in

function SignIn({ config, notice }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const a = useAction();
  const submit = (e) => { e.preventDefault(); a.run(() => api.login(email.trim(), password)); };
  return html`<main class="signin">
    <h1>${t('casework console')}</h1>
    ${notice ? html`<div class="error" role="alert">${t('Your session ended')}: ${notice.message} <code class="code">${notice.code}</code></div>` : null}
    <form onSubmit=${submit} aria-label=${t('Sign in')}>
      <${Field} label=${t('Email')}><input type="email" name="email" autocomplete="username" required value=${email} onInput=${(e) => setEmail(e.target.value)} /><//>
      <${Field} label=${t('Password')}><input type="password" name="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.target.value)} /><//>
      <${ErrorBox} error=${a.error} />
      <button type="submit" disabled=${a.busy}>${t('Sign in')}</button>
    </form>
    ${config && config.demo ? html`<section class="demo" aria-label=${t('Demo accounts')}>
      <h2>${t('Demo accounts')}</h2>
      <ul>${config.demoAccounts.map((acc) => html`<li>
        <button type="button" class="link" onClick=${() => { setEmail(acc.email); if (config.demoPassword) setPassword(config.demoPassword); }}>${acc.email}</button>
        <span class="muted"> ${label(acc.role)} · ${acc.name}</span></li>`)}</ul>
      ${config.demoPassword ? html`<p class="muted">${t('password')}: <code>${config.demoPassword}</code></p>` : null}
    </section>` : null}
  </main>`;
}

// ---------------------------------------------------------------- shell

function Nav({ user, route, live, lang, onLang }) {
  const role = user.role;
  const items = [];
  if (role === 'AGENT' || role === 'SUPERVISOR') items.push(['#/complaints', role === 'AGENT' ? t('My complaints') : t('Complaints')], ['#/new', t('New complaint')]);
  if (role === 'LEGAL' || role === 'AUDITOR') items.push(['#/complaints', t('Complaints')]);
  if (role === 'SUPERVISOR' || role === 'LEGAL') items.push(['#/queue', t('Escalation queue')]);
  if (role === 'AGENT' || role === 'SUPERVISOR') items.push(['#/overdue', t('Overdue')], ['#/callbacks', t('Callback queue')], ['#/work', t('Work queue')]);
  if (role !== 'ADMIN') items.push(['#/groups', t('Groups')]);
  if (role === 'SUPERVISOR' || role === 'LEGAL' || role === 'AUDITOR') items.push(['#/analysis', t('Analysis')], ['#/audit', t('Audit trail')]);
  if (role === 'ADMIN') items.push(['#/users', t('Users')], ['#/grants', t('Role grants')], ['#/teams', t('Teams')], ['#/sla', t('SLA policies')]);
  const langId = 'lang-select';
  return html`<header class="top">
    <a class="brand" href="#/">casework</a>
    <nav aria-label="main"><ul>${items.map(([href, text]) => html`<li><a href=${href} aria-current=${route.startsWith(href.slice(1)) ? 'page' : undefined}>${text}</a></li>`)}</ul></nav>
    <div class="who">
      <${LiveStatus} live=${live} />
      <label for=${langId} class="sr">${t('Language')}</label>
      <select id=${langId} value=${lang} onChange=${(e) => onLang(e.target.value)} aria-label=${t('Language')}>
        <option value="en">English</option><option value="zh">简体中文</option>
      </select>
      <span class="muted" title=${user.email}>${user.displayName} · ${label(user.role)}</span>
      <button type="button" onClick=${() => api.logout()}>${t('Sign out')}</button>
    </div>
  </header>`;
}

function LiveStatus({ live }) {
  const now = useNow(1000);
  if (!live) return null;
  let text;
  if (live.state === 'open') text = t('connected');
  else if (live.state === 'connecting') text = t('connecting…');
  else text = `${t('Connection lost; retrying in')} ${Math.max(0, Math.ceil((live.at + live.retryIn - now) / 1000))} ${t('seconds')}`;
  return html`<span class=${`live live-${live.state}`} role="status" aria-live="polite">● ${t('Live updates')}: ${text}</span>`;
}

// ---------------------------------------------------------------- complaint list

const LIST = `query List($f: ComplaintFilter, $o: ComplaintOrder, $first: Int, $after: String, $last: Int, $before: String) {
  complaints(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id reference title status severity category slaBreached overdue firstResponseDue resolutionDue acknowledgedAt resolvedAt closedAt
      customer { name } assignee { displayName } } } } }`;

function ComplaintList({ user, overdueOnly }) {
  const [filters, setFilters] = useState({ search: '', status: null, severity: null, category: null, overdue: !!overdueOnly, mine: false, order: overdueOnly ? 'RESOLUTION_DUE' : 'CREATED_AT' });
  const [applied, setApplied] = useState(filters);
  const [page, setPage] = useState({ first: 20 });
  const now = useNow();
  const filter = {};
  if (applied.search.trim()) filter.search = applied.search.trim();
  if (applied.status) filter.status = [applied.status];
  if (applied.severity) filter.severity = [applied.severity];
  if (applied.category) filter.category = [applied.category];
  if (applied.overdue || overdueOnly) filter.overdue = true;
  if (applied.mine) filter.assigneeId = user.id;
  const orderBy = applied.order === 'RESOLUTION_DUE' ? { field: 'RESOLUTION_DUE', direction: 'ASC' } : { field: 'CREATED_AT', direction: 'DESC' };
  const q = useQuery(LIST, { f: filter, o: orderBy, ...page }, [JSON.stringify(filter), JSON.stringify(page), applied.order]);
  const conn = q.data && q.data.complaints;
  const set = (k) => (v) => setFilters({ ...filters, [k]: v });
  const title = overdueOnly ? t('Overdue') : user.role === 'AGENT' ? t('My complaints') : t('Complaints');
  return html`<main>
    <h1>${title}</h1>
    <form class="filters" onSubmit=${(e) => { e.preventDefault(); setApplied(filters); setPage({ first: 20 }); }}>
      <${Field} label=${t('Search')}><input type="search" value=${filters.search} onInput=${(e) => set('search')(e.target.value)} /><//>
      <${Field} label=${t('Status')}><${Select} any value=${filters.status} onChange=${set('status')} options=${ENUMS.Status} /><//>
      <${Field} label=${t('Severity')}><${Select} any value=${filters.severity} onChange=${set('severity')} options=${ENUMS.Severity} /><//>
      <${Field} label=${t('Category')}><${Select} any value=${filters.category} onChange=${set('category')} options=${ENUMS.Category} /><//>
      <${Field} label=${t('Order')}><select value=${filters.order} onChange=${(e) => set('order')(e.target.value)}>
        <option value="CREATED_AT">${t('Newest first')}</option><option value="RESOLUTION_DUE">${t('Deadline first')}</option></select><//>
      ${overdueOnly ? null : html`<${Field} label=${t('Only overdue')}><input type="checkbox" checked=${filters.overdue} onChange=${(e) => set('overdue')(e.target.checked)} /><//>`}
      ${user.role === 'AGENT' ? html`<${Field} label=${t('Assigned to me')}><input type="checkbox" checked=${filters.mine} onChange=${(e) => set('mine')(e.target.checked)} /><//>` : null}
      <button type="submit">${t('Apply')}</button>
    </form>
    <${ErrorBox} error=${q.error} />
    ${q.loading && !conn ? html`<p>${t('Loading…')}</p>` : null}
    ${conn ? html`<p class="muted">${getLang() === 'zh' ? `共 ${conn.totalCount} 条` : `${conn.totalCount} in all`}</p>
      <div class="scroll"><table class="list">
        <thead><tr><th>${t('Reference')}</th><th>${t('Title')}</th><th>${t('Status')}</th><th>${t('Severity')}</th><th>${t('Customer')}</th><th>${t('Deadline')}</th></tr></thead>
        <tbody>${conn.edges.map(({ node: c }) => html`<tr class=${c.overdue ? 'row-late' : ''}>
          <td><a href=${`#/complaint/${c.id}`}>${c.reference}</a></td><td>${c.title}</td><td><${Badge} value=${c.status} /></td>
          <td><${Badge} value=${c.severity} kind="sev" /></td><td>${c.customer.name}</td>
          <td>${c.acknowledgedAt || c.closedAt ? html`<${Deadline} due=${c.resolutionDue} breached=${c.slaBreached} done=${!!(c.resolvedAt || c.closedAt)} now=${now} />`
            : html`<${Deadline} due=${c.firstResponseDue} breached=${c.slaBreached} now=${now} />`}</td></tr>`)}</tbody>
      </table></div>
      ${conn.edges.length === 0 ? html`<p>${t('No complaints.')}</p>` : null}
      <div class="pager">
        <button type="button" disabled=${!conn.pageInfo.hasPreviousPage} onClick=${() => setPage({ last: 20, before: conn.pageInfo.startCursor })}>${t('Previous page')}</button>
        <button type="button" disabled=${!conn.pageInfo.hasNextPage} onClick=${() => setPage({ first: 20, after: conn.pageInfo.endCursor })}>${t('Next page')}</button>
      </div>` : null}
  </main>`;
}

// ---------------------------------------------------------------- intake

function Intake() {
  const [v, setV] = useState({ channel: 'PHONE', category: 'PRODUCT_QUALITY', severity: 'MEDIUM', title: '', description: '', name: '', phone: '', email: '',
    coreDemand: 'REFUND', requestedAmount: '', emotion: 'CALM', orderReference: '', occurredAt: '' });
  const a = useAction();
  const set = (k) => (x) => setV({ ...v, [k]: x && x.target ? x.target.value : x });
  const submit = async (e) => {
    e.preventDefault();
    const input = { channel: v.channel, category: v.category, severity: v.severity, title: v.title, description: v.description,
      customer: { name: v.name, phone: v.phone || null, email: v.email || null }, coreDemand: v.coreDemand, emotion: v.emotion,
      requestedAmount: v.requestedAmount || null, orderReference: v.orderReference || null,
      occurredAt: v.occurredAt ? new Date(v.occurredAt).toISOString() : null };
    const r = await a.run(() => api.gql('mutation Create($i: CreateComplaintInput!) { createComplaint(input: $i) { id reference } }', { i: input }));
    if (r) go(`#/complaint/${r.createComplaint.id}`);
    // Keyboard users land on the field the API named.
    else setTimeout(() => { const bad = document.querySelector('[aria-invalid="true"]'); if (bad) bad.focus(); }, 0);
  };
  const fe = (n) => a.fieldError(`input.${n}`);
  return html`<main>
    <h1>${t('New complaint')}</h1>
    <form class="intake" onSubmit=${submit} noValidate>
      <fieldset><legend>${t('Who')}</legend>
        <${Field} label=${t('Customer name')} error=${fe('customer.name') || fe('customer')}><input value=${v.name} onInput=${set('name')} /><//>
        <${Field} label=${t('Phone')} error=${fe('customer.phone')}><input type="tel" value=${v.phone} onInput=${set('phone')} /><//>
        <${Field} label=${t('Customer email')} error=${fe('customer.email')}><input type="email" value=${v.email} onInput=${set('email')} /><//>
      </fieldset>
      <fieldset><legend>${t('What happened')}</legend>
        <${Field} label=${t('Title')} error=${fe('title')}><input value=${v.title} onInput=${set('title')} /><//>
        <${Field} label=${t('Description')} error=${fe('description')}><textarea rows="4" value=${v.description} onInput=${set('description')}></textarea><//>
        <${Field} label=${t('Occurred at')} error=${fe('occurredAt')}><input type="datetime-local" value=${v.occurredAt} onInput=${set('occurredAt')} /><//>
        <${Field} label=${t('Order reference')} error=${fe('orderReference')}><input value=${v.orderReference} onInput=${set('orderReference')} /><//>
      </fieldset>
      <fieldset><legend>${t('Demand')}</legend>
        <${Field} label=${t('Core demand')}><${Select} value=${v.coreDemand} onChange=${set('coreDemand')} options=${ENUMS.Demand} /><//>
        <${Field} label=${t('Requested amount')} error=${fe('requestedAmount') || fe('currency')}><input inputmode="decimal" value=${v.requestedAmount} onInput=${set('requestedAmount')} /><//>
      </fieldset>
      <fieldset><legend>${t('State of mind')}</legend>
        <${Field} label=${t('Emotion')}><${Select} value=${v.emotion} onChange=${set('emotion')} options=${ENUMS.Emotion} /><//>
      </fieldset>
      <fieldset><legend>${t('Classification')}</legend>
        <${Field} label=${t('Channel')}><${Select} value=${v.channel} onChange=${set('channel')} options=${ENUMS.Channel} /><//>
        <${Field} label=${t('Category')}><${Select} value=${v.category} onChange=${set('category')} options=${ENUMS.Category} /><//>
        <${Field} label=${t('Severity')}><${Select} value=${v.severity} onChange=${set('severity')} options=${ENUMS.Severity} /><//>
      </fieldset>
      ${a.error && !a.error.field ? html`<${ErrorBox} error=${a.error} />` : null}
      ${a.error && a.error.field ? html`<p class="error" role="alert">${a.error.message} <code class="code">${a.error.code}</code></p>` : null}
      <button type="submit" disabled=${a.busy}>${t('Record complaint')}</button>
    </form>
  </main>`;
}

// ---------------------------------------------------------------- supervisor's queue

const QUEUE_FIELDS = 'id trigger status reason fromTier toTier requestedAt dueBy overdue requestedBy { id displayName } complaint { id reference title status }';

function Queue({ user, live }) {
  const q = useQuery(`query Queue { escalationQueue(first: 50) { edges { node { ${QUEUE_FIELDS} } } } }`, {}, []);
  const [fresh, setFresh] = useState([]);
  const [subError, setSubError] = useState(null);
  const now = useNow();
  useEffect(() => {
    if (!live) return undefined;
    return live.subscribe(`subscription Queue { escalationRequested { ${QUEUE_FIELDS} } }`, {},
      (data) => setFresh((list) => [data.escalationRequested, ...list.filter((e) => e.id !== data.escalationRequested.id)]), setSubError);
  }, [live]);
  const loaded = q.data ? q.data.escalationQueue.edges.map((e) => e.node) : [];
  const freshIds = new Set(fresh.map((e) => e.id));
  const all = [...loaded.filter((e) => !freshIds.has(e.id)), ...fresh].sort((x, y) => new Date(x.requestedAt) - new Date(y.requestedAt));
  return html`<main>
    <h1>${t('Escalation queue')}</h1>
    <p class="muted">${t('Four-eyes rule: nobody decides their own request.')}</p>
    <${ErrorBox} error=${q.error || subError} />
    ${q.loading && !q.data ? html`<p>${t('Loading…')}</p>` : null}
    ${q.data && all.length === 0 ? html`<p>${t('No pending requests.')}</p>` : null}
    <ul class="queue">${all.map((e) => html`<${QueueItem} key=${e.id} e=${e} user=${user} now=${now} isNew=${freshIds.has(e.id)} onDone=${q.reload} />`)}</ul>
  </main>`;
}

function QueueItem({ e, user, now, isNew, onDone }) {
  const [note, setNote] = useState('');
  const [decided, setDecided] = useState(null);
  const a = useAction();
  const own = e.requestedBy && e.requestedBy.id === user.id;
  const decide = (approve) => a.run(async () => {
    const r = approve
      ? await api.gql('mutation Approve($id: ID!, $n: String) { approveEscalation(id: $id, note: $n) { id status } }', { id: e.id, n: note || null })
      : await api.gql('mutation Reject($id: ID!, $r: String!) { rejectEscalation(id: $id, reason: $r) { id status } }', { id: e.id, r: note });
    setDecided(approve ? r.approveEscalation.status : r.rejectEscalation.status);
  });
  const noteId = `note-${e.id}`;
  return html`<li class=${`card${isNew ? ' new' : ''}`} data-reference=${e.complaint ? e.complaint.reference : ''}>
    <div class="card-head">${isNew ? html`<span class="badge new">${t('New request')}</span> ` : null}
      ${e.complaint ? html`<a href=${`#/complaint/${e.complaint.id}`}>${e.complaint.reference}</a> ${e.complaint.title}` : '•••'}
      <${Badge} value=${e.trigger} /></div>
    <p>${e.reason}</p>
    <p class="muted">${label(e.fromTier)} → ${label(e.toTier)} · ${t('Requested by')} ${e.requestedBy ? e.requestedBy.displayName : 'system'} · ${when(e.requestedAt)} ·
      ${t('Due')}: <${Deadline} due=${e.dueBy} breached=${e.overdue} now=${now} /></p>
    ${decided ? html`<p class="ok" role="status"><${Badge} value=${decided} /></p>`
      : own ? html`<p class="warn">${t('You requested this: another supervisor must decide (four-eyes rule).')}</p>`
      : html`<div class="decide">
        <label for=${noteId}>${t('Decision note')}</label><input id=${noteId} value=${note} onInput=${(x) => setNote(x.target.value)} />
        <button type="button" disabled=${a.busy} onClick=${() => decide(true)}>${t('Approve')}</button>
        <button type="button" disabled=${a.busy} onClick=${() => decide(false)}>${t('Reject')}</button>
      </div>`}
    <${ErrorBox} error=${a.error} />
  </li>`;
}

// ---------------------------------------------------------------- audit

function Audit({ user }) {
  const [f, setF] = useState({ action: '', reference: '', from: '', to: '' });
  const [events, setEvents] = useState([]);
  const [pageInfo, setPageInfo] = useState(null);
  const list = useAction();
  const verify = useAction();
  const exp = useAction();
  const [report, setReport] = useState(null);
  const [checkpoints, setCheckpoints] = useState(null);
  const canVerify = user.role !== 'SUPERVISOR';
  const load = (after) => list.run(async () => {
    const filter = {};
    if (f.action.trim()) filter.action = f.action.trim();
    if (f.from) filter.from = new Date(f.from).toISOString();
    if (f.to) filter.to = new Date(f.to).toISOString();
    if (f.reference.trim()) {
      const r = await api.gql('query Ref($r: String!) { complaintByReference(reference: $r) { id } }', { r: f.reference.trim() });
      if (!r.complaintByReference) throw new api.ApiError(`no complaint ${f.reference}`, 'NOT_FOUND');
      filter.complaintId = r.complaintByReference.id;
    }
    const d = await api.gql(`query Events($f: AuditFilter, $a: String) { auditEvents(filter: $f, first: 50, after: $a) { pageInfo { hasNextPage endCursor } edges { node { ${EVENT_FIELDS} } } } }`, { f: filter, a: after || null });
    const got = d.auditEvents.edges.map((e) => e.node);
    setEvents(after ? [...events, ...got] : got);
    setPageInfo(d.auditEvents.pageInfo);
  });
  useEffect(() => { load(); if (canVerify) api.gql('query { auditCheckpoints(first: 10) { seq createdAt eventCount chainCount merkleRoot } }').then((d) => setCheckpoints(d.auditCheckpoints), () => {}); }, []);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  return html`<main>
    <h1>${t('Audit trail')}</h1>
    ${canVerify ? html`<section class="verify" aria-labelledby="verify-h"><h2 id="verify-h">${t('Verify')}</h2>
      <button type="button" disabled=${verify.busy} onClick=${() => verify.run(async () => { const d = await api.gql('query { verifyAuditTrail { ok checkedEvents checkpointsChecked warnings firstFailure { chainKey seq reason } } }'); setReport(d.verifyAuditTrail); })}>${t('Verify')}</button>
      <button type="button" disabled=${exp.busy} onClick=${() => exp.run(() => api.download('/audit/export'))}>${t('Export')}</button>
      <${ErrorBox} error=${verify.error || exp.error} />
      ${report ? html`<div class=${report.ok ? 'ok' : 'error'} role="status">
        <strong>${report.ok ? t('Verified') : t('Verification failed')}</strong>: ${report.checkedEvents} ${t('events checked')}, ${report.checkpointsChecked} ${t('checkpoints checked')}
        ${report.firstFailure ? html`<div>${t('First failure')}: <code>${report.firstFailure.chainKey}</code> #${report.firstFailure.seq}: ${report.firstFailure.reason}</div>` : null}
        ${report.warnings.map((w) => html`<div class="warn">${w}</div>`)}</div>` : null}
      ${checkpoints ? html`<h3>${t('Checkpoints')}</h3>${checkpoints.length === 0 ? html`<p class="muted">${t('None.')}</p>` : html`<ul class="plain">${checkpoints.map((cp) => html`<li>#${cp.seq} · ${when(cp.createdAt)} · ${cp.eventCount} / ${cp.chainCount} · <code class="hash">${cp.merkleRoot.slice(0, 16)}…</code></li>`)}</ul>`}` : null}
    </section>` : null}
    <form class="filters" onSubmit=${(e) => { e.preventDefault(); load(); }}>
      <${Field} label=${t('Action')}><input value=${f.action} placeholder="complaint.created" onInput=${set('action')} /><//>
      <${Field} label=${t('Complaint reference')}><input value=${f.reference} onInput=${set('reference')} /><//>
      <${Field} label=${t('From')}><input type="datetime-local" value=${f.from} onInput=${set('from')} /><//>
      <${Field} label=${t('To')}><input type="datetime-local" value=${f.to} onInput=${set('to')} /><//>
      <button type="submit">${t('Apply')}</button>
    </form>
    <${ErrorBox} error=${list.error} />
    <${EventTable} events=${events} />
    ${pageInfo && pageInfo.hasNextPage ? html`<button type="button" onClick=${() => load(pageInfo.endCursor)}>${t('Load more')}</button>` : null}
  </main>`;
}

// ---------------------------------------------------------------- admin

function Users() {
  const q = useQuery('query { users(first: 100) { edges { node { id email displayName role active authorityLimit version team { id name } } } } teams { id name tier } }', {}, []);
  const [v, setV] = useState({ email: '', displayName: '', role: 'AGENT', teamId: '' });
  const [reset, setReset] = useState(null);
  const a = useAction();
  const rowAction = useAction();
  // Administrators never choose passwords: a one-time token, shown once, for the user to redeem.
  const issueReset = (u) => rowAction.run(async () => {
    const data = await api.gql('mutation R($id: ID!) { issuePasswordReset(userId: $id) { token expiresAt } }', { id: u.id });
    setReset({ email: u.email, ...data.issuePasswordReset });
  });
  const set = (k) => (e) => setV({ ...v, [k]: e && e.target ? e.target.value : e });
  const create = () => a.run(async () => {
    await api.gql('mutation New($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { email: v.email, displayName: v.displayName, role: v.role, teamId: v.teamId || null } });
    setV({ ...v, email: '', displayName: '' }); q.reload();
  });
  const teams = q.data ? q.data.teams : [];
  return html`<main><h1>${t('Users')}</h1>
    <${ErrorBox} error=${q.error || rowAction.error} />
    ${q.data ? html`<div class="scroll"><table class="list"><thead><tr><th>${t('Email')}</th><th>${t('Display name')}</th><th>${t('Role')}</th><th>${t('Team')}</th><th>${t('Authority limit')}</th><th>${t('Active')}</th><th></th></tr></thead>
      <tbody>${q.data.users.edges.map(({ node: u }) => html`<tr><td>${u.email}</td><td>${u.displayName}</td><td>${label(u.role)}</td><td>${u.team ? u.team.name : '–'}</td><td>${u.authorityLimit}</td>
        <td>${u.active ? t('yes') : t('no')}</td><td>${u.active ? html`<button type="button" onClick=${() => rowAction.run(async () => { await api.gql('mutation D($id: ID!) { deactivateUser(id: $id) { id } }', { id: u.id }); q.reload(); })}>${t('Deactivate')} <span class="sr">${u.email}</span></button>` : null}
        <button type="button" onClick=${() => issueReset(u)}>${t('Reset password')} <span class="sr">${u.email}</span></button></td></tr>`)}</tbody></table></div>` : html`<p>${t('Loading…')}</p>`}
    ${reset ? html`<p role="status">${t('Password reset token for')} ${reset.email} (${t('until')} ${reset.expiresAt}): <code>${reset.token}</code></p>` : null}
    <h2>${t('Create user')}</h2>
    <form class="grid" onSubmit=${(e) => { e.preventDefault(); create(); }}>
      <${Field} label=${t('Email')} error=${a.fieldError('input.email')}><input type="email" value=${v.email} onInput=${set('email')} /><//>
      <${Field} label=${t('Display name')} error=${a.fieldError('input.displayName')}><input value=${v.displayName} onInput=${set('displayName')} /><//>
      <${Field} label=${t('Role')}><${Select} value=${v.role} onChange=${set('role')} options=${ENUMS.Role} /><//>
      <${Field} label=${t('Team')} error=${a.fieldError('input.teamId')}><select value=${v.teamId} onChange=${set('teamId')}><option value="">–</option>${teams.map((tm) => html`<option value=${tm.id}>${tm.name}</option>`)}</select><//>
      ${a.error && !a.error.field ? html`<${ErrorBox} error=${a.error} />` : null}
      <button type="submit" disabled=${a.busy}>${t('Create user')}</button>
    </form></main>`;
}

function Teams() {
  const q = useQuery('query { teams { id name tier } }', {}, []);
  const [v, setV] = useState({ name: '', tier: 'TIER1' });
  const a = useAction();
  const create = () => a.run(async () => { await api.gql('mutation T($i: CreateTeamInput!) { createTeam(input: $i) { id } }', { i: v }); setV({ ...v, name: '' }); q.reload(); });
  return html`<main><h1>${t('Teams')}</h1><${ErrorBox} error=${q.error} />
    ${q.data ? html`<ul class="plain">${q.data.teams.map((tm) => html`<li>${tm.name} · ${label(tm.tier)}</li>`)}</ul>` : null}
    <h2>${t('Create team')}</h2>
    <form class="grid" onSubmit=${(e) => { e.preventDefault(); create(); }}>
      <${Field} label=${t('Name')} error=${a.fieldError('input.name')}><input value=${v.name} onInput=${(e) => setV({ ...v, name: e.target.value })} /><//>
      <${Field} label=${t('Tier')}><${Select} value=${v.tier} onChange=${(x) => setV({ ...v, tier: x })} options=${ENUMS.Tier} /><//>
      ${a.error && !a.error.field ? html`<${ErrorBox} error=${a.error} />` : null}
      <button type="submit" disabled=${a.busy}>${t('Create team')}</button></form></main>`;
}

function Sla() {
  const q = useQuery('query { slaPolicies { severity category firstResponseMinutes resolutionMinutes businessHoursOnly updatedAt } }', {}, []);
  const [v, setV] = useState({ severity: 'HIGH', category: '', firstResponseMinutes: '30', resolutionMinutes: '1440', businessHoursOnly: false });
  const a = useAction();
  const save = () => a.run(async () => {
    await api.gql('mutation S($i: SlaPolicyInput!) { upsertSlaPolicy(input: $i) { severity } }', { i: { severity: v.severity, category: v.category || null,
      firstResponseMinutes: Number(v.firstResponseMinutes), resolutionMinutes: Number(v.resolutionMinutes), businessHoursOnly: v.businessHoursOnly } });
    q.reload();
  });
  return html`<main><h1>${t('SLA policies')}</h1><${ErrorBox} error=${q.error} />
    ${q.data ? html`<div class="scroll"><table class="list"><thead><tr><th>${t('Severity')}</th><th>${t('Category')}</th><th>${t('First response (min)')}</th><th>${t('Resolution (min)')}</th><th>${t('Business hours only')}</th></tr></thead>
      <tbody>${q.data.slaPolicies.map((p) => html`<tr><td>${label(p.severity)}</td><td>${p.category ? label(p.category) : t('Any')}</td><td>${p.firstResponseMinutes}</td><td>${p.resolutionMinutes}</td><td>${p.businessHoursOnly ? t('yes') : t('no')}</td></tr>`)}</tbody></table></div>` : null}
    <form class="grid" onSubmit=${(e) => { e.preventDefault(); save(); }}>
      <${Field} label=${t('Severity')}><${Select} value=${v.severity} onChange=${(x) => setV({ ...v, severity: x })} options=${ENUMS.Severity} /><//>
      <${Field} label=${t('Category')}><${Select} any value=${v.category} onChange=${(x) => setV({ ...v, category: x || '' })} options=${ENUMS.Category} /><//>
      <${Field} label=${t('First response (min)')} error=${a.fieldError('input.firstResponseMinutes')}><input type="number" value=${v.firstResponseMinutes} onInput=${(e) => setV({ ...v, firstResponseMinutes: e.target.value })} /><//>
      <${Field} label=${t('Resolution (min)')} error=${a.fieldError('input.resolutionMinutes')}><input type="number" value=${v.resolutionMinutes} onInput=${(e) => setV({ ...v, resolutionMinutes: e.target.value })} /><//>
      <${Field} label=${t('Business hours only')}><input type="checkbox" checked=${v.businessHoursOnly} onChange=${(e) => setV({ ...v, businessHoursOnly: e.target.checked })} /><//>
      ${a.error && !a.error.field ? html`<${ErrorBox} error=${a.error} />` : null}
      <button type="submit" disabled=${a.busy}>${t('Save policy')}</button></form></main>`;
}

// ---------------------------------------------------------------- app

function home(role) {
  if (role === 'ADMIN') return '/users';
  if (role === 'AUDITOR') return '/audit';
  return '/complaints';
}

function App() {
  const [config, setConfig] = useState(null);
  const [ready, setReady] = useState(false);
  const [, setVersion] = useState(0);
  const [route, setRoute] = useState(location.hash.slice(1) || '/');
  const [lang, setLangState] = useState(getLang());
  const [liveStatus, setLiveStatus] = useState(null);
  const [live, setLive] = useState(null);
  const user = api.session.user;

  useEffect(() => {
    fetch('/console/config.json').then((r) => r.json()).then(setConfig, () => setConfig({ demo: false, demoAccounts: [] }));
    const off = api.onSession(() => setVersion((n) => n + 1));
    api.resume().finally(() => setReady(true));
    const onHash = () => setRoute(location.hash.slice(1) || '/');
    window.addEventListener('hashchange', onHash);
    return () => { off(); window.removeEventListener('hashchange', onHash); };
  }, []);

  // One WebSocket per signed-in user.
  const userId = user ? user.id : null;
  useEffect(() => {
    if (!userId) { setLive(null); setLiveStatus(null); return undefined; }
    const l = new api.Live((s) => setLiveStatus({ ...s, at: Date.now() }));
    setLive(l);
    return () => l.close();
  }, [userId]);

  const onLang = (next) => { setLang(next); setLangState(next); };
  if (!ready) return html`<p class="loading">${t('Loading…')}</p>`;
  if (!user) return html`<div class="page"><div class="langbar"><label for="lang-signin">${t('Language')}</label>
    <select id="lang-signin" value=${lang} onChange=${(e) => onLang(e.target.value)}><option value="en">English</option><option value="zh">简体中文</option></select></div>
    <${SignIn} config=${config} notice=${api.session.notice} /></div>`;

  let page;
  const parts = route.split('/').filter(Boolean);
  switch (parts[0]) {
    case 'complaints': page = html`<${ComplaintList} user=${user} key="all" />`; break;
    case 'overdue': page = html`<${ComplaintList} user=${user} overdueOnly key="overdue" />`; break;
    case 'new': page = html`<${Intake} />`; break;
    case 'complaint': page = html`<${ComplaintPage} id=${parts[1]} user=${user} live=${live} key=${parts[1]} />`; break;
    case 'queue': page = html`<${Queue} user=${user} live=${live} />`; break;
    case 'callbacks': page = html`<${CallbackQueue} />`; break;
    case 'work': page = html`<${WorkQueue} />`; break;
    case 'groups': page = html`<${GroupList} user=${user} />`; break;
    case 'group': page = html`<${GroupPage} id=${parts[1]} user=${user} key=${parts[1]} />`; break;
    case 'grants': page = html`<${RoleGrants} />`; break;
    case 'analysis': page = html`<${Dashboard} />`; break;
    case 'audit': page = html`<${Audit} user=${user} />`; break;
    case 'users': page = html`<${Users} />`; break;
    case 'teams': page = html`<${Teams} />`; break;
    case 'sla': page = html`<${Sla} />`; break;
    default: go(`#${home(user.role)}`); page = null;
  }
  return html`<div class="page" lang=${lang === 'zh' ? 'zh-CN' : 'en'}>
    <${Nav} user=${user} route=${route} live=${liveStatus} lang=${lang} onLang=${onLang} />
    ${page}
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
