//! `bookbench targets` and `bookbench target NAME`: the declared targets,
//! and one of them in the foreground.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use bookbench_suite::placeholders::Placeholders;
use bookbench_suite::process::{self, Output, Running};
use bookbench_suite::targets::{self, Declared};

use crate::db::{self, DatabaseArgs};

/// Where targets are declared, besides the built-in bench/targets.toml.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetsFile {
    /// Targets declared in FILE, beside the built-in ones (docs/targets.md).
    #[arg(long, value_name = "FILE", conflicts_with = "only_targets_file")]
    targets_file: Option<PathBuf>,
    /// The targets declared in FILE alone, instead of the built-in ones.
    #[arg(long, value_name = "FILE")]
    only_targets_file: Option<PathBuf>,
}

impl TargetsFile {
    /// The targets these flags name.
    pub fn load(&self) -> Result<Vec<targets::Target>, bookbench_suite::Error> {
        targets::load(&self.declared())
    }

    fn declared(&self) -> Declared {
        match (&self.targets_file, &self.only_targets_file) {
            (_, Some(only)) => Declared::Only(only.clone()),
            (Some(added), None) => Declared::Adding(added.clone()),
            (None, None) => Declared::BuiltIn,
        }
    }
}

/// Refuses a baseline that is not among `selected`, naming them; `what`
/// says what is done to them (`measured`, `counted`).
pub fn check_baseline(
    baseline: Option<&String>,
    selected: &[targets::Target],
    what: &str,
) -> Result<()> {
    if let Some(b) = baseline
        && !selected.iter().any(|t| &t.name == b)
    {
        bail!(
            "the baseline '{b}' is not among the targets {what} ({}); name one of them",
            selected
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    targets_file: TargetsFile,
}

/// Each target, and whether it can run here.
pub fn list(args: ListArgs) -> Result<()> {
    let all = args.targets_file.load()?;
    let p = Placeholders::discover("postgres://", bookbench_cluster::embedded::home_from_env())?;
    let width = all.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &all {
        let state = match (t.unavailable(&p), &t.venv) {
            (Some(why), _) => format!("cannot run here: {why}"),
            (None, Some(venv)) if !bookbench_suite::peers::is_ready(&p.home, &p.repo, venv) => {
                format!(
                    "ready once its environment {venv} is set up (bookbench peers setup; run does it on demand)"
                )
            }
            (None, _) => "ready".to_string(),
        };
        outln!(
            "{:<width$}  {} (CPU {:?}) — {state}",
            t.name,
            t.description,
            t.cpus
        );
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The target's name (see `bookbench targets`).
    name: String,
    /// Where it listens: 127.0.0.1:PORT.
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: std::net::SocketAddr,
    #[command(flatten)]
    targets_file: TargetsFile,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// Runs one target in the foreground until it exits or bookbench gets
/// SIGINT, SIGTERM or SIGHUP; then its whole process group is stopped. If
/// bookbench is killed outright, the target's watchdog stops it.
pub fn run(args: RunArgs) -> Result<()> {
    let all = args.targets_file.load()?;
    // select() words the error for an unknown name, with the valid ones.
    let t = targets::select(&all, std::slice::from_ref(&args.name))?
        .into_iter()
        .next()
        .with_context(|| format!("unknown target '{}'", args.name))?;
    if !args.listen.ip().is_loopback() {
        bail!("targets listen on 127.0.0.1 only, not {}", args.listen.ip());
    }
    let url = args.database.resolve()?;
    db::block_on(db::migrate(&url))?;
    let mut p = Placeholders::discover(&url, bookbench_cluster::embedded::home_from_env())?;
    p.port = args.listen.port();
    if let Some(why) = t.unavailable(&p) {
        bail!("target '{}' cannot run here: {why}", t.name);
    }
    process::install_interrupt_handler();
    let mut running = Running::start_target(&t, &p, None, Output::Inherit)?;
    match running.wait() {
        Some(status) if status.success() => Ok(()),
        Some(status) => bail!("target '{}' exited with {status}", t.name),
        None => {
            running.stop();
            erroutln!("target '{}' stopped", t.name);
            Ok(())
        }
    }
}
