//! The database's work over a window: pg_stat_statements summed over the
//! statements run in the target's database before and after the window,
//! the difference (the suite's own readings left out). Never reset: a
//! reset clears every database's counts, a `bookbench run` of the same
//! cluster counts statements too, and tests share one cluster; a window
//! during which someone else reset them has no figure. With
//! `pg_stat_statements.track_planning` on, planning's buffers are in the
//! same counters (the results say whether it was).

use bookbench_results::cost::DatabaseWork;
use tokio_postgres::Client;

use crate::Error;

const CREATE: &str = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements";
/// When the counts were last reset: a reset inside a window spoils it.
const LAST_RESET: &str = "SELECT stats_reset::text FROM pg_stat_statements_info";
/// Before counting: statistics fresh and the visibility map set, so that
/// no autovacuum or autoanalyze runs midway and makes the statements be
/// planned again (planning's buffers would count in that window only).
const SETTLE: &str = "VACUUM ANALYZE";
const TRACK_PLANNING: &str =
    "SELECT current_setting('pg_stat_statements.track_planning', true) = 'on'";
/// The statements in this database so far, but the readings' own (of this
/// connection's user, but so may the target's be: told apart by their
/// text).
const READ: &str = "SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(rows), 0)::bigint, \
     coalesce(sum(shared_blks_hit), 0)::bigint, coalesce(sum(shared_blks_read), 0)::bigint \
     FROM pg_stat_statements \
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
     AND query NOT LIKE '%pg_stat_statements%'";

/// A connection that can read pg_stat_statements.
#[derive(Debug)]
pub struct Statements {
    client: Client,
    /// Whether planning's buffers are counted.
    pub track_planning: bool,
}

/// A connection to `url`, driven on a task of its own.
pub(crate) async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

impl Statements {
    /// `None`, with the reason, where the server has no pg_stat_statements
    /// loaded (`shared_preload_libraries`).
    pub async fn connect(url: &str) -> Result<Self, String> {
        let client = connect(url)
            .await
            .map_err(|e| format!("cannot connect: {}", bookbench_errors::chain(&e)))?;
        let unavailable = |e: tokio_postgres::Error| {
            format!(
                "pg_stat_statements is not available ({}): add it to shared_preload_libraries \
                 (bookbench's embedded cluster has it)",
                bookbench_errors::chain(&e)
            )
        };
        client.batch_execute(CREATE).await.map_err(unavailable)?;
        client.query_one(READ, &[]).await.map_err(unavailable)?;
        let track_planning = client
            .query_one(TRACK_PLANNING, &[])
            .await
            .ok()
            .and_then(|row| row.get::<_, Option<bool>>(0))
            .unwrap_or(false);
        Ok(Self {
            client,
            track_planning,
        })
    }

    /// Leaves autovacuum nothing to do on the data a run reads.
    pub async fn settle(&self) -> Result<(), Error> {
        self.client
            .batch_execute(SETTLE)
            .await
            .map_err(|e| Error::database("cannot VACUUM ANALYZE before counting", e))
    }

    /// The counts so far, and when they were last reset.
    pub async fn totals(&self) -> Result<Totals, Error> {
        let row = self
            .client
            .query_one(READ, &[])
            .await
            .map_err(|e| Error::database("cannot read pg_stat_statements", e))?;
        let n = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or(0);
        let reset: Option<String> = self
            .client
            .query_one(LAST_RESET, &[])
            .await
            .ok()
            .and_then(|r| r.get(0));
        Ok(Totals {
            work: DatabaseWork {
                statements: n(0),
                rows: n(1),
                shared_blocks_hit: n(2),
                shared_blocks_read: n(3),
            },
            reset,
        })
    }
}

/// pg_stat_statements' counts at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    work: DatabaseWork,
    reset: Option<String>,
}

impl Totals {
    /// The work done between `before` and these; `None` when the counts
    /// were reset in between (by anyone: the difference means nothing).
    pub fn since(&self, before: &Self) -> Option<DatabaseWork> {
        let (a, b) = (&self.work, &before.work);
        let went_back = a.statements < b.statements
            || a.rows < b.rows
            || a.shared_blocks_hit < b.shared_blocks_hit
            || a.shared_blocks_read < b.shared_blocks_read;
        (self.reset == before.reset && !went_back).then(|| DatabaseWork {
            statements: a.statements - b.statements,
            rows: a.rows - b.rows,
            shared_blocks_hit: a.shared_blocks_hit - b.shared_blocks_hit,
            shared_blocks_read: a.shared_blocks_read - b.shared_blocks_read,
        })
    }
}

#[cfg(test)]
mod tests {
    use bookbench_testdb::TestDb;

    use super::*;

    /// A table of exactly ten pages: 2,260 integers, 226 to a page.
    const TEN_PAGES: &str = "CREATE TABLE ten_pages AS SELECT g FROM generate_series(1, 2260) AS g";

    #[tokio::test]
    async fn three_scans_of_a_ten_page_table_are_three_statements_three_rows_and_thirty_buffers() {
        let db = TestDb::new().await;
        let target = db.client().await;
        target.batch_execute(TEN_PAGES).await.expect("a table");
        let statements = Statements::connect(db.url())
            .await
            .expect("pg_stat_statements");
        assert!(
            statements.track_planning,
            "the test clusters track planning"
        );
        statements.settle().await.expect("VACUUM ANALYZE");
        let pages: i32 = target
            .query_one(
                "SELECT relpages FROM pg_class WHERE relname = 'ten_pages'",
                &[],
            )
            .await
            .expect("relpages")
            .get(0);
        assert_eq!(pages, 10);
        // Once to load the pages and the catalog caches, then counted.
        let count = "SELECT count(*) FROM ten_pages";
        target.batch_execute(count).await.expect("a scan");
        let before = statements.totals().await.expect("totals");
        for _ in 0..3 {
            target.batch_execute(count).await.expect("a scan");
        }
        let work = statements.totals().await.expect("totals").since(&before);
        assert_eq!(
            work,
            Some(DatabaseWork {
                statements: 3,
                rows: 3,
                shared_blocks_hit: 30,
                shared_blocks_read: 0,
            })
        );
        // A reset in between, by anyone, leaves the window without a figure.
        let before = statements.totals().await.expect("totals");
        target.batch_execute(count).await.expect("a scan");
        target
            .batch_execute("SELECT pg_stat_statements_reset()")
            .await
            .expect("a reset");
        let after = statements.totals().await.expect("totals");
        assert_eq!(after.since(&before), None);
    }
}
