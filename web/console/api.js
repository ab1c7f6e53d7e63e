// The console's only door to casework: the public GraphQL API over HTTP,
// graphql-transport-ws for live updates, multipart uploads and the evidence
// download — exactly what a customer's own single-page app would use.

/** An error answered by the API, with its `extensions.code` (and `field`). */
export class ApiError extends Error {
  constructor(message, code, field, status) {
    super(message);
    this.code = code || 'INTERNAL';
    this.field = field || null;
    this.status = status || 0;
  }
}

function firstError(body, status) {
  const e = (body && body.errors && body.errors[0]) || {};
  const ext = e.extensions || {};
  return new ApiError(e.message || `HTTP ${status}`, ext.code, ext.field, status);
}

// ---------------------------------------------------------------- session
// The access token lives in memory only; the refresh token in sessionStorage
// (this tab) so a reload keeps the session. Refreshed a minute before expiry;
// a refused refresh (reuse detected, revoked, expired) signs out.

const REFRESH_KEY = 'casework.refreshToken';
const listeners = new Set();
export const session = { accessToken: null, expiresAt: null, user: null, notice: null };
let refreshTimer = null;

export function onSession(fn) { listeners.add(fn); return () => listeners.delete(fn); }
function changed() { for (const fn of listeners) fn(session); }

function adopt(payload) {
  session.accessToken = payload.accessToken;
  session.expiresAt = new Date(payload.expiresAt);
  session.user = payload.user;
  session.notice = null;
  sessionStorage.setItem(REFRESH_KEY, payload.refreshToken);
  clearTimeout(refreshTimer);
  const lead = Math.max(5000, Math.min(60000, (session.expiresAt - Date.now()) / 4));
  refreshTimer = setTimeout(() => refresh().catch(() => {}), Math.max(1000, session.expiresAt - Date.now() - lead));
  changed();
}

function dropSession(notice) {
  clearTimeout(refreshTimer);
  session.accessToken = null;
  session.expiresAt = null;
  session.user = null;
  session.notice = notice || null;
  sessionStorage.removeItem(REFRESH_KEY);
  changed();
}

const USER_FIELDS = 'id email displayName role authorityLimit team { id name tier }';
const AUTH = `accessToken refreshToken expiresAt user { ${USER_FIELDS} }`;

export async function login(email, password) {
  const data = await gql(`mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { ${AUTH} } }`,
    { e: email, p: password }, { anonymous: true });
  adopt(data.login);
}

let refreshing = null;
/** Rotates the refresh token; on refusal the session ends with the API's reason. */
export function refresh() {
  if (refreshing) return refreshing;
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) return Promise.resolve(false);
  refreshing = gql(`mutation Refresh($t: String!) { refreshSession(refreshToken: $t) { ${AUTH} } }`, { t: token }, { anonymous: true })
    .then((data) => { adopt(data.refreshSession); return true; })
    .catch((e) => {
      if (e.code === 'UNAUTHENTICATED' || e.code === 'FORBIDDEN') dropSession({ message: e.message, code: e.code });
      throw e;
    })
    .finally(() => { refreshing = null; });
  return refreshing;
}

export async function logout() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  try {
    if (token) await gql('mutation Logout($t: String!) { logout(refreshToken: $t) }', { t: token });
  } finally {
    dropSession(null);
  }
}

/** On load: resume this tab's session from its refresh token, if any. */
export async function resume() {
  if (!sessionStorage.getItem(REFRESH_KEY)) return false;
  try { return await refresh(); } catch (_) { return false; }
}

// ---------------------------------------------------------------- GraphQL over HTTP

function authHeaders() {
  return session.accessToken ? { authorization: `Bearer ${session.accessToken}` } : {};
}

/** Runs one operation; resolves to `data`, rejects with the first error as an ApiError. */
export async function gql(query, variables = {}, options = {}) {
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: Object.assign({ 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        options.anonymous ? {} : authHeaders()),
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new ApiError(`network error: ${e.message}`, 'NETWORK');
  }
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  if (body && body.errors && body.errors.length) {
    const error = firstError(body, response.status);
    if (error.code === 'UNAUTHENTICATED' && !options.anonymous && !options.retried && sessionStorage.getItem(REFRESH_KEY)) {
      // The access token expired (a sleeping laptop): refresh once and retry.
      if (await refresh().catch(() => false)) return gql(query, variables, Object.assign({}, options, { retried: true }));
    }
    error.all = body.errors;
    throw error;
  }
  if (!response.ok || !body) throw new ApiError(`HTTP ${response.status}`, 'INTERNAL', null, response.status);
  return body.data;
}

// ---------------------------------------------------------------- files

/**
 * Uploads evidence with the GraphQL multipart request spec, reporting progress
 * (0..1). Sends `apollo-require-preflight` so a browser cannot forge it cross-site.
 */
export function uploadEvidence(complaintId, kind, file, description, onProgress) {
  const operations = {
    query: `mutation Upload($c: ID!, $k: EvidenceKind!, $f: Upload!, $d: String) {
      uploadEvidence(complaintId: $c, kind: $k, file: $f, description: $d) { id filename size sha256 contentType downloadUrl } }`,
    variables: { c: complaintId, k: kind, f: null, d: description || null },
  };
  const form = new FormData();
  form.append('operations', JSON.stringify(operations));
  form.append('map', JSON.stringify({ 0: ['variables.f'] }));
  form.append('0', file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/graphql');
    xhr.setRequestHeader('apollo-require-preflight', 'true');
    xhr.setRequestHeader('x-apollo-operation-name', 'Upload');
    if (session.accessToken) xhr.setRequestHeader('authorization', `Bearer ${session.accessToken}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError('network error during the upload', 'NETWORK'));
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (!body || (body.errors && body.errors.length)) return reject(firstError(body, xhr.status));
      resolve(body.data.uploadEvidence);
    };
    xhr.send(form);
  });
}

/** GETs a protected file with the bearer token and saves it under `filename`. */
export async function download(url, filename) {
  let response;
  try {
    response = await fetch(url, { headers: authHeaders() });
  } catch (e) {
    throw new ApiError(`network error: ${e.message}`, 'NETWORK');
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    throw firstError(body, response.status);
  }
  const disposition = response.headers.get('content-disposition') || '';
  const named = /filename="?([^";]+)"?/.exec(disposition);
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = filename || (named && named[1]) || 'download';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60000);
}

// ---------------------------------------------------------------- graphql-transport-ws

/**
 * One WebSocket for the console's subscriptions, re-authenticated at each
 * connect. A lost connection reconnects with exponential backoff (1 s … 30 s);
 * `onStatus` hears {state: 'connecting'|'open'|'waiting', retryIn, attempt}.
 */
export class Live {
  constructor(onStatus) {
    this.onStatus = onStatus || (() => {});
    this.subs = new Map();
    this.nextId = 1;
    this.attempt = 0;
    this.closed = false;
    this.connect();
  }

  connect() {
    if (this.closed) return;
    this.onStatus({ state: 'connecting', attempt: this.attempt });
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql/ws`;
    const ws = new WebSocket(url, 'graphql-transport-ws');
    this.ws = ws;
    this.acked = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${session.accessToken}` } }));
    ws.onmessage = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch (_) { return; }
      if (msg.type === 'connection_ack') {
        this.acked = true;
        this.attempt = 0;
        this.onStatus({ state: 'open' });
        for (const [id, sub] of this.subs) this.sendSubscribe(id, sub);
      } else if (msg.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong' }));
      } else if (msg.type === 'next') {
        const sub = this.subs.get(msg.id);
        if (sub) {
          if (msg.payload.errors && msg.payload.errors.length) sub.onError && sub.onError(firstError(msg.payload, 200));
          else sub.onData(msg.payload.data);
        }
      } else if (msg.type === 'error') {
        const sub = this.subs.get(msg.id);
        if (sub && sub.onError) sub.onError(firstError({ errors: msg.payload }, 200));
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws || this.closed) return;
      this.attempt += 1;
      const delay = Math.min(30000, 1000 * 2 ** (this.attempt - 1));
      this.onStatus({ state: 'waiting', retryIn: delay, attempt: this.attempt });
      // A fresh token first: the old one may be why the server closed.
      this.timer = setTimeout(() => { refresh().catch(() => {}).finally(() => this.connect()); }, delay);
    };
  }

  sendSubscribe(id, sub) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.acked) {
      this.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: sub.query, variables: sub.variables || {} } }));
    }
  }

  /** Subscribes; returns the function that unsubscribes. */
  subscribe(query, variables, onData, onError) {
    const id = String(this.nextId++);
    const sub = { query, variables, onData, onError };
    this.subs.set(id, sub);
    this.sendSubscribe(id, sub);
    return () => {
      this.subs.delete(id);
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ id, type: 'complete' }));
    };
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }
}
