//! `bookbench`: one binary whose subcommands are the user's verbs. It only
//! parses and dispatches; each verb's module turns flags into a call of the
//! library crates.

// The doc comments of the argument structs are clap's `--help` text, which
// a terminal shows verbatim: `<timestamp>` and `[PORT]` are meant literally.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

#[macro_use]
mod say;
mod calibrate;
mod cost;
mod db;
mod hosts;
mod lab;
mod load;
mod matrix;
mod peers;
mod relay;
mod results;
mod run;
mod seed;
mod serve;
mod targets;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The allocator of the whole binary: measurably faster than the system's
/// for the server's many small, short-lived allocations (docs/server.md).
#[global_allocator]
static GLOBAL: bookbench_server::allocator::MiMalloc = bookbench_server::allocator::MiMalloc;

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
    Run(run::Args),
    /// List the targets, and whether each can run here.
    Targets(targets::ListArgs),
    /// Run one target in the foreground.
    Target(targets::RunArgs),
    /// Check a running server against the API contract.
    Verify(verify::Args),
    /// Measure the suite's own noise (A/A) and check that it finds a known
    /// loss: the noise threshold and the precision come from it.
    Calibrate(calibrate::Args),
    /// Count what a request costs each target (instructions, system calls,
    /// database statements, rows and buffers) under valgrind's callgrind.
    Cost(cost::Args),
    /// A WSGI or ASGI app of your own under every server and interpreter
    /// it can run with, measured as `run` measures the peers.
    Matrix(matrix::Args),
    /// Compare two results.json files, point by point.
    Compare(results::CompareArgs),
    /// Render summary.md and report.html again from a results.json.
    Report(results::ReportArgs),
    /// Join results.json files of runs of different targets into one.
    Merge(results::MergeArgs),
    /// Set up the Python peers' virtual environments.
    Peers(peers::Args),
    /// Hosts on this machine: network namespaces joined by a bridge.
    Lab(lab::Args),
    /// The hosts of a hosts file (`run --hosts`): can each take its role?
    Hosts(hosts::Args),
    /// Relay TCP connections with a round trip added (the database a
    /// network away); stops when its standard input ends.
    Relay(relay::Args),
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
        Command::Run(args) => run::run(args),
        Command::Targets(args) => targets::list(args),
        Command::Target(args) => targets::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Cost(args) => cost::run(args),
        Command::Matrix(args) => matrix::run(args),
        Command::Compare(args) => results::compare(args),
        Command::Report(args) => results::report(args),
        Command::Merge(args) => results::merge(args),
        Command::Peers(args) => peers::run(args),
        Command::Relay(args) => relay::run(args),
        Command::Lab(args) => lab::run(args),
        Command::Hosts(args) => hosts::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: what went wrong, with its causes.
            erroutln!("error: {e:#}");
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
    erroutln!("error: {line} (see 'bookbench --help')");
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
