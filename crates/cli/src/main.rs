//! `bookbench`: one binary whose subcommands are the user's verbs.

mod db;
mod load;
mod peers;
mod seed;
mod serve;
mod suite;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "bookbench", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage the embedded PostgreSQL cluster under $BOOKBENCH_HOME.
    Db(db::Args),
    /// Fill the database with deterministic bookstore data.
    Seed(seed::Args),
    /// Load an HTTP server: closed or open loop, with honest latency.
    Load(load::Args),
    /// Serve the bookstore API.
    Serve(serve::Args),
    /// The main job: measure every target across scenarios and concurrency.
    Run(suite::RunArgs),
    /// List the targets, and whether each can run here.
    Targets(suite::TargetsArgs),
    /// Run one target in the foreground.
    Target(suite::TargetArgs),
    /// Check a running server against the API contract.
    Verify(suite::VerifyArgs),
    /// Compare two results.json files, point by point.
    Compare(suite::CompareArgs),
    /// Render summary.md and report.html again from a results.json.
    Report(suite::ReportArgs),
    /// Join results.json files of runs of different targets into one.
    Merge(suite::MergeArgs),
    /// Set up the Python peers' virtual environments.
    Peers(peers::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    tracing_init();
    let result = match cli.command {
        Command::Db(args) => db::run(args),
        Command::Seed(args) => seed::run(args),
        Command::Load(args) => load::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Run(args) => suite::run(args),
        Command::Targets(args) => suite::list(args),
        Command::Target(args) => suite::target(args),
        Command::Verify(args) => suite::verify(args),
        Command::Compare(args) => suite::compare(args),
        Command::Report(args) => suite::report(args),
        Command::Merge(args) => suite::merge(args),
        Command::Peers(args) => peers::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: what went wrong, with its causes.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// clap's own message, folded into one line; help and version as usual.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        _ => {}
    }
    let text = e.render().to_string();
    let line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .map(|l| l.trim_start_matches("error: "))
        .collect::<Vec<_>>()
        .join("; ");
    eprintln!("error: {line} (see 'bookbench --help')");
    ExitCode::from(2)
}

fn tracing_init() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("BOOKBENCH_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
