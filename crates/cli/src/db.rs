//! `bookbench db`, and the database URL that every other command uses.

use anyhow::{Context as _, Result};
use bookbench_cluster::Status;
use bookbench_cluster::embedded::{self, Embedded};

/// Where the data lives: `--database-url`, else the embedded cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// A database host in a namespace of this machine (the lab's, or one
    /// of a hosts file), where `run` starts the embedded cluster.
    #[arg(skip)]
    pub db_host: Option<DbHost>,
    /// Use this PostgreSQL instead of the embedded cluster.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", global = true)]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    /// The URL to connect to, starting the embedded cluster when no URL was
    /// given.
    pub fn resolve(&self) -> Result<String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => match &self.db_host {
                Some(host) => start_on_host(host),
                None => {
                    let mut db = Embedded::open(&embedded::home_from_env())?;
                    db.ensure_started()?;
                    Ok(db.url())
                }
            },
        }
    }
}

/// A database host on this machine: in a network namespace of it (the
/// lab's), or on one of its own addresses.
#[derive(Debug, Clone)]
pub struct DbHost {
    pub namespace: Option<String>,
    /// The cluster listens there.
    pub address: std::net::IpAddr,
    /// The network its clients connect from (CIDR).
    pub clients: String,
}

/// Starts the embedded cluster on a host of this machine, listening on its
/// address for the network's hosts: from a thread that entered the host's
/// namespace, so that the postmaster runs there.
fn start_on_host(host: &DbHost) -> Result<String> {
    let listen = embedded::Listen {
        address: host.address,
        clients: host.clients.clone(),
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(ns) = &host.namespace {
                bookbench_lab::enter(ns)?;
            }
            let mut db = Embedded::open(&embedded::home_from_env())?;
            db.ensure_started_on(Some(listen))?;
            Ok(db.url())
        })
        .join()
        .unwrap_or_else(|_| anyhow::bail!("starting the database on {} panicked", host.address))
    })
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DbCommand,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, clap::Subcommand)]
enum DbCommand {
    /// Create (on first use) and start the cluster; a no-op when it runs.
    Start,
    /// Stop the cluster; no server process is left behind.
    Stop,
    /// Say whether the cluster runs, and where its files are.
    Status,
    /// Print the connection URL of the bookbench database.
    Url,
    /// Bring the database's schema up to date.
    Migrate,
}

pub fn run(args: Args) -> Result<()> {
    let home = embedded::home_from_env();
    match args.command {
        DbCommand::Start => {
            let mut db = Embedded::open(&home)?;
            db.ensure_started()?;
            let url = db.url();
            block_on(async { migrate(&url).await })?;
            outln!("{}", describe(&db)?);
        }
        DbCommand::Stop => {
            let db = Embedded::open(&home)?;
            db.stop()?;
            outln!("stopped");
        }
        DbCommand::Status => {
            let db = Embedded::open(&home)?;
            outln!("{}", describe(&db)?);
        }
        DbCommand::Url => outln!("{}", args.database.resolve()?),
        DbCommand::Migrate => {
            let url = args.database.resolve()?;
            block_on(async { migrate(&url).await })?;
            outln!("migrated");
        }
    }
    Ok(())
}

fn describe(db: &Embedded) -> Result<String> {
    let r = db.status()?;
    let state = match r.status {
        Status::Running { pid } => format!(
            "running (pid {pid}) on {}",
            std::net::SocketAddr::from((r.address, r.port))
        ),
        Status::Stopped => "stopped".to_string(),
    };
    let run_as = r
        .run_as
        .map(|u| format!("\nrun as:   {u} (bookbench runs as root; initdb refuses to)"))
        .unwrap_or_default();
    Ok(format!(
        "cluster:  {state}\ndata:     {}\nlog:      {}\nbinaries: {}{run_as}",
        r.data_dir.display(),
        r.log_file.display(),
        r.binaries.display(),
    ))
}

/// Connects and migrates.
pub async fn migrate(url: &str) -> Result<()> {
    let mut client = connect(url).await?;
    bookbench_schema::migrate(&mut client).await?;
    Ok(())
}

/// A connection whose errors never show the URL's password.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("cannot connect to {}", redact(url)))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("connection closed: {e}");
        }
    });
    Ok(client)
}

/// The URL with its password replaced, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "the given URL (not a valid URL)".to_string(),
    }
}

/// Runs a future on a current-thread runtime: the CLI's commands are
/// sequential, and one thread keeps the other core for the database.
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime can always be built")
        .block_on(f)
}
