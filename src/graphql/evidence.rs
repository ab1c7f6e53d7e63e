//! Evidence mutations. The file itself arrives through the multipart path of
//! the HTTP layer, which has already streamed it into staging; the resolver
//! only claims it by its upload index.

use async_graphql::{Context, ID, Object, Upload};

use super::{context::ContextExt, types::Evidence};
use crate::{
    domain::EvidenceKind,
    error::{AppError, AppResult},
    ids::{self, Kind},
    service::evidence::{self as service, StagedUploads},
};

#[derive(Default)]
pub struct EvidenceMutation;

#[Object]
impl EvidenceMutation {
    /// Attaches a file to a complaint (GraphQL multipart request: send
    /// `operations`, `map` and the file as `multipart/form-data`). The content
    /// must match the declared type and the kind; executables and scripts are
    /// refused (VALIDATION); files over the configured limit answer
    /// PAYLOAD_TOO_LARGE.
    async fn upload_evidence(
        &self,
        ctx: &Context<'_>,
        complaint_id: ID,
        kind: EvidenceKind,
        file: Upload,
        description: Option<String>,
    ) -> AppResult<Evidence> {
        let request = ctx.request()?;
        request.actor()?;
        let complaint_id = ids::decode(Kind::Complaint, "complaintId", &complaint_id)?;
        let staged = ctx
            .data_opt::<std::sync::Arc<StagedUploads>>()
            .and_then(|uploads| uploads.take(file.0))
            .ok_or_else(|| AppError::validation("file", "send the file as a multipart upload, once per mutation"))?;
        let services = ctx.services()?;
        Ok(Evidence(service::upload(services, request, complaint_id, kind, staged, description).await?))
    }

    /// Deletes evidence (supervisors only; never on a legal-hold complaint).
    /// The record stays, marked deleted, and the audit trail keeps its SHA-256.
    async fn delete_evidence(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> AppResult<Evidence> {
        let id = ids::decode(Kind::Evidence, "id", &id)?;
        Ok(Evidence(service::delete(ctx.services()?, ctx.request()?, id, &reason).await?))
    }
}
