//! One target of a run: started once, verified, then measured one window
//! at a time, in whatever order the rounds put it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bookbench_load::{LoadConfig, Report};
use tokio_postgres::Client;

use super::{ClientHost, Progress, Session, latency};
use crate::Error;
use crate::cpu;
use crate::hosts::{Host, Reach};
use crate::placeholders::Placeholders;
use crate::process::{self, Output, Running};
use crate::targets::Target;
use bookbench_results::{Flag, Usage, Window};

/// Another target using more than this share of a core (percent) during a
/// window was not idle: it competed for the machine.
pub(super) const NEIGHBOUR_BUSY_PCT: f64 = 5.0;

/// A started target, and what its measurement carries from window to
/// window.
pub(super) struct TargetRun<'a> {
    session: &'a Session<'a>,
    pub(super) target: &'a Target,
    /// Its index in the run's targets (and outcomes).
    pub(super) index: usize,
    /// `http://127.0.0.1:PORT`.
    pub(super) base: String,
    ready_url: String,
    /// The target, or with a proxy the proxy (what the load reaches).
    pub(super) running: Running,
    /// With a proxy: the target's instances behind it.
    instances: Vec<Running>,
    /// A JIT's long warm-up (`min_warmup_s`) is paid once, before the
    /// target's first window; the JIT stays warm after it.
    jit_warmup: Duration,
    /// The scenario's last concurrency measured and its requests/s.
    pub(super) last: Option<(u32, f64)>,
    /// No more windows of the current scenario: why is in the notes.
    pub(super) given_up: bool,
    /// It exited during the run: no more windows at all.
    pub(super) dead: bool,
    /// Each scenario's load, its setup requests sent: once per target,
    /// before its first window of the scenario.
    prepared: BTreeMap<String, LoadConfig>,
}

/// What one window gave: the record, and the load generator's report (for
/// the point's errors by kind and status codes).
pub(super) struct Measured {
    pub(super) window: Window,
    pub(super) report: Report,
}

impl<'a> TargetRun<'a> {
    /// Sets up the target's environment if it has one, starts it on a free
    /// port, waits until it is ready and verifies it.
    pub(super) async fn start(
        session: &'a Session<'a>,
        target: &'a Target,
        index: usize,
        progress: &mut Progress<'_>,
        verify: &mut Vec<bookbench_results::CheckResult>,
    ) -> Result<Self, Error> {
        let config = session.config;
        let app = config.app_host.as_ref().map(|h| &h.host);
        let remote = app.is_some_and(|h| h.reach() == Reach::Remote);
        let mut p = match app {
            Some(host) => host.placeholders(),
            None => config.placeholders.clone(),
        };
        p.port = super::free_port()?;
        p.database_url.clone_from(&session.target_database_url);
        // A remote host's environments and programs are its own (`bookbench
        // hosts check` looks at them).
        if let (Some(venv), None, false) = (&target.venv, target.unavailable(&p), remote) {
            progress.target(&target.name, &format!("setting up its environment {venv}"));
            crate::peers::setup(&p.home, &p.repo, venv, false).map_err(|e| {
                Error::Unavailable(format!(
                    "its environment {venv} cannot be set up: {}",
                    bookbench_errors::chain(&e)
                ))
            })?;
        }
        if let Some(why) = target.unavailable(&p).filter(|_| !remote) {
            return Err(Error::Unavailable(why));
        }
        // Behind a proxy with a host of its own, the proxy runs there.
        let front = super::proxy_host(config, target);
        let listen = SocketAddr::new(front.map_or_else(|| address(&p), |f| f.address), p.port);
        let base = format!("http://{listen}");
        let ready_url = format!("{base}{}", target.ready);
        let log = config.out.join("logs").join(format!("{}.log", target.name));
        progress.target(&target.name, "starting");
        let ready_within = Duration::from_secs(target.ready_timeout_s);
        let (mut running, instances) = match target.proxy {
            None => (
                Running::start_target(target, &p, app, Output::Log(&log))?,
                Vec::new(),
            ),
            Some(proxy) => {
                // The instances on ports of their own, each ready before
                // the proxy starts in front of them.
                let mut instances = Vec::new();
                let mut upstreams = Vec::new();
                for _ in 0..target.instances.max(1) {
                    let mut q = p.clone();
                    q.port = super::free_port()?;
                    let addr = SocketAddr::new(address(&q), q.port);
                    let mut r = Running::start_target(target, &q, app, Output::Log(&log))?;
                    r.wait_ready(&format!("http://{addr}{}", target.ready), ready_within)
                        .await?;
                    instances.push(r);
                    upstreams.push(addr);
                }
                let front_host = front.or(app);
                let dir = crate::proxy::dir(front_host.map_or(&p.home, |h| &h.home), &target.name);
                let conf = crate::proxy::write_conf_on(
                    front_host,
                    &dir,
                    &crate::proxy::nginx_conf(listen, &upstreams, &dir),
                )?;
                progress.target(&target.name, &format!("starting {} in front", proxy.name()));
                let line = crate::proxy::nginx_command(&conf, &dir, &target.cpus);
                let log =
                    config
                        .out
                        .join("logs")
                        .join(format!("{}.{}.log", target.name, proxy.name()));
                (
                    Running::start_on(front_host, &line, &[], Output::Log(&log))?,
                    instances,
                )
            }
        };
        running.wait_ready(&ready_url, ready_within).await?;
        if !target.contract {
            return Ok(Self::started(
                session,
                target,
                index,
                (base, ready_url),
                (running, instances),
            ));
        }
        progress.target(&target.name, "verifying");
        // From the client host, as the load will come.
        let from = base.clone();
        *verify = match self_clients(config).first() {
            Some(ClientHost::Agent { host, .. }) => {
                let host = host.clone();
                tokio::task::spawn_blocking(move || verify_on(&host, &from))
                    .await
                    .map_err(|e| Error::Target(format!("verify's thread failed: {e}")))??
            }
            first => {
                let namespace = match first {
                    Some(ClientHost::Namespace(ns)) => Some(ns.clone()),
                    _ => None,
                };
                super::load::on_client(namespace, move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| Error::io("cannot start verify's runtime", e))
                        .and_then(|rt| rt.block_on(crate::verify::verify(&from)))
                })
                .await??
            }
        };
        if let Some(failed) = verify.iter().find(|c| c.failure.is_some()) {
            return Err(Error::Verify {
                check: failed.name.clone(),
                message: failed.failure.clone().unwrap_or_default(),
            });
        }
        Ok(Self::started(
            session,
            target,
            index,
            (base, ready_url),
            (running, instances),
        ))
    }

    fn started(
        session: &'a Session<'a>,
        target: &'a Target,
        index: usize,
        (base, ready_url): (String, String),
        (running, instances): (Running, Vec<Running>),
    ) -> Self {
        Self {
            session,
            target,
            index,
            base,
            ready_url,
            running,
            instances,
            jit_warmup: Duration::from_secs_f64(target.min_warmup_s.unwrap_or(0.0)),
            last: None,
            given_up: false,
            dead: false,
            prepared: BTreeMap::new(),
        }
    }

    /// The scenario's load against this target, its setup sent (from the
    /// client host, as the load will come) before its first window.
    async fn load_for(&mut self, scenario: &str) -> Result<LoadConfig, Error> {
        if let Some(load) = self.prepared.get(scenario) {
            return Ok(load.clone());
        }
        let config = self.session.config;
        let workload = config.workloads.get(scenario).map_err(Error::Load)?;
        let mut load = LoadConfig::workload(&self.base, &workload);
        load.ids = Some(config.ids);
        load.timeout = config.timeout;
        if !load.setup.is_empty() {
            let namespace = match self_clients(config).first() {
                Some(ClientHost::Namespace(ns)) => Some(ns.clone()),
                _ => None,
            };
            load = super::load::on_client(namespace, move || {
                bookbench_load::prepare(&mut load).map(|()| load)
            })
            .await?
            .map_err(Error::Load)?;
        }
        self.prepared.insert(scenario.to_string(), load.clone());
        Ok(load)
    }

    pub(super) fn session(&self) -> &'a Session<'a> {
        self.session
    }

    /// Its process groups: the target's, or the proxy's and its instances'.
    pub(super) fn pgids(&self) -> Vec<i32> {
        std::iter::once(&self.running)
            .chain(&self.instances)
            .map(Running::pgid)
            .collect()
    }

    /// Once it, its proxy or one of its instances exited: how, and the
    /// last line of that one's log.
    pub(super) fn exited(&mut self) -> Option<(std::process::ExitStatus, Option<String>)> {
        let mut all = std::iter::once(&mut self.running).chain(self.instances.iter_mut());
        all.find_map(|r| r.exited().map(|status| (status, r.last_words())))
    }

    /// Stops the proxy, then its instances.
    pub(super) fn stop(self) {
        self.running.stop();
        for r in self.instances {
            r.stop();
        }
    }

    /// The app host, when it is a remote one: the targets' CPU time is
    /// read there.
    fn remote(&self) -> Option<&'a Host> {
        remote_app(self.session.config)
    }

    /// The client hosts, when the run has them.
    fn clients(&self) -> &'a [ClientHost] {
        self_clients(self.session.config)
    }

    /// One window: settle, warm up on the window's connections, then
    /// measure, with the CPU of every target (`groups`, this one at
    /// `me`), the database, the client, and each CPU's steal time counted
    /// over the window alone.
    pub(super) async fn measure_window(
        &mut self,
        scenario: &str,
        concurrency: u32,
        (round, position): (u32, u32),
        fill: Duration,
        (groups, me): (&[Vec<i32>], usize),
    ) -> Result<Measured, Error> {
        let config = self.session.config;
        let (db, counter) = (&self.session.db, &self.session.counter);
        let mut load = self.load_for(scenario).await?;
        load.connections = concurrency;
        load.rate = config.rate;
        let settle_limit = config.timeout + Duration::from_secs(30);
        let mut settled = true;
        if !self.jit_warmup.is_zero() {
            settled &= settle(&mut self.running, &self.ready_url, db, settle_limit).await;
            load.duration = self.jit_warmup;
            super::load::run_load(load.clone(), self.clients()).await?;
            self.jit_warmup = Duration::ZERO;
        }
        // A window shorter than a response counts waves, not a rate: fifty
        // connections sharing the database's two cores end their responses
        // together, every ten seconds at offset 500,000, and a window of
        // two seconds between two waves counted none (docs/method.md).
        load.duration = config.duration.max(fill);
        load.warmup = config.warmup.max(fill);
        // Both at once: each waits on its own, and a run has hundreds of
        // windows.
        let remote = self.remote();
        let (quiet, neighbours) = tokio::join!(
            settle(&mut self.running, &self.ready_url, db, settle_limit),
            neighbours_idle(remote, (groups, me), settle_limit)
        );
        settled &= quiet && neighbours;
        let time_wait = cpu::time_wait();
        // Counted from the end of the warm-up, while the load runs on.
        let warmup = load.warmup;
        // Agents on other hosts start a lead after they are started.
        let lead = super::load::agents_lead(self.clients());
        let window = async {
            // The remote read is on its way during the warm-up: its ssh
            // connection is not the window's start.
            let sample = cpu::sample_on_after(
                self.remote(),
                groups,
                self.session.relay_pgid,
                lead + warmup,
            )
            .await;
            let statements = counter.count(db).await;
            (statements, sample, cpu::cpu_times(), Instant::now())
        };
        let (report, (statements_before, before, times_before, started)) =
            tokio::join!(super::load::run_load(load, self.clients()), window);
        let super::load::Loaded {
            report,
            agent_requests,
            start_skew_us,
        } = report?;
        let wall = started.elapsed().as_secs_f64();
        let after = cpu::sample_on(self.remote(), groups, self.session.relay_pgid);
        let steal_pct = cpu::steal_pct(&times_before, &cpu::cpu_times());
        let statements = match (statements_before, counter.count(db).await) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        let usage = cpu::usage(&before, &after, me, wall);
        let others_cpu = (0..groups.len())
            .filter(|&i| i != me)
            .map(|i| cpu::percent(after.group(i).saturating_sub(before.group(i)), wall))
            .fold(0.0, f64::max);
        let finished = report.requests.max(1) as f64;
        let per_request = |ticks: u64| ticks as f64 / cpu::TICKS_PER_SECOND * 1e6 / finished;
        let cpu_per_request_us = Usage {
            server: per_request(after.group(me).saturating_sub(before.group(me))),
            database: per_request(after.database.saturating_sub(before.database)),
            client: report.client_cpu.per_request_us,
            relay: per_request(after.relay.saturating_sub(before.relay)),
        };
        let mut flags: Vec<Flag> = report.flags.iter().copied().map(flag_of_load).collect();
        if !settled {
            flags.push(Flag::NotSettled);
        }
        if steal_pct.iter().any(|&s| s > config.steal_threshold) {
            flags.push(Flag::Steal);
        }
        if others_cpu > NEIGHBOUR_BUSY_PCT {
            flags.push(Flag::NeighbourBusy);
        }
        if report.errors.connect > 0 {
            flags.push(Flag::ConnectErrors);
        }
        if before.remote_unread || after.remote_unread {
            flags.push(Flag::CpuUnread);
        }
        let window = Window {
            round,
            position,
            rps: report.rps,
            requests: report.requests,
            errors: report.errors.total,
            latency_us: latency(&report.latency_us),
            cpu: Usage {
                // The load generator's busiest thread: the share of its
                // core that bounds it.
                client: report.client_cpu.busy.max(0.0) * 100.0,
                ..usage
            },
            cpu_per_request_us,
            db_statements: statements,
            client_cpu_per_request_us: report.client_cpu.per_request_us,
            client_system_per_request_us: report.client_cpu.system_s * 1e6 / finished,
            steal_pct,
            others_cpu,
            time_wait,
            flags,
            histogram: report.histogram.data.clone(),
            agent_requests: if agent_requests.len() > 1 {
                agent_requests
            } else {
                Vec::new()
            },
            start_skew_us: (self.clients().len() > 1).then_some(start_skew_us),
        };
        Ok(Measured { window, report })
    }
}

/// `bookbench verify --json` on a client host.
fn verify_on(host: &Host, url: &str) -> Result<Vec<bookbench_results::CheckResult>, Error> {
    let command = [
        host.bookbench.to_string_lossy().into_owned(),
        "verify".to_string(),
        url.to_string(),
        "--json".to_string(),
    ];
    let ran = host.run_output(&command, Duration::from_secs(120))?;
    serde_json::from_str(ran.stdout.trim()).map_err(|_| {
        Error::Host(format!(
            "host '{}': verify gave no results ({}): {}",
            host.name, ran.status, ran.last_error_line
        ))
    })
}

fn remote_app(config: &super::RunConfig) -> Option<&Host> {
    config
        .app_host
        .as_ref()
        .map(|h| &h.host)
        .filter(|h| h.reach() == Reach::Remote)
}

fn self_clients(config: &super::RunConfig) -> &[ClientHost] {
    config.app_host.as_ref().map_or(&[][..], |h| &h.clients[..])
}

fn address(p: &Placeholders) -> IpAddr {
    p.address.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// Waits until no other target uses CPU: a target that was loaded at high
/// concurrency goes on serving the requests it had queued after its load
/// stopped, and would compete with the next window. False if one was
/// still busy at `limit`.
async fn neighbours_idle(
    remote: Option<&Host>,
    (groups, me): (&[Vec<i32>], usize),
    limit: Duration,
) -> bool {
    const PROBE: Duration = Duration::from_millis(100);
    let until = Instant::now() + limit;
    loop {
        let before = cpu::sample_on(remote, groups, None);
        let from = Instant::now();
        tokio::time::sleep(PROBE).await;
        let after = cpu::sample_on(remote, groups, None);
        // A remote sample takes its own time.
        let wall = from.elapsed().as_secs_f64();
        let busiest = (0..groups.len())
            .filter(|&i| i != me)
            .map(|i| cpu::percent(after.group(i).saturating_sub(before.group(i)), wall))
            .fold(0.0, f64::max);
        // Clock ticks are 10 ms: one tick in 100 ms reads as 10%.
        if busiest <= 10.0 {
            return true;
        }
        if Instant::now() >= until || process::interrupted() {
            return false;
        }
    }
}

/// Sessions of the database, other than this one, that are running a query.
const BUSY_BACKENDS: &str = "SELECT count(*) FROM pg_stat_activity \
     WHERE datname = current_database() AND backend_type = 'client backend' \
     AND state = 'active' AND pid <> pg_backend_pid()";

/// Waits until the target has served what the last load left it: it answers
/// its readiness path, and no other session of the database is busy three
/// polls in a row (a sync worker's database is idle for an instant between
/// two requests). False if that did not happen within `limit`.
async fn settle(running: &mut Running, ready_url: &str, db: &Client, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    if running.wait_ready(ready_url, limit).await.is_err() {
        return false;
    }
    let mut idle = 0;
    loop {
        let busy: i64 = match db.query_one(BUSY_BACKENDS, &[]).await {
            Ok(row) => row.get(0),
            Err(_) => return true,
        };
        idle = if busy == 0 { idle + 1 } else { 0 };
        if idle >= 3 {
            return true;
        }
        if Instant::now() >= until || process::interrupted() {
            return false;
        }
        // Short: a run has hundreds of windows, each settled first.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
/// The flags of a load generator's report, as results record them.
fn flag_of_load(flag: bookbench_load::Flag) -> Flag {
    match flag {
        bookbench_load::Flag::ClientBound => Flag::ClientBound,
        bookbench_load::Flag::Errors => Flag::Errors,
        bookbench_load::Flag::ScheduleSlipped => Flag::ScheduleSlipped,
        bookbench_load::Flag::Unserved => Flag::Unserved,
    }
}
