//! `bookbench lab`: hosts on this machine, as network namespaces.

use anyhow::Result;
use bookbench_lab::{Layout, MAX_CLIENTS};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Build the lab: client, app and database hosts (and a proxy) joined
    /// by a bridge, at 198.18.0.0/24 (needs root).
    Up(UpArgs),
    /// Remove the lab and every process in it, whatever state it is in.
    Down,
    /// Say what of a lab there is.
    Status,
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    /// Client hosts, for load from several agents.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=i64::from(MAX_CLIENTS)))]
    clients: u8,
    /// A proxy host between the clients and the app.
    #[arg(long)]
    proxy: bool,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Up(a) => {
            let hosts = bookbench_lab::up(Layout {
                clients: a.clients,
                proxy: a.proxy,
            })?;
            for h in hosts {
                outln!("{:<7} {:<18} {}", h.role.name(), h.namespace, h.addr);
            }
        }
        Command::Down => {
            stop_cluster_in_lab();
            let removed = bookbench_lab::down()?;
            if removed.is_empty() {
                outln!("no lab");
            } else {
                out!("removed:\n{removed}");
            }
        }
        Command::Status => out!("{}", with_newline(bookbench_lab::status()?.to_string())),
    }
    Ok(())
}

/// Stops the embedded cluster cleanly when `run --lab` left it on the
/// database host; the lab's teardown would otherwise end it with SIGTERM
/// like any other process there.
pub(crate) fn stop_cluster_in_lab() {
    use bookbench_cluster::embedded::{self, Embedded};
    let home = embedded::home_from_env();
    if !home.join("cluster.json").exists() {
        return;
    }
    if let Ok(db) = Embedded::open(&home)
        && !db.address().is_loopback()
        && let Err(e) = db.stop()
    {
        erroutln!("warning: the database on the lab's database host did not stop cleanly: {e}");
    }
}

fn with_newline(mut s: String) -> String {
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}
