// Small shared pieces of the console: enums, labelled fields, error boxes,
// badges, deadlines and the hooks that run GraphQL calls.

import { h, html, useState, useEffect, useRef } from '../vendor/preact-htm.mjs';
import * as api from './api.js';
import { t, label, when, span } from './i18n.js';

export const ENUMS = {
  Channel: ['PHONE', 'HOTLINE', 'ONLINE_CHAT', 'EMAIL', 'IN_STORE', 'WEB_FORM', 'SOCIAL_MEDIA'],
  Category: ['PRODUCT_QUALITY', 'SERVICE_ATTITUDE', 'LOGISTICS', 'SERVICE_DELAY', 'SYSTEM_FAILURE', 'DATA_LOSS', 'BILLING', 'OTHER'],
  Severity: ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'],
  Demand: ['REFUND', 'REPLACEMENT', 'REPAIR', 'COMPENSATION', 'APOLOGY', 'EXPLANATION', 'OTHER'],
  Emotion: ['CALM', 'AGITATED', 'ANGRY'],
  RootCause: ['OPERATOR_ERROR', 'SYSTEM_FAILURE', 'PRODUCT_DEFECT', 'EXTERNAL', 'FORCE_MAJEURE', 'CUSTOMER_SIDE', 'UNKNOWN'],
  Tier: ['TIER1', 'TIER2', 'TIER3'],
  Trigger: ['CUSTOMER_REQUEST', 'TECHNICAL', 'HIGH_IMPACT'],
  Status: ['NEW', 'ACKNOWLEDGED', 'INVESTIGATING', 'RESOLUTION_PROPOSED', 'PENDING_APPROVAL', 'CUSTOMER_ACCEPTED', 'RESOLVED', 'CLOSED', 'REOPENED'],
  EvidenceKind: ['CHAT_LOG', 'EMAIL', 'SCREENSHOT', 'PHOTO', 'VIDEO', 'CALL_RECORDING', 'DOCUMENT', 'OTHER'],
  NoteVisibility: ['INTERNAL', 'CUSTOMER_UPDATE'],
  LinkKind: ['RELATED', 'DUPLICATE', 'GROUP'],
  Role: ['AGENT', 'SUPERVISOR', 'LEGAL', 'AUDITOR', 'ADMIN'],
  DelayReason: ['AWAITING_THIRD_PARTY', 'AWAITING_CUSTOMER', 'AWAITING_STOCK', 'AWAITING_APPROVAL', 'TECHNICAL', 'OTHER'],
  ContactDirection: ['INBOUND', 'OUTBOUND'],
  ContactKind: ['CHASER', 'PROGRESS_UPDATE', 'CALLBACK', 'ACKNOWLEDGEMENT', 'INTAKE', 'OTHER'],
  // The outcomes a person chooses (the system sets RESOLVED_SATISFIED and RESOLVED_AT_FIRST_CONTACT).
  CloseOutcome: ['WITHDRAWN', 'DUPLICATE', 'EXPLAINED', 'DEMAND_REFUSED', 'UNREACHABLE'],
  WorkKind: ['INVESTIGATE', 'REPAIR', 'IMPLEMENT', 'REFUND_PAYOUT', 'OTHER'],
  GroupStatus: ['OPEN', 'CLOSED'],
  RoleGrantStatus: ['PENDING', 'APPROVED', 'REJECTED'],
};

// ---------------------------------------------------------------- small pieces

/** The API's message and code; never a silent failure. */
export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert"><strong>${error.message}</strong> <code class="code">${error.code}</code>${
    error.field ? html` <span class="field">(${error.field})</span>` : null}</div>`;
}

let idCounter = 0;

/** A labelled control (`<label for>`); `error` shows under it when the API named this field. */
export function Field({ label: text, error, children, hint }) {
  const id = useRef(`f${++idCounter}`).current;
  const errId = `${id}-err`;
  const child = Array.isArray(children) ? children.find((c) => c && c.type) : children;
  const control = child && child.type
    ? h(child.type, { ...child.props, ref: child.ref, id, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': error ? errId : undefined })
    : child;
  return html`<div class=${`fieldrow${error ? ' invalid' : ''}`}>
    <label for=${id}>${text}</label>
    ${control}
    ${hint ? html`<small>${hint}</small>` : null}
    ${error ? html`<div class="field-error" id=${errId} role="alert">${error.message} <code class="code">${error.code}</code></div>` : null}
  </div>`;
}

export function Select({ value, onChange, options, any, name, id }) {
  return html`<select id=${id} name=${name} value=${value || ''} onChange=${(e) => onChange(e.target.value || null)}>
    ${any ? html`<option value="">${t('Any')}</option>` : null}
    ${options.map((o) => html`<option value=${o}>${label(o)}</option>`)}
  </select>`;
}

export const Badge = ({ value, kind }) => html`<span class=${`badge ${kind || ''} v-${value}`}>${label(value)}</span>`;

/** Re-renders every `ms` so countdowns move. */
export function useNow(ms = 30000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => { const i = setInterval(() => setNow(Date.now()), ms); return () => clearInterval(i); }, [ms]);
  return now;
}

/** "due in 3 h" / "overdue by 20 min" with a breach mark. */
export function Deadline({ due, breached, done, now }) {
  if (!due) return '–';
  const left = new Date(due) - now;
  if (done) return html`<span class="muted">${when(due)}</span>`;
  const late = breached || left < 0;
  return html`<span class=${late ? 'late' : left < 3600000 ? 'soon' : ''} title=${when(due)}>
    ${late ? html`<span class="breach" aria-label=${t('Breached')}>⚠ </span>` : null}${late ? t('overdue by') : t('due in')} ${span(left)}</span>`;
}

/** Runs a GraphQL call with loading and error state (none while `query` is null). */
export function useQuery(query, variables, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    // No query (yet): nothing to run, e.g. while what it needs is loading.
    if (!query) { setState({ loading: false, data: null, error: null }); return undefined; }
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api.gql(query, variables).then(
      (data) => live && setState({ loading: false, data, error: null }),
      (error) => live && setState({ loading: false, data: null, error }),
    );
    return () => { live = false; };
  }, [...(deps || []), tick]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

/** A form whose submit runs `action`; shows the API error (and field errors through `fieldError`). */
export function useAction() {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const run = async (fn) => {
    setBusy(true); setError(null); setDone(false);
    try { const r = await fn(); setDone(true); return r; } catch (e) { setError(e); return undefined; } finally { setBusy(false); }
  };
  const fieldError = (name) => (error && error.field === name ? error : null);
  return { error, busy, done, run, fieldError, setError };
}

export const go = (hash) => { location.hash = hash; };

/** A collapsible form for one action. */
export function ActionForm({ title, children, onSubmit, a, open }) {
  return html`<details class="action" open=${open}>
    <summary>${title}</summary>
    <form onSubmit=${(e) => { e.preventDefault(); onSubmit(); }}>
      ${children}
      <${ErrorBox} error=${a.error} />
      <button type="submit" disabled=${a.busy}>${title}</button>
    </form>
  </details>`;
}
