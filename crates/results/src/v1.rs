//! Version 1 of results.json: each target measured on its own, its repeats
//! one after another. Read by rewriting the document into version 2: the
//! repeats become windows of rounds 0, 1, …, and the run is marked not
//! interleaved, so that no two targets' windows are taken as a pair.

use serde_json::{Value, json};

/// Rewrites a version 1 document, in place, as version 2.
pub(super) fn upgrade(doc: &mut Value) {
    doc["version"] = json!(crate::RESULTS_VERSION);
    let config = &mut doc["config"];
    let repeat = config.get("repeat").and_then(Value::as_u64).unwrap_or(1);
    if let Some(c) = config.as_object_mut() {
        c.remove("repeat");
        c.insert("rounds".into(), json!({"min": repeat, "max": repeat}));
        c.insert("precision".into(), json!(0.0));
        c.insert("point_budget_s".into(), json!(0.0));
        c.insert("baseline".into(), Value::Null);
        c.insert("noise_threshold".into(), json!(0.0));
        c.insert("steal_threshold".into(), json!(100.0));
        c.insert("seed".into(), json!(0));
        c.insert("interleaved".into(), json!(false));
    }
    let Some(points) = doc.get_mut("runs").and_then(Value::as_array_mut) else {
        return;
    };
    for point in points {
        let Some(p) = point.as_object_mut() else {
            continue;
        };
        let repeats = p.remove("repeats").unwrap_or_else(|| json!([]));
        let windows: Vec<Value> = repeats
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, r)| window(i, r))
            .collect();
        p.insert("windows".into(), Value::Array(windows));
        p.insert("rps_interval".into(), Value::Null);
        p.insert("comparison".into(), Value::Null);
    }
}

/// A version 1 repeat as a version 2 window; what version 1 did not
/// measure is zero or empty.
fn window(round: usize, repeat: &Value) -> Value {
    let get = |k: &str| repeat.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "round": round,
        "position": 0,
        "rps": get("rps"),
        "requests": get("requests"),
        "errors": get("errors"),
        "latency_us": get("latency_us"),
        "cpu": get("cpu"),
        "cpu_per_request_us": {"server": 0.0, "database": 0.0, "client": 0.0},
        "db_statements": get("db_statements"),
        "client_cpu_per_request_us": get("client_cpu_per_request_us"),
        "client_system_per_request_us": 0.0,
        "steal_pct": [],
        "others_cpu": 0.0,
        "time_wait": 0,
        "flags": repeat.get("flags").cloned().unwrap_or_else(|| json!([])),
        "histogram": "",
    })
}

#[cfg(test)]
mod tests {
    use crate::Results;

    /// The quick run published in docs/results.md, written by version 1.
    const PUBLISHED: &str = include_str!("../../../docs/results/2026-11-26-quick-results.json");

    #[test]
    fn a_version_1_file_is_read_with_its_repeats_as_windows_and_marked_not_interleaved() {
        let r = Results::from_json(PUBLISHED).expect("version 1 reads");
        assert_eq!(r.version, crate::RESULTS_VERSION);
        assert!(!r.config.interleaved);
        assert!(r.config.rounds.min >= 1);
        let p = r.runs.first().expect("a point");
        assert_eq!(p.windows.len(), r.config.rounds.min as usize);
        let rounds: Vec<u32> = p.windows.iter().map(|w| w.round).collect();
        assert_eq!(rounds, (0..r.config.rounds.min).collect::<Vec<_>>());
        assert!(p.comparison.is_none());
    }

    #[test]
    fn an_unknown_version_is_refused_naming_the_versions_read() {
        let err = Results::from_json(r#"{"version": 99}"#).expect_err("refused");
        assert!(err.to_string().contains("versions 1 to 4"), "{err}");
    }
}
