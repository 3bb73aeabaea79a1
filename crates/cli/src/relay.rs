//! `bookbench relay`: the latency relay as a process of its own, steered
//! through its standard input (see `bookbench_relay::control`).

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::{Context as _, Result};
use bookbench_relay::{Relay, control};
use bookbench_results::RoundTrip;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the relayed connections go (the database: 127.0.0.1:5432).
    #[arg(long, value_name = "HOST:PORT")]
    upstream: SocketAddr,
    /// Where to listen (port 0: a free one, written on the first line).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The round trip to add at start (0, 500us, 2ms); `round-trip 5ms` on
    /// standard input changes it.
    #[arg(long, default_value = "0")]
    round_trip: RoundTrip,
}

pub fn run(args: Args) -> Result<()> {
    let relay = Relay::start_on(args.listen, args.upstream, args.round_trip.duration())
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} {}", control::LISTENING, relay.addr())?;
    out.flush()?;
    control::serve(&relay, std::io::stdin().lock(), out).context("the control input failed")
}
