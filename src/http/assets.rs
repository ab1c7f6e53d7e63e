//! The browser files embedded in the binary (web/): the console and the
//! vendored libraries copied by `web/vendor.sh` from pinned npm packages.
//! Nothing is fetched from a CDN, so the console and GraphiQL work on a closed
//! network under `default-src 'self'`.
//!
//! Each file is served with its content type, a strong ETag (a SHA-256 prefix of
//! its bytes, so `If-None-Match` answers 304), `Cache-Control: no-cache` (the
//! names carry no hash, so browsers revalidate) and our own CSP.

use std::sync::OnceLock;

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// The path under web/, which is also its URL under the mount point.
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $type:expr,)+) => {
        /// Every embedded file (a unit test checks the list against web/).
        pub static ASSETS: &[Asset] = &[
            $(Asset { path: $path, content_type: $type, bytes: include_bytes!(concat!("../../web/", $path)) },)+
        ];
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const SVG: &str = "image/svg+xml";

assets! {
    "console/index.html" => HTML,
    "console/app.js" => JS,
    "console/ui.js" => JS,
    "console/complaint.js" => JS,
    "console/closedloop.js" => JS,
    "console/callbacks.js" => JS,
    "console/groups.js" => JS,
    "console/work.js" => JS,
    "console/grants.js" => JS,
    "console/dashboard.js" => JS,
    "console/charts.js" => JS,
    "console/api.js" => JS,
    "console/i18n.js" => JS,
    "console/console.css" => CSS,
    "console/favicon.svg" => SVG,
    "graphiql/index.html" => HTML,
    "graphiql/init.js" => JS,
    "vendor/preact-htm.mjs" => JS,
    "vendor/react.production.min.js" => JS,
    "vendor/react-dom.production.min.js" => JS,
    "vendor/graphiql.min.js" => JS,
    "vendor/graphiql.min.css" => CSS,
}

/// The console's policy: only this server, for everything. No inline script
/// or style, no framing, no plugins.
pub const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// GraphiQL's policy: only this server too; its stylesheet embeds its fonts
/// as `data:` URLs and its editor sets inline styles.
pub const GRAPHIQL_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The embedded file at `path` (relative to web/).
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS.iter().map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.bytes))[..32])).collect()
    })
}

impl Asset {
    /// The strong ETag of the file's bytes.
    pub fn etag(&'static self) -> &'static str {
        let index = ASSETS.iter().position(|a| std::ptr::eq(a, self)).expect("an embedded asset");
        &etags()[index]
    }

    /// The file as a response under `csp`, or 304 when the client holds it.
    pub fn respond(&'static self, request_headers: &HeaderMap, csp: &'static str) -> Response {
        let (bytes, etag) = self.current();
        let fresh = request_headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { Body::from(bytes).into_response() };
        let headers = response.headers_mut();
        if !fresh {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        }
        if let Ok(value) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        response
    }

    /// The embedded bytes and their ETag.
    #[cfg(not(debug_assertions))]
    fn current(&'static self) -> (std::borrow::Cow<'static, [u8]>, std::borrow::Cow<'static, str>) {
        (self.bytes.into(), self.etag().into())
    }

    /// Debug builds read web/ from the source tree on each request when it is
    /// there, so editing the console needs no rebuild; release builds never do.
    #[cfg(debug_assertions)]
    fn current(&'static self) -> (std::borrow::Cow<'static, [u8]>, std::borrow::Cow<'static, str>) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web").join(self.path);
        match std::fs::read(path) {
            Ok(bytes) => {
                let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32]);
                (bytes.into(), etag.into())
            }
            Err(_) => (self.bytes.into(), self.etag().into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_under_web_is_embedded_and_nothing_else() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut on_disk = Vec::new();
        for dir in ["console", "graphiql", "vendor"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name().into_string().unwrap();
                if entry.file_type().unwrap().is_file() && !name.starts_with("package") {
                    on_disk.push(format!("{dir}/{name}"));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.path.to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn etags_are_strong_and_differ_per_file() {
        let tags: std::collections::HashSet<&str> = ASSETS.iter().map(|a| a.etag()).collect();
        assert_eq!(tags.len(), ASSETS.len());
        assert!(tags.iter().all(|t| t.starts_with('"') && !t.starts_with("W/")));
    }
}
