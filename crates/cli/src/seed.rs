//! `bookbench seed`.

use anyhow::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    database: crate::db::DatabaseArgs,
}

pub fn run(args: Args) -> Result<()> {
    let _ = args;
    anyhow::bail!("not yet")
}
