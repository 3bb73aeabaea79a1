//! How many statements PostgreSQL ran, to tell a target that does the
//! database work from one that answers from a cache (or not at all).

use tokio_postgres::Client;

/// Counts the statements PostgreSQL ran: pg_stat_statements when the server
/// has it (updated as each statement ends), else committed and rolled-back
/// transactions (reported with some delay).
pub(super) struct StatementCounter {
    statements: bool,
}

const CREATE_PGSS: &str = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements";
const COUNT_STATEMENTS: &str = "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements \
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())";
const COUNT_TRANSACTIONS: &str = "SELECT (xact_commit + xact_rollback)::bigint \
     FROM pg_stat_database WHERE datname = current_database()";

impl StatementCounter {
    pub(super) async fn new(db: &Client) -> Self {
        let statements = db.batch_execute(CREATE_PGSS).await.is_ok()
            && db.query_one(COUNT_STATEMENTS, &[]).await.is_ok();
        Self { statements }
    }

    pub(super) async fn count(&self, db: &Client) -> Option<u64> {
        let sql = if self.statements {
            COUNT_STATEMENTS
        } else {
            COUNT_TRANSACTIONS
        };
        let n: i64 = db.query_one(sql, &[]).await.ok()?.get(0);
        u64::try_from(n).ok()
    }
}
