//! `bookbench verify URL`: a running server against the API contract.

use anyhow::{Result, bail};

use crate::db;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The target's base URL, for example http://127.0.0.1:8000.
    url: String,
    /// Print the checks' results as JSON (for the suite on another host).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let results = db::block_on(bookbench_suite::verify::verify(&args.url))?;
    if args.json {
        outln!("{}", serde_json::to_string(&results)?);
    } else {
        for r in &results {
            match &r.failure {
                None => outln!("ok    {}", r.name),
                Some(why) => outln!("FAIL  {}: {why}", r.name),
            }
        }
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.failure.is_some())
        .map(|r| r.name.as_str())
        .collect();
    if failed.is_empty() {
        if !args.json {
            outln!("{} passed, 0 failed", results.len());
        }
        Ok(())
    } else {
        bail!(
            "{} of {} checks failed: {}",
            failed.len(),
            results.len(),
            failed.join(", ")
        )
    }
}
