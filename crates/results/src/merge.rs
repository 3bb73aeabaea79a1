//! `bookbench merge`: one results file from runs of different targets.
//!
//! The full study takes longer than one sitting, so it can be run a few
//! targets at a time (`bookbench run --targets …`) and merged. Points are
//! only comparable when they were measured the same way on the same data,
//! so the parts must agree on the machine, the database, the data set and
//! the timing of a point; they may differ in targets, scenarios and
//! concurrency levels, as long as no point is in two of them.

use crate::cost::{CostPoint, CostRun};
use crate::{Error, Point, Results, TargetStatus};

/// One input: a name for messages (its path) and its results.
#[derive(Debug)]
pub struct Part {
    pub name: String,
    pub results: Results,
}

/// Merges `parts` in order. A target in several parts keeps the points of
/// each part (say, other scenarios), including those measured before it
/// failed in a part; one that failed in a part and was measured in another
/// is taken as measured, and where both have a point, the point of the part
/// that measured it whole is kept, never both. A point (target, scenario,
/// concurrency) of two parts that both measured the target is refused:
/// neither can be preferred.
pub fn merge(parts: Vec<Part>) -> Result<Results, Error> {
    let mut parts = parts.into_iter();
    let first = parts
        .next()
        .ok_or_else(|| Error::Mismatch("nothing to merge".into()))?;
    let mut merged = first.results;
    // Which part each point came from, for messages.
    let mut origin: Vec<String> = merged.runs.iter().map(|_| first.name.clone()).collect();
    for part in parts {
        agree(&merged, &first.name, &part)?;
        let r = part.results;
        for outcome in r.targets {
            let runs: Vec<Point> = r
                .runs
                .iter()
                .filter(|p| p.target == outcome.name)
                .cloned()
                .collect();
            let measured = outcome.status == TargetStatus::Measured;
            match merged.targets.iter().position(|t| t.name == outcome.name) {
                Some(i) => {
                    let before = merged.targets[i].status == TargetStatus::Measured;
                    for p in runs {
                        let Some(j) = merged.runs.iter().position(|q| same_point(&p, q)) else {
                            merged.runs.push(p);
                            origin.push(part.name.clone());
                            continue;
                        };
                        // A point of a run the target died in keeps its
                        // place only when no whole run measured it.
                        match (before, measured) {
                            (true, true) => {
                                return Err(Error::Mismatch(format!(
                                    "{} at c={} on '{}' was measured in both {} and {}; merge runs of other targets or scenarios",
                                    p.scenario, p.concurrency, p.target, origin[j], part.name
                                )));
                            }
                            (false, true) => {
                                merged.runs[j] = p;
                                origin[j] = part.name.clone();
                            }
                            (_, false) => {}
                        }
                    }
                    // The outcome of a run that measured it, else the first.
                    if measured && !before {
                        merged.targets[i] = outcome;
                    }
                }
                None => {
                    merged.targets.push(outcome);
                    for p in runs {
                        merged.runs.push(p);
                        origin.push(part.name.clone());
                    }
                }
            }
        }
        merge_cost(&mut merged, r.cost_run, r.cost, &part.name, &first.name)?;
        merged.partial |= r.partial;
        if r.started_at < merged.started_at {
            merged.started_at = r.started_at;
        }
        merged.finished_at = match (merged.finished_at.take(), r.finished_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        for s in r.config.scenarios {
            if !merged.config.scenarios.contains(&s) {
                merged.config.scenarios.push(s);
            }
        }
        merged.config.concurrency.extend(r.config.concurrency);
        merged.config.concurrency.sort_unstable();
        merged.config.concurrency.dedup();
        if !merged
            .config
            .preset
            .split('+')
            .any(|p| p == r.config.preset)
        {
            merged.config.preset = format!("{}+{}", merged.config.preset, r.config.preset);
        }
    }
    Ok(merged)
}

/// Adds a part's counted cost: counted the same way as the first part's,
/// and of other points.
fn merge_cost(
    merged: &mut Results,
    run: Option<CostRun>,
    points: Vec<CostPoint>,
    part: &str,
    first: &str,
) -> Result<(), Error> {
    match (&merged.cost_run, run) {
        (_, None) => {}
        (None, Some(run)) => merged.cost_run = Some(run),
        (Some(ours), Some(theirs)) => {
            let how =
                |r: &CostRun| format!("{}, {}, tolerance {}", r.valgrind, r.windows(), r.tolerance);
            if how(ours) != how(&theirs) {
                return Err(Error::Mismatch(format!(
                    "{part} cannot be merged with {first}: its cost was counted otherwise ({} against {})",
                    how(&theirs),
                    how(ours)
                )));
            }
        }
    }
    for p in points {
        if merged.cost.iter().any(|q| {
            q.target == p.target && q.scenario == p.scenario && q.concurrency == p.concurrency
        }) {
            return Err(Error::Mismatch(format!(
                "the cost of {} at c={} on '{}' was counted in {part} and before it; merge runs of other targets or scenarios",
                p.scenario, p.concurrency, p.target
            )));
        }
        merged.cost.push(p);
    }
    Ok(())
}

fn same_point(a: &Point, b: &Point) -> bool {
    a.target == b.target && a.at() == b.at()
}

/// Refuses a part whose points were measured differently from the first's.
fn agree(base: &Results, base_name: &str, part: &Part) -> Result<(), Error> {
    let (a, b) = (base, &part.results);
    let differs = |what: &str, x: String, y: String| -> Result<(), Error> {
        if x == y {
            return Ok(());
        }
        Err(Error::Mismatch(format!(
            "{} cannot be merged with {base_name}: its {what} differs ({y} against {x})",
            part.name
        )))
    };
    differs(
        "data set",
        format!("{:?}", a.env.scale),
        format!("{:?}", b.env.scale),
    )?;
    differs("CPU", a.env.cpu_model.clone(), b.env.cpu_model.clone())?;
    differs(
        "core count",
        a.env.cores.to_string(),
        b.env.cores.to_string(),
    )?;
    differs(
        "PostgreSQL version",
        a.env.postgres_version.clone(),
        b.env.postgres_version.clone(),
    )?;
    differs(
        "PostgreSQL settings",
        format!("{:?}", a.env.postgres_settings),
        format!("{:?}", b.env.postgres_settings),
    )?;
    let timing = |r: &Results| {
        format!(
            "{} s windows, {} s warm-up, {}–{} rounds, {} s timeout, {}",
            r.config.duration_s,
            r.config.warmup_s,
            r.config.rounds.min,
            r.config.rounds.max,
            r.config.timeout_s.unwrap_or(10.0),
            r.config
                .rate
                .map_or("closed loop".to_string(), |rate| format!("{rate} req/s"))
        )
    };
    differs("timing", timing(a), timing(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(preset: &str, targets: &[(&str, &str)], authors: u64) -> Results {
        let outcomes: Vec<_> = targets
            .iter()
            .map(|(name, status)| {
                serde_json::json!({
                    "name": name, "description": "", "workers": 1, "cpus": [0],
                    "status": status, "reason": null, "notes": [], "verify": []
                })
            })
            .collect();
        let latency =
            serde_json::json!({"p50": 1, "p90": 1, "p99": 1, "p999": 1, "max": 1, "mean": 1.0});
        let runs: Vec<_> = targets
            .iter()
            .filter(|(_, status)| *status == "measured")
            .map(|(name, _)| {
                serde_json::json!({
                    "target": name, "scenario": "hello-get", "concurrency": 10,
                    "rps": 100.0, "rps_min": 90.0, "rps_max": 110.0, "latency_us": latency,
                    "requests": 200, "errors": {}, "status": {"200": 200},
                    "cpu": {"server": 1.0, "database": 0.0, "client": 1.0},
                    "db_statements_per_request": null, "flags": [], "repeats": [],
                    "histogram": ""
                })
            })
            .collect();
        // Written as version 1, read through its upgrade.
        let v1 = serde_json::json!({
            "version": 1, "partial": false,
            "started_at": format!("2026-01-01T00:00:0{}Z", targets.len()),
            "finished_at": "2026-01-01T01:00:00Z",
            "env": {"bookbench_version": "0", "cpu_model": "cpu", "cores": 2, "kernel": "k",
                    "postgres_version": "15", "postgres_settings": {},
                    "scale": {"authors": authors}, "client_cpus": [1],
                    "database_cpus": "all"},
            "config": {"preset": preset, "scenarios": ["hello-get"], "concurrency": [10],
                       "duration_s": 1.0, "warmup_s": 1.0, "repeat": 1, "rate": null},
            "targets": outcomes, "runs": runs
        });
        Results::from_json(&v1.to_string()).expect("a valid results value")
    }

    fn part(name: &str, results: Results) -> Part {
        Part {
            name: name.into(),
            results,
        }
    }

    #[test]
    fn parts_of_different_targets_are_joined_in_order() {
        let merged = merge(vec![
            part("a", results("full", &[("rust", "measured")], 10)),
            part(
                "b",
                results(
                    "full",
                    &[("flask-dev", "measured"), ("fastapi", "skipped")],
                    10,
                ),
            ),
        ])
        .expect("merge");
        let names: Vec<_> = merged.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["rust", "flask-dev", "fastapi"]);
        assert_eq!(merged.runs.len(), 2);
        assert_eq!(merged.config.preset, "full");
        assert_eq!(merged.started_at, "2026-01-01T00:00:01Z");
    }

    #[test]
    fn a_target_that_failed_is_replaced_by_its_measured_rerun() {
        let merged = merge(vec![
            part(
                "a",
                results("full", &[("rust", "measured"), ("fastapi", "failed")], 10),
            ),
            part("b", results("quick", &[("fastapi", "measured")], 10)),
        ])
        .expect("merge");
        let fastapi = merged.targets.iter().find(|t| t.name == "fastapi");
        assert_eq!(fastapi.map(|t| t.status), Some(TargetStatus::Measured));
        assert_eq!(merged.runs.len(), 2);
        assert_eq!(merged.config.preset, "full+quick");
    }

    /// A run in which `name` was measured at hello-get, then failed.
    fn failed_part_way(name: &str) -> Results {
        let mut r = results("full", &[(name, "measured")], 10);
        if let Some(t) = r.targets.first_mut() {
            t.status = TargetStatus::Failed;
            t.reason = Some("died during author-detail".into());
        }
        r
    }

    #[test]
    fn a_target_that_failed_part_way_keeps_its_points_beside_a_rerun_of_the_rest() {
        let mut rest = results("full", &[("fastapi", "measured")], 10);
        rest.runs[0].scenario = "author-detail".into();
        let merged =
            merge(vec![part("a", failed_part_way("fastapi")), part("b", rest)]).expect("merge");
        assert_eq!(merged.targets.len(), 1);
        assert_eq!(merged.targets[0].status, TargetStatus::Measured);
        let scenarios: Vec<&str> = merged.runs.iter().map(|p| p.scenario.as_str()).collect();
        assert_eq!(scenarios, ["hello-get", "author-detail"]);
    }

    #[test]
    fn a_point_of_a_failed_run_gives_way_to_the_whole_runs_and_is_never_doubled() {
        for parts in [["failed", "whole"], ["whole", "failed"]] {
            let merged = merge(
                parts
                    .iter()
                    .map(|&which| {
                        let mut r = if which == "failed" {
                            failed_part_way("rust")
                        } else {
                            results("full", &[("rust", "measured")], 10)
                        };
                        r.runs[0].rps = if which == "failed" { 1.0 } else { 100.0 };
                        part(which, r)
                    })
                    .collect(),
            )
            .expect("merge");
            assert_eq!(merged.runs.len(), 1, "{parts:?}");
            assert_eq!(merged.runs[0].rps, 100.0, "{parts:?}");
            assert_eq!(
                merged.targets[0].status,
                TargetStatus::Measured,
                "{parts:?}"
            );
        }
        let twice = merge(vec![
            part("a", failed_part_way("rust")),
            part("b", failed_part_way("rust")),
        ])
        .expect("merge");
        assert_eq!(twice.runs.len(), 1);
        assert_eq!(twice.targets[0].status, TargetStatus::Failed);
    }

    #[test]
    fn parts_of_other_scenarios_of_one_target_are_joined() {
        let mut other = results("full", &[("rust", "measured")], 10);
        other.runs[0].scenario = "author-detail".into();
        other.config.scenarios = vec!["author-detail".into()];
        other.config.concurrency = vec![50, 10];
        let merged = merge(vec![
            part("a", results("full", &[("rust", "measured")], 10)),
            part("b", other),
        ])
        .expect("merge");
        assert_eq!(merged.targets.len(), 1);
        assert_eq!(merged.runs.len(), 2);
        assert_eq!(merged.config.scenarios, ["hello-get", "author-detail"]);
        assert_eq!(merged.config.concurrency, [10, 50]);
    }

    #[test]
    fn a_point_measured_twice_is_refused_with_both_files_named() {
        let err = merge(vec![
            part("a.json", results("full", &[("rust", "measured")], 10)),
            part("b.json", results("full", &[("rust", "measured")], 10)),
        ])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("hello-get at c=10 on 'rust'")
                && err.contains("a.json")
                && err.contains("b.json"),
            "{err}"
        );
    }

    #[test]
    fn parts_on_different_data_sets_are_refused() {
        let err = merge(vec![
            part("a.json", results("full", &[("rust", "measured")], 10)),
            part("b.json", results("full", &[("fastapi", "measured")], 20)),
        ])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("b.json") && err.contains("data set"), "{err}");
    }
}
