//! Presets: the sets of defaults that `bookbench run --preset` starts from.
//! Flags given on the command line override them one by one.

use std::collections::BTreeMap;
use std::time::Duration;

use bookbench_datagen::Scale;

use bookbench_results::RoundTrip;

use crate::targets::Target;
use bookbench_results::Rounds;

/// A named set of defaults for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Minutes: the blog post's main rows, six scenarios at 100k authors.
    Quick,
    /// The blog post's study: every target, every scenario, concurrency 1
    /// to 200, at full scale (hours).
    Full,
    /// The blog post's figures in an hour and a half: every target, the
    /// blog post's five scenarios, concurrency 10, 50 and 200, full scale.
    Blog,
    /// The database a network away: the blog post's sync and async
    /// workers and Rust, across database round trips of 0 to 5 ms.
    Latency,
}

/// What a preset sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    pub targets: Vec<String>,
    pub scenarios: Vec<String>,
    pub concurrency: Vec<u32>,
    /// The measured part of each window.
    pub duration: Duration,
    /// The least warm-up before each window.
    pub warmup: Duration,
    pub rounds: Rounds,
    /// The half-width asked of every ratio's interval (0.05: ±5%).
    pub precision: f64,
    /// The longest a point may take, every target and round together.
    pub point_budget: Duration,
    /// Per request.
    pub timeout: Duration,
    pub scale: Scale,
    /// Round trips between targets and database (empty: direct).
    pub db_latency: Vec<RoundTrip>,
    /// Counted cost after the throughput (`None`: not counted).
    pub cost: Option<CostDefaults>,
}

/// How a preset counts what a request costs, after its throughput, at the
/// run's first concurrency (`bookbench cost`'s other defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct CostDefaults {
    /// The run's scenarios that are counted too (all when the scenarios
    /// were given on the command line).
    pub scenarios: Vec<String>,
    /// Requests of one window, by scenario.
    pub requests_per_window: WindowRequests,
    /// Requests before a point's first window.
    pub warmup_requests: u64,
    /// Windows a point may take before it is reported as not settled.
    pub max_windows: u32,
    /// How long each target's idle cost is measured.
    pub idle: Duration,
    /// How long counting the database's own instructions may take a
    /// point; zero counts none.
    pub database_budget: Duration,
}

/// Requests of a counted window: one count for every scenario but those
/// given their own (`50,author-offset-500k=10`). A scenario that sends the
/// same request every time, slow in the database, needs fewer: its
/// windows repeat as well at one request a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRequests {
    pub default: u64,
    pub by_scenario: BTreeMap<String, u64>,
}

impl WindowRequests {
    /// The same count for every scenario.
    pub fn every(default: u64) -> Self {
        Self {
            default,
            by_scenario: BTreeMap::new(),
        }
    }

    /// A window's requests at `scenario`.
    pub fn of(&self, scenario: &str) -> u64 {
        self.by_scenario
            .get(scenario)
            .copied()
            .unwrap_or(self.default)
    }

    /// `N`, then `SCENARIO=N` for those that differ, comma-separated;
    /// every count at least `least`.
    pub fn parse(text: &str, least: u64) -> Result<Self, String> {
        let count = |s: &str| -> Result<u64, String> {
            match s.trim().parse::<u64>() {
                Ok(n) if n >= least => Ok(n),
                _ => Err(format!(
                    "`{s}` is not a count of requests of at least {least}"
                )),
            }
        };
        let mut parts = text.split(',');
        let default = count(parts.next().unwrap_or_default())?;
        let mut by_scenario = BTreeMap::new();
        for part in parts {
            let Some((scenario, n)) = part.split_once('=') else {
                return Err(format!(
                    "`{part}`: after the first count, give SCENARIO=N (50,author-offset-500k=10)"
                ));
            };
            by_scenario.insert(scenario.trim().to_string(), count(n)?);
        }
        Ok(Self {
            default,
            by_scenario,
        })
    }
}

/// The offset page's requests are all the same page, and under callgrind
/// each takes seconds of the database's time: windows of one request a
/// connection at the presets' ten.
fn deep_offset_windows(default: u64) -> WindowRequests {
    WindowRequests {
        default,
        by_scenario: BTreeMap::from([("author-offset-500k".to_string(), 10)]),
    }
}

/// The quick preset's targets: Rust, Flask under gunicorn (sync and
/// gevent), Sanic, and FastAPI, the blog post's main rows. Not Django: the
/// README's main job already takes 10 minutes with these five after its
/// release build (throughput, then counted cost), and each target adds a
/// fifth.
const QUICK_TARGETS: &[&str] = &[
    "rust",
    "flask-gunicorn-sync",
    "flask-gunicorn-gevent",
    "sanic-tortoise",
    "fastapi",
];

/// Not author-offset-500k: 100k authors have no page there.
const QUICK_SCENARIOS: &[&str] = &[
    "hello-get",
    "author-detail",
    "author-list",
    "author-offset-50k",
    "author-keyset",
    "mixed",
];

/// The blog post's claim is about sync against async workers: "when
/// database or service requests are likely to be anything other than
/// instantaneous". Its sync and async configurations, and Rust.
const LATENCY_TARGETS: &[&str] = &[
    "flask-gunicorn-sync",
    "flask-gunicorn-gevent",
    "sanic-tortoise",
    "fastapi",
    "rust",
];

/// What the quick preset counts: a request that touches no data, one
/// statement, a page, and a page the database must walk to. Not the keyset
/// page (its app costs what the list's does) nor the blend of the others
/// (its cost is theirs, mixed; its pooled statements take the longest to
/// settle): counting under valgrind is slow, and the README's main job
/// must end within 10 minutes.
const QUICK_COST_SCENARIOS: &[&str] = &[
    "hello-get",
    "author-detail",
    "author-list",
    "author-offset-50k",
];

/// One statement, several, and the blend of both.
const LATENCY_SCENARIOS: &[&str] = &["author-detail", "author-list", "mixed"];

/// The round trips swept: a host's loopback, one rack, one data centre,
/// two zones of a region.
const LATENCY_ROUND_TRIPS_US: &[u64] = &[0, 500, 1_000, 2_000, 5_000];

/// What the blog post charted.
const BLOG_SCENARIOS: &[&str] = &[
    "hello-get",
    "author-detail",
    "author-list",
    "author-offset-50k",
    "author-offset-500k",
];

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(ToString::to_string).collect()
}

impl Preset {
    pub const ALL: [Self; 4] = [Self::Quick, Self::Full, Self::Blog, Self::Latency];

    /// The name results.json records and `--preset` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quick => "quick",
            Self::Full => "full",
            Self::Blog => "blog",
            Self::Latency => "latency",
        }
    }

    /// The defaults of this preset, for the targets declared in `all`
    /// (`full` and `blog` take every one of them, in their order).
    pub fn defaults(self, all: &[Target]) -> Defaults {
        let every_target = || all.iter().map(|t| t.name.clone()).collect();
        match self {
            Self::Quick => Defaults {
                targets: owned(QUICK_TARGETS),
                scenarios: owned(QUICK_SCENARIOS),
                concurrency: vec![10, 50],
                // Short windows, many rounds: precision comes from pairing
                // rounds, not from long windows (docs/method.md).
                duration: Duration::from_secs(1),
                // Long enough for a keep-alive target's connections to
                // open (slow points warm up for as long as a response
                // takes): the main job has 180 windows.
                warmup: Duration::from_millis(200),
                rounds: Rounds { min: 3, max: 10 },
                precision: 0.05,
                // Three rounds of five targets: the counted cost after it
                // answers what these intervals cannot.
                point_budget: Duration::from_secs(20),
                timeout: Duration::from_secs(10),
                scale: Scale::Medium,
                db_latency: Vec::new(),
                // The same requests every window, so a window of 20 repeats
                // as one of 100 does: what varies is not the mix.
                cost: Some(CostDefaults {
                    scenarios: owned(QUICK_COST_SCENARIOS),
                    requests_per_window: WindowRequests::every(20),
                    // One request a connection: a point whose first
                    // window still warms takes a window more to settle.
                    warmup_requests: 10,
                    // An async server at 10 connections varies by a few
                    // percent from one window of 20 to the next (its event
                    // loop's batching is timing's): eight windows tell.
                    max_windows: 8,
                    idle: Duration::from_secs(2),
                    // The offset page's database work, fifty times slower,
                    // would take minutes a target: said, not counted; an
                    // ORM's slow warm-up is cut short, and said.
                    database_budget: Duration::from_secs(15),
                }),
            },
            Self::Full => Defaults {
                targets: every_target(),
                scenarios: owned(bookbench_load::SCENARIOS),
                concurrency: vec![1, 10, 50, 100, 200],
                duration: Duration::from_secs(5),
                warmup: Duration::from_secs(2),
                rounds: Rounds { min: 3, max: 12 },
                precision: 0.03,
                point_budget: Duration::from_secs(900),
                // A deep OFFSET page takes seconds under an ORM's query.
                timeout: Duration::from_secs(30),
                scale: Scale::Full,
                db_latency: Vec::new(),
                cost: Some(CostDefaults {
                    scenarios: owned(bookbench_load::SCENARIOS),
                    requests_per_window: deep_offset_windows(100),
                    warmup_requests: 100,
                    max_windows: 12,
                    idle: Duration::from_secs(5),
                    database_budget: Duration::from_secs(300),
                }),
            },
            // The full study trimmed to what the blog post charted, so that
            // its table can be redone in one sitting: shorter points.
            Self::Blog => Defaults {
                targets: every_target(),
                scenarios: owned(BLOG_SCENARIOS),
                concurrency: vec![10, 50, 200],
                duration: Duration::from_secs(2),
                warmup: Duration::from_secs(1),
                rounds: Rounds { min: 3, max: 8 },
                precision: 0.05,
                point_budget: Duration::from_secs(360),
                timeout: Duration::from_secs(30),
                scale: Scale::Full,
                db_latency: Vec::new(),
                cost: Some(CostDefaults {
                    scenarios: owned(BLOG_SCENARIOS),
                    requests_per_window: deep_offset_windows(50),
                    warmup_requests: 50,
                    max_windows: 12,
                    idle: Duration::from_secs(5),
                    // Most offset-50k pages are over it (their probe finds
                    // so in seconds): twice as long would count four more
                    // targets' in eight more minutes.
                    database_budget: Duration::from_secs(60),
                }),
            },
            // One concurrency, at which a sync worker serves one request at
            // a time and an async one fifty: their difference is what a
            // round trip multiplies.
            Self::Latency => Defaults {
                targets: owned(LATENCY_TARGETS),
                scenarios: owned(LATENCY_SCENARIOS),
                concurrency: vec![50],
                duration: Duration::from_secs(2),
                warmup: Duration::from_secs(1),
                rounds: Rounds { min: 3, max: 6 },
                precision: 0.05,
                point_budget: Duration::from_secs(120),
                timeout: Duration::from_secs(10),
                scale: Scale::Full,
                db_latency: LATENCY_ROUND_TRIPS_US
                    .iter()
                    .filter_map(|&us| RoundTrip::new(Duration::from_micros(us)))
                    .collect(),
                // Counted cost does not change with the round trip.
                cost: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_requests_read_one_count_then_a_count_per_scenario() {
        let w = WindowRequests::parse("50, author-offset-500k=10", 10).expect("valid");
        assert_eq!(w.of("hello-get"), 50);
        assert_eq!(w.of("author-offset-500k"), 10);
        assert_eq!(
            WindowRequests::parse("20", 10),
            Ok(WindowRequests::every(20))
        );
        for bad in [
            "",
            "5",
            "50,author-list",
            "50,author-list=x",
            "50,author-list=2",
        ] {
            assert!(WindowRequests::parse(bad, 10).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_preset_names_only_declared_targets_and_known_scenarios() {
        let all = crate::targets::parse(crate::targets::BUILTIN).expect("the built-in targets");
        for preset in Preset::ALL {
            let d = preset.defaults(&all);
            for t in &d.targets {
                assert!(all.iter().any(|a| &a.name == t), "{}: {t}", preset.name());
            }
            for s in &d.scenarios {
                assert!(
                    bookbench_load::scenario(s).is_some(),
                    "{}: {s}",
                    preset.name()
                );
            }
            for s in d.cost.iter().flat_map(|c| &c.scenarios) {
                assert!(
                    d.scenarios.contains(s),
                    "{} counts {s}, which it does not run",
                    preset.name()
                );
            }
        }
    }

    #[test]
    fn the_full_and_blog_presets_take_every_target_in_order() {
        let all = crate::targets::parse(crate::targets::BUILTIN).expect("the built-in targets");
        let names: Vec<String> = all.iter().map(|t| t.name.clone()).collect();
        assert_eq!(Preset::Full.defaults(&all).targets, names);
        assert_eq!(Preset::Blog.defaults(&all).targets, names);
    }
}
