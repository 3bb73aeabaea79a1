//! results.schema.json: the committed schema is the one the records make,
//! and real runs' files (the docs' results of versions 2 and 3) validate
//! against it, so that a reader in another language can trust it.

use std::path::{Path, PathBuf};

const SCHEMA_FILE: &str = "results.schema.json";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn committed() -> serde_json::Value {
    let text = std::fs::read_to_string(crate_dir().join(SCHEMA_FILE)).expect("the schema file");
    serde_json::from_str(&text).expect("the schema is JSON")
}

#[test]
fn the_committed_schema_is_the_one_the_records_make() {
    let made = bookbench_results::json_schema();
    // After a change to the records: BOOKBENCH_WRITE_SCHEMA=1 cargo test
    // -p bookbench-results --test schema, and commit the file.
    if std::env::var_os("BOOKBENCH_WRITE_SCHEMA").is_some() {
        let text = serde_json::to_string_pretty(&made).expect("JSON") + "\n";
        std::fs::write(crate_dir().join(SCHEMA_FILE), text).expect("write the schema");
    }
    assert!(
        committed() == made,
        "{SCHEMA_FILE} is not the schema the records make: write it again with \
         BOOKBENCH_WRITE_SCHEMA=1 cargo test -p bookbench-results --test schema"
    );
}

/// Every results.json under `dir` of this results version.
fn results_files(dir: &Path, found: &mut Vec<(PathBuf, serde_json::Value)>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            results_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("read");
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            // Versions 2 and 3 are this one without what came later.
            let version = value["version"].as_u64().unwrap_or(0);
            if (2..=u64::from(bookbench_results::RESULTS_VERSION)).contains(&version)
                && value["runs"].is_array()
            {
                found.push((path, value));
            }
        }
    }
}

#[test]
fn real_runs_results_files_validate_against_the_committed_schema() {
    let validator = jsonschema::validator_for(&committed()).expect("a valid schema");
    let mut files = Vec::new();
    results_files(&crate_dir().join("../../docs"), &mut files);
    assert!(
        files.len() >= 5,
        "the docs hold real runs' results: {files:?}"
    );
    for (path, value) in files {
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .take(5)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn a_file_missing_a_required_field_is_refused_by_the_schema() {
    let validator = jsonschema::validator_for(&committed()).expect("a valid schema");
    let mut files = Vec::new();
    results_files(&crate_dir().join("../../docs"), &mut files);
    let (_, mut value) = files
        .into_iter()
        .find(|(_, v)| v["runs"].get(0).is_some())
        .expect("a results file with a point");
    assert!(validator.is_valid(&value));
    let run = value["runs"][0].as_object_mut().expect("a point");
    run.remove("rps");
    assert!(!validator.is_valid(&value));
}
