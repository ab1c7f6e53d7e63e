//! The complaint lifecycle: a status, the actions that move it, and the one
//! table that says which action may move it from where.
//!
//! ```text
//! NEW → ACKNOWLEDGED → INVESTIGATING → RESOLUTION_PROPOSED → CUSTOMER_ACCEPTED → RESOLVED → CLOSED
//!                         ↑    ↖ (declined)  │  ↘ PENDING_APPROVAL (above authority) ↗ (approved)
//!                         │                  │        ↘ rejected: back to INVESTIGATING
//!                      REOPENED ← (callback: not satisfied; or reopen from RESOLVED/CLOSED)
//! ```

use super::enums::string_enum;

string_enum! {
    /// Where a complaint is in its lifecycle.
    pub enum ComplaintStatus {
        /// Recorded, not yet acknowledged to the customer.
        New = "NEW",
        /// Acknowledged with a promised response time.
        Acknowledged = "ACKNOWLEDGED",
        /// Under investigation.
        Investigating = "INVESTIGATING",
        /// A resolution was proposed to the customer.
        ResolutionProposed = "RESOLUTION_PROPOSED",
        /// The proposed compensation waits for approval above the proposer's authority.
        PendingApproval = "PENDING_APPROVAL",
        /// The customer accepted the proposed resolution.
        CustomerAccepted = "CUSTOMER_ACCEPTED",
        /// The resolution was carried out.
        Resolved = "RESOLVED",
        /// Closed, after a callback or with a reason.
        Closed = "CLOSED",
        /// Reopened after closure or an unsatisfied callback.
        Reopened = "REOPENED",
    }
}

/// An action that changes a complaint's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Acknowledge,
    RecordFinding,
    /// A proposal within the proposer's authority.
    Propose,
    /// A proposal whose compensation exceeds the proposer's authority.
    ProposeForApproval,
    ApproveProposal,
    RejectProposal,
    CustomerAccepts,
    CustomerDeclines,
    Resolve,
    CallbackSatisfied,
    CallbackUnsatisfied,
    Close,
    Reopen,
    /// Handled and closed during the first contact.
    ResolveAtFirstContact,
}

impl Transition {
    pub const ALL: &'static [Transition] = &[
        Transition::Acknowledge,
        Transition::RecordFinding,
        Transition::Propose,
        Transition::ProposeForApproval,
        Transition::ApproveProposal,
        Transition::RejectProposal,
        Transition::CustomerAccepts,
        Transition::CustomerDeclines,
        Transition::Resolve,
        Transition::CallbackSatisfied,
        Transition::CallbackUnsatisfied,
        Transition::Close,
        Transition::Reopen,
        Transition::ResolveAtFirstContact,
    ];

    fn describe(self) -> &'static str {
        match self {
            Transition::Acknowledge => "acknowledge",
            Transition::RecordFinding => "record a finding on",
            Transition::Propose | Transition::ProposeForApproval => "propose a resolution for",
            Transition::ApproveProposal => "approve the proposal of",
            Transition::RejectProposal => "reject the proposal of",
            Transition::CustomerAccepts | Transition::CustomerDeclines => {
                "record the customer's decision on"
            }
            Transition::Resolve => "resolve",
            Transition::CallbackSatisfied | Transition::CallbackUnsatisfied => {
                "record a callback on"
            }
            Transition::Close => "close",
            Transition::Reopen => "reopen",
            Transition::ResolveAtFirstContact => "resolve at first contact",
        }
    }
}

/// A refused transition, phrased for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a complaint that is {from}")]
pub struct TransitionRefused {
    pub action: &'static str,
    pub from: ComplaintStatus,
}

impl ComplaintStatus {
    /// The status after `transition`, or why it is refused. This table is the
    /// whole state machine; every other path answers `INVALID_TRANSITION`.
    pub fn apply(self, transition: Transition) -> Result<ComplaintStatus, TransitionRefused> {
        use ComplaintStatus::*;
        use Transition::*;
        let next = match (self, transition) {
            (New, Acknowledge) => Acknowledged,
            (Acknowledged | Investigating | Reopened, RecordFinding) => Investigating,
            (Investigating, Propose) => ResolutionProposed,
            (Investigating, ProposeForApproval) => PendingApproval,
            (PendingApproval, ApproveProposal) => ResolutionProposed,
            (PendingApproval, RejectProposal) => Investigating,
            (ResolutionProposed, CustomerAccepts) => CustomerAccepted,
            (ResolutionProposed, CustomerDeclines) => Investigating,
            (CustomerAccepted, Resolve) => Resolved,
            (Resolved, CallbackSatisfied) => Closed,
            (Resolved, CallbackUnsatisfied) => Reopened,
            // Closing outside the happy path (withdrawn, duplicate) needs a reason,
            // but never while a resolution is in flight.
            (New | Acknowledged | Investigating | Reopened | Resolved, Close) => Closed,
            (Resolved | Closed, Reopen) => Reopened,
            (New | Acknowledged, ResolveAtFirstContact) => Closed,
            (from, transition) => {
                return Err(TransitionRefused { action: transition.describe(), from });
            }
        };
        Ok(next)
    }

    /// Open complaints still run their SLA clock.
    pub fn is_open(self) -> bool {
        !matches!(self, ComplaintStatus::Resolved | ComplaintStatus::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::ComplaintStatus::*;
    use super::Transition::*;
    use super::*;

    /// Every allowed (from, action, to); everything not listed must be refused.
    const ALLOWED: &[(ComplaintStatus, Transition, ComplaintStatus)] = &[
        (New, Acknowledge, Acknowledged),
        (Acknowledged, RecordFinding, Investigating),
        (Investigating, RecordFinding, Investigating),
        (Reopened, RecordFinding, Investigating),
        (Investigating, Propose, ResolutionProposed),
        (Investigating, ProposeForApproval, PendingApproval),
        (PendingApproval, ApproveProposal, ResolutionProposed),
        (PendingApproval, RejectProposal, Investigating),
        (ResolutionProposed, CustomerAccepts, CustomerAccepted),
        (ResolutionProposed, CustomerDeclines, Investigating),
        (CustomerAccepted, Resolve, Resolved),
        (Resolved, CallbackSatisfied, Closed),
        (Resolved, CallbackUnsatisfied, Reopened),
        (New, Close, Closed),
        (Acknowledged, Close, Closed),
        (Investigating, Close, Closed),
        (Reopened, Close, Closed),
        (Resolved, Close, Closed),
        (Resolved, Reopen, Reopened),
        (Closed, Reopen, Reopened),
        (New, ResolveAtFirstContact, Closed),
        (Acknowledged, ResolveAtFirstContact, Closed),
    ];

    #[test]
    fn every_status_and_action_follows_the_table() {
        for &from in ComplaintStatus::ALL {
            for &action in Transition::ALL {
                let expected = ALLOWED
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (from.apply(action), expected) {
                    (Ok(to), Some(expected)) => assert_eq!(to, expected, "{from} --{action:?}-->"),
                    (Err(refused), None) => assert_eq!(refused.from, from),
                    (got, expected) => {
                        panic!("{from} --{action:?}--> gave {got:?}, expected {expected:?}")
                    }
                }
            }
        }
    }

    #[test]
    fn the_happy_path_walks_from_new_to_closed() {
        let path = [Acknowledge, RecordFinding, Propose, CustomerAccepts, Resolve, CallbackSatisfied];
        let end = path.iter().try_fold(New, |status, t| status.apply(*t)).unwrap();
        assert_eq!(end, Closed);
    }

    #[test]
    fn refusals_read_like_sentences() {
        let refused = Closed.apply(Acknowledge).unwrap_err();
        assert_eq!(refused.to_string(), "cannot acknowledge a complaint that is CLOSED");
    }

    #[test]
    fn resolved_and_closed_complaints_stop_the_clock() {
        assert!(New.is_open() && Reopened.is_open() && PendingApproval.is_open());
        assert!(!Resolved.is_open() && !Closed.is_open());
    }
}
