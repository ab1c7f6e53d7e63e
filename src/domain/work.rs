//! Work items: what the handling team asks of another team, and the rules
//! that follow from it — which kinds hold back the resolution, and which teams
//! a complaint's open items let read it.

use uuid::Uuid;

use super::enums::string_enum;

string_enum! {
    /// What another team is asked to do.
    pub enum WorkKind {
        /// Look into the facts (records, logs, the product).
        Investigate = "INVESTIGATE",
        /// Carry out the agreed remedy: the complaint cannot be resolved before it is done.
        Implement = "IMPLEMENT",
        /// Pay out a refund or compensation (finance): the complaint cannot be resolved before it is paid.
        RefundPayout = "REFUND_PAYOUT",
        /// Repair the product or the service.
        Repair = "REPAIR",
        /// Anything else.
        Other = "OTHER",
    }
}

string_enum! {
    /// Where a work item stands.
    pub enum WorkStatus {
        /// Asked for, not yet done.
        Open = "OPEN",
        /// Done, with a result.
        Completed = "COMPLETED",
        /// Refused by the assisting team, with a reason.
        Declined = "DECLINED",
    }
}

impl WorkKind {
    /// Whether an open item of this kind holds back the resolution: the remedy
    /// or the payout is what the customer accepted, so "resolved" must wait for it.
    pub fn blocks_resolution(self) -> bool {
        matches!(self, WorkKind::Implement | WorkKind::RefundPayout)
    }
}

/// The stored form of the assisting teams: sorted, deduplicated, comma-separated UUIDs.
pub fn encode_teams(teams: impl IntoIterator<Item = Uuid>) -> String {
    let mut teams: Vec<Uuid> = teams.into_iter().collect();
    teams.sort();
    teams.dedup();
    teams.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",")
}

/// The teams of [`encode_teams`]' text; anything that is not a UUID is ignored
/// (never grants access).
pub fn decode_teams(text: &str) -> Vec<Uuid> {
    text.split(',').filter_map(|t| Uuid::parse_str(t.trim()).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_remedies_and_payouts_hold_back_the_resolution() {
        let blocking: Vec<WorkKind> = WorkKind::ALL.iter().copied().filter(|k| k.blocks_resolution()).collect();
        assert_eq!(blocking, [WorkKind::Implement, WorkKind::RefundPayout]);
    }

    #[test]
    fn assisting_teams_round_trip_sorted_and_once() {
        let (a, b) = (Uuid::from_u128(2), Uuid::from_u128(1));
        let text = encode_teams([a, b, a]);
        assert_eq!(decode_teams(&text), vec![b, a]);
        assert_eq!(encode_teams([]), "");
        assert!(decode_teams("").is_empty());
        assert_eq!(decode_teams("garbage,").len(), 0);
    }
}
