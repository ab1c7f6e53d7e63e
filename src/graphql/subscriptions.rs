//! Live updates over `graphql-transport-ws` (`/graphql/ws`): changes of the
//! complaints the caller may see, and new escalation requests for approvers.
//! Events come from [`crate::events::EventBus`], so a change made on any
//! instance reaches subscribers on every instance (PostgreSQL LISTEN/NOTIFY).

use async_graphql::{Context, ID, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::broadcast;

use super::{context::ContextExt, escalations::Escalation, types::Complaint};
use crate::{
    auth::Actor,
    domain::{EscalationTrigger, policy},
    error::AppError,
    events::BusEvent,
    ids::{self, Kind},
    service::{Services, complaints::access},
};
use entity::{complaint, escalation};

/// Something that happened to a complaint.
#[derive(SimpleObject)]
pub struct ComplaintEvent {
    /// The audit action, e.g. `complaint.acknowledged`, `escalation.requested`.
    pub action: String,
    pub occurred_at: DateTime<Utc>,
    /// The complaint as it is now.
    pub complaint: Complaint,
}

/// The bus as a stream; a slow subscriber skips what it missed rather than
/// holding everyone up.
fn events(receiver: broadcast::Receiver<BusEvent>) -> impl Stream<Item = BusEvent> {
    stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((event, receiver)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscriber lagged behind and skipped events");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

async fn visible_complaint(services: &Services, actor: &Actor, id: uuid::Uuid) -> Option<complaint::Model> {
    use sea_orm::EntityTrait;
    let found = complaint::Entity::find_by_id(id).one(&services.db).await.ok().flatten()?;
    policy::can_read_complaint(actor, &access(&found)).then_some(found)
}

#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Changes of complaints the caller may see (one complaint, or all of them).
    async fn complaint_events(
        &self,
        ctx: &Context<'_>,
        complaint_id: Option<ID>,
    ) -> Result<impl Stream<Item = ComplaintEvent> + use<>, AppError> {
        let actor = ctx.actor()?.clone();
        let services = ctx.services()?.clone();
        let only = ids::decode_opt(Kind::Complaint, "complaintId", complaint_id.as_ref())?;
        if let Some(id) = only
            && visible_complaint(&services, &actor, id).await.is_none() {
                return Err(AppError::NotFound("complaint"));
            }
        let loaders = ctx
            .data_opt::<std::sync::Arc<super::loaders::Loaders>>()
            .cloned()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("Loaders missing from the subscription context")))?;
        let request = ctx.request()?.clone();
        let receiver = services.bus.subscribe();
        Ok(events(receiver).filter_map(move |event| {
            let (services, actor, loaders, request) = (services.clone(), actor.clone(), loaders.clone(), request.clone());
            async move {
                if only.is_some_and(|id| id != event.complaint_id) {
                    return None;
                }
                // Nested fields must show the complaint as it is now.
                loaders.clear();
                let complaint = visible_complaint(&services, &actor, event.complaint_id).await?;
                // A payload the read of which cannot be recorded is not sent.
                let complaint = match Complaint::hand_out_with(&services, &request, complaint).await {
                    Ok(complaint) => complaint,
                    Err(error) => {
                        tracing::error!(error = %error, "recording a subscription read failed; payload withheld");
                        return None;
                    }
                };
                Some(ComplaintEvent { action: event.action, occurred_at: event.at, complaint })
            }
        }))
    }

    /// New escalation requests for the caller's queue: supervisors get all but
    /// legal referrals, the legal team gets referrals.
    async fn escalation_requested(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Escalation> + use<>, AppError> {
        let actor = ctx.actor()?.clone();
        let services = ctx.services()?.clone();
        let scope = policy::escalation_queue(&actor)
            .ok_or_else(|| AppError::forbidden("only supervisors and legal have an approval queue"))?;
        let receiver = services.bus.subscribe();
        Ok(events(receiver).filter_map(move |event| {
            let (services, actor) = (services.clone(), actor.clone());
            async move {
                use sea_orm::EntityTrait;
                let id = event.escalation_requested?;
                let request = escalation::Entity::find_by_id(id).one(&services.db).await.ok().flatten()?;
                let legal = request.trigger == EscalationTrigger::Legal.as_str();
                let wanted = match scope {
                    policy::QueueScope::AllButLegal => !legal,
                    policy::QueueScope::LegalOnly => legal,
                };
                visible_complaint(&services, &actor, request.complaint_id).await?;
                wanted.then_some(Escalation(request))
            }
        }))
    }
}
