//! The load of one window: the engine on this machine, or an agent on each
//! client host (a thread of the suite in a namespace of the lab, or
//! `bookbench load` through a host's prefix), their reports merged.

use std::time::Duration;

use bookbench_load::{LoadConfig, Report};

use super::ClientHost;
use crate::Error;
use crate::hosts::{ClockOffset, Host};

/// What the load of one window gave: the agents' reports merged, and how
/// they shared it.
pub(super) struct Loaded {
    pub(super) report: Report,
    /// Each agent's requests, in the order of the client hosts.
    pub(super) agent_requests: Vec<u64>,
    /// The latest agent started this long after the first.
    pub(super) start_skew_us: u64,
}

/// How long before the load starts the agents of a window are started:
/// time for `ssh` to connect and `bookbench load` to be ready, so that all
/// start at the same instant. Threads of the suite need none.
pub(super) fn agents_lead(clients: &[ClientHost]) -> Duration {
    if clients
        .iter()
        .any(|c| matches!(c, ClientHost::Agent { .. }))
    {
        AGENT_LEAD
    } else {
        Duration::ZERO
    }
}

const AGENT_LEAD: Duration = Duration::from_millis(1500);

/// The load engine blocks; it runs on its own threads: on this machine, or
/// an agent on each client host, each with its share of the connections
/// (and of an open loop's rate). Threads in the lab's namespaces are
/// released together by a barrier once every one has entered its host;
/// agents on hosts of a hosts file are started `agents_lead` ahead with the
/// same `--start-at` instant (on each host's clock). Their reports merge
/// exactly (`Report::merge`).
pub(super) async fn run_load(config: LoadConfig, clients: &[ClientHost]) -> Result<Loaded, Error> {
    // No agent without a connection.
    let n = clients.len().min(config.connections.max(1) as usize);
    let clients: Vec<ClientHost> = clients.iter().take(n).cloned().collect();
    let n = u32::try_from(clients.len().max(1)).unwrap_or(1);
    let share = move |i: usize| {
        let mut share = config.clone();
        let i = u32::try_from(i).unwrap_or(0);
        share.connections = config.connections / n + u32::from(i < config.connections % n);
        share.rate = config.rate.map(|r| r / f64::from(n));
        share
    };
    let start_at = std::time::SystemTime::now() + agents_lead(&clients);
    tokio::task::spawn_blocking(move || {
        let barrier = std::sync::Barrier::new(clients.len().max(1));
        let started: std::sync::Mutex<Vec<i64>> = std::sync::Mutex::new(Vec::new());
        let slots: Vec<Option<&ClientHost>> = if clients.is_empty() {
            vec![None]
        } else {
            clients.iter().map(Some).collect()
        };
        let reports: Vec<Result<Report, Error>> = std::thread::scope(|s| {
            let handles: Vec<_> = slots
                .into_iter()
                .enumerate()
                .map(|(i, client)| {
                    let share = share(i);
                    let (barrier, started) = (&barrier, &started);
                    s.spawn(move || match client {
                        Some(ClientHost::Agent { host, clock }) => {
                            let report = run_agent(host, *clock, &share, start_at)?;
                            if let Ok(mut v) = started.lock() {
                                v.push(
                                    i64::try_from(report.start_late_us.unwrap_or(0)).unwrap_or(0),
                                );
                            }
                            Ok(report)
                        }
                        Some(ClientHost::Namespace(ns)) => {
                            let entered = bookbench_lab::enter(ns);
                            barrier.wait();
                            entered.map_err(|e| Error::Target(bookbench_errors::chain(&e)))?;
                            if let Ok(mut v) = started.lock() {
                                v.push(since_epoch_us());
                            }
                            bookbench_load::run(&share).map_err(Error::Load)
                        }
                        None => bookbench_load::run(&share).map_err(Error::Load),
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Target("a load agent's thread panicked".to_string()))
                    })
                })
                .collect()
        });
        let reports: Vec<Report> = reports.into_iter().collect::<Result<_, _>>()?;
        let starts = started.into_inner().unwrap_or_default();
        let skew = match (starts.iter().min(), starts.iter().max()) {
            (Some(first), Some(last)) => last.saturating_sub(*first),
            _ => 0,
        };
        let report = Report::merge(&reports)
            .map_err(Error::Load)?
            .ok_or_else(|| Error::Target("no load agent ran".to_string()))?;
        Ok(Loaded {
            agent_requests: reports.iter().map(|r| r.requests).collect(),
            start_skew_us: u64::try_from(skew).unwrap_or(0),
            report,
        })
    })
    .await
    .map_err(|e| Error::Target(format!("the load generator's thread failed: {e}")))?
}

fn since_epoch_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Runs one agent: `bookbench load` on `host` with `share`, started at
/// `start_at` of this machine's clock (the host's clock reads `clock`
/// more), its JSON report read from its output.
fn run_agent(
    host: &Host,
    clock: ClockOffset,
    share: &LoadConfig,
    start_at: std::time::SystemTime,
) -> Result<Report, Error> {
    // An agent on another host knows the built-in scenarios only: a
    // file's workload, and what its setup captured here, are not there.
    if let Some(name) = share
        .scenario
        .as_deref()
        .filter(|n| bookbench_load::scenario(n).is_none())
    {
        return Err(Error::Host(format!(
            "host '{}': the scenario '{name}' comes from a scenario file, and load agents on              other hosts run built-in scenarios only; run it from this host",
            host.name
        )));
    }
    let theirs = start_at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
        + clock.offset_us as f64 / 1e6;
    let ms = |d: Duration| format!("{}ms", d.as_millis());
    let mut command: Vec<String> = [
        host.bookbench.to_string_lossy().as_ref(),
        "load",
        &share.url,
        "-c",
        &share.connections.to_string(),
        "-t",
        &share.threads.to_string(),
        "-d",
        &ms(share.duration),
        "-w",
        &ms(share.warmup),
        "--timeout",
        &ms(share.timeout),
        "--start-at",
        &format!("@{theirs:.6}"),
        "--json",
        "-",
        "--quiet",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    if let Some(name) = &share.scenario {
        command.extend(["--scenario".to_string(), name.clone()]);
    }
    if let Some(ids) = &share.ids {
        command.extend([
            "--seed".to_string(),
            ids.seed.to_string(),
            "--authors".to_string(),
            ids.authors.to_string(),
            "--books".to_string(),
            ids.books.to_string(),
        ]);
    }
    if let Some(rate) = share.rate {
        command.extend(["--rate".to_string(), rate.to_string()]);
    }
    let limit =
        AGENT_LEAD + share.warmup + share.duration + share.timeout + Duration::from_secs(30);
    let output = host.run_output(&command, limit)?;
    serde_json::from_str::<Report>(output.stdout.trim()).map_err(|_| {
        Error::Host(format!(
            "host '{}': its load agent gave no report ({}): {}",
            host.name, output.status, output.last_error_line
        ))
    })
}

/// Runs `work` on a thread of its own, moved onto the client host first
/// when there is one: the sockets it opens, and the threads it starts (the
/// load engine's workers), are that host's.
pub(super) async fn on_client<T: Send + 'static>(
    client: Option<String>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(move || {
        std::thread::scope(|s| {
            s.spawn(|| {
                if let Some(ns) = &client {
                    bookbench_lab::enter(ns)
                        .map_err(|e| Error::Target(bookbench_errors::chain(&e)))?;
                }
                Ok(work())
            })
            .join()
            .unwrap_or_else(|_| Err(Error::Target("the client's thread panicked".to_string())))
        })
    })
    .await
    .map_err(|e| Error::Target(format!("the client's thread failed: {e}")))?
}
