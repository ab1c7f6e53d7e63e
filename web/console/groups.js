// Group complaints: the complaint page's group panel (its group, or opening /
// joining one, with the suggestions of `groupCandidates`), the groups list
// (`complaintGroups`, Relay pagination, status filter) and the group page
// (members, status, a group update to every member, close with a reason).
//
// `viewerCan` has no group flags, so the console offers what the API allows
// (DESIGN: supervisors, and agents of the lead team, run a group; joining or
// leaving also changes the member, which `viewerCan` covers) and shows the
// API's message and code whenever it refuses anyway.

import { html, useState } from '../vendor/preact-htm.mjs';
import * as api from './api.js';
import { t, label, when } from './i18n.js';
import { ENUMS, ErrorBox, Field, Select, Badge, useQuery, useAction, go } from './ui.js';

const GROUP_FIELDS = 'id reference title cause status version createdAt closedAt lastUpdateAt leadTeam { id name } createdBy { displayName }';

/** Whether the caller may run a group led by `leadTeam` (policy::manage_group). */
export function mayRun(user, leadTeam) {
  if (user.role === 'SUPERVISOR') return true;
  return user.role === 'AGENT' && !!user.team && !!leadTeam && user.team.id === leadTeam.id;
}

const members = (n) => `${n} ${t(n === 1 ? 'member' : 'members')}`;

// ---------------------------------------------------------------- on the complaint page

const PANEL = `query GroupPanel($id: ID!) { complaint(id: $id) { id group { ${GROUP_FIELDS} members(first: 1) { totalCount } } } }`;
const OPEN_GROUPS = `query OpenGroups { complaintGroups(status: OPEN, first: 50) { edges { node { id reference title leadTeam { id name } } } } }`;
const CANDIDATES = `query Candidates { groupCandidates(first: 10) { category matchedOn value size complaints { id reference title } } }`;

/** The complaint's group, or (for those who may) opening one from it or joining an open one. */
export function GroupPanel({ c, user, onDone }) {
  const q = useQuery(PANEL, { id: c.id }, [c.id, c.version]);
  const group = q.data && q.data.complaint ? q.data.complaint.group : null;
  // Joining needs an open complaint the caller may work; opening a group also a team to lead it.
  const mayJoin = c.viewerCan.postProgressUpdate && (user.role === 'SUPERVISOR' || user.role === 'AGENT');
  const reload = () => { q.reload(); onDone(); };
  return html`<section class="group-panel" aria-labelledby="group-h"><h2 id="group-h">${t('Group complaint')}</h2>
    <${ErrorBox} error=${q.error} />
    ${q.loading && !q.data ? html`<p>${t('Loading…')}</p>` : null}
    ${group ? html`<${GroupSummary} c=${c} group=${group} user=${user} onDone=${reload} />` : null}
    ${q.data && !group ? html`<p class="muted">${t('Not part of a group.')}</p>
      ${mayJoin ? html`<${CandidatesFor} c=${c} />
        <${JoinGroup} c=${c} user=${user} onDone=${reload} />
        ${user.team || user.role === 'SUPERVISOR' ? html`<${CreateGroup} user=${user} ids=${[c.id]} onDone=${reload} />` : null}` : null}` : null}
  </section>`;
}

function GroupSummary({ c, group, user, onDone }) {
  const a = useAction();
  const leave = () => a.run(async () => {
    await api.gql('mutation Leave($g: ID!, $ids: [ID!]!) { removeFromComplaintGroup(groupId: $g, complaintIds: $ids) { id } }', { g: group.id, ids: [c.id] });
    onDone();
  });
  return html`<div class="group-summary">
    <p><a href=${`#/group/${group.id}`}>${group.reference}</a> ${group.title} <${Badge} value=${group.status} /></p>
    <p class="muted">${members(group.members.totalCount)} · ${t('Lead team')}: ${group.leadTeam ? group.leadTeam.name : '–'}</p>
    ${c.viewerCan.update && mayRun(user, group.leadTeam) ? html`<button type="button" disabled=${a.busy} onClick=${leave}>${t('Remove from group')}</button>` : null}
    <${ErrorBox} error=${a.error} />
  </div>`;
}

/** The suggested clusters this complaint is part of (`groupCandidates`). */
function CandidatesFor({ c }) {
  const q = useQuery(CANDIDATES, {}, []);
  const mine = q.data ? q.data.groupCandidates.filter((g) => g.complaints.some((x) => x.id === c.id)) : [];
  if (q.error) return html`<${ErrorBox} error=${q.error} />`;
  if (!mine.length) return null;
  return html`<div class="candidates"><p>${t('Looks like a group with')}:</p>
    <ul class="plain">${mine.map((g) => html`<li>${label(g.matchedOn)} “${g.value}” · ${members(g.size)}:
      ${g.complaints.filter((x) => x.id !== c.id).map((x) => html` <a href=${`#/complaint/${x.id}`}>${x.reference}</a>`)}</li>`)}</ul>
    <p class="muted"><a href="#/groups">${t('Open a group from the suggestions')}</a></p></div>`;
}

function JoinGroup({ c, user, onDone }) {
  const q = useQuery(OPEN_GROUPS, {}, []);
  const [groupId, setGroupId] = useState('');
  const a = useAction();
  const open = q.data ? q.data.complaintGroups.edges.map((e) => e.node).filter((g) => mayRun(user, g.leadTeam)) : [];
  const join = () => a.run(async () => {
    if (!groupId) throw new api.ApiError(t('Choose a group.'), 'VALIDATION', 'groupId');
    await api.gql('mutation Join($g: ID!, $ids: [ID!]!) { addToComplaintGroup(groupId: $g, complaintIds: $ids) { id } }', { g: groupId, ids: [c.id] });
    onDone();
  });
  if (q.error) return html`<${ErrorBox} error=${q.error} />`;
  if (!open.length) return null;
  return html`<form class="inline join-group" onSubmit=${(e) => { e.preventDefault(); join(); }}>
    <${Field} label=${t('Group to join')} error=${a.fieldError('groupId') || a.fieldError('complaintIds')}><select value=${groupId} onChange=${(e) => setGroupId(e.target.value)}>
      <option value="">–</option>${open.map((g) => html`<option value=${g.id}>${g.reference} · ${g.title}</option>`)}</select><//>
    ${a.error && !a.error.field ? html`<${ErrorBox} error=${a.error} />` : null}
    <button type="submit" disabled=${a.busy}>${t('Add to group')}</button>
  </form>`;
}

/** Opens a group led by the caller's team (supervisors may pick another) with `ids` as its first members. */
function CreateGroup({ user, ids, onDone, title: initialTitle }) {
  const [v, setV] = useState({ title: initialTitle || '', cause: '', leadTeamId: '' });
  const teams = useQuery(user.role === 'SUPERVISOR' ? 'query Teams { teams { id name } }' : null, {}, [user.role]);
  const a = useAction();
  const set = (k) => (e) => setV({ ...v, [k]: e.target.value });
  const create = () => a.run(async () => {
    const input = { title: v.title, cause: v.cause, complaintIds: ids, leadTeamId: v.leadTeamId || null };
    const d = await api.gql('mutation NewGroup($i: ComplaintGroupInput!) { createComplaintGroup(input: $i) { id reference } }', { i: input });
    if (onDone) onDone(d.createComplaintGroup);
    go(`#/group/${d.createComplaintGroup.id}`);
  });
  const fe = (n) => a.fieldError(`input.${n}`);
  return html`<details class="group-create"><summary>${t('Open a group complaint')}</summary>
    <form class="inline" onSubmit=${(e) => { e.preventDefault(); create(); }}>
      <${Field} label=${t('Group title')} error=${fe('title')}><input value=${v.title} onInput=${set('title')} /><//>
      <${Field} label=${t('Common cause')} error=${fe('cause')}><input value=${v.cause} onInput=${set('cause')} /><//>
      ${teams.data ? html`<${Field} label=${t('Lead team')} error=${fe('leadTeamId')}><select value=${v.leadTeamId} onChange=${set('leadTeamId')}>
        <option value="">${user.team ? `${user.team.name} (${t('your team')})` : '–'}</option>${teams.data.teams.map((tm) => html`<option value=${tm.id}>${tm.name}</option>`)}</select><//>` : null}
      ${a.error && !(a.error.field || '').startsWith('input.') ? html`<${ErrorBox} error=${a.error} />` : null}
      <button type="submit" disabled=${a.busy}>${t('Open group')}</button>
    </form></details>`;
}

// ---------------------------------------------------------------- groups list

const PAGE = 20;
const LIST = `query Groups($s: GroupStatus, $first: Int, $after: String) { complaintGroups(status: $s, first: $first, after: $after) {
  pageInfo { hasNextPage endCursor } edges { cursor node { ${GROUP_FIELDS} members(first: 1) { totalCount } } } } }`;

/** Group complaints the caller may see, oldest first; forward pages with a stack to go back. */
export function GroupList({ user }) {
  const [status, setStatus] = useState('OPEN');
  // The cursors of the pages seen so far (the API pages forwards only).
  const [cursors, setCursors] = useState([null]);
  const after = cursors[cursors.length - 1];
  const q = useQuery(LIST, { s: status || null, first: PAGE, after }, [status, after]);
  const conn = q.data && q.data.complaintGroups;
  const runs = user.role === 'SUPERVISOR' || user.role === 'AGENT';
  return html`<main>
    <h1>${t('Groups')}</h1>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <${Field} label=${t('Status')}><${Select} any value=${status} onChange=${(x) => { setStatus(x || ''); setCursors([null]); }} options=${ENUMS.GroupStatus} /><//>
    </form>
    <${ErrorBox} error=${q.error} />
    ${q.loading && !conn ? html`<p>${t('Loading…')}</p>` : null}
    ${conn ? html`${conn.edges.length === 0 ? null : html`<div class="scroll"><table class="list groups">
        <thead><tr><th>${t('Reference')}</th><th>${t('Title')}</th><th>${t('Status')}</th><th>${t('Members')}</th><th>${t('Lead team')}</th><th>${t('Created')}</th></tr></thead>
        <tbody>${conn.edges.map(({ node: g }) => html`<tr>
          <td><a href=${`#/group/${g.id}`}>${g.reference}</a></td><td>${g.title}</td><td><${Badge} value=${g.status} /></td>
          <td>${g.members.totalCount}</td><td>${g.leadTeam ? g.leadTeam.name : '–'}</td><td>${when(g.createdAt)}</td></tr>`)}</tbody>
      </table></div>`}
      ${conn.edges.length === 0 ? html`<p>${t('No groups.')}</p>` : null}
      <div class="pager">
        <button type="button" disabled=${cursors.length < 2} onClick=${() => setCursors(cursors.slice(0, -1))}>${t('Previous page')}</button>
        <button type="button" disabled=${!conn.pageInfo.hasNextPage} onClick=${() => setCursors([...cursors, conn.pageInfo.endCursor])}>${t('Next page')}</button>
      </div>` : null}
    ${runs ? html`<${Candidates} user=${user} />` : null}
  </main>`;
}

/** Clusters that look like a group; those who may open a group from one. */
function Candidates({ user }) {
  const q = useQuery(CANDIDATES, {}, []);
  const list = q.data ? q.data.groupCandidates : [];
  return html`<section aria-labelledby="cand-h"><h2 id="cand-h">${t('Suggested groups')}</h2>
    <p class="muted">${t('Open complaints recorded close together with the same category and the same order, product or location.')}</p>
    <${ErrorBox} error=${q.error} />
    ${q.data && list.length === 0 ? html`<p class="muted">${t('None.')}</p>` : null}
    <ul class="queue">${list.map((g) => html`<li class="card">
      <div class="card-head">${label(g.category)} · ${label(g.matchedOn)} “${g.value}” · ${members(g.size)}</div>
      <ul class="plain">${g.complaints.map((x) => html`<li><a href=${`#/complaint/${x.id}`}>${x.reference}</a> ${x.title}</li>`)}</ul>
      ${user.team || user.role === 'SUPERVISOR' ? html`<${CreateGroup} user=${user} ids=${g.complaints.map((x) => x.id)} title=${g.value} />` : null}
    </li>`)}</ul>
  </section>`;
}

// ---------------------------------------------------------------- group page

const GROUP = `query Group($id: ID!) { complaintGroup(id: $id) { ${GROUP_FIELDS}
  members(first: 50) { totalCount edges { node { id reference title status severity assignee { displayName } viewerCan { update } } } } } }`;

export function GroupPage({ id, user }) {
  const q = useQuery(GROUP, { id }, [id]);
  const g = q.data && q.data.complaintGroup;
  if (q.error) return html`<main><${ErrorBox} error=${q.error} /></main>`;
  if (!q.data) return html`<main><p>${t('Loading…')}</p></main>`;
  if (!g) return html`<main><${ErrorBox} error=${{ message: 'complaint group not found', code: 'NOT_FOUND' }} /></main>`;
  const runs = mayRun(user, g.leadTeam);
  const open = g.status === 'OPEN';
  return html`<main class="group-page">
    <h1><span class="ref">${g.reference}</span> ${g.title}</h1>
    <p class="status-line"><${Badge} value=${g.status} /> <span class="muted">${t('Version')} ${g.version}</span></p>
    <dl>
      <dt>${t('Common cause')}</dt><dd class="pre">${g.cause}</dd>
      <dt>${t('Lead team')}</dt><dd>${g.leadTeam ? g.leadTeam.name : '–'}</dd>
      <dt>${t('Opened by')}</dt><dd>${g.createdBy ? g.createdBy.displayName : '–'}, ${when(g.createdAt)}</dd>
      <dt>${t('Last group update')}</dt><dd>${when(g.lastUpdateAt)}</dd>
      ${g.closedAt ? html`<dt>${t('Closed')}</dt><dd>${when(g.closedAt)}</dd>` : null}
    </dl>
    <${Members} g=${g} runs=${runs} onDone=${q.reload} />
    ${runs && open ? html`<${GroupUpdate} g=${g} onDone=${q.reload} /><${AddMember} g=${g} onDone=${q.reload} /><${CloseGroup} g=${g} onDone=${q.reload} />` : null}
    ${!runs && open && (user.role === 'AGENT' || user.role === 'SUPERVISOR') ? html`<p class="muted">${t('Only supervisors and agents of the lead team run this group.')}</p>` : null}
  </main>`;
}

function Members({ g, runs, onDone }) {
  const a = useAction();
  const remove = (m) => a.run(async () => {
    await api.gql('mutation Remove($g: ID!, $ids: [ID!]!) { removeFromComplaintGroup(groupId: $g, complaintIds: $ids) { id } }', { g: g.id, ids: [m.id] });
    onDone();
  });
  const list = g.members.edges.map((e) => e.node);
  return html`<section aria-labelledby="members-h"><h2 id="members-h">${t('Members')} (${g.members.totalCount})</h2>
    <${ErrorBox} error=${a.error} />
    ${list.length === 0 ? html`<p class="muted">${t('None.')}</p>` : html`<div class="scroll"><table class="list members">
      <thead><tr><th>${t('Reference')}</th><th>${t('Title')}</th><th>${t('Status')}</th><th>${t('Severity')}</th><th>${t('Assignee')}</th>${runs ? html`<th></th>` : null}</tr></thead>
      <tbody>${list.map((m) => html`<tr data-reference=${m.reference}><td><a href=${`#/complaint/${m.id}`}>${m.reference}</a></td><td>${m.title}</td>
        <td><${Badge} value=${m.status} /></td><td><${Badge} value=${m.severity} kind="sev" /></td><td>${m.assignee ? m.assignee.displayName : '–'}</td>
        ${runs ? html`<td>${m.viewerCan.update ? html`<button type="button" disabled=${a.busy} onClick=${() => remove(m)}>${t('Remove')} <span class="sr">${m.reference}</span></button>` : null}</td>` : null}</tr>`)}</tbody>
    </table></div>`}
  </section>`;
}

/** One progress update told to every open member's customer (`postGroupUpdate`). */
function GroupUpdate({ g, onDone }) {
  const [v, setV] = useState({ message: '', delayReason: '', expected: '' });
  const [told, setTold] = useState(null);
  const a = useAction();
  const post = () => a.run(async () => {
    const input = { message: v.message, delayReason: v.delayReason || null, expectedResolutionAt: v.expected ? new Date(v.expected).toISOString() : null };
    const d = await api.gql('mutation GroupUpdate($g: ID!, $i: ProgressUpdateInput!) { postGroupUpdate(groupId: $g, input: $i) { updatedCount } }', { g: g.id, i: input });
    setTold(d.postGroupUpdate.updatedCount);
    setV({ message: '', delayReason: '', expected: '' });
    onDone();
  });
  return html`<form class="inline group-update" aria-label=${t('Tell every member')} onSubmit=${(e) => { e.preventDefault(); post(); }}>
    <h2>${t('Tell every member')}</h2>
    <${Field} label=${t('Update for the customers')} error=${a.fieldError('input.message')}><textarea rows="2" value=${v.message} onInput=${(e) => setV({ ...v, message: e.target.value })}></textarea><//>
    <${Field} label=${t('Delay reason')}><${Select} any value=${v.delayReason} onChange=${(x) => setV({ ...v, delayReason: x || '' })} options=${ENUMS.DelayReason} /><//>
    <${Field} label=${t('Expected resolution')} error=${a.fieldError('input.expectedResolutionAt')}><input type="datetime-local" value=${v.expected} onInput=${(e) => setV({ ...v, expected: e.target.value })} /><//>
    ${a.error && !(a.error.field || '').startsWith('input.') ? html`<${ErrorBox} error=${a.error} />` : null}
    ${told !== null ? html`<p class="ok" role="status">${t('Update posted to')} ${members(told)}.</p>` : null}
    <button type="submit" disabled=${a.busy}>${t('Post group update')}</button>
  </form>`;
}

function AddMember({ g, onDone }) {
  const [ref, setRef] = useState('');
  const a = useAction();
  const add = () => a.run(async () => {
    const found = await api.gql('query Ref($r: String!) { complaintByReference(reference: $r) { id } }', { r: ref.trim() });
    if (!found.complaintByReference) throw new api.ApiError(`no complaint ${ref.trim()}`, 'NOT_FOUND');
    await api.gql('mutation Add($g: ID!, $ids: [ID!]!) { addToComplaintGroup(groupId: $g, complaintIds: $ids) { id } }', { g: g.id, ids: [found.complaintByReference.id] });
    setRef(''); onDone();
  });
  return html`<form class="inline add-member" onSubmit=${(e) => { e.preventDefault(); add(); }}>
    <${Field} label=${t('Complaint reference to add')}><input value=${ref} placeholder="CMP-2026-000001" onInput=${(e) => setRef(e.target.value)} /><//>
    <${ErrorBox} error=${a.error} />
    <button type="submit" disabled=${a.busy}>${t('Add to group')}</button>
  </form>`;
}

function CloseGroup({ g, onDone }) {
  const [reason, setReason] = useState('');
  const a = useAction();
  const close = () => a.run(async () => {
    await api.gql('mutation CloseGroup($g: ID!, $r: String!) { closeComplaintGroup(groupId: $g, reason: $r) { id status } }', { g: g.id, r: reason });
    onDone();
  });
  return html`<form class="inline close-group" onSubmit=${(e) => { e.preventDefault(); close(); }}>
    <h2>${t('Close the group')}</h2>
    <p class="muted">${t('No new members and no more group updates; each member keeps its own lifecycle.')}</p>
    <${Field} label=${t('Reason for closing')} error=${a.fieldError('reason')}><input value=${reason} onInput=${(e) => setReason(e.target.value)} /><//>
    ${a.error && a.error.field !== 'reason' ? html`<${ErrorBox} error=${a.error} />` : null}
    <button type="submit" disabled=${a.busy}>${t('Close group')}</button>
  </form>`;
}
