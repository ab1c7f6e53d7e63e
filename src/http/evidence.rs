//! `GET /evidence/{id}/content`: streams an evidence file to a caller who may
//! read its complaint (anyone else, signed in or not, gets 404). The file is
//! served as an attachment with the type sniffed at upload, `nosniff`, a
//! sandboxing CSP and HTTP Range support. Its SHA-256 is checked before the
//! answer (an altered or missing blob answers a clear 409 `CONFLICT`, logged)
//! and again while a whole file streams (a mismatch then aborts the transfer).

use std::{io, net::SocketAddr, ops::Range, sync::Arc};

use axum::{
    body::Body,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{StreamExt, stream};
use sha2::{Digest, Sha256};

use super::{
    AppState,
    errors::{app_error, error_body},
    graphql::request_context,
};
use crate::{
    error::code,
    ids::{self, Kind},
    service::evidence as service,
    storage::{BlobStream, EvidenceStore},
};
use entity::evidence;

fn not_found() -> Response {
    error_body(StatusCode::NOT_FOUND, code::NOT_FOUND, "evidence not found")
}

pub async fn content(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some((Kind::Evidence, id)) = ids::parse(&id) else { return not_found() };
    let ctx = request_context(&state.services, &headers, peer).await;
    let evidence = match service::for_download(&state.services, &ctx, id).await {
        Ok(evidence) => evidence,
        Err(error) => return app_error(error),
    };
    let store = &*state.services.evidence;
    // The whole blob is hashed at most once per CASEWORK_EVIDENCE_VERIFY_PERIOD_SECS
    // (and on the first download after a start); ranges never re-hash it.
    let guards = &state.services.guards;
    let check = if guards.recently_verified(&evidence.sha256) {
        Ok(None)
    } else {
        guards.count_hash_check();
        verify(store, &evidence).await
    };
    match check {
        Ok(None) => guards.verified(&evidence.sha256),
        Ok(Some(problem)) => {
            guards.forget(&evidence.sha256);
            tracing::error!(evidence = %evidence.id, key = evidence.storage_key, expected = evidence.sha256, problem, "evidence blob failed its integrity check");
            return error_body(
                StatusCode::CONFLICT,
                code::CONFLICT,
                "the stored file no longer matches the SHA-256 recorded at upload; it was not served. The incident is logged",
            );
        }
        Err(error) => {
            tracing::error!(%error, evidence = %evidence.id, "reading an evidence blob");
            return error_body(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "internal error");
        }
    }

    let size = evidence.size_bytes.max(0) as u64;
    let range = match requested_range(&headers, size) {
        RangeRequest::Whole => None,
        RangeRequest::Part(range) => Some(range),
        RangeRequest::Unsatisfiable => {
            let mut response =
                error_body(StatusCode::RANGE_NOT_SATISFIABLE, code::VALIDATION, "the requested range is outside the file");
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return response;
        }
    };
    let blob = match store.read(&evidence.storage_key, range.clone()).await {
        Ok(blob) => blob,
        Err(error) => {
            tracing::error!(%error, evidence = %evidence.id, "opening an evidence blob");
            return error_body(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "internal error");
        }
    };
    let (status, length, body) = match &range {
        Some(range) => (StatusCode::PARTIAL_CONTENT, range.end - range.start, Body::from_stream(blob)),
        None => (StatusCode::OK, size, Body::from_stream(verified(blob, evidence.clone()))),
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    let content_type = HeaderValue::from_str(&evidence.detected_content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", evidence.sha256)) {
        h.insert(header::ETAG, etag);
    }
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&evidence.filename)) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Some(range) = &range
        && let Ok(value) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", range.start, range.end - 1))
    {
        h.insert(header::CONTENT_RANGE, value);
    }
    response
}

/// Hashes the whole blob: `None` when it matches the record, or what is wrong.
async fn verify(store: &dyn EvidenceStore, evidence: &evidence::Model) -> io::Result<Option<&'static str>> {
    let mut blob = match store.read(&evidence.storage_key, None).await {
        Ok(blob) => blob,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some("the blob is missing")),
        Err(e) => return Err(e),
    };
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = blob.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    if size != evidence.size_bytes as u64 {
        return Ok(Some("the blob's size differs"));
    }
    if hex::encode(hasher.finalize()) != evidence.sha256 {
        return Ok(Some("the blob's SHA-256 differs"));
    }
    Ok(None)
}

/// Passes the blob through while hashing it; at the end, a mismatch (the blob
/// changed since [`verify`]) turns into a stream error, which aborts the
/// response instead of completing it.
fn verified(blob: BlobStream, evidence: evidence::Model) -> BlobStream {
    struct State {
        blob: BlobStream,
        hasher: Option<Sha256>,
        size: u64,
        evidence: evidence::Model,
    }
    let state = State { blob, hasher: Some(Sha256::new()), size: 0, evidence };
    stream::unfold(state, |mut state| async move {
        let hasher = state.hasher.as_mut()?;
        match state.blob.next().await {
            Some(Ok(chunk)) => {
                hasher.update(&chunk);
                state.size += chunk.len() as u64;
                Some((Ok(chunk), state))
            }
            Some(Err(error)) => {
                state.hasher = None;
                Some((Err(error), state))
            }
            None => {
                let digest = hex::encode(state.hasher.take()?.finalize());
                if digest == state.evidence.sha256 && state.size == state.evidence.size_bytes as u64 {
                    return None;
                }
                tracing::error!(evidence = %state.evidence.id, expected = state.evidence.sha256, actual = digest, "evidence blob changed while it was served; transfer aborted");
                Some((Err(io::Error::other("evidence integrity check failed")), state))
            }
        }
    })
    .boxed()
}

#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    Whole,
    Part(Range<u64>),
    Unsatisfiable,
}

/// One `bytes=` range (RFC 9110 §14.1.2). Several ranges, or a malformed
/// header, are answered with the whole file, as the RFC allows.
fn requested_range(headers: &HeaderMap, size: u64) -> RangeRequest {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return RangeRequest::Whole };
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return RangeRequest::Whole };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else { return RangeRequest::Whole };
    let (start, end) = (start.trim(), end.trim());
    let range = match (start.parse::<u64>().ok(), end.parse::<u64>().ok()) {
        // bytes=-N: the last N bytes.
        (None, Some(suffix)) if start.is_empty() => {
            if suffix == 0 || size == 0 {
                return RangeRequest::Unsatisfiable;
            }
            size.saturating_sub(suffix)..size
        }
        (Some(first), None) if end.is_empty() => first..size,
        (Some(first), Some(last)) if last >= first => first..(last + 1).min(size),
        _ => return RangeRequest::Whole,
    };
    if range.start >= size { RangeRequest::Unsatisfiable } else { RangeRequest::Part(range) }
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded`.
fn content_disposition(filename: &str) -> String {
    let ascii: String =
        filename.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, size: u64) -> RangeRequest {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        requested_range(&headers, size)
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(range("bytes=0-9", 100), RangeRequest::Part(0..10));
        assert_eq!(range("bytes=90-", 100), RangeRequest::Part(90..100));
        assert_eq!(range("bytes=-10", 100), RangeRequest::Part(90..100));
        assert_eq!(range("bytes=-1000", 100), RangeRequest::Part(0..100));
        assert_eq!(range("bytes=50-1000", 100), RangeRequest::Part(50..100));
        assert_eq!(range("bytes=100-", 100), RangeRequest::Unsatisfiable);
        assert_eq!(range("bytes=0-1,5-6", 100), RangeRequest::Whole);
        assert_eq!(range("bytes=9-1", 100), RangeRequest::Whole);
        assert_eq!(range("items=0-1", 100), RangeRequest::Whole);
        assert_eq!(requested_range(&HeaderMap::new(), 100), RangeRequest::Whole);
    }

    #[test]
    fn dispositions_are_quoted_safely() {
        assert_eq!(content_disposition("photo 1.png"), "attachment; filename=\"photo 1.png\"; filename*=UTF-8''photo%201.png");
        assert_eq!(content_disposition("照片.jpg"), "attachment; filename=\"__.jpg\"; filename*=UTF-8''%E7%85%A7%E7%89%87.jpg");
    }
}
