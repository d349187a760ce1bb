//! Schema migrations, oldest first. One file per migration; the name comes
//! from the file name. Never edit a migration that has shipped: add one.

use sea_orm_migration::prelude::*;

mod m20261129_000001_numbers_and_messages;
mod m20261129_000002_message_parts;
mod m20261204_000003_message_codes;
mod m20261205_000004_code_validity;
mod m20261206_000005_service_codes_index;
mod m20261207_000006_message_retention;
mod m20261207_000007_operator_fields;
mod m20261207_000008_reports;

/// Runs the migrations of cloudsms.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_numbers_and_messages::Migration),
            Box::new(m20261129_000002_message_parts::Migration),
            Box::new(m20261204_000003_message_codes::Migration),
            Box::new(m20261205_000004_code_validity::Migration),
            Box::new(m20261206_000005_service_codes_index::Migration),
            Box::new(m20261207_000006_message_retention::Migration),
            Box::new(m20261207_000007_operator_fields::Migration),
            Box::new(m20261207_000008_reports::Migration),
        ]
    }
}
