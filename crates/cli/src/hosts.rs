//! `bookbench hosts check`: whether each host of a hosts file can take its
//! role.

use std::path::PathBuf;

use anyhow::{Result, bail};
use bookbench_suite::host_check;
use bookbench_suite::hosts::Hosts;
use bookbench_suite::placeholders::Placeholders;
use bookbench_suite::targets;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check every host: that it answers through its prefix, that its
    /// bookbench is this one's version, its clock, nginx on a proxy host,
    /// and what the targets need on the app host.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The hosts file [default: bench/hosts.toml, the lab's].
    #[arg(long, value_name = "FILE")]
    hosts: Option<PathBuf>,
    /// The targets whose needs the app host is checked for [default: all].
    #[arg(long, value_delimiter = ',')]
    targets: Option<Vec<String>>,
    #[command(flatten)]
    targets_file: crate::targets::TargetsFile,
}

pub fn run(args: Args) -> Result<()> {
    let Command::Check(a) = args.command;
    let p = Placeholders::discover("", bookbench_cluster::embedded::home_from_env())?;
    let path = a
        .hosts
        .unwrap_or_else(|| p.repo.join("bench").join("hosts.toml"));
    let file = Hosts::load(&path, &p)?;
    let all = a.targets_file.load()?;
    let selected = match &a.targets {
        Some(names) => targets::select(&all, names)?,
        None => all,
    };
    let checked = host_check::check(&file, &selected);
    let mut failed = Vec::new();
    for c in &checked {
        match &c.outcome {
            Ok(found) => outln!("ok    {:<10} {:<8} {found}", c.host, c.role.name()),
            Err(why) => {
                outln!("FAIL  {:<10} {:<8} {why}", c.host, c.role.name());
                failed.push(c.host.as_str());
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} hosts of {} cannot be used: {}",
            failed.len(),
            checked.len(),
            path.display(),
            failed.join(", ")
        );
    }
    Ok(())
}
