//! `bookbench peers`: the Python peers' virtual environments.

use anyhow::{Context as _, Result, bail};
use bookbench_suite::Error;
use bookbench_suite::peers::{self, Setup};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Create the peers' virtual environments under $BOOKBENCH_HOME/peers
    /// from the pinned requirements (skipping those already up to date).
    Setup(SetupArgs),
}

#[derive(Debug, clap::Args)]
struct SetupArgs {
    /// Only these environments (comma-separated); all by default.
    #[arg(long = "venv", value_name = "NAME", value_delimiter = ',')]
    venvs: Vec<String>,
    /// Try again an environment whose set-up failed before.
    #[arg(long)]
    retry: bool,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Setup(args) => setup(&args),
    }
}

fn setup(args: &SetupArgs) -> Result<()> {
    let home = bookbench_cluster::embedded::home_from_env();
    let repo = std::env::current_dir().context("no current directory")?;
    let names: Vec<String> = if args.venvs.is_empty() {
        peers::VENVS.iter().map(|v| v.name.to_string()).collect()
    } else {
        for name in &args.venvs {
            peers::find(name)?;
        }
        args.venvs.clone()
    };
    let mut failed = Vec::new();
    for name in &names {
        let dir = peers::dir(&home, name);
        match peers::setup(&home, &repo, name, args.retry) {
            Ok(Setup::UpToDate) => outln!("{name}: up to date ({})", dir.display()),
            Ok(Setup::Installed(took)) => {
                outln!(
                    "{name}: installed in {:.0} s ({})",
                    took.as_secs_f64(),
                    dir.display()
                );
            }
            Err(Error::Unavailable(why)) => outln!("{name}: skipped: {why}"),
            Err(e) => {
                outln!("{name}: failed: {e}");
                failed.push(name.clone());
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} could not be set up: {}",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}
