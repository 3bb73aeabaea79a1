//! `summary.md` and `report.html` from the results: the blog post's tables
//! and charts, every throughput with its interval and every comparison
//! with its verdict. The HTML page is self-contained: inline CSS, SVG and
//! a few lines of script that only show and hide lines (the page reads the
//! same without it); nothing is fetched.

mod bars;
pub mod calibration;
mod chart;
pub mod compare;
mod cost;
mod family;
mod html;
mod markdown;
mod svg;

use bookbench_results::stats::Verdict;
use bookbench_results::{At, Point, Results, Window};

pub use self::bars::bars_chart;
pub use self::chart::rps_chart;
pub use self::family::{Family, family};
pub use self::html::html;
pub use self::markdown::summary_markdown;

/// The point of (target, scenario) with the most requests per second.
pub(crate) fn best<'a>(r: &'a Results, target: &str, scenario: &str) -> Option<&'a Point> {
    r.runs
        .iter()
        .filter(|p| p.target == target && p.scenario == scenario)
        .max_by(|a, b| a.rps.total_cmp(&b.rps))
}

/// The round trips a run swept between targets and database, in order;
/// `[None]` when the targets reached it directly.
pub(crate) fn round_trips(r: &Results) -> Vec<Option<u64>> {
    if r.config.db_round_trips_us.is_empty() {
        vec![None]
    } else {
        r.config
            .db_round_trips_us
            .iter()
            .copied()
            .map(Some)
            .collect()
    }
}

/// Where the load came from, when not this machine alone: how many agents
/// on which hosts, and how far apart they started (over every window).
pub(crate) fn agents_line(r: &Results) -> Option<String> {
    if r.env.client_hosts.is_empty() {
        return None;
    }
    let mut skews: Vec<u64> = r
        .runs
        .iter()
        .flat_map(|p| p.windows.iter().filter_map(|w| w.start_skew_us))
        .collect();
    skews.sort_unstable();
    let skew = match (skews.get(skews.len() / 2), skews.last()) {
        (Some(median), Some(most)) => format!(
            "; the last agent of a window started {median} us after the first (median), {most} us at most"
        ),
        _ => String::new(),
    };
    let clocks = if r.env.client_clocks.is_empty() {
        String::new()
    } else {
        let each: Vec<String> = r
            .env
            .client_clocks
            .iter()
            .map(|c| {
                format!(
                    "{} {:+.3} ms ±{:.3}",
                    c.host,
                    c.offset_us as f64 / 1e3,
                    c.uncertainty_us as f64 / 1e3
                )
            })
            .collect();
        format!(
            " Each agent was a `bookbench load` process started at one instant, corrected by its clock's offset from the suite's ({}); a window's skew is from each agent's own account of how late it started.",
            each.join(", ")
        )
    };
    Some(format!(
        "Load from {} agent(s), one on each client host ({}), the connections shared out and every window's figures merged from theirs{skew}.{clocks}",
        r.env.client_hosts.len(),
        r.env.client_hosts.join(", ")
    ))
}

/// What limited a point: the busiest of server, database and client, each
/// against the cores it had.
pub fn bottleneck(r: &Results, p: &Point) -> String {
    let server_cores = r
        .targets
        .iter()
        .find(|t| t.name == p.target)
        .map_or(1, |t| t.cpus.len().max(1));
    let client_cores = r.env.client_cpus.len().max(1);
    let candidates = [
        ("server", p.cpu.server, server_cores),
        ("database", p.cpu.database, r.env.cores.max(1)),
        ("client", p.cpu.client, client_cores),
        // Unpinned, like the database.
        ("latency relay", p.cpu.relay, r.env.cores.max(1)),
    ];
    let (name, pct, cores) = candidates
        .iter()
        .max_by(|a, b| (a.1 / a.2 as f64).total_cmp(&(b.1 / b.2 as f64)))
        .copied()
        .unwrap_or(("server", 0.0, 1));
    format!(
        "{name} ({pct:.0}% of {cores} core{})",
        if cores == 1 { "" } else { "s" }
    )
}

pub(crate) fn target_names(r: &Results) -> Vec<String> {
    let mut names: Vec<String> = r.targets.iter().map(|t| t.name.clone()).collect();
    for p in &r.runs {
        if !names.contains(&p.target) {
            names.push(p.target.clone());
        }
    }
    names
}

pub(crate) fn scale_line(r: &Results) -> String {
    if r.env.scale.is_empty() {
        return "the app's own, no bookstore data set".to_string();
    }
    let get = |k: &str| {
        r.env
            .scale
            .get(k)
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    format!(
        "{} authors, {} books (seed {}, scale {})",
        get("authors"),
        get("books"),
        get("seed"),
        get("scale").trim_matches('"')
    )
}

/// How the run was measured: interleaved rounds against a baseline, or
/// (version 1 files) one target after another.
pub(crate) fn rounds_line(r: &Results) -> String {
    if !r.config.interleaved {
        return "targets measured one after another (not interleaved: no paired ratios)"
            .to_string();
    }
    format!(
        "interleaved rounds against `{}`, precision asked ±{:.1}%, noise threshold {:.1}%",
        r.config.baseline.as_deref().unwrap_or("-"),
        r.config.precision * 100.0,
        r.config.noise_threshold * 100.0
    )
}

/// A verdict as people read it, from the ratio of a target's requests/s
/// to its reference's: `9% slower`, `8.3× slower` (never `0.12× slower`,
/// which most read as 12% slower), `32% faster`, `2.0× faster`, or `no
/// significant difference`. Below half or from double, the factor; between,
/// the percentage.
pub fn verdict_phrase(ratio: f64, verdict: Verdict) -> String {
    let word = match verdict {
        Verdict::NoSignificantDifference => return verdict.name().to_string(),
        Verdict::Faster => "faster",
        Verdict::Slower => "slower",
    };
    let (more, less) = if ratio >= 1.0 {
        (ratio, 1.0)
    } else {
        (1.0, ratio)
    };
    if !(ratio.is_finite() && ratio > 0.0) {
        word.to_string()
    } else if more / less >= 2.0 {
        format!("{:.1}× {word}", more / less)
    } else {
        format!("{:.0}% {word}", (ratio - 1.0).abs() * 100.0)
    }
}

/// ` ± 3%`: the half-width of the median's interval, when it has one.
pub(crate) fn pm(p: &Point) -> String {
    p.rps_interval
        .filter(|i| i.high.is_finite() && i.low > 0.0 && p.windows.len() > 1)
        .map(|i| format!(" ± {:.0}%", i.relative_half_width() * 100.0))
        .unwrap_or_default()
}

/// A point's comparison as table cells: the ratio, its interval, the
/// verdict and the rounds; dashes for the reference itself.
pub(crate) fn comparison_cell(p: &Point) -> (String, String, String, String) {
    match &p.comparison {
        None => (
            "reference".to_string(),
            "-".to_string(),
            "-".to_string(),
            p.windows.len().to_string(),
        ),
        Some(c) => (
            format!("{:.3}", c.ratio.estimate),
            if c.ratio.high.is_finite() {
                format!("{:.3}–{:.3}", c.ratio.low, c.ratio.high)
            } else {
                "(one round)".to_string()
            },
            match c.verdict {
                Verdict::NoSignificantDifference => c.verdict.name().to_string(),
                _ => format!("**{}**", verdict_phrase(c.ratio.estimate, c.verdict)),
            },
            c.rounds.to_string(),
        ),
    }
}

/// What the run reached against what it asked.
pub(crate) struct Precision<'a> {
    pub(crate) points: usize,
    pub(crate) reached: usize,
    /// The widest ratio interval's half-width, and where.
    pub(crate) widest: f64,
    pub(crate) widest_at: Option<String>,
    pub(crate) windows: usize,
    pub(crate) flagged: Vec<(&'a Point, &'a Window)>,
}

impl Precision<'_> {
    /// What was asked and what was reached, in one sentence.
    pub(crate) fn sentence(&self, r: &Results) -> String {
        format!(
            "Asked: every ratio's 95% interval within ±{:.1}%, in {}–{} rounds and {:.0} s per point. Reached at {} of {} points; the widest interval is {}{}.",
            r.config.precision * 100.0,
            r.config.rounds.min,
            r.config.rounds.max,
            r.config.point_budget_s,
            self.reached,
            self.points,
            if self.widest.is_finite() {
                format!("±{:.1}%", self.widest * 100.0)
            } else {
                "unbounded (a comparison of one round)".to_string()
            },
            self.widest_at
                .as_ref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        )
    }
}

pub(crate) fn precision(r: &Results) -> Precision<'_> {
    let mut keys: Vec<At<'_>> = r.runs.iter().map(Point::at).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut reached = 0;
    let mut widest = 0.0f64;
    let mut widest_at = None;
    for at in &keys {
        let mut point_widest = 0.0f64;
        for p in r.runs.iter().filter(|p| p.at() == *at) {
            if let Some(cmp) = &p.comparison {
                let w = cmp.ratio.relative_half_width();
                let w = if w.is_finite() { w } else { f64::INFINITY };
                point_widest = point_widest.max(w);
                if w > widest {
                    widest = w;
                    widest_at = Some(format!("{} {at}", p.target));
                }
            }
        }
        if point_widest <= r.config.precision {
            reached += 1;
        }
    }
    let flagged: Vec<(&Point, &Window)> = r
        .runs
        .iter()
        .flat_map(|p| {
            p.windows
                .iter()
                .filter(|w| w.disturbed())
                .map(move |w| (p, w))
        })
        .collect();
    Precision {
        points: keys.len(),
        reached,
        widest,
        widest_at,
        windows: r.runs.iter().map(|p| p.windows.len()).sum(),
        flagged,
    }
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `summary.md` and `report.html` into `dir`; returns their paths.
pub fn write(dir: &std::path::Path, r: &Results) -> Result<Vec<std::path::PathBuf>, Error> {
    let mut written = Vec::new();
    for (name, body) in [
        ("summary.md", summary_markdown(r)),
        ("report.html", html(r)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, body).map_err(|source| Error {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// A page of the report that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", path.display())]
pub struct Error {
    pub path: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    /// The names of bench/targets.toml's targets, in its order.
    pub(crate) fn built_in_target_names() -> Vec<String> {
        #[derive(serde::Deserialize)]
        struct File {
            target: Vec<Named>,
        }
        #[derive(serde::Deserialize)]
        struct Named {
            name: String,
        }
        let file: File = toml::from_str(include_str!("../../../bench/targets.toml"))
            .expect("bench/targets.toml parses");
        file.target.into_iter().map(|t| t.name).collect()
    }

    use bookbench_results::Usage;
    use bookbench_results::stats::{Interval, Verdict};
    use bookbench_results::{
        Comparison, Config, Env, Latency, Point, Results, Rounds, TargetOutcome, TargetStatus,
        Window,
    };

    fn window(round: u32, rps: f64) -> Window {
        Window {
            round,
            position: 0,
            rps,
            requests: 0,
            errors: 0,
            latency_us: Latency::default(),
            cpu: Usage::default(),
            cpu_per_request_us: Usage::default(),
            db_statements: None,
            client_cpu_per_request_us: 0.0,
            client_system_per_request_us: 0.0,
            steal_pct: vec![0.0],
            others_cpu: 0.0,
            time_wait: 0,
            flags: Vec::new(),
            histogram: String::new(),
            agent_requests: Vec::new(),
            start_skew_us: None,
        }
    }

    fn point(target: &str, concurrency: u32, rps: f64) -> Point {
        Point {
            target: target.to_string(),
            scenario: "hello-get".to_string(),
            concurrency,
            db_round_trip_us: None,
            rps,
            rps_interval: Some(Interval {
                estimate: rps,
                low: rps * 0.97,
                high: rps * 1.03,
            }),
            rps_min: rps * 0.96,
            rps_max: rps * 1.04,
            latency_us: Latency::default(),
            requests: 0,
            errors: BTreeMap::new(),
            status: BTreeMap::new(),
            cpu: Usage::default(),
            db_statements_per_request: None,
            flags: Vec::new(),
            comparison: None,
            windows: (0..5).map(|round| window(round, rps)).collect(),
            histogram: String::new(),
        }
    }

    /// A run of `targets` (name, requests/s at its best) on one scenario at
    /// c=10 and c=50, 50 being each target's best; no baseline.
    pub(crate) fn fixture(targets: &[(&str, f64)]) -> Results {
        Results {
            version: bookbench_results::RESULTS_VERSION,
            partial: false,
            started_at: "2026-01-01T00:00:00Z".to_string(),
            finished_at: None,
            env: Env::default(),
            config: Config {
                preset: "test".to_string(),
                scenarios: vec!["hello-get".to_string()],
                concurrency: vec![10, 50],
                duration_s: 1.0,
                warmup_s: 1.0,
                rounds: Rounds { min: 5, max: 5 },
                precision: 0.05,
                point_budget_s: 60.0,
                baseline: None,
                references: BTreeMap::new(),
                noise_threshold: 0.02,
                steal_threshold: 10.0,
                seed: 1,
                interleaved: true,
                rate: None,
                timeout_s: None,
                db_round_trips_us: Vec::new(),
            },
            targets: targets
                .iter()
                .map(|(name, _)| TargetOutcome {
                    name: (*name).to_string(),
                    description: String::new(),
                    workers: 1,
                    cpus: vec![0],
                    status: TargetStatus::Measured,
                    reason: None,
                    notes: Vec::new(),
                    verify: Vec::new(),
                    rss_kib: None,
                    host: None,
                    proxy_host: None,
                })
                .collect(),
            runs: targets
                .iter()
                .flat_map(|(name, rps)| [point(name, 10, rps * 0.6), point(name, 50, *rps)])
                .collect(),
            cost_run: None,
            cost: Vec::new(),
        }
    }

    /// Gives every point of `target` a comparison with the baseline.
    pub(crate) fn compare(r: &mut Results, target: &str, ratio: f64, verdict: Verdict) {
        let reference = r.config.baseline.clone().unwrap_or_default();
        for p in r.runs.iter_mut().filter(|p| p.target == target) {
            p.comparison = Some(Comparison {
                reference: reference.clone(),
                ratio: Interval {
                    estimate: ratio,
                    low: ratio * 0.98,
                    high: ratio * 1.02,
                },
                verdict,
                rounds: 5,
            });
        }
    }

    #[test]
    fn a_verdict_says_how_many_times_slower_never_a_fraction_times_slower() {
        use super::verdict_phrase;
        assert_eq!(verdict_phrase(0.12, Verdict::Slower), "8.3× slower");
        assert_eq!(verdict_phrase(0.91, Verdict::Slower), "9% slower");
        assert_eq!(verdict_phrase(1.32, Verdict::Faster), "32% faster");
        assert_eq!(verdict_phrase(2.0, Verdict::Faster), "2.0× faster");
        assert_eq!(
            verdict_phrase(1.01, Verdict::NoSignificantDifference),
            "no significant difference"
        );
    }

    #[test]
    fn the_summary_the_report_and_compare_word_a_large_slowdown_alike() {
        let mut r = fixture(&[("rust", 10_000.0), ("flask-dev", 1_200.0)]);
        compare(&mut r, "flask-dev", 0.12, Verdict::Slower);
        let rows = vec![bookbench_results::compare::Row {
            target: "flask-dev".into(),
            scenario: "hello-get".into(),
            concurrency: 10,
            db_round_trip_us: None,
            rps_a: 10_000.0,
            rps_b: 1_200.0,
            ratio: Some(Interval {
                estimate: 0.12,
                low: 0.11,
                high: 0.13,
            }),
            p99_ratio: 1.0,
            verdict: Verdict::Slower,
        }];
        for (what, text) in [
            ("summary", crate::summary_markdown(&r)),
            ("report", crate::html(&r)),
            ("chart", crate::bars_chart(&r, "hello-get")),
            ("compare", crate::compare::table(&rows, 0.05)),
        ] {
            assert!(text.contains("8.3× slower"), "{what}: {text}");
            assert!(!text.contains("0.12× slower"), "{what}");
        }
    }
}
