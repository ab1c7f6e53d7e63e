//! A complaint's notes and escalation requests folded into the statement
//! that reads the complaint, as JSON arrays (PostgreSQL only).
//!
//! On PostgreSQL every statement is a round trip and a backend wake-up: the
//! complaint page (`complaint(id)` with its notes and escalations) cost four
//! statements, of which these two lists were half. Each list becomes one
//! correlated `json_agg` column of the complaint's row, ordered as the
//! loaders order it (oldest first, then id), every element an array in the
//! column order of the tuple it decodes into. On SQLite a statement is a
//! function call in the process, and the loaders read the lists as before.

use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use uuid::Uuid;

use entity::{escalation, note};

/// The column alias of the folded notes.
pub const NOTES: &str = "notes_json";
/// The column alias of the folded escalation requests.
pub const ESCALATIONS: &str = "escalations_json";

/// All notes of the complaint `p`, oldest first (as the notes loader reads them).
pub const NOTES_SQL: &str = concat!(
    r#"(SELECT json_agg(json_build_array("n"."id", "n"."complaint_id", "n"."author_id", "n"."body", "#,
    r#""n"."visibility", "n"."created_at") ORDER BY "n"."created_at", "n"."id")::text "#,
    r#"FROM "note" AS "n" WHERE "n"."complaint_id" = "p"."id")"#,
);

/// All escalation requests of the complaint `p`, oldest first (as the
/// escalations loader reads them).
pub const ESCALATIONS_SQL: &str = concat!(
    r#"(SELECT json_agg(json_build_array("x"."id", "x"."complaint_id", "x"."from_tier", "x"."to_tier", "#,
    r#""x"."trigger", "x"."reason", "x"."requested_by", "x"."requested_at", "x"."status", "x"."decided_by", "#,
    r#""x"."decided_at", "x"."decision_note", "x"."due_by", "x"."overdue") ORDER BY "x"."requested_at", "x"."id")::text "#,
    r#"FROM "escalation" AS "x" WHERE "x"."complaint_id" = "p"."id")"#,
);

type NoteRow = (Uuid, Uuid, Uuid, String, String, DateTime<Utc>);

type EscalationRow = (
    Uuid,
    Uuid,
    String,
    String,
    String,
    String,
    Option<Uuid>,
    DateTime<Utc>,
    String,
    Option<Uuid>,
    Option<DateTime<Utc>>,
    Option<String>,
    DateTime<Utc>,
    bool,
);

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: Option<&str>) -> Result<Vec<T>, DbErr> {
    match json {
        // No rows: json_agg over nothing is NULL.
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| DbErr::Type(format!("folded {what}: {e}"))),
    }
}

/// The notes of [`NOTES_SQL`]'s column.
pub fn notes(json: Option<&str>) -> Result<Vec<note::Model>, DbErr> {
    Ok(parse::<NoteRow>("notes", json)?
        .into_iter()
        .map(|(id, complaint_id, author_id, body, visibility, created_at)| note::Model {
            id,
            complaint_id,
            author_id,
            body,
            visibility,
            created_at,
        })
        .collect())
}

/// The escalation requests of [`ESCALATIONS_SQL`]'s column.
pub fn escalations(json: Option<&str>) -> Result<Vec<escalation::Model>, DbErr> {
    Ok(parse::<EscalationRow>("escalations", json)?
        .into_iter()
        .map(
            |(
                id,
                complaint_id,
                from_tier,
                to_tier,
                trigger,
                reason,
                requested_by,
                requested_at,
                status,
                decided_by,
                decided_at,
                decision_note,
                due_by,
                overdue,
            )| escalation::Model {
                id,
                complaint_id,
                from_tier,
                to_tier,
                trigger,
                reason,
                requested_by,
                requested_at,
                status,
                decided_by,
                decided_at,
                decision_note,
                due_by,
                overdue,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_is_one_line() {
        // One statement per line in PostgreSQL's log (bench/pgbench_script.py).
        assert!(!NOTES_SQL.contains('\n') && !ESCALATIONS_SQL.contains('\n'));
    }

    #[test]
    fn no_rows_is_an_empty_list() {
        assert!(notes(None).unwrap().is_empty());
        assert!(escalations(None).unwrap().is_empty());
    }

    #[test]
    fn postgres_json_decodes_whatever_the_session_time_zone() {
        // to_json of a timestamptz follows the session's TimeZone.
        let json = r#"[["01a2168b-f60a-73d9-b37d-6363aa1201c5", "01a2168b-f60a-73d9-b37d-6363aa1201c6",
            "01a2168b-f60a-73d9-b37d-6363aa1201c7", "He said \"no\" — 不", "INTERNAL", "2026-11-26T14:30:02.5858+08:00"]]"#;
        let decoded = notes(Some(json)).unwrap();
        assert_eq!(decoded[0].body, "He said \"no\" — 不");
        assert_eq!(decoded[0].created_at.to_rfc3339(), "2026-11-26T06:30:02.585800+00:00");
        let json = r#"[["01a2168b-f60a-73d9-b37d-6363aa1201c5", "01a2168b-f60a-73d9-b37d-6363aa1201c6", "T1", "T2",
            "MANUAL", "why", null, "2026-11-26T06:30:02+00:00", "PENDING", null, null, null,
            "2026-11-27T06:30:02+00:00", false]]"#;
        let decoded = escalations(Some(json)).unwrap();
        assert_eq!((decoded[0].requested_by, decoded[0].decided_at, decoded[0].overdue), (None, None, false));
    }

    #[test]
    fn a_shape_that_does_not_match_is_an_error_not_a_panic() {
        assert!(notes(Some(r#"[["not-a-uuid"]]"#)).is_err());
        assert!(escalations(Some("{}")).is_err());
    }
}
