//! One point (a scenario at one concurrency), measured in rounds: in each
//! round every target of the point gets one window, in an order shuffled
//! from the run's seed, so that slow drift of the machine falls on every
//! target alike and cancels in their per-round ratios. Rounds go on until
//! every ratio's interval is as narrow as asked, the point's rounds or
//! time are spent.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bookbench_load::{Percentiles, Report};

use bookbench_results::judge::{self, undisturbed};
use bookbench_results::stats;
use bookbench_results::{At, Flag, Point, Results, TargetStatus, Usage, Window};

use super::target::{Measured, TargetRun};
use super::{NO_DATABASE, Progress, fill_time, latency};
use crate::{Error, process};

/// What a target measured at the point so far.
struct Measurement {
    /// Index into the run's live targets.
    live: usize,
    windows: Vec<Window>,
    reports: Vec<Report>,
}

/// Measures `scenario` at `concurrency` on the live targets that still
/// take it, writing the point's figures into `results` after every round.
/// A target that dies is marked failed in `outcomes` and left out from
/// then on; one the load generator cannot load gives up the scenario.
pub(super) async fn measure(
    live: &mut [TargetRun<'_>],
    at: At<'_>,
    results: &mut Results,
    progress: &mut Progress<'_>,
) -> Result<(), Error> {
    let (scenario, concurrency) = (at.scenario, at.concurrency);
    let config = live
        .first()
        .map(|t| t.session().config)
        .ok_or_else(|| Error::Usage("no target to measure".to_string()))?;
    let started = Instant::now();
    let budget = config.point_budget;
    let mut taking: Vec<Measurement> = Vec::new();
    for (i, t) in live.iter_mut().enumerate() {
        if t.given_up || t.dead {
            continue;
        }
        if let Some(why) = super::beyond_reach(config, t.last, concurrency) {
            let levels = levels(config, |c| c >= concurrency);
            super::give_up(results, t.index, &at, &levels, &why);
            t.given_up = true;
            continue;
        }
        taking.push(Measurement {
            live: i,
            windows: Vec::new(),
            reports: Vec::new(),
        });
    }
    if taking.is_empty() {
        return Ok(());
    }
    // The seed of this point's orders, from the run's seed and the point,
    // so that a rerun with the same seed measures in the same order.
    let point_seed = config.seed
        ^ fnv(scenario)
        ^ u64::from(concurrency).rotate_left(32)
        ^ at.db_round_trip_us.unwrap_or(0).rotate_left(48);
    let mut rng = fastrand::Rng::with_seed(point_seed);
    let mut round: u32 = 0;
    let mut longest_round = Duration::ZERO;
    loop {
        if process::interrupted() {
            return Err(Error::Interrupted);
        }
        let round_started = Instant::now();
        let mut order: Vec<usize> = (0..taking.len()).collect();
        rng.shuffle(&mut order);
        let groups: Vec<Vec<i32>> = live.iter().map(TargetRun::pgids).collect();
        progress.round(&at, round);
        for (position, &m) in order.iter().enumerate() {
            let Some(measurement) = taking.get_mut(m) else {
                continue;
            };
            let Some(t) = live.get_mut(measurement.live) else {
                continue;
            };
            if t.given_up || t.dead {
                continue;
            }
            let fill = t.last.map_or(Duration::ZERO, |(_, rps)| {
                fill_time(config, concurrency, rps)
            });
            let measured = t
                .measure_window(
                    scenario,
                    concurrency,
                    (round, u32::try_from(position).unwrap_or(u32::MAX)),
                    fill,
                    (&groups, measurement.live),
                )
                .await;
            if let Some((status, last_words)) = t.exited() {
                // An interrupt stops every target: that is no death.
                if process::interrupted() {
                    return Err(Error::Interrupted);
                }
                t.dead = true;
                if let Some(outcome) = results.targets.get_mut(t.index) {
                    outcome.status = TargetStatus::Failed;
                    outcome.reason = Some(match last_words {
                        Some(said) => {
                            format!("it died during {scenario} ({status}); its log ends: {said}")
                        }
                        None => format!("it died during {scenario} ({status})"),
                    });
                }
                progress.target(
                    &t.target.name,
                    &format!("failed: it died during {scenario}"),
                );
                continue;
            }
            match measured {
                Ok(Measured { window, report }) => {
                    measurement.windows.push(window);
                    measurement.reports.push(report);
                }
                // The target lives: this scenario is given up for it, the
                // rest go on.
                Err(Error::Load(why)) => {
                    let levels = levels(config, |c| c >= concurrency);
                    let why = bookbench_errors::chain(&why);
                    super::give_up(results, t.index, &at, &levels, &why);
                    t.given_up = true;
                }
                Err(e) => return Err(e),
            }
        }
        round += 1;
        longest_round = longest_round.max(round_started.elapsed());
        let points = summarise_all(live, &taking, at, config);
        record(results, at, points);
        progress.save(results)?;

        let counted = taking
            .iter()
            .filter(|m| live.get(m.live).is_some_and(|t| !t.dead && !t.given_up))
            .map(|m| undisturbed(&m.windows).len())
            .min()
            .unwrap_or(0);
        let out_of_time = started.elapsed() + longest_round > budget;
        let precise = || widest_interval(results, at).is_none_or(|w| w <= config.precision);
        if !another_round(config.rounds, round, counted, out_of_time, precise) {
            break;
        }
    }
    // What the next concurrency's warm-up and reach are judged from.
    for m in &taking {
        if let Some(t) = live.get_mut(m.live)
            && let Some(p) = results
                .runs
                .iter()
                .find(|p| p.target == t.target.name && p.at() == at)
        {
            t.last = Some((concurrency, p.rps));
            let failed = p.requests == 0 || p.errors.values().sum::<u64>() * 2 > p.requests;
            let higher = levels(config, |c| c > concurrency);
            if failed && !higher.is_empty() {
                let why = format!("at c={concurrency} most requests failed or none ended");
                super::give_up(results, t.index, &at, &higher, &why);
                t.given_up = true;
            }
        }
    }
    Ok(())
}

/// The run's concurrency levels that `keep` keeps, in order.
/// Whether a point takes another round, after `done` rounds of which the
/// target with the fewest undisturbed windows has `counted`.
///
/// The least rounds always run; rounds that only replace disturbed windows
/// run while the point's time lasts (or a slow point whose windows keep
/// being disturbed would run to the most rounds); past that, rounds go on
/// until every ratio is as precise as asked, the most rounds are done, or
/// the time is spent. `precise` is asked only when it decides.
fn another_round(
    rounds: bookbench_results::Rounds,
    done: u32,
    counted: usize,
    out_of_time: bool,
    precise: impl FnOnce() -> bool,
) -> bool {
    if done < rounds.min {
        return true;
    }
    if done >= rounds.max || out_of_time {
        return false;
    }
    counted < rounds.min as usize || !precise()
}

fn levels(config: &super::RunConfig, keep: impl Fn(u32) -> bool) -> Vec<u32> {
    config
        .concurrency
        .iter()
        .copied()
        .filter(|&c| keep(c))
        .collect()
}

/// The widest ratio interval of the point, as a relative half-width; `None`
/// when the point has no comparison.
fn widest_interval(results: &Results, at: At<'_>) -> Option<f64> {
    results
        .runs
        .iter()
        .filter(|p| p.at() == at)
        .filter_map(|p| p.comparison.as_ref())
        .map(|c| {
            if c.rounds < 2 {
                f64::INFINITY
            } else {
                c.ratio.relative_half_width()
            }
        })
        .reduce(f64::max)
}

/// Replaces the point's entries in `results` with `points`.
fn record(results: &mut Results, at: At<'_>, points: Vec<Point>) {
    results
        .runs
        .retain(|p| !(p.at() == at && points.iter().any(|q| q.target == p.target)));
    results.runs.extend(points);
}

fn summarise_all(
    live: &[TargetRun<'_>],
    taking: &[Measurement],
    at: At<'_>,
    config: &super::RunConfig,
) -> Vec<Point> {
    let mut points: Vec<Point> = taking
        .iter()
        .filter(|m| !m.windows.is_empty())
        .filter_map(|m| {
            let t = live.get(m.live)?;
            let mut windows = m.windows.clone();
            // An open loop's target idles by design between requests.
            if config.rate.is_none() {
                flag_stalls(&mut windows);
            }
            Some(summarise(&t.target.name, at, &windows, &m.reports))
        })
        .collect();
    let windows: BTreeMap<String, Vec<Window>> = points
        .iter()
        .map(|p| (p.target.clone(), p.windows.clone()))
        .collect();
    for p in &mut points {
        let reference = config.reference_of(&p.target);
        if reference == Some(p.target.as_str()) {
            continue;
        }
        p.comparison = reference.and_then(|r| {
            let theirs = windows.get(r)?;
            judge::compare(&p.windows, theirs, r, config.noise_threshold)
        });
    }
    points
}

/// A window that served under this share of the target's median
/// throughput while its target used under [`STALLED_CPU`] of its median
/// CPU was waiting, not working.
const STALLED_RPS: f64 = 0.6;
const STALLED_CPU: f64 = 0.7;

/// Flags the windows in which the target stalled: far below its own
/// median throughput at the point, and far below its own median CPU, so
/// that no work of its explains the loss. Judged again as windows come in. Seen here
/// with `Connection: close` targets: whole windows at a third of the
/// throughput with every party idle (docs/method.md).
fn flag_stalls(windows: &mut [Window]) {
    if windows.len() < 3 {
        return;
    }
    let rps = stats::median(&windows.iter().map(|w| w.rps).collect::<Vec<_>>());
    let cpu = stats::median(
        &cpu_read(windows.iter())
            .map(|w| w.cpu.server)
            .collect::<Vec<_>>(),
    );
    for w in windows.iter_mut() {
        let stalled = w.rps < STALLED_RPS * rps
            && !w.flags.contains(&Flag::CpuUnread)
            && w.cpu.server < STALLED_CPU * cpu;
        if stalled && !w.flags.contains(&Flag::Stalled) {
            w.flags.push(Flag::Stalled);
        }
    }
}

/// The windows whose target's CPU was read: a window on a host that could
/// not be read has none, not zero.
fn cpu_read<'a>(windows: impl IntoIterator<Item = &'a Window>) -> impl Iterator<Item = &'a Window> {
    windows
        .into_iter()
        .filter(|w| !w.flags.contains(&Flag::CpuUnread))
}

/// A target's point from its windows.
fn summarise(target: &str, at: At<'_>, windows: &[Window], reports: &[Report]) -> Point {
    let scenario = at.scenario;
    let counted = undisturbed(windows);
    let rps: Vec<f64> = counted.iter().map(|w| w.rps).collect();
    let merged = bookbench_load::merge_histograms(reports.iter().map(|r| &r.histogram)).ok();
    let latency_us = merged
        .as_ref()
        .map(|h| latency(&Percentiles::of(h)))
        .or_else(|| reports.first().map(|r| latency(&r.latency_us)))
        .unwrap_or_default();
    let histogram = merged
        .as_ref()
        .and_then(|h| bookbench_load::EncodedHistogram::encode(h).ok())
        .map(|e| e.data)
        .unwrap_or_default();
    let mut errors = BTreeMap::new();
    let mut status = BTreeMap::new();
    let mut ok = 0;
    for r in reports {
        for (kind, n) in [
            ("connect", r.errors.connect),
            ("timeout", r.errors.timeout),
            ("read", r.errors.read),
            ("status", r.errors.status),
            ("body", r.errors.body),
        ] {
            if n > 0 {
                *errors.entry(kind.to_string()).or_insert(0) += n;
            }
        }
        for (code, n) in &r.status {
            *status.entry(code.clone()).or_insert(0) += n;
        }
        ok += r.ok;
    }
    let mut flags: Vec<Flag> = Vec::new();
    for w in windows {
        for &f in &w.flags {
            if !flags.contains(&f) {
                flags.push(f);
            }
        }
    }
    let statements: Option<u64> = windows.iter().map(|w| w.db_statements).sum();
    let per_request = statements.map(|s| if ok == 0 { 0.0 } else { s as f64 / ok as f64 });
    // With no successful request there is nothing to divide by.
    if !NO_DATABASE.contains(&scenario) && ok > 0 && per_request.is_some_and(|p| p < 0.9) {
        flags.push(Flag::NoDatabaseWork);
    }
    Point {
        target: target.to_string(),
        scenario: scenario.to_string(),
        concurrency: at.concurrency,
        db_round_trip_us: at.db_round_trip_us,
        rps: stats::median(&rps),
        rps_interval: stats::median_interval(&rps),
        rps_min: rps.iter().copied().fold(f64::INFINITY, f64::min),
        rps_max: rps.iter().copied().fold(0.0, f64::max),
        latency_us,
        requests: reports.iter().map(|r| r.requests).sum(),
        errors,
        status,
        cpu: Usage {
            server: stats::median(
                &cpu_read(counted.iter().copied())
                    .map(|w| w.cpu.server)
                    .collect::<Vec<_>>(),
            ),
            database: stats::median(&counted.iter().map(|w| w.cpu.database).collect::<Vec<_>>()),
            client: stats::median(&counted.iter().map(|w| w.cpu.client).collect::<Vec<_>>()),
            relay: stats::median(&counted.iter().map(|w| w.cpu.relay).collect::<Vec<_>>()),
        },
        db_statements_per_request: per_request,
        flags,
        comparison: None,
        windows: windows.to_vec(),
        histogram,
    }
}

/// FNV-1a of a name: a stable seed for it.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use bookbench_results::stats::Verdict;

    use super::*;

    const HELLO: At<'static> = At {
        scenario: "hello-get",
        concurrency: 10,
        db_round_trip_us: None,
    };

    fn window(round: u32, rps: f64, flags: &[Flag]) -> Window {
        Window {
            round,
            position: 0,
            rps,
            requests: 100,
            errors: 0,
            latency_us: bookbench_results::Latency::default(),
            cpu: Usage::default(),
            cpu_per_request_us: Usage::default(),
            db_statements: None,
            client_cpu_per_request_us: 0.0,
            client_system_per_request_us: 0.0,
            steal_pct: Vec::new(),
            others_cpu: 0.0,
            time_wait: 0,
            flags: flags.to_vec(),
            histogram: String::new(),
            agent_requests: Vec::new(),
            start_skew_us: None,
        }
    }

    #[test]
    fn rounds_that_replace_disturbed_windows_stop_when_the_point_is_out_of_time() {
        let rounds = bookbench_results::Rounds { min: 3, max: 8 };
        let never = || -> bool { panic!("precision is not asked here") };
        // The least rounds run whatever the clock says.
        assert!(another_round(rounds, 2, 0, true, never));
        // Too few undisturbed windows: another round while there is time...
        assert!(another_round(rounds, 3, 2, false, || true));
        // ...and none once it is spent, nor past the most rounds.
        assert!(!another_round(rounds, 3, 2, true, never));
        assert!(!another_round(rounds, 8, 2, false, never));
        // Enough windows: precision decides, within time and rounds.
        assert!(!another_round(rounds, 4, 4, false, || true));
        assert!(another_round(rounds, 4, 4, false, || false));
        assert!(!another_round(rounds, 4, 4, true, never));
    }

    #[test]
    fn a_window_that_served_a_third_with_its_target_idle_is_flagged_stalled() {
        let mut windows: Vec<Window> = [2000.0, 2100.0, 700.0, 1900.0]
            .iter()
            .zip(0u32..)
            .map(|(&rps, r)| window(r, rps, &[]))
            .collect();
        for (w, cpu) in windows.iter_mut().zip([97.0, 96.0, 40.0, 95.0]) {
            w.cpu.server = cpu;
        }
        flag_stalls(&mut windows);
        let p = summarise("t", HELLO, &windows, &[]);
        let stalled: Vec<u32> = p
            .windows
            .iter()
            .filter(|w| w.flags.contains(&Flag::Stalled))
            .map(|w| w.round)
            .collect();
        assert_eq!(stalled, [2]);
        assert_eq!(p.rps, 2000.0, "the stalled window is not counted");
    }

    #[test]
    fn a_window_whose_host_could_not_be_read_has_no_cpu_but_keeps_its_throughput() {
        let mut windows: Vec<Window> = [2000.0, 2100.0, 1900.0, 2050.0]
            .iter()
            .zip(0u32..)
            .map(|(&rps, r)| window(r, rps, &[]))
            .collect();
        for (w, cpu) in windows.iter_mut().zip([97.0, 0.0, 95.0, 0.0]) {
            w.cpu.server = cpu;
            if cpu == 0.0 {
                w.flags.push(Flag::CpuUnread);
            }
        }
        flag_stalls(&mut windows);
        let p = summarise("t", HELLO, &windows, &[]);
        assert_eq!(
            p.cpu.server, 96.0,
            "the unread windows' 0 is not a median's"
        );
        assert_eq!(p.rps, 2025.0, "every window's throughput counts");
        assert!(
            p.windows.iter().all(|w| !w.flags.contains(&Flag::Stalled)),
            "an unread CPU is no stall"
        );
    }

    #[test]
    fn a_slow_window_with_a_busy_target_is_not_a_stall() {
        let mut windows: Vec<Window> = [2000.0, 2100.0, 700.0, 1900.0]
            .iter()
            .zip(0u32..)
            .map(|(&rps, r)| window(r, rps, &[]))
            .collect();
        for w in &mut windows {
            w.cpu.server = 97.0;
        }
        flag_stalls(&mut windows);
        let p = summarise("t", HELLO, &windows, &[]);
        assert!(p.windows.iter().all(|w| w.flags.is_empty()));
    }

    #[test]
    fn drift_shared_by_a_round_cancels_in_the_ratio() {
        // The machine gets 1.7 times slower and back; the target is always
        // 10% faster than the reference in the same round.
        let drift = [1000.0, 1700.0, 1200.0, 1000.0, 1500.0];
        let reference: Vec<Window> = (0u32..)
            .zip(drift)
            .map(|(r, d)| window(r, d, &[]))
            .collect();
        let mine: Vec<Window> = (0u32..)
            .zip(drift)
            .map(|(r, d)| window(r, d * 1.1, &[]))
            .collect();
        let c = judge::compare(&mine, &reference, "ref", 0.02).expect("a comparison");
        assert_eq!(c.rounds, 5);
        assert!((c.ratio.estimate - 1.1).abs() < 1e-9, "{:?}", c.ratio);
        assert_eq!(c.verdict, Verdict::Faster);
    }

    #[test]
    fn a_disturbed_window_is_left_out_of_the_ratio_and_of_the_median() {
        let reference = vec![
            window(0, 100.0, &[]),
            window(1, 100.0, &[]),
            window(2, 100.0, &[]),
        ];
        let mine = vec![
            window(0, 100.0, &[]),
            window(1, 30.0, &[Flag::Steal]),
            window(2, 100.0, &[]),
        ];
        let c = judge::compare(&mine, &reference, "ref", 0.02).expect("a comparison");
        assert_eq!(c.rounds, 2);
        assert!((c.ratio.estimate - 1.0).abs() < 1e-9);
        let p = summarise("t", HELLO, &mine, &[]);
        assert_eq!(p.rps, 100.0);
        assert_eq!(p.windows.len(), 3, "the disturbed window is kept");
        assert!(p.flags.contains(&Flag::Steal));
    }
}
