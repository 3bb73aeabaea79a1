//! `bookbench serve`: the bookstore server.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result};
use bookbench_server::{Application, Config, allocator};

use crate::db::{self, DatabaseArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "ADDR")]
    listen: SocketAddr,
    /// Runtime worker threads; 1 runs everything on one thread (the blog
    /// post's single worker).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
    /// Database connections in the pool [default: 10 per worker].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pool_size: Option<u16>,
    /// Seconds a request may take before it is answered with 503.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    request_timeout: u64,
    /// Write one line per request to standard output (costs throughput).
    #[arg(long)]
    access_log: bool,
    /// Run a busy loop of N iterations before every request: a known extra
    /// cost per request, with which `bookbench cost` is checked.
    #[arg(long, default_value_t = 0, value_name = "N")]
    extra_work: u64,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub fn run(args: Args) -> Result<()> {
    // Each connection is a file: a shell's default soft limit (often 1,024)
    // would refuse connections long before the hard limit does.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => erroutln!("open files: up to {limit}"),
        Err(e) => erroutln!("open files: the limit could not be raised ({e})"),
    }
    let embedded = args.database.database_url.is_none();
    let url = args.database.resolve()?;
    if embedded {
        db::block_on(db::migrate(&url))?;
    }
    let mut config = Config::new(args.listen, url.clone());
    config.pool_size = usize::from(args.pool_size.unwrap_or(args.workers.saturating_mul(10)));
    config.request_timeout = Duration::from_secs(args.request_timeout.max(1));
    config.access_log = args.access_log;
    config.extra_work = args.extra_work;
    // The runtime's threads are the ones that serve; on one worker, this one.
    let runtime = if args.workers == 1 {
        allocator::warm_thread();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(args.workers))
            .on_thread_start(allocator::warm_thread)
            .enable_all()
            .build()
    }
    .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let app = Application::build(config)
            .await
            .with_context(|| format!("cannot start the server on {}", db::redact(&url)))?;
        let addr = app
            .local_addr()
            .context("cannot read the listening address")?;
        erroutln!("listening on http://{addr} (API docs at http://{addr}/docs)");
        app.run_until_stopped().await.context("server failed")
    })
}
