//! Presets: the sets of defaults that `bookbench run --preset` starts from.
//! Flags given on the command line override them one by one.

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
}

/// The quick preset's targets: Rust, Flask under gunicorn (sync and
/// gevent), Sanic, and FastAPI, the blog post's main rows. Not Django: the
/// README's main job already takes over 10 minutes with these five (a
/// release build and an 8-minute run), and each target adds a fifth.
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
                warmup: Duration::from_millis(500),
                rounds: Rounds { min: 3, max: 10 },
                precision: 0.05,
                point_budget: Duration::from_secs(40),
                timeout: Duration::from_secs(10),
                scale: Scale::Medium,
                db_latency: Vec::new(),
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
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
