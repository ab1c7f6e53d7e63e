//! Where evidence files live, behind one trait: a local directory (the
//! default) or an S3-compatible bucket. Blobs are content-addressed by their
//! SHA-256. A new blob is first written to a staging location while the
//! upload streams in, then promoted to its content address in one step (a
//! rename) once the upload is accepted, or discarded: a refused or broken
//! upload never leaves a partial blob at a content address.

pub mod clamd;
mod local;
mod s3;

use std::{io, ops::Range, pin::Pin, sync::Arc};

use bytes::Bytes;
use futures_util::Stream;

pub use local::LocalStore;
pub use s3::S3Store;

use crate::config::Settings;

/// The bytes of a stored blob, in chunks.
pub type BlobStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A blob being written to staging.
#[async_trait::async_trait]
pub trait BlobWriter: Send {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()>;
    /// Completes the staged blob and returns its staging key (to promote or discard).
    async fn finish(self: Box<Self>) -> io::Result<String>;
    /// Removes what was written so far.
    async fn abort(self: Box<Self>);
}

#[async_trait::async_trait]
pub trait EvidenceStore: Send + Sync + 'static {
    /// Starts a new blob in staging.
    async fn stage(&self) -> io::Result<Box<dyn BlobWriter>>;
    /// Moves a finished staged blob to `key`, its content address (replacing
    /// a blob already there, which should hold the same bytes).
    async fn promote(&self, staging_key: &str, key: &str) -> io::Result<()>;
    /// Removes a staged blob that will not be kept, or a blob the garbage
    /// collector found unreferenced (a missing one is not an error).
    async fn discard(&self, staging_key: &str) -> io::Result<()>;
    /// Reads a blob, or the byte range of it.
    async fn read(&self, key: &str, range: Option<Range<u64>>) -> io::Result<BlobStream>;
    /// Whether a blob exists at `key`.
    async fn exists(&self, key: &str) -> io::Result<bool>;
    /// For logs: which store this is.
    fn describe(&self) -> String;
    /// Removes staged files a crash left behind (untouched for
    /// [`STALE_STAGING`]); returns how many. Stores without a staging area
    /// of their own (S3 multipart uploads expire by bucket rule) do nothing.
    async fn clean_staging(&self) -> io::Result<usize> {
        Ok(0)
    }
}

/// The content address of a blob: `sha256/ab/cd/abcd…`.
/// A staged file not written to for this long belongs to no live upload.
pub const STALE_STAGING: std::time::Duration = std::time::Duration::from_secs(15 * 60);

pub fn content_key(sha256_hex: &str) -> String {
    format!("sha256/{}/{}/{}", &sha256_hex[..2], &sha256_hex[2..4], sha256_hex)
}

/// The store the settings ask for: S3 when `CASEWORK_EVIDENCE_URL` is an
/// `s3://bucket/prefix` URL, else the local directory `CASEWORK_EVIDENCE_DIR`.
pub fn from_settings(settings: &Settings) -> anyhow::Result<Arc<dyn EvidenceStore>> {
    match settings.evidence_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => Ok(Arc::new(S3Store::new(url, &settings.s3_options)?)),
        None => Ok(Arc::new(LocalStore::new(settings.evidence_dir.clone()))),
    }
}

pub(crate) fn staging_key() -> String {
    format!("staging/{}", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_keys_fan_out_by_prefix() {
        let sha = "ab".repeat(32);
        assert_eq!(super::content_key(&sha), format!("sha256/ab/ab/{sha}"));
    }
}
