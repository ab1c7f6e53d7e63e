//! Evidence in an S3-compatible bucket through `object_store`:
//! `s3://bucket/prefix` plus the usual `AWS_*` settings (credentials, region,
//! `AWS_ENDPOINT_URL` for MinIO and friends, `AWS_ALLOW_HTTP`). Uploads stream
//! as multipart uploads to `prefix/staging/<uuid>`; promotion copies to the
//! content address and deletes the staged object.

use std::{io, ops::Range, sync::Arc};

use anyhow::Context;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart,
    aws::{AmazonS3Builder, AmazonS3ConfigKey},
    path::Path,
};

use super::{BlobStream, BlobWriter, EvidenceStore, staging_key};

pub struct S3Store {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
}

impl S3Store {
    /// `url` is `s3://bucket[/prefix]`; `options` are `AWS_*`-style settings.
    pub fn new(url: &str, options: &[(String, crate::config::Secret)]) -> anyhow::Result<S3Store> {
        let rest = url
            .strip_prefix("s3://")
            .with_context(|| format!("CASEWORK_EVIDENCE_URL must look like s3://bucket/prefix, not {url:?}"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(!bucket.is_empty(), "CASEWORK_EVIDENCE_URL names no bucket");
        let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
        for (key, value) in options {
            if let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value.expose());
            }
        }
        let store = builder.build().context("configuring the S3 evidence store")?;
        Ok(S3Store { store: Arc::new(store), bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
    }

    fn path(&self, key: &str) -> Path {
        if self.prefix.is_empty() { Path::from(key) } else { Path::from(format!("{}/{key}", self.prefix)) }
    }
}

fn to_io(error: object_store::Error) -> io::Error {
    match error {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, error.to_string()),
        other => io::Error::other(other),
    }
}

/// Parts of 5 MiB (S3's minimum; up to 10 000 parts, ~48 GiB), at most 4 in
/// flight: an upload holds about 25 MiB however large the file.
const PART_SIZE: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 4;

struct S3Writer {
    upload: Option<WriteMultipart>,
    key: String,
}

#[async_trait::async_trait]
impl BlobWriter for S3Writer {
    async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        let upload = self.upload.as_mut().ok_or_else(|| io::Error::other("write after finish"))?;
        upload.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(to_io)?;
        upload.put(chunk);
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> io::Result<String> {
        let upload = self.upload.take().ok_or_else(|| io::Error::other("finished twice"))?;
        upload.finish().await.map_err(to_io)?;
        Ok(std::mem::take(&mut self.key))
    }

    async fn abort(mut self: Box<Self>) {
        if let Some(upload) = self.upload.take() {
            let _ = upload.abort().await;
        }
    }
}

impl Drop for S3Writer {
    /// A writer dropped mid-upload aborts its multipart upload in the background.
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

#[async_trait::async_trait]
impl EvidenceStore for S3Store {
    async fn stage(&self) -> io::Result<Box<dyn BlobWriter>> {
        let key = staging_key();
        let upload = self.store.put_multipart(&self.path(&key)).await.map_err(to_io)?;
        Ok(Box::new(S3Writer { upload: Some(WriteMultipart::new_with_chunk_size(upload, PART_SIZE)), key }))
    }

    async fn promote(&self, staging_key: &str, key: &str) -> io::Result<()> {
        let from = self.path(staging_key);
        let to = self.path(key);
        // Over an existing object (the same bytes, by its address) the copy
        // also repairs one that was altered.
        self.store.copy(&from, &to).await.map_err(to_io)?;
        self.store.delete(&from).await.map_err(to_io)
    }

    async fn discard(&self, staging_key: &str) -> io::Result<()> {
        match self.store.delete(&self.path(staging_key)).await {
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            other => other.map_err(to_io),
        }
    }

    async fn read(&self, key: &str, range: Option<Range<u64>>) -> io::Result<BlobStream> {
        let options = GetOptions { range: range.map(GetRange::Bounded), ..GetOptions::default() };
        let result = self.store.get_opts(&self.path(key), options).await.map_err(to_io)?;
        Ok(result.into_stream().map_err(to_io).boxed())
    }

    async fn exists(&self, key: &str) -> io::Result<bool> {
        match self.store.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(to_io(e)),
        }
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}
