//! The run itself: the worker threads, the barrier that starts them
//! together, the ticks and the CPU samples taken while they run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};

use crate::report::report;
use crate::target::target;
use crate::{LoadConfig, LoadError, Report, cpu, engine, kind};

/// File descriptors a run needs besides one per connection.
const SPARE_FDS: u64 = 64;

/// One line of progress, every second.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    /// Since the start.
    pub elapsed: Duration,
    /// Successful requests and errors in the last second.
    pub ok: u64,
    pub errors: u64,
    /// The process's CPU time in the last second over the threads' time.
    pub cpu_busy: f64,
}

/// Runs the load and returns its report.
pub fn run(config: &LoadConfig) -> Result<Report, LoadError> {
    run_with(config, |_| {})
}

/// Runs the load, calling `on_tick` once when the run starts (with
/// `elapsed` zero) and then about once a second. A workload with setup
/// requests still to send sends them first ([`crate::prepare`]); a caller
/// that runs it many times prepares it once.
pub fn run_with(config: &LoadConfig, mut on_tick: impl FnMut(&Tick)) -> Result<Report, LoadError> {
    let prepared;
    let config = if config.setup.is_empty() {
        config
    } else {
        let mut c = config.clone();
        crate::prepare(&mut c)?;
        prepared = c;
        &prepared
    };
    let plan = plan(config, None)?;
    let threads = plan.threads;
    let (done_tx, done_rx) = mpsc::channel();
    let (handles, barrier) = spawn_workers(&plan, &done_tx)?;
    drop(done_tx);
    barrier.wait();
    let start = Instant::now();
    let warm_end = start + config.warmup;
    // The process's CPU time from the end of the warm-up.
    let mut cpu_base = config.warmup.is_zero().then(cpu::process_cpu);
    let (user0, sys0) = cpu::process_cpu();
    on_tick(&Tick {
        elapsed: Duration::ZERO,
        ok: 0,
        errors: 0,
        cpu_busy: 0.0,
    });

    // Ticks while the workers run.
    let mut finished = 0;
    let mut last = (0u64, 0u64, user0 + sys0);
    let mut next = start + Duration::from_secs(1);
    while finished < threads {
        let now = Instant::now();
        if cpu_base.is_none() && now >= warm_end {
            cpu_base = Some(cpu::process_cpu());
        }
        if now >= next {
            let ok: u64 = plan.live.iter().map(|l| l.ok.load(Ordering::Relaxed)).sum();
            let errors: u64 = plan
                .live
                .iter()
                .map(|l| l.errors.load(Ordering::Relaxed))
                .sum();
            let (u, s) = cpu::process_cpu();
            let cpu = u + s;
            on_tick(&Tick {
                elapsed: now - start,
                ok: ok - last.0,
                errors: errors - last.1,
                cpu_busy: (cpu.saturating_sub(last.2)).as_secs_f64() / f64::from(threads),
            });
            last = (ok, errors, cpu);
            next += Duration::from_secs(1);
            continue;
        }
        let wake = if cpu_base.is_none() {
            next.min(warm_end)
        } else {
            next
        };
        match done_rx.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(()) => finished += 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let mut results = Vec::new();
    for h in handles {
        match h.join() {
            Ok(r) => results.push(r?),
            Err(_) => return Err(LoadError::Config("a worker thread panicked".to_string())),
        }
    }
    let (user1, sys1) = cpu::process_cpu();
    let (user0, sys0) = cpu_base.unwrap_or((user0, sys0));
    let wall = start
        .elapsed()
        .saturating_sub(config.warmup)
        .min(config.duration);
    report(
        config,
        &plan,
        results,
        wall,
        (user1.saturating_sub(user0), sys1.saturating_sub(sys0)),
    )
}

/// Checks `config`, sends the preflight, and plans the workers' load.
pub(crate) fn plan(
    config: &LoadConfig,
    gate: Option<engine::Gate>,
) -> Result<Arc<engine::Plan>, LoadError> {
    config.validate()?;
    let target = target(&config.url)?;
    let kinds = config
        .requests
        .iter()
        .map(|r| kind::Kind::compile(r, &target, &config.values))
        .collect::<Result<Vec<_>, _>>()?;
    if kinds.iter().any(kind::Kind::needs_ids) {
        match config.ids {
            None => return Err(LoadError::NeedIds),
            Some(ids) if ids.authors == 0 || ids.books == 0 => {
                return Err(LoadError::Config(
                    "the data set has no authors or no books to draw ids from".into(),
                ));
            }
            Some(_) => {}
        }
    }
    let needed = u64::from(config.connections) + SPARE_FDS;
    let limit = cpu::ensure_fd_limit(needed);
    if limit < needed {
        return Err(LoadError::FileLimit {
            connections: config.connections,
            needed,
            limit,
        });
    }
    if config.preflight {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LoadError::Runtime)?;
        let local = tokio::task::LocalSet::new();
        rt.block_on(local.run_until(engine::preflight(&target, config.timeout)))?;
    }
    let threads = config.threads.min(config.connections);
    Ok(Arc::new(engine::Plan {
        target,
        kinds,
        connections: config.connections,
        threads,
        warmup: config.warmup,
        duration: config.duration,
        interval_s: config.rate.map(|r| 1.0 / r),
        timeout: config.timeout,
        cap: config.max_requests,
        claimed: AtomicU64::new(0),
        ids: config.ids,
        rng_seed: config.rng_seed.unwrap_or_else(|| fastrand::u64(..)),
        record_samples: config.record_samples,
        live: (0..threads).map(|_| engine::Live::default()).collect(),
        gate,
    }))
}

/// The worker threads, and the barrier they wait at.
pub(crate) type Workers = (
    Vec<std::thread::JoinHandle<Result<engine::WorkerResult, LoadError>>>,
    Arc<Barrier>,
);

/// Starts the worker threads, each waiting at the returned barrier until
/// the caller joins it; each says on `done_tx` when it ends.
pub(crate) fn spawn_workers(
    plan: &Arc<engine::Plan>,
    done_tx: &mpsc::Sender<()>,
) -> Result<Workers, LoadError> {
    let threads = plan.threads;
    let barrier = Arc::new(Barrier::new(threads as usize + 1));
    let mut handles = Vec::new();
    for w in 0..threads {
        let plan = Arc::clone(plan);
        let gate = Arc::clone(&barrier);
        let done = done_tx.clone();
        let h = std::thread::Builder::new()
            .name(format!("load-{w}"))
            .spawn(move || {
                let r = engine::worker(&plan, w, &gate);
                let _ = done.send(());
                r
            });
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                // The started workers wait at the barrier; let them go (they
                // finish after the duration) and report the failure.
                for _ in handles.len()..threads as usize {
                    barrier.wait();
                }
                return Err(LoadError::Runtime(e));
            }
        }
    }
    Ok((handles, barrier))
}
