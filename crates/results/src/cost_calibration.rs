//! Counted cost's calibration (`bookbench cost --calibrate`), read out of
//! its results: each target against an identical copy of itself (A/A: any
//! difference found is noise), and the Rust server against a copy doing a
//! known extra amount of work per request, which must be judged costlier
//! by that amount.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Results;
use crate::calibration::COPY;
use crate::cost::{CostComparison, CostPoint, CostStatus, CostVerdict, DatabaseCountStatus};

/// The suffix of a copy doing `extra` more work: `~x105` for 5%.
pub fn extra_suffix(extra: f64) -> String {
    format!("~x{:.0}", (1.0 + extra) * 100.0)
}

/// The known extra work: how much was added to each point, and what one
/// unit of it costs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KnownWork {
    /// The copy doing the extra work, and the target it copies.
    pub target: String,
    pub original: String,
    /// The share of the original's instructions per request added (0.05).
    pub extra: f64,
    /// Instructions one iteration of the added loop costs, counted on two
    /// probes with many iterations, one with twice the other's.
    pub instructions_per_iteration: f64,
    /// Instructions the added step costs a request whatever its iterations
    /// (the call around the loop): taken as none since 2026-12-07, when the
    /// probes' intercept was found to hold the runtime's batching instead;
    /// older results keep what their probes gave.
    pub fixed_instructions: f64,
    /// Iterations added per request at each point.
    pub iterations: Vec<Iterations>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Iterations {
    pub scenario: String,
    pub concurrency: u32,
    pub iterations: u64,
    /// The original's instructions per request there.
    pub original_instructions: f64,
}

impl KnownWork {
    /// The ratio a copy must show at a point: its original's cost plus
    /// the instructions added, over its original's cost.
    pub fn expected_ratio(&self, scenario: &str, concurrency: u32) -> Option<f64> {
        let i = self
            .iterations
            .iter()
            .find(|i| i.scenario == scenario && i.concurrency == concurrency)?;
        (i.original_instructions > 0.0).then(|| {
            1.0 + (self.fixed_instructions + i.iterations as f64 * self.instructions_per_iteration)
                / i.original_instructions
        })
    }
}

/// One copy against its original at one point.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Row {
    pub target: String,
    pub reference: String,
    pub scenario: String,
    pub concurrency: u32,
    /// `None` when either side did not settle: no comparison.
    pub ratio: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub verdict: Option<CostVerdict>,
    /// For the known extra work: the ratio it must show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<f64>,
}

impl Row {
    /// The known work found, and by the amount added: judged costlier, its
    /// ratio within `tolerance` of the expected one.
    pub fn found_in_proportion(&self, tolerance: f64) -> bool {
        match (self.verdict, self.ratio, self.expected) {
            (Some(CostVerdict::Costlier), Some(r), Some(e)) => (r / e - 1.0).abs() <= tolerance,
            _ => false,
        }
    }
}

fn one() -> u32 {
    1
}

/// What the calibration found.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CostCalibration {
    pub threshold: f64,
    pub tolerance: f64,
    /// The layouts each target was counted in: with more than one, the
    /// targets' rows give the 95% interval across them, not the range of
    /// windows (not recorded before 2026-12-06: one).
    #[serde(default = "one")]
    pub layouts: u32,
    pub aa: Vec<Row>,
    pub known: Vec<Row>,
    pub known_work: Option<KnownWork>,
    /// Why no known work was added, when none was.
    pub known_missing: Option<String>,
    /// A/A rows judged costlier or cheaper.
    pub aa_judged_different: usize,
    /// A/A rows without a comparison (a side that did not settle).
    pub aa_not_compared: usize,
    /// The largest |ratio − 1| of the A/A rows.
    pub largest_aa_deviation: f64,
    /// How far the A/A rows' ranges reach from 1: the largest of
    /// high − 1 and 1 − low. A threshold below it can call a pair of
    /// identical targets different, should their ranges fall a little
    /// further out at another layout.
    #[serde(default)]
    pub largest_aa_reach: f64,
    /// Known-work rows judged costlier.
    pub known_found: usize,
    /// Known-work rows judged costlier by the amount added.
    pub known_in_proportion: usize,
    /// The database's instructions a request, each copy's against its
    /// original's, at the points where they were counted (on bookbench's
    /// own cluster): the copies send the same statements, so any
    /// difference is the count's noise.
    #[serde(default)]
    pub database_aa: Vec<Row>,
    #[serde(default)]
    pub database_aa_judged_different: usize,
    #[serde(default)]
    pub database_aa_not_compared: usize,
    #[serde(default)]
    pub largest_database_aa_deviation: f64,
    /// A/A rows at which the copy's statements or rows a request are not
    /// exactly its original's: the same requests make the same statements.
    #[serde(default)]
    pub aa_statements_or_rows_differing: usize,
    /// The largest |copy's shared buffers hit a request over its
    /// original's − 1|: a pooled connection plans a prepared statement
    /// anew on its first runs, and which connection serves a request is
    /// timing's choice.
    #[serde(default)]
    pub largest_aa_buffers_deviation: f64,
}

/// What a set of rows was judged: different, not compared, and the
/// largest deviation from 1.
fn judged(rows: &[Row]) -> (usize, usize, f64) {
    (
        rows.iter()
            .filter(|r| {
                r.verdict
                    .is_some_and(|v| v != CostVerdict::NoSignificantDifference)
            })
            .count(),
        rows.iter().filter(|r| r.ratio.is_none()).count(),
        rows.iter()
            .filter_map(|r| r.ratio)
            .map(|r| (r - 1.0).abs())
            .fold(0.0, f64::max),
    )
}

/// The target's instructions compared, where its point settled.
fn app_comparison(p: &CostPoint) -> Option<&CostComparison> {
    p.comparison
        .as_ref()
        .filter(|_| p.status == CostStatus::Settled)
}

/// The database's instructions compared, where they settled.
fn database_comparison(p: &CostPoint) -> Option<&CostComparison> {
    p.database_instructions
        .as_ref()
        .filter(|d| d.status == DatabaseCountStatus::Settled)
        .and_then(|d| d.comparison.as_ref())
}

fn row(
    p: &CostPoint,
    reference: &str,
    comparison: Option<&CostComparison>,
    expected: Option<f64>,
) -> Row {
    let c = comparison.filter(|c| c.reference == reference);
    Row {
        target: p.target.clone(),
        reference: reference.to_string(),
        scenario: p.scenario.clone(),
        concurrency: p.concurrency,
        ratio: c.map(|c| c.ratio),
        low: c.map(|c| c.low),
        high: c.map(|c| c.high),
        verdict: c.map(|c| c.verdict),
        expected,
    }
}

/// Reads the calibration's comparisons out of its results.
pub fn summarise(
    results: &Results,
    known_work: Option<KnownWork>,
    known_missing: Option<String>,
) -> CostCalibration {
    let (threshold, tolerance, layouts) = results
        .cost_run
        .as_ref()
        .map_or((0.0, 0.0, 1), |r| (r.threshold, r.tolerance, r.layouts));
    // Each copy (`NAME~aa`, or a further one `NAME~aa2`) with its original.
    let copies: Vec<(&CostPoint, &str)> = results
        .cost
        .iter()
        .filter_map(|p| {
            let (original, n) = p.target.rsplit_once(COPY)?;
            n.chars()
                .all(|c| c.is_ascii_digit())
                .then_some((p, original))
        })
        .collect();
    let aa: Vec<Row> = copies
        .iter()
        .map(|&(p, original)| row(p, original, app_comparison(p), None))
        .collect();
    // A point where no statement reached the database (hello world) says
    // nothing of the database's count.
    let database_aa: Vec<Row> = copies
        .iter()
        .filter(|(p, _)| {
            p.database_instructions
                .as_ref()
                .is_some_and(|d| d.per_request != Some(0.0))
        })
        .map(|&(p, original)| row(p, original, database_comparison(p), None))
        .collect();
    let statistics = statistics_against_originals(results, &copies);
    let known: Vec<Row> = known_work
        .as_ref()
        .map(|k| {
            results
                .cost
                .iter()
                .filter(|p| p.target == k.target)
                .map(|p| {
                    let expected = k.expected_ratio(&p.scenario, p.concurrency);
                    row(p, &k.original, app_comparison(p), expected)
                })
                .collect()
        })
        .unwrap_or_default();
    let (aa_judged_different, aa_not_compared, largest_aa_deviation) = judged(&aa);
    let (database_aa_judged_different, database_aa_not_compared, largest_database_aa_deviation) =
        judged(&database_aa);
    CostCalibration {
        threshold,
        tolerance,
        layouts,
        aa_judged_different,
        aa_not_compared,
        largest_aa_deviation,
        largest_aa_reach: aa
            .iter()
            .filter_map(|r| Some((r.high? - 1.0).max(1.0 - r.low?)))
            .fold(0.0, f64::max),
        database_aa_judged_different,
        database_aa_not_compared,
        largest_database_aa_deviation,
        aa_statements_or_rows_differing: statistics.0,
        largest_aa_buffers_deviation: statistics.1,
        database_aa,
        known_found: known
            .iter()
            .filter(|r| r.verdict == Some(CostVerdict::Costlier))
            .count(),
        known_in_proportion: known
            .iter()
            .filter(|r| r.found_in_proportion(tolerance))
            .count(),
        aa,
        known,
        known_work,
        known_missing,
    }
}

/// The A/A copies' database statistics against their originals' at the
/// same point: how many differ in statements or rows a request, and the
/// largest relative difference in shared buffers hit.
fn statistics_against_originals(results: &Results, copies: &[(&CostPoint, &str)]) -> (usize, f64) {
    let mut differing = 0;
    let mut buffers: f64 = 0.0;
    for &(copy, original) in copies {
        let Some(o) = results.cost.iter().find(|o| {
            o.target == original && o.scenario == copy.scenario && o.concurrency == copy.concurrency
        }) else {
            continue;
        };
        let (Some(c), Some(o)) = (copy.per_request.as_ref(), o.per_request.as_ref()) else {
            continue;
        };
        if c.db_statements != o.db_statements || c.db_rows != o.db_rows {
            differing += 1;
        }
        if let (Some(c), Some(o)) = (c.db_shared_blocks_hit, o.db_shared_blocks_hit)
            && o > 0.0
        {
            buffers = buffers.max((c / o - 1.0).abs());
        }
    }
    (differing, buffers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_ratio_adds_the_iterations_instructions_to_the_original() {
        let k = KnownWork {
            target: "rust~x105".into(),
            original: "rust".into(),
            extra: 0.05,
            instructions_per_iteration: 4.0,
            fixed_instructions: 1_000.0,
            iterations: vec![Iterations {
                scenario: "hello-get".into(),
                concurrency: 10,
                iterations: 1_000,
                original_instructions: 100_000.0,
            }],
        };
        assert_eq!(k.expected_ratio("hello-get", 10), Some(1.05));
        assert_eq!(k.expected_ratio("hello-get", 50), None);
        assert_eq!(extra_suffix(0.05), "~x105");
    }

    #[test]
    fn known_work_is_found_only_when_costlier_by_about_the_amount_added() {
        let row = |ratio: f64, verdict| Row {
            target: "rust~x105".into(),
            reference: "rust".into(),
            scenario: "hello-get".into(),
            concurrency: 10,
            ratio: Some(ratio),
            low: Some(ratio),
            high: Some(ratio),
            verdict: Some(verdict),
            expected: Some(1.05),
        };
        assert!(row(1.052, CostVerdict::Costlier).found_in_proportion(0.005));
        assert!(!row(1.07, CostVerdict::Costlier).found_in_proportion(0.005));
        assert!(!row(1.05, CostVerdict::NoSignificantDifference).found_in_proportion(0.005));
    }
}
