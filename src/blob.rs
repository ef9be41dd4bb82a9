//! Blob storage through object_store: a local directory by default, any S3-protocol bucket
//! (AWS, MinIO, Garage) by configuration. Keys look like
//! `projects/{project}/geometries/{geometry}/original.stl`.
use crate::config::Config;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path as ObjPath;
use object_store::signer::Signer;
use object_store::{ObjectStore, WriteMultipart};
use std::sync::Arc;
use std::time::Duration;

/// Blob failures; `NotFound` is told apart so callers can answer 404.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("blob storage configuration: {0}")]
    Config(String),
    #[error("blob storage: {0}")]
    Backend(String),
}

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => BlobError::NotFound(path),
            other => BlobError::Backend(other.to_string()),
        }
    }
}

/// The configured object store, with a URL signer where the backend has one.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    signer: Option<Arc<dyn Signer>>,
    kind: &'static str,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blobs({})", self.kind)
    }
}

impl Blobs {
    /// Opens the store named by the configuration (creating a local directory if needed).
    pub fn from_config(cfg: &Config) -> Result<Blobs, BlobError> {
        match cfg.blobs.kind.as_str() {
            "s3" => {
                let s3 = &cfg.blobs.s3;
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_virtual_hosted_style_request(!s3.path_style)
                    .with_allow_http(s3.allow_http);
                if !s3.region.is_empty() {
                    b = b.with_region(&s3.region);
                }
                if let Some(e) = &s3.endpoint {
                    b = b.with_endpoint(e);
                }
                if let Some(k) = &s3.access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(k) = &s3.secret_access_key {
                    b = b.with_secret_access_key(k);
                }
                let s = Arc::new(b.build().map_err(|e| BlobError::Config(e.to_string()))?);
                Ok(Blobs { store: s.clone(), signer: Some(s), kind: "s3" })
            }
            _ => Self::local(&cfg.blob_dir()),
        }
    }

    /// A local-directory store rooted at `dir`.
    pub fn local(dir: &std::path::Path) -> Result<Blobs, BlobError> {
        // Owner-only: users' uploads and results are in it. (`flowcfd serve` also sets a
        // umask of 077, so that what object_store creates inside is owner-only too.)
        crate::config::private::create_dir_all(dir)
            .map_err(|e| BlobError::Config(format!("cannot create {}: {e}", dir.display())))?;
        let s = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| BlobError::Config(e.to_string()))?
            .with_automatic_cleanup(true);
        Ok(Blobs { store: Arc::new(s), signer: None, kind: "local" })
    }

    /// `local` or `s3`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    fn path(key: &str) -> Result<ObjPath, BlobError> {
        ObjPath::parse(key).map_err(|e| BlobError::Backend(format!("bad key {key:?}: {e}")))
    }

    /// Stores `data` under `key`.
    pub async fn put(&self, key: &str, data: Bytes) -> Result<(), BlobError> {
        self.store.put(&Self::path(key)?, data.into()).await?;
        Ok(())
    }

    /// Starts a streamed upload; the object appears only when [`BlobWriter::finish`] succeeds.
    pub async fn writer(&self, key: &str) -> Result<BlobWriter, BlobError> {
        let up = self.store.put_multipart(&Self::path(key)?).await?;
        Ok(BlobWriter { inner: WriteMultipart::new(up), written: 0 })
    }

    /// Reads a whole object.
    pub async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        Ok(self.store.get(&Self::path(key)?).await?.bytes().await?)
    }

    /// Reads an object as a stream of chunks.
    pub async fn stream(
        &self,
        key: &str,
    ) -> Result<impl futures_util::Stream<Item = Result<Bytes, BlobError>> + Send + 'static, BlobError> {
        let r = self.store.get(&Self::path(key)?).await?;
        Ok(r.into_stream().map(|c| c.map_err(BlobError::from)))
    }

    /// Object size in bytes.
    pub async fn size(&self, key: &str) -> Result<u64, BlobError> {
        Ok(self.store.head(&Self::path(key)?).await?.size)
    }

    /// A word that changes whenever the object does (its ETag, else its size and time of
    /// change), for cache keys derived from it.
    pub async fn version(&self, key: &str) -> Result<String, BlobError> {
        let m = self.store.head(&Self::path(key)?).await?;
        Ok(match m.e_tag {
            Some(t) => format!("{}-{t}", m.size),
            None => format!("{}-{}", m.size, m.last_modified.timestamp_nanos_opt().unwrap_or_default()),
        })
    }

    /// Deletes an object; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes every object under `prefix`.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), BlobError> {
        let p = Self::path(prefix)?;
        let mut list = self.store.list(Some(&p));
        while let Some(meta) = list.next().await {
            self.delete(meta?.location.as_ref()).await?;
        }
        Ok(())
    }

    /// A time-limited download URL that bypasses the server (S3 only; `None` for local disk).
    pub async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<Option<url::Url>, BlobError> {
        self.presigned(reqwest::Method::GET, key, ttl).await
    }

    /// A time-limited upload URL (`PUT` the object's bytes to it), S3 only.
    pub async fn presigned_put(&self, key: &str, ttl: Duration) -> Result<Option<url::Url>, BlobError> {
        self.presigned(reqwest::Method::PUT, key, ttl).await
    }

    async fn presigned(
        &self,
        method: reqwest::Method,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<url::Url>, BlobError> {
        match &self.signer {
            Some(s) => Ok(Some(s.signed_url(method, &Self::path(key)?, ttl).await?)),
            None => Ok(None),
        }
    }

    /// A cheap call that proves the store answers (readiness).
    pub async fn ping(&self) -> Result<(), BlobError> {
        self.store.list_with_delimiter(Some(&ObjPath::from("health"))).await?;
        Ok(())
    }
}

/// A streamed upload in progress.
pub struct BlobWriter {
    inner: WriteMultipart,
    written: u64,
}

impl BlobWriter {
    /// Appends a chunk, waiting when too many parts are in flight.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        self.inner.wait_for_capacity(4).await?;
        self.inner.write(chunk);
        self.written += chunk.len() as u64;
        Ok(())
    }
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
    /// Completes the object.
    pub async fn finish(self) -> Result<u64, BlobError> {
        let n = self.written;
        self.inner.finish().await?;
        Ok(n)
    }
    /// Abandons the upload; nothing is left behind.
    pub async fn abort(self) {
        let _ = self.inner.abort().await;
    }
}
