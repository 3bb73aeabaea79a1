//! The database a network away: with `--db-latency`, every target reaches
//! the database through a latency relay (`bookbench relay`), a process of
//! its own so that its CPU time is a party of its own in the attribution,
//! and steered through its standard input so that a run sweeps round
//! trips without restarting the targets or their pools. The suite's own
//! connection (counting statements, seeing the database idle) goes
//! direct.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::Path;
use std::process::{ChildStdin, ChildStdout};

use bookbench_relay::control;
use bookbench_results::RoundTrip;

use crate::Error;
use crate::process::Running;

/// A started relay process.
#[derive(Debug)]
pub(super) struct DbRelay {
    running: Running,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// The targets' database URL: the run's, at the relay's address.
    database_url: String,
}

impl DbRelay {
    /// Starts `bookbench relay` in front of the database of `database_url`,
    /// listening on `listen`, its errors to `log`.
    pub(super) fn start(
        bookbench: &Path,
        database_url: &str,
        listen: SocketAddr,
        log: &Path,
    ) -> Result<Self, Error> {
        let upstream = upstream_of(database_url)?;
        let command = [
            bookbench.display().to_string(),
            "relay".to_string(),
            "--upstream".to_string(),
            upstream.to_string(),
            "--listen".to_string(),
            listen.to_string(),
        ];
        let (running, input, output) = Running::start_piped(&command, &[], log)?;
        let mut relay = Self {
            running,
            input,
            output: BufReader::new(output),
            database_url: String::new(),
        };
        let first = relay.read_line()?;
        let addr: SocketAddr = first
            .strip_prefix(control::LISTENING)
            .and_then(|a| a.trim().parse().ok())
            .ok_or_else(|| Error::Relay(format!("it started with '{first}', not an address")))?;
        relay.database_url = with_address(database_url, addr)?;
        Ok(relay)
    }

    pub(super) fn pgid(&self) -> i32 {
        self.running.pgid()
    }

    /// The URL the targets connect to.
    pub(super) fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Adds `round_trip` from now on, on the connections it carries too.
    pub(super) fn set(&mut self, round_trip: RoundTrip) -> Result<(), Error> {
        let asked = format!("{} {round_trip}", control::ROUND_TRIP);
        writeln!(self.input, "{asked}")
            .and_then(|()| self.input.flush())
            .map_err(|e| Error::Relay(format!("cannot steer it: {e}")))?;
        let answer = self.read_line()?;
        if answer == asked {
            Ok(())
        } else {
            Err(Error::Relay(format!(
                "asked '{asked}', it answered '{answer}'"
            )))
        }
    }

    /// One line of its answers: it answers each at once, or has died.
    fn read_line(&mut self) -> Result<String, Error> {
        let mut line = String::new();
        match self.output.read_line(&mut line) {
            Ok(0) => Err(Error::Relay(format!(
                "it exited ({})",
                self.running
                    .exited()
                    .map_or_else(|| "its output closed".to_string(), |s| s.to_string())
            ))),
            Ok(_) => Ok(line.trim().to_string()),
            Err(e) => Err(Error::Relay(format!("cannot read its answer: {e}"))),
        }
    }

    /// Stops it, and the connections it carries.
    pub(super) fn stop(self) {
        self.running.stop();
    }
}

/// The TCP address of the database of `url`.
pub(super) fn upstream_of(url: &str) -> Result<SocketAddr, Error> {
    let parsed = url::Url::parse(url).map_err(|e| {
        Error::Usage(format!(
            "--db-latency: the database URL does not parse: {e}"
        ))
    })?;
    let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| {
        Error::Usage(
            "--db-latency needs a database reached over TCP (a host in its URL)".to_string(),
        )
    })?;
    let port = parsed.port().unwrap_or(5432);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            Error::Usage(format!(
                "--db-latency: cannot resolve the database host {host}"
            ))
        })
}

/// `url` with its host and port replaced by `addr`.
fn with_address(url: &str, addr: SocketAddr) -> Result<String, Error> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| Error::Relay(format!("the database URL: {e}")))?;
    parsed
        .set_ip_host(addr.ip())
        .and_then(|()| parsed.set_port(Some(addr.port())))
        .map_err(|()| Error::Relay("the database URL takes no host".to_string()))?;
    Ok(parsed.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_targets_database_url_keeps_everything_but_the_address() {
        let url = "postgres://bookbench:s%40cret@127.0.0.1:5433/bookbench?sslmode=disable";
        assert_eq!(upstream_of(url).unwrap(), "127.0.0.1:5433".parse().unwrap());
        let relayed = with_address(url, "127.0.0.1:41000".parse().unwrap()).unwrap();
        assert_eq!(
            relayed,
            "postgres://bookbench:s%40cret@127.0.0.1:41000/bookbench?sslmode=disable"
        );
        assert_eq!(
            upstream_of("postgres://u@localhost/db").unwrap().port(),
            5432
        );
    }

    #[test]
    fn a_database_without_a_tcp_host_is_refused_with_what_to_do() {
        let e = upstream_of("postgres:///bookbench?host=/run/postgresql").unwrap_err();
        assert!(e.to_string().contains("reached over TCP"), "{e}");
    }
}
