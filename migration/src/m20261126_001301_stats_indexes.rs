//! Indexes for complaint statistics: recognising a repeat customer by phone or
//! email looks customers up by those columns, and their earlier complaints by
//! customer and time, for every complaint of a range. The customer indexes
//! carry the id so the lookups read the index only.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, columns) in [
            ("customer_phone", "customer", &["phone", "id"][..]),
            ("customer_email", "customer", &["email", "id"][..]),
            ("customer_identity", "customer", &["id", "phone", "email"][..]),
            ("complaint_customer_created", "complaint", &["customer_id", "created_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table(table).if_not_exists();
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }
}
