//! The evidence vault: files attached to complaints, with a SHA-256 chain of
//! custody. The HTTP edge streams an upload into the store's staging area
//! while hashing it ([`StagedFile`]); [`upload`] then decides, records the
//! file and promotes the blob in the same transaction as its audit event.
//! Evidence is immutable; [`delete`] only marks it deleted (supervisors, never
//! under legal hold) and the audit trail keeps the hash of what was deleted.
//!
//! Blobs are shared by content: `evidence_blob.ref_count` counts the live
//! evidence holding each one and moves in the transaction of the evidence row
//! (the row lock, or SQLite's write lock, orders a deletion and an upload of
//! the same bytes). Nothing here removes a blob: the garbage-collection job
//! ([`crate::jobs::blobs`]) does, under the same lock, once the count has been
//! zero for the grace period and no complaint holding it is under legal hold.

use std::sync::{Arc, Mutex};

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use uuid::Uuid;

use super::{RequestContext, Services, UnitOfWork, complaints};
use crate::{
    audit::{Changes, NewEvent},
    auth::Actor,
    domain::{
        EvidenceKind,
        evidence::{self as rules, Sniffed},
        policy::{self, Decision},
        validation::{self, limits},
    },
    error::{AppError, AppResult},
    storage::{EvidenceStore, content_key},
};
use entity::{complaint, evidence, evidence_blob};

/// A file received in full and written to the store's staging area.
#[derive(Debug)]
pub struct StagedFile {
    /// The filename the client sent (not yet sanitised).
    pub filename: String,
    /// The content type of the file part, as the client declared it.
    pub declared_content_type: Option<String>,
    pub size: u64,
    /// Lowercase hex SHA-256 of the whole file.
    pub sha256: String,
    /// What the leading bytes say the file is.
    pub sniffed: Sniffed,
    pub staging_key: String,
}

/// The staged files of one request, by upload index. A file not claimed by a
/// mutation is discarded when the request ends, whatever happened.
pub struct StagedUploads {
    files: Mutex<Vec<Option<StagedFile>>>,
    store: Arc<dyn EvidenceStore>,
}

impl StagedUploads {
    pub fn new(store: Arc<dyn EvidenceStore>) -> StagedUploads {
        StagedUploads { files: Mutex::new(Vec::new()), store }
    }

    /// Adds a staged file; returns its index.
    pub fn push(&self, file: StagedFile) -> usize {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.push(Some(file));
        files.len() - 1
    }

    /// Claims the file at `index` (once).
    pub fn take(&self, index: usize) -> Option<StagedFile> {
        self.files.lock().unwrap_or_else(|p| p.into_inner()).get_mut(index).and_then(Option::take)
    }

    /// Discards every unclaimed file.
    pub async fn discard_unclaimed(&self) {
        let keys: Vec<String> = {
            let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
            files.iter_mut().filter_map(Option::take).map(|f| f.staging_key).collect()
        };
        for key in keys {
            discard(&*self.store, &key).await;
        }
    }
}

impl Drop for StagedUploads {
    /// A request abandoned half-way still leaves no staged blob behind.
    fn drop(&mut self) {
        let keys: Vec<String> = self
            .files
            .get_mut()
            .map(|files| files.iter_mut().filter_map(Option::take).map(|f| f.staging_key).collect())
            .unwrap_or_default();
        if keys.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            runtime.spawn(async move {
                for key in keys {
                    discard(&*store, &key).await;
                }
            });
        }
    }
}

async fn discard(store: &dyn EvidenceStore, staging_key: &str) {
    if let Err(error) = store.discard(staging_key).await {
        tracing::warn!(%error, staging_key, "could not discard a staged evidence blob");
    }
}

/// Loads a complaint the caller may add evidence to.
async fn load_for_upload(services: &Services, actor: &Actor, id: Uuid) -> AppResult<complaint::Model> {
    let found = complaint::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("complaint"))?;
    may_upload(actor, &found)?;
    Ok(found)
}

/// Whether `actor` may add evidence to `found` as it is now.
fn may_upload(actor: &Actor, found: &complaint::Model) -> AppResult<()> {
    match policy::upload_evidence(actor, &complaints::access(found)) {
        Decision::Allow => Ok(()),
        Decision::Deny if found.legal_hold => {
            Err(AppError::forbidden("the complaint is under legal hold; only the legal team may add evidence"))
        }
        Decision::Deny => Err(AppError::forbidden("you may read this complaint but not add evidence to it")),
        Decision::Hide => Err(AppError::NotFound("complaint")),
    }
}

/// Records an uploaded file as evidence on a complaint: authorized, checked
/// (not executable; content agrees with the declared type and the kind),
/// promoted to its content address and audited (`evidence.uploaded` on the
/// complaint's chain, which moves the complaint's version) in one transaction.
/// The staged blob is discarded whenever the upload is refused.
#[tracing::instrument(skip_all, fields(complaint = %complaint_id))]
pub async fn upload(
    services: &Services,
    ctx: &RequestContext,
    complaint_id: Uuid,
    kind: EvidenceKind,
    file: StagedFile,
    description: Option<String>,
) -> AppResult<evidence::Model> {
    let staging_key = file.staging_key.clone();
    let result = record_upload(services, ctx, complaint_id, kind, file, description).await;
    if result.is_err() {
        discard(&*services.evidence, &staging_key).await;
    }
    result
}

async fn record_upload(
    services: &Services,
    ctx: &RequestContext,
    complaint_id: Uuid,
    kind: EvidenceKind,
    file: StagedFile,
    description: Option<String>,
) -> AppResult<evidence::Model> {
    let actor = ctx.actor()?;
    load_for_upload(services, actor, complaint_id).await?;
    let description = validation::optional_text("description", description.as_deref(), limits::TEXT)?;
    if file.size == 0 {
        return Err(AppError::validation("file", "the file is empty"));
    }
    let filename = rules::sanitize_filename(&file.filename);
    let declared = file.declared_content_type.as_deref().map(rules::essence).filter(|d| !d.is_empty());
    // The extension check sees the raw name's effective form, not only the
    // sanitised one (which may have replaced characters).
    let allow_archives = services.settings.edge.evidence_allow_archives;
    rules::check_file("file", kind, &file.filename, declared.as_deref(), &file.sniffed, allow_archives)?;
    let detected = rules::check_file("file", kind, &filename, declared.as_deref(), &file.sniffed, allow_archives)?;
    let size = i64::try_from(file.size).map_err(|_| AppError::PayloadTooLarge)?;
    let evidence = evidence::Model {
        id: Uuid::now_v7(),
        complaint_id,
        kind: kind.as_str().to_owned(),
        filename,
        declared_content_type: declared,
        detected_content_type: detected,
        size_bytes: size,
        sha256: file.sha256.clone(),
        storage_key: content_key(&file.sha256),
        description,
        uploaded_by: actor.user_id,
        uploaded_at: super::now(),
        deleted_at: None,
        deleted_by: None,
        delete_reason: None,
    };

    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let complaint = complaints::touch(&uow, complaint_id, |c| may_upload(actor, c)).await?;
    // Locks the blob's row (waiting for a collection of these bytes to finish)
    // before the staged copy is promoted below.
    reference_blob(uow.txn(), &evidence).await?;
    evidence::Entity::insert(evidence.clone().into_active_model()).exec_without_returning(uow.txn()).await?;
    let changes = Changes::new()
        .set("evidenceId", evidence.id.to_string())
        .set("kind", evidence.kind.clone())
        .set("filename", evidence.filename.clone())
        .set("sha256", evidence.sha256.clone())
        .set("size", evidence.size_bytes)
        .set("declaredContentType", evidence.declared_content_type.clone())
        .set("detectedContentType", evidence.detected_content_type.clone());
    uow.record(NewEvent {
        target_type: "evidence",
        target_id: Some(evidence.id.to_string()),
        ..complaints::event(&complaint, "evidence.uploaded", changes)
    })
    .await?;
    // The blob reaches its content address only with the row; if this fails
    // the transaction rolls back and the staged copy is discarded.
    services
        .evidence
        .promote(&file.staging_key, &evidence.storage_key)
        .await
        .map_err(|e| AppError::internal(anyhow::Error::new(e).context("promoting a staged evidence blob")))?;
    uow.commit().await?;
    tracing::info!(evidence = %evidence.id, sha256 = %evidence.sha256, size = evidence.size_bytes, "evidence stored");
    Ok(evidence)
}

/// Counts one more live record of the blob (creating its row at one).
async fn reference_blob(txn: &sea_orm::DatabaseTransaction, evidence: &evidence::Model) -> AppResult<()> {
    use sea_orm::sea_query::{OnConflict, ExprTrait};
    let row = evidence_blob::Model {
        sha256: evidence.sha256.clone(),
        storage_key: evidence.storage_key.clone(),
        size_bytes: evidence.size_bytes,
        ref_count: 1,
        created_at: evidence.uploaded_at,
        unreferenced_at: None,
    };
    evidence_blob::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(evidence_blob::Column::Sha256)
                .value(
                    evidence_blob::Column::RefCount,
                    Expr::col((evidence_blob::Entity, evidence_blob::Column::RefCount)).add(1),
                )
                .value(evidence_blob::Column::UnreferencedAt, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Counts one live record of the blob less; at zero the blob becomes a
/// candidate for collection from `now`.
async fn release_blob(txn: &sea_orm::DatabaseTransaction, sha256: &str, now: chrono::DateTime<chrono::Utc>) -> AppResult<()> {
    use sea_orm::sea_query::{CaseStatement, ExprTrait};
    let last = CaseStatement::new()
        .case(Expr::col(evidence_blob::Column::RefCount).lte(1), Expr::value(now))
        .finally(Expr::col(evidence_blob::Column::UnreferencedAt));
    let updated = evidence_blob::Entity::update_many()
        .col_expr(evidence_blob::Column::RefCount, Expr::col(evidence_blob::Column::RefCount).sub(1))
        .col_expr(evidence_blob::Column::UnreferencedAt, last.into())
        .filter(evidence_blob::Column::Sha256.eq(sha256))
        .filter(evidence_blob::Column::RefCount.gt(0))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        tracing::warn!(sha256, "deleted evidence whose blob was not counted");
    }
    Ok(())
}

/// Whether `actor` may delete evidence of `complaint` as it is now.
fn may_delete(actor: &Actor, complaint: &complaint::Model) -> AppResult<()> {
    match policy::delete_evidence(actor, &complaints::access(complaint)) {
        Decision::Allow => Ok(()),
        Decision::Deny if complaint.legal_hold => {
            Err(AppError::forbidden("the complaint is under legal hold: its evidence cannot be deleted"))
        }
        Decision::Deny => Err(AppError::forbidden("only supervisors delete evidence")),
        Decision::Hide => Err(AppError::NotFound("evidence")),
    }
}

/// Marks evidence deleted: supervisors only, never on a legal-hold complaint,
/// with a reason. The row stays (with its SHA-256) and the audit event
/// (`evidence.deleted`) records the hash, size and name of what was deleted.
/// The blob's reference count drops in the same transaction; the blob itself
/// is collected later by [`crate::jobs::blobs`] once nothing holds it.
#[tracing::instrument(skip_all, fields(evidence = %id))]
pub async fn delete(services: &Services, ctx: &RequestContext, id: Uuid, reason: &str) -> AppResult<evidence::Model> {
    let actor = ctx.actor()?;
    let found = evidence::Entity::find_by_id(id).one(&services.db).await?.ok_or(AppError::NotFound("evidence"))?;
    let complaint =
        complaint::Entity::find_by_id(found.complaint_id).one(&services.db).await?.ok_or(AppError::NotFound("evidence"))?;
    may_delete(actor, &complaint)?;
    if found.deleted_at.is_some() {
        return Err(AppError::validation("id", "the evidence is already deleted"));
    }
    let reason = validation::required_text("reason", reason, limits::SHORT)?;
    let now = super::now();

    let mut uow = UnitOfWork::begin(services, ctx).await?;
    let complaint = complaints::touch(&uow, complaint.id, |c| may_delete(actor, c)).await?;
    let updated = evidence::Entity::update_many()
        .col_expr(evidence::Column::DeletedAt, Expr::value(now))
        .col_expr(evidence::Column::DeletedBy, Expr::value(actor.user_id))
        .col_expr(evidence::Column::DeleteReason, Expr::value(reason.clone()))
        .filter(evidence::Column::Id.eq(id))
        .filter(evidence::Column::DeletedAt.is_null())
        .exec(uow.txn())
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::validation("id", "the evidence is already deleted"));
    }
    let changes = Changes::new()
        .set("evidenceId", found.id.to_string())
        .set("kind", found.kind.clone())
        .set("filename", found.filename.clone())
        .set("sha256", found.sha256.clone())
        .set("size", found.size_bytes)
        .field("deletedAt", serde_json::Value::Null, now.to_rfc3339());
    uow.record(NewEvent {
        target_type: "evidence",
        target_id: Some(found.id.to_string()),
        ..complaints::event(&complaint, "evidence.deleted", changes).reason(Some(reason.clone()))
    })
    .await?;
    // The blob stays for the garbage collector, which also re-checks legal holds.
    release_blob(uow.txn(), &found.sha256, now).await?;
    uow.commit().await?;
    Ok(evidence::Model { deleted_at: Some(now), deleted_by: Some(actor.user_id), delete_reason: Some(reason), ..found })
}

/// Evidence the caller may download, with its complaint; `NOT_FOUND` for
/// anything else (missing, deleted, or a complaint the caller may not read).
/// Downloads from sensitive and legal-hold complaints are audited.
pub async fn for_download(services: &Services, ctx: &RequestContext, id: Uuid) -> AppResult<evidence::Model> {
    let actor = ctx.actor().map_err(|_| AppError::NotFound("evidence"))?;
    let found = evidence::Entity::find_by_id(id)
        .one(&services.db)
        .await?
        .filter(|e| e.deleted_at.is_none())
        .ok_or(AppError::NotFound("evidence"))?;
    let complaint = complaint::Entity::find_by_id(found.complaint_id)
        .one(&services.db)
        .await?
        .filter(|c| policy::read_evidence(actor, &complaints::access(c)))
        .ok_or(AppError::NotFound("evidence"))?;
    // One event per user, item and window: a `Range` loop must not flood the trail.
    if !services.guards.download_recently_audited(actor.user_id, found.id) {
        complaints::record_access(services, ctx, &complaint, "evidence.downloaded", "evidence", found.id).await?;
        services.guards.download_audited(actor.user_id, found.id);
    }
    Ok(found)
}

/// One piece of evidence, if the caller may read its complaint.
pub async fn find_visible(services: &Services, actor: &Actor, id: Uuid) -> AppResult<Option<evidence::Model>> {
    let Some(found) = evidence::Entity::find_by_id(id).one(&services.db).await? else { return Ok(None) };
    Ok(complaint::Entity::find_by_id(found.complaint_id)
        .one(&services.db)
        .await?
        .filter(|c| policy::read_evidence(actor, &complaints::access(c)))
        .map(|_| found))
}

// ---------------------------------------------------------------- batch loads

/// Evidence of each complaint (deleted entries included), oldest first.
pub async fn by_complaints(services: &Services, ids: &[Uuid]) -> AppResult<Vec<evidence::Model>> {
    Ok(evidence::Entity::find()
        .filter(evidence::Column::ComplaintId.is_in(ids.iter().copied()))
        .order_by_asc(evidence::Column::UploadedAt)
        .order_by_asc(evidence::Column::Id)
        .all(&services.db)
        .await?)
}

/// How many live (not deleted) pieces of evidence each complaint has.
pub async fn counts_by_complaints(services: &Services, ids: &[Uuid]) -> AppResult<Vec<(Uuid, i64)>> {
    Ok(evidence::Entity::find()
        .select_only()
        .column(evidence::Column::ComplaintId)
        .column_as(evidence::Column::Id.count(), "count")
        .filter(
            Condition::all()
                .add(evidence::Column::ComplaintId.is_in(ids.iter().copied()))
                .add(evidence::Column::DeletedAt.is_null()),
        )
        .group_by(evidence::Column::ComplaintId)
        .into_tuple::<(Uuid, i64)>()
        .all(&services.db)
        .await?)
}
