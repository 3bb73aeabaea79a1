//! `bookbench verify URL`: a running server against the API contract.

use anyhow::{Result, bail};

use crate::db;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The target's base URL, for example http://127.0.0.1:8000.
    url: String,
}

pub fn run(args: Args) -> Result<()> {
    let results = db::block_on(bookbench_suite::verify::verify(&args.url))?;
    let mut failed = Vec::new();
    for r in &results {
        match &r.failure {
            None => println!("ok    {}", r.name),
            Some(why) => {
                println!("FAIL  {}: {why}", r.name);
                failed.push(r.name.clone());
            }
        }
    }
    if failed.is_empty() {
        println!("{} passed, 0 failed", results.len());
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
