//! `POST /graphql` with `multipart/form-data`: the GraphQL multipart request
//! spec (what Apollo Upload Client and urql send: `operations`, `map`, then
//! the files). Each file is hashed (SHA-256), sniffed and written to the
//! evidence store's staging area *while it arrives*, in bounded memory; the
//! operation then runs with the staged files, and whatever a mutation did not
//! claim is discarded. Over `CASEWORK_MAX_UPLOAD_BYTES` the request answers
//! 413 `PAYLOAD_TOO_LARGE` and leaves no blob behind.

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use axum::{
    extract::Request,
    http::{HeaderMap, HeaderName, StatusCode, header},
    response::Response,
};
use bytes::BytesMut;
use multer::{Constraints, Multipart, SizeLimit};
use sha2::{Digest, Sha256};

use super::{
    AppState,
    errors::error_body,
    graphql::{UPLOAD_MARKER, execute, refuse_upload_markers, request_context, too_large},
};
use crate::{
    domain::evidence::{SNIFF_BYTES, sniff},
    error::code,
    service::evidence::{StagedFile, StagedUploads},
    storage::EvidenceStore,
};

/// Files per request (`uploadEvidence` takes one; a little room for batching clients).
const MAX_FILES: usize = 10;
/// Bytes gathered before each write to the store.
const WRITE_BUFFER: usize = 256 * 1024;

/// Headers that make a browser send a CORS preflight, as Apollo Server asks of
/// multipart requests (a `multipart/form-data` POST is otherwise a "simple"
/// cross-site request): `apollo-require-preflight: true` or
/// `x-apollo-operation-name: <name>` (Apollo Client sets the latter).
pub const PREFLIGHT: HeaderName = HeaderName::from_static("apollo-require-preflight");
pub const OPERATION_NAME: HeaderName = HeaderName::from_static("x-apollo-operation-name");

/// Whether the request carries a non-empty preflight-forcing header.
pub fn has_preflight_header(headers: &HeaderMap) -> bool {
    [PREFLIGHT, OPERATION_NAME]
        .iter()
        .any(|name| headers.get(name).is_some_and(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace)))
}

pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn bad_request(message: &str) -> Response {
    error_body(StatusCode::BAD_REQUEST, code::VALIDATION, message)
}

fn internal() -> Response {
    error_body(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "internal error")
}

pub async fn post(state: &AppState, peer: SocketAddr, request: Request) -> Response {
    let settings = &state.services.settings;
    let headers = request.headers().clone();
    if !has_preflight_header(&headers) {
        return bad_request(
            "multipart requests need an `apollo-require-preflight: true` or `x-apollo-operation-name` header (CSRF protection)",
        );
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return bad_request("multipart/form-data without a boundary");
    };
    // Room for the files plus the `operations` and `map` parts.
    let max_file = settings.max_upload_bytes;
    let max_total = max_file.saturating_add(2 * settings.max_body_bytes as u64);
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_total) {
        return too_large();
    }
    // Authenticate before reading a byte of a file: anonymous callers store nothing.
    let ctx = request_context(&state.services, &headers, peer).await;
    let user = match ctx.actor() {
        Ok(actor) => actor.user_id,
        Err(error) => return error_body(StatusCode::UNAUTHORIZED, error.code(), &error.to_string()),
    };
    // At most CASEWORK_UPLOADS_PER_USER at once; the slot is freed when this returns.
    let _slot = match state.services.guards.upload_slot(user) {
        Ok(slot) => slot,
        Err(error) => return error_body(StatusCode::TOO_MANY_REQUESTS, error.code(), "too many uploads at once; wait for one to finish"),
    };

    let limits = SizeLimit::new()
        .whole_stream(max_total)
        .per_field(max_file.saturating_add(1))
        .for_field("operations", settings.max_body_bytes as u64)
        .for_field("map", settings.max_body_bytes as u64);
    let mut multipart =
        Multipart::with_constraints(request.into_body().into_data_stream(), boundary, Constraints::new().size_limit(limits));
    let staged = Arc::new(StagedUploads::new(state.services.evidence.clone()));
    let mut operations: Option<async_graphql::Request> = None;
    let mut map: Option<HashMap<String, Vec<String>>> = None;
    let mut files = 0;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return multipart_error(&error),
        };
        match field.name().map(str::to_owned).as_deref() {
            Some("operations") => {
                let bytes = match field.bytes().await {
                    Ok(bytes) => bytes,
                    Err(error) => return multipart_error(&error),
                };
                let Ok(request) = serde_json::from_slice::<async_graphql::Request>(&bytes) else {
                    return bad_request("`operations` must be one GraphQL request as JSON (batches are not supported)");
                };
                if let Some(refused) = refuse_upload_markers(&request) {
                    return refused;
                }
                // Nothing is staged unless the operation is an upload.
                if !is_upload_operation(&request) {
                    return bad_request("a multipart request may only run the uploadEvidence mutation");
                }
                operations = Some(request);
            }
            Some("map") => {
                let bytes = match field.bytes().await {
                    Ok(bytes) => bytes,
                    Err(error) => return multipart_error(&error),
                };
                let Ok(parsed) = serde_json::from_slice::<HashMap<String, Vec<String>>>(&bytes) else {
                    return bad_request("`map` must be a JSON object of file field names to variable paths");
                };
                map = Some(parsed);
            }
            Some(name) => {
                let (Some(request), Some(map)) = (operations.as_mut(), map.as_mut()) else {
                    return bad_request("send the `operations` and `map` parts before the files");
                };
                // Parts the map does not name are skipped unread.
                let Some(paths) = map.remove(name) else { continue };
                files += 1;
                if files > MAX_FILES {
                    return bad_request("too many files in one request");
                }
                let file = match stage(&*state.services.evidence, field, max_file).await {
                    Ok(file) => file,
                    Err(StageError::TooLarge) => return too_large(),
                    Err(StageError::Multipart(error)) => return multipart_error(&error),
                    Err(StageError::Store(error)) => {
                        tracing::error!(%error, "writing an upload to the evidence store");
                        return internal();
                    }
                };
                let size = file.size;
                let index = staged.push(file);
                if let Err(error) = state.services.guards.take_upload_bytes(user, size) {
                    staged.discard_unclaimed().await;
                    return error_body(StatusCode::TOO_MANY_REQUESTS, error.code(), "the daily upload quota is used up");
                }
                for path in paths {
                    if !set_upload(request, &path, index) {
                        return bad_request(&format!("`map` names {path:?}, which is not a variable of the operation"));
                    }
                }
            }
            None => {}
        }
    }
    let Some(request) = operations else { return bad_request("the multipart request has no `operations` part") };
    match map {
        None => return bad_request("the multipart request has no `map` part"),
        Some(rest) if !rest.is_empty() => return bad_request("`map` names files that were not sent"),
        Some(_) => {}
    }
    let response = execute(state, &headers, ctx, request.data(staged.clone())).await;
    staged.discard_unclaimed().await;
    response
}

/// Whether the operation to run is a mutation selecting only `uploadEvidence`
/// (decided before any file is staged).
fn is_upload_operation(request: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else { return false };
    let operation = match (&document.operations, &request.operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()),
        (DocumentOperations::Multiple(_), None) => None,
    };
    operation.is_some_and(|op| {
        op.node.ty == OperationType::Mutation
            && !op.node.selection_set.node.items.is_empty()
            && op.node.selection_set.node.items.iter().all(|item| match &item.node {
                Selection::Field(field) => field.node.name.node.as_str() == "uploadEvidence",
                _ => false,
            })
    })
}

enum StageError {
    TooLarge,
    Multipart(multer::Error),
    Store(std::io::Error),
}

/// Streams one file part into the store's staging area, hashing and keeping
/// the first bytes for sniffing; at most [`WRITE_BUFFER`] bytes are held.
async fn stage(store: &dyn EvidenceStore, mut field: multer::Field<'_>, max: u64) -> Result<StagedFile, StageError> {
    let filename = field.file_name().unwrap_or_default().to_owned();
    let declared_content_type = field.content_type().map(ToString::to_string);
    let mut writer = store.stage().await.map_err(StageError::Store)?;
    let mut hasher = Sha256::new();
    let mut head: Vec<u8> = Vec::new();
    let mut buffer = BytesMut::with_capacity(WRITE_BUFFER);
    let mut size: u64 = 0;
    let failure = loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break None,
            Err(multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. }) => {
                break Some(StageError::TooLarge);
            }
            Err(error) => break Some(StageError::Multipart(error)),
        };
        size += chunk.len() as u64;
        if size > max {
            break Some(StageError::TooLarge);
        }
        hasher.update(&chunk);
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        buffer.extend_from_slice(&chunk);
        if buffer.len() >= WRITE_BUFFER
            && let Err(error) = writer.write(buffer.split().freeze()).await
        {
            break Some(StageError::Store(error));
        }
    };
    if failure.is_none()
        && !buffer.is_empty()
        && let Err(error) = writer.write(buffer.split().freeze()).await
    {
        writer.abort().await;
        return Err(StageError::Store(error));
    }
    if let Some(failure) = failure {
        writer.abort().await;
        return Err(failure);
    }
    let staging_key = writer.finish().await.map_err(StageError::Store)?;
    let complete = size <= head.len() as u64;
    Ok(StagedFile {
        filename,
        declared_content_type,
        size,
        sha256: hex::encode(hasher.finalize()),
        sniffed: sniff(&head, complete),
        staging_key,
    })
}

/// Points the variable at `path` (`variables.file`, `variables.files.0`) to
/// the staged upload `index`, as async-graphql's `Upload` scalar reads it.
fn set_upload(request: &mut async_graphql::Request, path: &str, index: usize) -> bool {
    let Some(rest) = path.strip_prefix("variables.") else { return false };
    let mut parts = rest.split('.');
    let Some(first) = parts.next() else { return false };
    let Some(mut current) = request.variables.get_mut(first) else { return false };
    for part in parts {
        current = match current {
            async_graphql::Value::List(items) => match part.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(item) => item,
                None => return false,
            },
            async_graphql::Value::Object(fields) => match fields.get_mut(part) {
                Some(field) => field,
                None => return false,
            },
            _ => return false,
        };
    }
    *current = async_graphql::Value::String(format!("{UPLOAD_MARKER}{index}"));
    true
}

fn multipart_error(error: &multer::Error) -> Response {
    match error {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => too_large(),
        multer::Error::StreamReadFailed(cause) if cause.to_string().contains("length limit exceeded") => too_large(),
        other => bad_request(&format!("malformed multipart request: {other}")),
    }
}
