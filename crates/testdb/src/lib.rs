//! Throwaway PostgreSQL for tests.
//!
//! Each test binary gets one cluster, started on first use from the same
//! server binaries as `bookbench db` (as root, run by the service user), and
//! each test gets a database of its own, cloned from a migrated template, so
//! tests run in parallel without seeing each other's rows. The cluster lives
//! exactly as long as the test process (see `Cluster::start_throwaway`): no
//! postgres process outlives the tests, even when they are killed.
//!
//! With `TEST_DATABASE_URL` set, that server is used instead; its databases
//! (`bookbench_test_*`) are left behind for inspection.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use bookbench_cluster::{Binaries, Cluster, ServiceUser, Settings};
use bookbench_errors::chain;
use tokio::sync::OnceCell;
use tokio_postgres::{Client, NoTls};

struct Server {
    /// A URL whose database part is replaced per test.
    base: url::Url,
    template: String,
    /// Holding the write end of the watchdog's pipe keeps the cluster alive.
    _watchdog: Mutex<Option<std::process::ChildStdin>>,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh, migrated database of its own for one test.
#[derive(Debug, Clone)]
pub struct TestDb {
    url: String,
    name: String,
}

impl TestDb {
    /// Creates the database (and, on first use, the cluster and template).
    /// Panics with the reason when PostgreSQL cannot be had: a test cannot
    /// run without it.
    pub async fn new() -> Self {
        let server = server().await;
        Self::create(server, &format!("TEMPLATE {}", server.template)).await
    }

    /// A fresh, migrated database whose default collation is the ICU
    /// locale `icu_locale` (`en-US`: language-aware, so that `apple` sorts
    /// before `Banana`), for tests of what does not depend on the database's
    /// collation. Created from `template0` and migrated on its own, since a
    /// clone keeps its template's collation.
    pub async fn with_icu_collation(icu_locale: &str) -> Self {
        let options = format!(
            "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{}'",
            icu_locale.replace('\'', "")
        );
        let db = Self::create(server().await, &options).await;
        let mut client = db.client().await;
        bookbench_schema::migrate(&mut client)
            .await
            .unwrap_or_else(|e| panic!("test database: migrating {}: {}", db.name, chain(&e)));
        db
    }

    /// `CREATE DATABASE` of a fresh name with `options`.
    async fn create(server: &Server, options: &str) -> Self {
        let name = fresh_name();
        let admin = connect(server.url_for("postgres").as_str())
            .await
            .unwrap_or_else(|e| panic!("test database: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name} {options}"))
            .await
            .unwrap_or_else(|e| panic!("test database: creating {name}: {}", chain(&e)));
        Self {
            url: server.url_for(&name).to_string(),
            name,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new connection to this test's database.
    pub async fn client(&self) -> Client {
        connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("test database: connecting to {}: {e}", self.name))
    }

    /// The URL of the server's maintenance database, for tests that manage
    /// databases themselves.
    pub async fn admin_url() -> String {
        server().await.url_for("postgres").to_string()
    }
}

impl Server {
    async fn start() -> Result<Self, String> {
        let (base, watchdog) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let base = url::Url::parse(&url).map_err(|e| format!("TEST_DATABASE_URL: {e}"))?;
                (base, None)
            }
            _ => {
                let bins = Binaries::find().map_err(|e| e.to_string())?;
                let user = ServiceUser::for_current_process().map_err(|e| e.to_string())?;
                let password = bookbench_cluster::random_password();
                // pg_stat_statements, as the embedded cluster has it: the
                // suite's and the cost counts' tests read it.
                let mut settings = Settings::throwaway();
                if bins.has_pg_stat_statements() {
                    settings.count_statements();
                }
                let (_cluster, port, watchdog): (Cluster, _, _) =
                    Cluster::start_throwaway(bins, user, "bookbench", &password, &settings)
                        .map_err(|e| e.to_string())?;
                let base = url::Url::parse(&format!(
                    "postgres://bookbench:{password}@127.0.0.1:{port}/postgres"
                ))
                .map_err(|e| e.to_string())?;
                (base, watchdog.into_stdin())
            }
        };
        let server = Self {
            base,
            template: format!("bookbench_template_{}", std::process::id()),
            _watchdog: Mutex::new(watchdog),
        };
        let admin = connect(server.url_for("postgres").as_str()).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {}", server.template))
            .await
            .map_err(|e| format!("creating the template database: {}", chain(&e)))?;
        let mut client = connect(server.url_for(&server.template).as_str()).await?;
        bookbench_schema::migrate(&mut client)
            .await
            .map_err(|e| chain(&e))?;
        Ok(server)
    }

    fn url_for(&self, database: &str) -> url::Url {
        let mut url = self.base.clone();
        url.set_path(&format!("/{database}"));
        url
    }
}

/// The test binary's server, started on first use. Panics with the reason
/// when PostgreSQL cannot be had: a test cannot run without it.
async fn server() -> &'static Server {
    SERVER
        .get_or_try_init(Server::start)
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"))
}

/// A database name no other test of any process has.
fn fresh_name() -> String {
    format!(
        "bookbench_test_{}_{}_{:06x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        fastrand::u32(..0x100_0000)
    )
}

async fn connect(url: &str) -> Result<Client, String> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| format!("connecting to the test server: {}", chain(&e)))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}
