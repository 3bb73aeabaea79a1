//! A relay run as a process of its own (`bookbench relay`) is steered by
//! lines on its standard input, one answer line each on its standard
//! output, so that whoever started it (the suite, here or through `ssh` or
//! `ip netns exec`) can change its round trip between two measurements
//! without restarting the app's connection pool:
//!
//! ```text
//! listening 127.0.0.1:41234          (written once, at start)
//! > round-trip 2ms
//! round-trip 2ms
//! > stats
//! connections 20 bytes 1048576 lateness-us 9
//! ```
//!
//! The relay stops when its standard input ends: when the process that
//! started it exits, for whatever reason, no relay is left behind.

use std::io::{self, BufRead, Write};

use bookbench_results::RoundTrip;

use crate::Relay;

/// The first line a relay process writes: where to connect.
pub const LISTENING: &str = "listening";
/// Sets the round trip: `round-trip 2ms`; answered with the same line.
pub const ROUND_TRIP: &str = "round-trip";
/// What the relay carried: `connections N bytes N lateness-us N`.
pub const STATS: &str = "stats";
/// Starts an answer that refuses a line.
pub const ERROR: &str = "error:";

/// Answers the commands read from `input` until it ends.
pub fn serve(relay: &Relay, input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        let answer = answer(relay, line.trim());
        writeln!(output, "{answer}")?;
        output.flush()?;
    }
    Ok(())
}

fn answer(relay: &Relay, line: &str) -> String {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(ROUND_TRIP), Some(value), None) => match value.parse::<RoundTrip>() {
            Ok(rt) => {
                relay.set_round_trip(rt.duration());
                format!("{ROUND_TRIP} {rt}")
            }
            Err(e) => format!("{ERROR} {e}"),
        },
        (Some(STATS), None, None) => format!(
            "connections {} bytes {} lateness-us {}",
            relay.connections(),
            relay.bytes(),
            relay.mean_lateness().as_micros()
        ),
        _ => format!("{ERROR} unknown command '{line}' (use: {ROUND_TRIP} 2ms, or {STATS})"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::time::Duration;

    #[test]
    fn commands_change_the_round_trip_and_nonsense_is_answered_not_obeyed() {
        // Nothing listens upstream: no connection is made here.
        let upstream: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let relay = Relay::start(upstream, Duration::ZERO).unwrap();
        let input = "round-trip 2ms\nround-trip soon\nstats\nreboot\nround-trip 0.5ms\n";
        let mut output = Vec::new();
        serve(&relay, input.as_bytes(), &mut output).unwrap();
        let text = String::from_utf8(output).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(lines.first(), Some(&"round-trip 2ms"));
        assert!(lines.get(1).unwrap().starts_with("error: 'soon'"), "{text}");
        assert_eq!(lines.get(2), Some(&"connections 0 bytes 0 lateness-us 0"));
        assert!(
            lines.get(3).unwrap().contains("unknown command 'reboot'"),
            "{text}"
        );
        assert_eq!(lines.get(4), Some(&"round-trip 0.5ms"));
        assert_eq!(relay.round_trip(), Duration::from_micros(500));
    }
}
