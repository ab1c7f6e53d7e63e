//! The fixed vocabulary of the API (DESIGN.md §3). Each enum is stored in the
//! database as its GraphQL name, so `as_str` and `FromStr` are exact inverses.

/// A stored value that is not one of an enum's names: the database holds
/// something this build does not know (an internal error, not a client one).
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} value {value:?}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! string_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, async_graphql::Enum)]
        pub enum $name { $($(#[$vmeta])* #[graphql(name = $text)] $variant,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The GraphQL and database name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::enums::UnknownValue;
            fn from_str(value: &str) -> Result<Self, $crate::domain::enums::UnknownValue> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::enums::UnknownValue { kind: stringify!($name), value: value.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// How the complaint reached us.
    pub enum Channel {
        /// A call to an agent's line.
        Phone = "PHONE",
        /// The customer-service hotline.
        Hotline = "HOTLINE",
        /// Online chat.
        OnlineChat = "ONLINE_CHAT",
        /// Email.
        Email = "EMAIL",
        /// In person, in a store.
        InStore = "IN_STORE",
        /// A web form.
        WebForm = "WEB_FORM",
        /// A post or message on social media.
        SocialMedia = "SOCIAL_MEDIA",
    }
}

string_enum! {
    /// What the complaint is about.
    pub enum Category {
        /// The product is faulty or damaged.
        ProductQuality = "PRODUCT_QUALITY",
        /// Staff behaviour.
        ServiceAttitude = "SERVICE_ATTITUDE",
        /// Delivery and logistics.
        Logistics = "LOGISTICS",
        /// A service took too long.
        ServiceDelay = "SERVICE_DELAY",
        /// An outage or malfunction of our systems.
        SystemFailure = "SYSTEM_FAILURE",
        /// The customer's data was lost.
        DataLoss = "DATA_LOSS",
        /// Charges and invoices.
        Billing = "BILLING",
        /// Anything else.
        Other = "OTHER",
    }
}

string_enum! {
    /// How serious the complaint is; selects the SLA policy.
    pub enum Severity {
        /// Minor inconvenience.
        Low = "LOW",
        /// The default.
        Medium = "MEDIUM",
        /// Significant harm or an angry customer.
        High = "HIGH",
        /// Urgent: medical, exams, vulnerable customers, outages.
        Critical = "CRITICAL",
    }
}

string_enum! {
    /// The customer's core demand.
    pub enum Demand {
        /// Money back.
        Refund = "REFUND",
        /// A replacement product.
        Replacement = "REPLACEMENT",
        /// A repair.
        Repair = "REPAIR",
        /// Compensation beyond a refund.
        Compensation = "COMPENSATION",
        /// An apology.
        Apology = "APOLOGY",
        /// An explanation of what happened.
        Explanation = "EXPLANATION",
        /// Something else.
        Other = "OTHER",
    }
}

string_enum! {
    /// The customer's emotional state at intake.
    pub enum Emotion {
        /// Calm.
        Calm = "CALM",
        /// Agitated.
        Agitated = "AGITATED",
        /// Angry.
        Angry = "ANGRY",
    }
}

string_enum! {
    /// The root cause found by the investigation.
    pub enum RootCause {
        /// A mistake by our staff.
        OperatorError = "OPERATOR_ERROR",
        /// A failure of our systems.
        SystemFailure = "SYSTEM_FAILURE",
        /// A defect of the product.
        ProductDefect = "PRODUCT_DEFECT",
        /// A third party (carrier, vendor, …).
        External = "EXTERNAL",
        /// Events beyond anyone's control.
        ForceMajeure = "FORCE_MAJEURE",
        /// The customer's own side.
        CustomerSide = "CUSTOMER_SIDE",
        /// Not determined.
        Unknown = "UNKNOWN",
    }
}

string_enum! {
    /// Support tier.
    pub enum Tier {
        /// Front line: customer service.
        Tier1 = "TIER1",
        /// Technical support and supervisors.
        Tier2 = "TIER2",
        /// Specialists (development, operations, vendors) and management.
        Tier3 = "TIER3",
    }
}

string_enum! {
    /// Why an escalation was requested.
    pub enum EscalationTrigger {
        /// The customer asked for a supervisor or higher.
        CustomerRequest = "CUSTOMER_REQUEST",
        /// A proposed compensation exceeds the proposer's authority.
        ExceedsAuthority = "EXCEEDS_AUTHORITY",
        /// A deadline passed without resolution.
        Overdue = "OVERDUE",
        /// Vulnerable customer, media attention or a possible group complaint.
        HighImpact = "HIGH_IMPACT",
        /// The tier cannot solve it.
        Technical = "TECHNICAL",
        /// The case involves legal questions.
        Legal = "LEGAL",
    }
}

string_enum! {
    /// The state of an escalation request.
    pub enum EscalationStatus {
        /// Waiting for a decision.
        Pending = "PENDING",
        /// Approved.
        Approved = "APPROVED",
        /// Rejected.
        Rejected = "REJECTED",
    }
}

string_enum! {
    /// The state of a role grant (a privilege waiting for a second administrator).
    pub enum RoleGrantStatus {
        /// Waiting for a second administrator.
        Pending = "PENDING",
        /// Approved and applied.
        Approved = "APPROVED",
        /// Rejected (or withdrawn by its requester); nothing changed.
        Rejected = "REJECTED",
    }
}

string_enum! {
    /// What a piece of evidence is.
    pub enum EvidenceKind {
        /// A chat transcript.
        ChatLog = "CHAT_LOG",
        /// An email.
        Email = "EMAIL",
        /// A screenshot (an image).
        Screenshot = "SCREENSHOT",
        /// A photo (an image).
        Photo = "PHOTO",
        /// A video.
        Video = "VIDEO",
        /// A call recording (audio).
        CallRecording = "CALL_RECORDING",
        /// A document.
        Document = "DOCUMENT",
        /// Anything else.
        Other = "OTHER",
    }
}

string_enum! {
    /// A user's role; see the permission matrix in DESIGN.md §2.
    pub enum Role {
        /// Front-line agent.
        Agent = "AGENT",
        /// Supervisor: approves escalations and compensation.
        Supervisor = "SUPERVISOR",
        /// Legal team: owns legal-hold cases.
        Legal = "LEGAL",
        /// Auditor: reads and verifies history; mutates nothing.
        Auditor = "AUDITOR",
        /// Administrator: users, teams, SLA policies; no case content.
        Admin = "ADMIN",
    }
}

string_enum! {
    /// Who may see a note.
    pub enum NoteVisibility {
        /// Staff only.
        Internal = "INTERNAL",
        /// A progress update given to the customer.
        CustomerUpdate = "CUSTOMER_UPDATE",
    }
}

string_enum! {
    /// How linked complaints relate.
    pub enum LinkKind {
        /// The others repeat the first.
        Duplicate = "DUPLICATE",
        /// Related complaints.
        Related = "RELATED",
        /// Members of one group complaint.
        Group = "GROUP",
    }
}

string_enum! {
    /// Why intake judged a complaint urgent: its first response is due within 10 minutes.
    pub enum UrgentReason {
        /// A medical need (medicine, treatment).
        Medical = "MEDICAL",
        /// An exam or a similar fixed date.
        Exam = "EXAM",
        /// An elderly, child, pregnant or otherwise vulnerable customer.
        Vulnerable = "VULNERABLE",
        /// An outage that cuts the customer off.
        Outage = "OUTAGE",
        /// Another reason, told in the description.
        Other = "OTHER",
    }
}

string_enum! {
    /// How a complaint was closed; counted by the analysis.
    pub enum CloseOutcome {
        /// The customer was reached at the callback and satisfied (set by the system).
        ResolvedSatisfied = "RESOLVED_SATISFIED",
        /// The customer could not be reached after the allowed callback attempts.
        Unreachable = "UNREACHABLE",
        /// The customer withdrew the complaint.
        Withdrawn = "WITHDRAWN",
        /// It repeats another complaint.
        Duplicate = "DUPLICATE",
        /// Explained to the customer; nothing to remedy.
        Explained = "EXPLAINED",
        /// The customer's demand was refused, with reasons.
        DemandRefused = "DEMAND_REFUSED",
        /// Handled during the first contact (set by `resolveAtFirstContact`).
        ResolvedAtFirstContact = "RESOLVED_AT_FIRST_CONTACT",
    }
}

string_enum! {
    /// Why a complaint takes longer, as told to the customer in a progress update.
    pub enum DelayReason {
        /// Waiting for a carrier, supplier or other outside party.
        AwaitingThirdParty = "AWAITING_THIRD_PARTY",
        /// Waiting for stock (a replacement, a part).
        AwaitingStock = "AWAITING_STOCK",
        /// Waiting for the customer (documents, an appointment).
        AwaitingCustomer = "AWAITING_CUSTOMER",
        /// A technical investigation takes time.
        Technical = "TECHNICAL",
        /// Waiting for an approval.
        AwaitingApproval = "AWAITING_APPROVAL",
        /// Another reason, told in the message.
        Other = "OTHER",
    }
}

string_enum! {
    /// Who started a contact.
    pub enum ContactDirection {
        /// The customer contacted us.
        Inbound = "INBOUND",
        /// We contacted the customer.
        Outbound = "OUTBOUND",
    }
}

string_enum! {
    /// What a contact with the customer was.
    pub enum ContactKind {
        /// The complaint was made.
        Intake = "INTAKE",
        /// The complaint was acknowledged.
        Acknowledgement = "ACKNOWLEDGEMENT",
        /// A progress update.
        ProgressUpdate = "PROGRESS_UPDATE",
        /// The customer chased an answer.
        Chaser = "CHASER",
        /// A callback after resolution.
        Callback = "CALLBACK",
        /// Anything else.
        Other = "OTHER",
    }
}

impl CloseOutcome {
    /// Outcomes only the system sets, where the path implies them.
    pub fn is_implied(self) -> bool {
        matches!(self, CloseOutcome::ResolvedSatisfied | CloseOutcome::ResolvedAtFirstContact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>().unwrap(), *channel);
        }
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), *role);
        }
        assert_eq!(Tier::Tier1.as_str(), "TIER1");
        assert_eq!(Channel::OnlineChat.as_str(), "ONLINE_CHAT");
        assert!("tier1".parse::<Tier>().is_err());
    }
}

string_enum! {
    /// Whether a group complaint is still being handled.
    pub enum GroupStatus {
        /// Members may join and leave; updates go out to every open member.
        Open = "OPEN",
        /// Handled: no new members, no more group updates.
        Closed = "CLOSED",
    }
}

string_enum! {
    /// What the complaints of a group candidate have in common (besides their category).
    pub enum GroupKey {
        /// The same order or contract reference.
        OrderReference = "ORDER_REFERENCE",
        /// The same product or service.
        ProductOrService = "PRODUCT_OR_SERVICE",
        /// The same store, branch or area.
        Location = "LOCATION",
    }
}
