//! What to run, and the checks that refuse a mistaken setting before any
//! connection is made.

use std::time::Duration;

use crate::LoadError;
use crate::scenario::RequestSpec;
use crate::template::{IdSpace, Template, Values};
use crate::workload::{SCENARIOS, SetupStep, Workload};

/// Limits beyond which a setting is a mistake rather than a plan.
pub const MAX_CONNECTIONS: u32 = 1_000_000;
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
pub const MAX_RATE: f64 = 10_000_000.0;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `http://host[:port][/path]`; request paths are appended to its path.
    pub url: String,
    /// The scenario's name, for the report.
    pub scenario: Option<String>,
    /// The request kinds, chosen at random by weight for every request.
    pub requests: Vec<RequestSpec>,
    /// The named values the templates draw from.
    pub values: Values,
    /// Requests sent once before the load ([`crate::prepare`]); their
    /// captures join `values`. Empty once prepared.
    pub setup: Vec<SetupStep>,
    /// Virtual users, each with its own connection.
    pub connections: u32,
    /// Worker threads, each with a current-thread runtime.
    pub threads: u32,
    /// Load on the same connections before the measured `duration`: what
    /// ends in it is not counted, and what it left in flight is, when it
    /// ends in the window. The window then starts in a steady state, which
    /// matters when responses take seconds.
    pub warmup: Duration,
    pub duration: Duration,
    /// Requests per second over all connections: an open-loop run. `None`:
    /// closed loop.
    pub rate: Option<f64>,
    /// Stop after this many requests (sent), or at the end of the duration.
    pub max_requests: Option<u64>,
    /// Per request, and per connection attempt.
    pub timeout: Duration,
    /// The data set that `{author_id}` and `{book_id}` draw from.
    pub ids: Option<IdSpace>,
    /// Check the URL with one `HEAD` request before starting.
    pub preflight: bool,
    /// Keep every latency (corrected, in microseconds) in the report's
    /// `samples`: for tests and short runs.
    pub record_samples: bool,
    /// Seeds the random choices (ids, integers, request kinds); `None` for a
    /// fresh seed.
    pub rng_seed: Option<u64>,
}

impl LoadConfig {
    /// A closed-loop run of `requests` with the defaults: 10 connections, 1
    /// thread, 10 s, a 10 s timeout.
    pub fn new(url: &str, requests: Vec<RequestSpec>) -> Self {
        Self {
            url: url.to_string(),
            scenario: None,
            requests,
            values: Values::default(),
            setup: Vec::new(),
            connections: 10,
            threads: 1,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(10),
            rate: None,
            max_requests: None,
            timeout: Duration::from_secs(10),
            ids: None,
            preflight: true,
            record_samples: false,
            rng_seed: None,
        }
    }

    /// A named scenario of the benchmark against the server at `url`.
    pub fn scenario(url: &str, name: &str) -> Result<Self, LoadError> {
        let workload = Workload::built_in(name).ok_or_else(|| {
            LoadError::Config(format!(
                "unknown scenario '{name}'; scenarios: {}",
                SCENARIOS.join(", ")
            ))
        })?;
        Ok(Self::workload(url, &workload))
    }

    /// A workload, from a scenario file or built in, against the server at
    /// `url`.
    pub fn workload(url: &str, workload: &Workload) -> Self {
        Self {
            scenario: Some(workload.name.clone()),
            values: workload.values.clone(),
            setup: workload.setup.clone(),
            ..Self::new(url, workload.requests.clone())
        }
    }

    /// Whether the workload, setup included, draws existing ids.
    pub fn needs_ids(&self) -> Result<bool, LoadError> {
        let mut known = self.values.clone();
        for step in &self.setup {
            for c in &step.captures {
                // Stands in for what the setup will capture.
                known.insert(&c.name, vec!["0".to_string()])?;
            }
        }
        let specs = self.setup.iter().map(|s| &s.request).chain(&self.requests);
        for r in specs {
            if Template::parse_with(&r.path, &known)?.needs_ids() {
                return Ok(true);
            }
            if let Some(b) = &r.body
                && Template::parse_with(b, &known)?.needs_ids()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(crate) fn validate(&self) -> Result<(), LoadError> {
        let bad = |s: String| Err(LoadError::Config(s));
        if self.connections == 0 {
            return bad("connections must be at least 1".into());
        }
        if self.connections > MAX_CONNECTIONS {
            return bad(format!(
                "{} connections is more than the {MAX_CONNECTIONS} a run can have",
                self.connections
            ));
        }
        if self.threads == 0 {
            return bad("threads must be at least 1".into());
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            return bad(format!(
                "the duration must be more than 0 and at most 24 h, not {:?}",
                self.duration
            ));
        }
        if self.warmup > MAX_DURATION {
            return bad(format!(
                "the warm-up must be at most 24 h, not {:?}",
                self.warmup
            ));
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return bad(format!(
                "the timeout must be more than 0 and at most 1 h, not {:?}",
                self.timeout
            ));
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE)
        {
            return bad(format!(
                "the rate must be more than 0 and at most {MAX_RATE} requests per second, not {rate}"
            ));
        }
        if self.max_requests == Some(0) {
            return bad("the request count must be at least 1".into());
        }
        if self.requests.is_empty() {
            return bad("no request to send".into());
        }
        if self.requests.iter().all(|r| r.weight == 0) {
            return bad("every request kind has weight 0".into());
        }
        Ok(())
    }
}

/// Parses a duration: `10s`, `500ms`, `2m`, `1h`, `1.5s`, or a plain number
/// of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, LoadError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = |why: &str| LoadError::Config(format!("'{text}' is not a valid duration: {why}"));
    let n: f64 = number
        .parse()
        .map_err(|_| bad("expected a number and a unit, as in 10s, 500ms, 2m"))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1_000.0,
        "us" => n / 1_000_000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3_600.0,
        u => return Err(bad(&format!("unknown unit '{u}' (use ms, s, m or h)"))),
    };
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(bad("it must be more than 0"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| bad("too long"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_nonsense_is_refused() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        for bad in ["-5s", "0", "abc", "10 parsecs", "1e400s", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
