//! Counted cost of two runs, point by point (`bookbench compare A.json
//! B.json`): B's instructions a request over A's, less CPython's type-cache
//! misses where both counted them apart, with the range of any of B's
//! settled windows over any of A's (where both runs counted several
//! layouts, whole counts with the 95% interval across them), judged against
//! the larger of the two runs' thresholds, as a run judges a target
//! against its baseline.
//!
//! A count is of its window's requests: points are compared only where
//! both runs sent the same ones (the same requests a window for the
//! scenario, the same load seed, the same data set); elsewhere the row
//! says why not. Where a count moved between two runs by more than its
//! windows did within each, the row says so: that is how far a claim
//! resting on counts can be carried from one run to another.

use crate::Results;
use crate::cost::{self, Basis, CostComparison, CostPoint, CostStatus, CostVerdict};

/// One point counted in both runs.
#[derive(Debug, Clone)]
pub struct Row {
    pub target: String,
    pub scenario: String,
    pub concurrency: u32,
    /// Each run's instructions a request, where it settled.
    pub a: Option<f64>,
    pub b: Option<f64>,
    /// B's instructions a request against A's; `None` when not compared.
    pub instructions: Option<CostComparison>,
    /// B's database instructions a request against A's, where both
    /// settled.
    pub database: Option<CostComparison>,
    /// Why the point is not compared.
    pub not_compared: Option<String>,
}

/// The threshold of the comparison: the larger of the two runs'.
pub fn threshold(a: &Results, b: &Results) -> f64 {
    let of = |r: &Results| r.cost_run.as_ref().map_or(0.0, |c| c.threshold);
    of(a).max(of(b))
}

/// Why the requests of A's windows at `scenario` are not B's, if they are
/// not.
fn other_requests(a: &Results, b: &Results, scenario: &str) -> Option<String> {
    let (ra, rb) = (a.cost_run.as_ref()?, b.cost_run.as_ref()?);
    let (na, nb) = (ra.requests_at(scenario), rb.requests_at(scenario));
    if na != nb {
        return Some(format!(
            "windows of {na} requests against {nb}: other requests"
        ));
    }
    if ra.seed != rb.seed {
        return Some(format!(
            "the load generator's seed {} against {}: other requests",
            ra.seed
                .map_or("not recorded".to_string(), |s| s.to_string()),
            rb.seed
                .map_or("not recorded".to_string(), |s| s.to_string()),
        ));
    }
    if a.env.scale != b.env.scale {
        return Some("another data set".to_string());
    }
    None
}

/// Every point counted in both runs, compared where their windows sent
/// the same requests.
pub fn compare(a: &Results, b: &Results) -> Vec<Row> {
    let threshold = threshold(a, b);
    // Both counted in layouts: compared across them only, as within a run
    // (their thresholds leave the layouts' bias to the interval).
    let layouts = |r: &Results| r.cost_run.as_ref().map_or(1, |c| c.layouts);
    let both_layouts = layouts(a) > 1 && layouts(b) > 1;
    a.cost
        .iter()
        .filter_map(|pa| {
            let pb = b.cost.iter().find(|pb| {
                pb.target == pa.target
                    && pb.scenario == pa.scenario
                    && pb.concurrency == pa.concurrency
            })?;
            let figure = |p: &CostPoint| {
                p.per_request
                    .as_ref()
                    .filter(|_| p.status == CostStatus::Settled)
                    .map(|r| r.instructions)
            };
            let mut row = Row {
                target: pa.target.clone(),
                scenario: pa.scenario.clone(),
                concurrency: pa.concurrency,
                a: figure(pa),
                b: figure(pb),
                instructions: None,
                database: None,
                not_compared: None,
            };
            if let Some(why) = other_requests(a, b, &pa.scenario) {
                row.not_compared = Some(why);
                return Some(row);
            }
            row.instructions = pb
                .compare_instructions(pa, threshold)
                .filter(|c| !both_layouts || c.basis == Basis::Layouts)
                .map(|c| CostComparison {
                    reference: "A".to_string(),
                    ..c
                });
            if row.instructions.is_none() {
                row.not_compared = Some(
                    if both_layouts {
                        "not settled in two layouts in both runs"
                    } else {
                        "not settled in both runs"
                    }
                    .to_string(),
                );
            }
            row.database = match (
                pb.settled_database_instructions(),
                pa.settled_database_instructions(),
            ) {
                (Some(mine), Some(theirs)) => {
                    cost::compare(&mine, &theirs, "A", cost::whole_count_threshold(threshold))
                }
                _ => None,
            };
            Some(row)
        })
        .collect()
}

/// The points whose instructions were judged costlier in B.
pub fn regressions(rows: &[Row]) -> Vec<&Row> {
    rows.iter()
        .filter(|r| {
            r.instructions
                .as_ref()
                .is_some_and(|c| c.verdict == CostVerdict::Costlier)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{CostRun, CostWindow};

    fn run(requests: u64, seed: Option<u64>, points: Vec<CostPoint>) -> Results {
        // Written as version 1, read through its upgrade.
        let v1 = serde_json::json!({
            "version": 1, "partial": false,
            "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T01:00:00Z",
            "env": {"bookbench_version": "0", "cpu_model": "cpu", "cores": 2, "kernel": "k",
                    "postgres_version": "15", "postgres_settings": {},
                    "scale": {"authors": 1000}, "client_cpus": [1], "database_cpus": "all"},
            "config": {"preset": "quick", "scenarios": ["author-detail"], "concurrency": [10],
                       "duration_s": 1.0, "warmup_s": 1.0, "repeat": 1, "rate": null},
            "targets": [], "runs": []
        });
        let mut r = Results::from_json(&v1.to_string()).expect("a valid results value");
        r.cost_run = Some(CostRun {
            valgrind: "valgrind-3.19.0".into(),
            requests_per_window: requests,
            requests_per_window_by_scenario: Default::default(),
            tolerance: 0.005,
            max_windows: 12,
            settled_windows: 3,
            idle_window_s: 2.0,
            determinism: Vec::new(),
            threshold: 0.025,
            database_statistics: String::new(),
            database_instructions: String::new(),
            seed,
            layouts: 1,
        });
        r.cost = points;
        r
    }

    fn point(target: &str, per_window: &[f64]) -> CostPoint {
        let windows = per_window
            .iter()
            .map(|&i| CostWindow {
                requests: 100,
                ok: 100,
                duration_s: 1.0,
                instructions: (i * 100.0) as u64,
                idle_instructions: 0,
                system_calls: 1_000,
                processes: 1,
                bytes_received: 10_000,
                database: None,
                type_cache: Some(cost::TypeCacheMisses::default()),
                connects: None,
            })
            .collect();
        let mut p = CostPoint {
            target: target.to_string(),
            scenario: "author-detail".to_string(),
            concurrency: 10,
            status: CostStatus::Settled,
            reason: None,
            warmup_windows: 0,
            merged: 1,
            idle_instructions_per_s: 0.0,
            windows,
            per_request: None,
            spread: None,
            objects: Vec::new(),
            comparison: None,
            database_instructions: None,
            padding_bytes: 0,
            layouts: Vec::new(),
        };
        p.per_request = Some(cost::PerRequest {
            instructions: crate::stats::median(&p.instructions_per_request()),
            system_calls: 10.0,
            bytes_received: 100.0,
            db_statements: None,
            db_rows: None,
            db_shared_blocks_hit: None,
            db_shared_blocks_read: None,
            type_cache_misses: None,
            type_cache_instructions: None,
        });
        p
    }

    #[test]
    fn a_count_that_moved_beyond_the_threshold_between_runs_is_costlier() {
        let a = run(100, Some(1), vec![point("flask", &[1000.0, 1001.0, 999.0])]);
        let b = run(
            100,
            Some(1),
            vec![point("flask", &[1040.0, 1041.0, 1039.0])],
        );
        let rows = compare(&a, &b);
        let c = rows[0].instructions.as_ref().expect("compared");
        assert_eq!(c.verdict, CostVerdict::Costlier, "{c:?}");
        assert!((c.ratio - 1.04).abs() < 1e-9, "{c:?}");
        assert_eq!(c.basis, Basis::WindowsLessMisses);
        assert_eq!(regressions(&rows).len(), 1);

        let same = run(
            100,
            Some(1),
            vec![point("flask", &[1001.0, 1000.0, 1002.0])],
        );
        let rows = compare(&a, &same);
        let c = rows[0].instructions.as_ref().expect("compared");
        assert_eq!(c.verdict, CostVerdict::NoSignificantDifference, "{c:?}");
        assert!(regressions(&rows).is_empty());
    }

    #[test]
    fn windows_of_other_requests_are_not_compared_and_say_why() {
        let a = run(
            100,
            Some(1),
            vec![point("flask", &[1000.0, 1000.0, 1000.0])],
        );
        let b = run(20, Some(1), vec![point("flask", &[1200.0, 1200.0, 1200.0])]);
        let rows = compare(&a, &b);
        assert!(rows[0].instructions.is_none());
        assert!(
            rows[0]
                .not_compared
                .as_deref()
                .is_some_and(|w| w.contains("100 requests against 20")),
            "{rows:?}"
        );
        let b = run(
            100,
            Some(2),
            vec![point("flask", &[1200.0, 1200.0, 1200.0])],
        );
        assert!(
            compare(&a, &b)[0]
                .not_compared
                .as_deref()
                .is_some_and(|w| w.contains("seed")),
        );
    }
}
