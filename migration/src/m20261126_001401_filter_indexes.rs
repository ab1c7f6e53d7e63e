//! Indexes for the filters of `complaints` that had none (issue 14): each
//! enumerated filter walks `(value, created_at, id)` in the default order; the
//! rare flags are partial indexes over `(created_at, id)`, so they cost
//! nothing for the common `false`. The orderings (created, updated, resolution
//! due), team, assignee, status and the escalation queue were indexed already.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COMPOSITE: &[(&str, &[&str])] = &[
    ("complaint_category_created", &["category", "created_at", "id"]),
    ("complaint_severity_created", &["severity", "created_at", "id"]),
    ("complaint_channel_created", &["channel", "created_at", "id"]),
    ("complaint_tier_created", &["tier", "created_at", "id"]),
    ("complaint_occurred", &["occurred_at", "id"]),
];

/// Same SQL on PostgreSQL and SQLite (both have partial indexes).
const PARTIAL: &[(&str, &str)] = &[
    ("complaint_sensitive", "sensitive"),
    ("complaint_legal_hold", "legal_hold"),
    ("complaint_vulnerable", "vulnerable_customer"),
    ("complaint_media", "media_attention"),
    ("complaint_group", "group_complaint"),
    ("complaint_unassigned", "assignee_id IS NULL"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, columns) in COMPOSITE {
            let mut index = Index::create();
            index.name(*name).table("complaint");
            for column in *columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        let db = manager.get_connection();
        for (name, predicate) in PARTIAL {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON complaint (created_at, id) WHERE {predicate}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in COMPOSITE.iter().map(|(n, _)| *n).chain(PARTIAL.iter().map(|(n, _)| *n)) {
            manager.drop_index(Index::drop().name(name).table("complaint").to_owned()).await?;
        }
        Ok(())
    }
}
