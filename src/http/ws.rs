//! `GET /graphql/ws`: subscriptions over `graphql-transport-ws`, our own
//! implementation of the protocol (async-graphql's resolves the caller once
//! and runs queries and mutations with it for the socket's whole life).
//!
//! - Only subscriptions run here; a query or mutation is answered with an
//!   `error` message (send them over `POST /graphql`).
//! - The caller is re-checked (active, role, team, token version) when an
//!   operation starts and before every event it delivers; a user who was
//!   deactivated, demoted, moved or signed out everywhere, or whose access
//!   token expired, has the socket closed with 4403.
//! - Each operation has its own [`RequestContext`], loaders and audited-read set.
//! - Messages are at most `CASEWORK_MAX_BODY_BYTES`; `connection_init` must
//!   come within `CASEWORK_WS_INIT_TIMEOUT_SECS`; subscriptions are capped per
//!   connection and per user.
//! - Close codes of the protocol: 4400 invalid message, 4401 subscribe before
//!   `connection_ack`, 4403 forbidden, 4408 no `connection_init` in time, 4409
//!   duplicate operation id, 4429 a second `connection_init`.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::{
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::HeaderMap,
    response::Response,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::AppState;
use crate::{
    error::code,
    graphql::loaders::Loaders,
    service::{RequestContext, auth},
};

pub const INVALID_MESSAGE: u16 = 4400;
pub const UNAUTHORIZED: u16 = 4401;
pub const FORBIDDEN: u16 = 4403;
pub const INIT_TIMEOUT: u16 = 4408;
pub const DUPLICATE_ID: u16 = 4409;
pub const TOO_MANY_INITS: u16 = 4429;

/// The upgrade: the only sub-protocol is `graphql-transport-ws`.
pub async fn ws(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let limit = state.services.settings.max_body_bytes;
    let origin = super::graphql::request_origin(&state.services, &headers, peer);
    upgrade
        .protocols(["graphql-transport-ws"])
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| serve(state, origin, socket))
}

/// What the connection task hears from its operations.
enum Signal {
    /// The operation ended (completed, failed or stopped).
    Done(String),
    /// The caller may no longer act: close the connection.
    Revoked,
}

/// Subscriptions per user in this instance.
fn per_user() -> &'static Mutex<HashMap<Uuid, usize>> {
    static COUNTS: OnceLock<Mutex<HashMap<Uuid, usize>>> = OnceLock::new();
    COUNTS.get_or_init(Mutex::default)
}

/// One running subscription; frees its per-user slot when dropped.
struct Running {
    task: tokio::task::AbortHandle,
    user: Uuid,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
        let mut counts = per_user().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.user);
            }
        }
    }
}

/// Takes one of the user's subscription slots; false when all are taken.
fn reserve_slot(user: Uuid, cap: usize) -> bool {
    let mut counts = per_user().lock().unwrap_or_else(|e| e.into_inner());
    let count = counts.entry(user).or_insert(0);
    if *count >= cap {
        return false;
    }
    *count += 1;
    true
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.to_owned().into() }))
}

fn text(value: Value) -> Message {
    Message::Text(value.to_string().into())
}

fn error_message(id: &str, code: &str, message: &str) -> Message {
    text(json!({ "type": "error", "id": id, "payload": [{ "message": message, "extensions": { "code": code } }] }))
}

async fn serve(state: Arc<AppState>, origin: RequestContext, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut outgoing) = mpsc::channel::<Message>(64);
    // The writer: everything the server sends goes through `out`; a close frame ends it.
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let code = connection(&state, origin, &mut stream, &out).await;
    if let Some((code, reason)) = code {
        let _ = out.send(close(code, reason)).await;
    }
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
}

type Incoming = futures_util::stream::SplitStream<WebSocket>;

/// Runs the protocol; returns the close code to send, if any.
async fn connection(
    state: &Arc<AppState>,
    origin: RequestContext,
    stream: &mut Incoming,
    out: &mpsc::Sender<Message>,
) -> Option<(u16, &'static str)> {
    let services = &state.services;
    let settings = &services.settings;

    // 1. connection_init, in time.
    let deadline = tokio::time::Instant::now() + settings.ws_init_timeout;
    let session = loop {
        let message = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Some((INIT_TIMEOUT, "Connection initialisation timeout")),
            Ok(None | Some(Err(_))) => return None,
            Ok(Some(Ok(message))) => message,
        };
        let value = match parse(message) {
            Parsed::Message(value) => value,
            Parsed::Skip => continue,
            Parsed::Closed => return None,
            Parsed::Invalid => return Some((INVALID_MESSAGE, "Invalid message")),
        };
        match value["type"].as_str() {
            Some("connection_init") => {
                let Some(token) = init_token(&value["payload"]) else {
                    return Some((FORBIDDEN, "Forbidden: send {\"authorization\": \"Bearer <token>\"}"));
                };
                match auth::authenticate(services, &token).await {
                    Ok(session) => break session,
                    Err(_) => return Some((FORBIDDEN, "Forbidden")),
                }
            }
            Some("subscribe") => return Some((UNAUTHORIZED, "Unauthorized")),
            Some("ping") => {
                let _ = out.send(text(json!({ "type": "pong" }))).await;
            }
            Some("pong") => {}
            _ => return Some((INVALID_MESSAGE, "Invalid message")),
        }
    };
    if out.send(text(json!({ "type": "connection_ack" }))).await.is_err() {
        return None;
    }

    // 2. Operations, until the socket closes, the token expires or the caller changes.
    let user = session.actor.user_id;
    let version = session.token_version;
    let sid = session.session;
    let expires_in = (session.expires_at - chrono::Utc::now().timestamp()).max(0) as u64;
    let expiry = tokio::time::sleep(Duration::from_secs(expires_in));
    tokio::pin!(expiry);
    let (signals, mut signalled) = mpsc::unbounded_channel::<Signal>();
    let mut running: HashMap<String, Running> = HashMap::new();
    loop {
        let message = tokio::select! {
            _ = &mut expiry => return Some((FORBIDDEN, "Forbidden: the access token expired")),
            signal = signalled.recv() => {
                match signal {
                    Some(Signal::Done(id)) => { running.remove(&id); }
                    Some(Signal::Revoked) | None => return Some((FORBIDDEN, "Forbidden: the session is no longer valid")),
                }
                continue;
            }
            message = stream.next() => match message {
                None | Some(Err(_)) => return None,
                Some(Ok(message)) => message,
            },
        };
        let value = match parse(message) {
            Parsed::Message(value) => value,
            Parsed::Skip => continue,
            Parsed::Closed => return None,
            Parsed::Invalid => return Some((INVALID_MESSAGE, "Invalid message")),
        };
        match value["type"].as_str() {
            Some("ping") => {
                let _ = out.send(text(json!({ "type": "pong" }))).await;
            }
            Some("pong") => {}
            Some("connection_init") => return Some((TOO_MANY_INITS, "Too many initialisation requests")),
            Some("complete") => {
                let Some(id) = value["id"].as_str() else { return Some((INVALID_MESSAGE, "Invalid message")) };
                running.remove(id);
            }
            Some("subscribe") => {
                let (Some(id), Some(payload)) = (value["id"].as_str(), value.get("payload")) else {
                    return Some((INVALID_MESSAGE, "Invalid message"));
                };
                if id.is_empty() || id.len() > 128 {
                    return Some((INVALID_MESSAGE, "Invalid message"));
                }
                if running.contains_key(id) {
                    return Some((DUPLICATE_ID, "Subscriber for the id already exists"));
                }
                let request = match subscription_request(payload) {
                    Ok(request) => request,
                    Err(Some(error)) => {
                        let _ = out.send(error_message(id, code::VALIDATION, error)).await;
                        continue;
                    }
                    Err(None) => return Some((INVALID_MESSAGE, "Invalid message")),
                };
                if running.len() >= settings.ws_max_subscriptions {
                    let _ = out.send(error_message(id, code::RATE_LIMITED, "too many subscriptions on this connection")).await;
                    continue;
                }
                // The caller as they are now, for this operation only.
                let Ok(now) = auth::recheck(services, user, version, sid).await else {
                    return Some((FORBIDDEN, "Forbidden: the session is no longer valid"));
                };
                if !reserve_slot(user, settings.ws_max_subscriptions_per_user) {
                    let _ = out.send(error_message(id, code::RATE_LIMITED, "too many subscriptions for this user")).await;
                    continue;
                }
                let ctx = RequestContext { actor: Some(now.actor), session: sid, auth_error: None, audited_reads: Default::default(), ..origin.clone() };
                let request = request.data(Arc::new(Loaders::new(services))).data(ctx);
                let task = tokio::spawn(operation(state.clone(), id.to_owned(), request, (user, version, sid), out.clone(), signals.clone()));
                running.insert(id.to_owned(), Running { task: task.abort_handle(), user });
            }
            _ => return Some((INVALID_MESSAGE, "Invalid message")),
        }
    }
}

/// Runs one subscription: re-checks the caller before each event it delivers.
async fn operation(
    state: Arc<AppState>,
    id: String,
    request: async_graphql::Request,
    (user, version, sid): (Uuid, i32, Option<Uuid>),
    out: mpsc::Sender<Message>,
    signals: mpsc::UnboundedSender<Signal>,
) {
    let mut responses = std::pin::pin!(state.schema.execute_stream(request));
    let mut first = true;
    while let Some(mut response) = responses.next().await {
        if auth::recheck(&state.services, user, version, sid).await.is_err() {
            let _ = signals.send(Signal::Revoked);
            return;
        }
        for error in &mut response.errors {
            super::graphql::classify(error);
        }
        let failed = first && response.data == async_graphql::Value::Null && !response.errors.is_empty();
        let message = if failed {
            json!({ "type": "error", "id": id, "payload": response.errors })
        } else {
            json!({ "type": "next", "id": id, "payload": response })
        };
        if out.send(text(message)).await.is_err() {
            return;
        }
        if failed {
            let _ = signals.send(Signal::Done(id));
            return;
        }
        first = false;
    }
    let _ = out.send(text(json!({ "type": "complete", "id": id }))).await;
    let _ = signals.send(Signal::Done(id));
}

enum Parsed {
    Message(Value),
    Skip,
    Closed,
    Invalid,
}

fn parse(message: Message) -> Parsed {
    match message {
        Message::Text(text) => match serde_json::from_str::<Value>(text.as_str()) {
            Ok(value) if value.get("type").is_some_and(Value::is_string) => Parsed::Message(value),
            _ => Parsed::Invalid,
        },
        Message::Ping(_) | Message::Pong(_) => Parsed::Skip,
        Message::Close(_) => Parsed::Closed,
        Message::Binary(_) => Parsed::Invalid,
    }
}

/// `{"authorization": "Bearer …"}` (either case), or the bare token under `token`.
fn init_token(payload: &Value) -> Option<String> {
    ["authorization", "Authorization"]
        .iter()
        .find_map(|key| payload.get(*key).and_then(Value::as_str).map(|v| super::graphql::bearer_token(v).unwrap_or(v)))
        .or_else(|| payload.get("token").and_then(Value::as_str))
        .map(|token| token.trim().to_owned())
}

/// The payload of `subscribe` as a request that is a subscription. `Err(None)`:
/// not a request at all (4400); `Err(Some(reason))`: refused with an `error`.
fn subscription_request(payload: &Value) -> Result<async_graphql::Request, Option<&'static str>> {
    let query = payload.get("query").and_then(Value::as_str).ok_or(None)?;
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = payload.get("operationName").and_then(Value::as_str) {
        request = request.operation_name(name);
    }
    match payload.get("variables") {
        None | Some(Value::Null) => {}
        Some(variables @ Value::Object(_)) => request = request.variables(async_graphql::Variables::from_json(variables.clone())),
        Some(_) => return Err(None),
    }
    if super::graphql::refuse_upload_markers(&request).is_some() {
        return Err(Some("files cannot be sent over WebSocket"));
    }
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return Err(Some("the query does not parse"));
    };
    let kind = match (&document.operations, &request.operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
        (DocumentOperations::Multiple(_), None) => None,
    };
    match kind {
        Some(OperationType::Subscription) => Ok(request),
        Some(_) => Err(Some("only subscriptions run over WebSocket; send queries and mutations with POST /graphql")),
        None => Err(Some("name the operation to run")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_subscriptions_are_accepted() {
        assert!(subscription_request(&json!({ "query": "subscription { escalationRequested { id } }" })).is_ok());
        assert!(matches!(subscription_request(&json!({ "query": "mutation { logoutAll }" })), Err(Some(_))));
        assert!(matches!(subscription_request(&json!({ "query": "{ me { id } }" })), Err(Some(_))));
        assert!(matches!(subscription_request(&json!({ "variables": {} })), Err(None)));
        let upload = json!({ "query": "subscription { escalationRequested { id } }", "variables": { "f": "#__graphql_file__:0" } });
        assert!(matches!(subscription_request(&upload), Err(Some(_))));
    }
}
