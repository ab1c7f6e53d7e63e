//! Evidence in a local directory: `<dir>/sha256/ab/cd/<sha256>`, written to
//! `<dir>/staging/<uuid>` first (same filesystem) and renamed atomically.

use std::{io, ops::Range, path::PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::{BlobStream, BlobWriter, EvidenceStore, staging_key};

pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> LocalStore {
        LocalStore { root }
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        // Keys are ours (`staging/<uuid>`, `sha256/…`), but never let one escape the root.
        if key.split('/').any(|part| part.is_empty() || part == "." || part == "..") || key.contains('\\') {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad storage key {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

struct LocalWriter {
    file: Option<tokio::fs::File>,
    path: PathBuf,
    key: String,
}

#[async_trait::async_trait]
impl BlobWriter for LocalWriter {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.write_all(&chunk).await,
            None => Err(io::Error::other("write after finish")),
        }
    }

    async fn finish(mut self: Box<Self>) -> io::Result<String> {
        let mut file = self.file.take().ok_or_else(|| io::Error::other("finished twice"))?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        Ok(std::mem::take(&mut self.key))
    }

    async fn abort(mut self: Box<Self>) {
        self.file.take();
        let _ = tokio::fs::remove_file(&self.path).await;
        self.key.clear();
    }
}

impl Drop for LocalWriter {
    /// A writer dropped mid-upload (the client went away) removes its partial file.
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[async_trait::async_trait]
impl EvidenceStore for LocalStore {
    async fn stage(&self) -> io::Result<Box<dyn BlobWriter>> {
        let key = staging_key();
        let path = self.path(&key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
        Ok(Box::new(LocalWriter { file: Some(file), path, key }))
    }

    async fn promote(&self, staging_key: &str, key: &str) -> io::Result<()> {
        let from = self.path(staging_key)?;
        let to = self.path(key)?;
        if let Some(parent) = to.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        // Atomic; over an existing blob (the same bytes, by its address) it
        // also repairs a copy that was altered in place.
        tokio::fs::rename(&from, &to).await
    }

    async fn discard(&self, staging_key: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(staging_key)?).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    async fn read(&self, key: &str, range: Option<Range<u64>>) -> io::Result<BlobStream> {
        let mut file = tokio::fs::File::open(self.path(key)?).await?;
        let stream = match range {
            Some(range) => {
                file.seek(io::SeekFrom::Start(range.start)).await?;
                let limited = tokio::io::AsyncReadExt::take(file, range.end - range.start);
                tokio_util::io::ReaderStream::with_capacity(limited, 64 * 1024).boxed()
            }
            None => tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024).boxed(),
        };
        Ok(stream)
    }

    async fn exists(&self, key: &str) -> io::Result<bool> {
        tokio::fs::try_exists(self.path(key)?).await
    }

    async fn clean_staging(&self) -> io::Result<usize> {
        let dir = self.root.join("staging");
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await? {
            let metadata = entry.metadata().await?;
            let stale = metadata.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age >= super::STALE_STAGING);
            if metadata.is_file() && stale && tokio::fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }
}
