//! `bookbench matrix` on the example app of examples/notes: its own
//! environment, its set-up step, its scenario file, and a configuration
//! that cannot install said so while the rest runs.

use std::path::Path;

use bookbench_testdb::TestDb;

use super::{assert_valid_results, bookbench, ok, results, temp_dir, text};

#[tokio::test(flavor = "multi_thread")]
async fn the_example_app_is_measured_under_each_asgi_server_and_what_cannot_install_says_why() {
    let db = TestDb::new().await;
    let (home, out, broken) = (
        temp_dir("matrix-home"),
        temp_dir("matrix-out"),
        temp_dir("matrix-broken"),
    );
    // A requirements file that cannot install under PyPy, found fast: the
    // PyPy configurations are reported, the CPython ones measured.
    let pypy_requirements = broken.join("requirements-pypy.txt");
    std::fs::write(&pypy_requirements, "bookbench-no-such-package==1\n").expect("requirements");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/notes");
    let name = format!("notes{}", std::process::id());
    let run = bookbench()
        .arg("matrix")
        .arg(&example)
        .args([
            "--asgi",
            "app:app",
            "--setup",
            "python init_db.py",
            "--name",
            &name,
        ])
        .arg("--pypy-requirements")
        .arg(&pypy_requirements)
        .args(["--no-cost", "--concurrency", "4", "--duration", "1s"])
        .args([
            "--warmup",
            "300ms",
            "--min-rounds",
            "1",
            "--max-rounds",
            "1",
        ])
        .args(["--database-url", db.url()])
        .arg("--out")
        .arg(out.path())
        .env("BOOKBENCH_HOME", home.path())
        .output()
        .expect("matrix");
    ok(&run);
    let r = results(&out);
    assert_valid_results(&r);
    assert_eq!(r["config"]["scenarios"], serde_json::json!(["notes-read"]));
    let outcome = |target: &str| {
        r["targets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["name"] == target))
            .unwrap_or_else(|| panic!("{target} not in {}", r["targets"]))
            .clone()
    };
    for server in ["uvicorn", "granian"] {
        let target = format!("{name}-{server}");
        assert_eq!(outcome(&target)["status"], "measured", "{target}");
        let point = r["runs"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["target"] == target.as_str()))
            .unwrap_or_else(|| panic!("no point of {target}"));
        assert!(point["rps"].as_f64().unwrap_or(0.0) > 0.0, "{point}");
        assert_eq!(point["errors"], serde_json::json!({}), "{point}");
        // The captured ids answer 200; new notes 201.
        let statuses = point["status"].as_object().expect("statuses");
        assert!(
            statuses.keys().all(|s| s == "200" || s == "201"),
            "{statuses:?}"
        );
        let pypy = outcome(&format!("pypy-{name}-{server}"));
        assert_eq!(pypy["status"], "skipped", "{pypy}");
        let reason = pypy["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("did not set up") && reason.contains("bookbench-no-such-package"),
            "{reason}"
        );
    }
    assert_eq!(r["config"]["baseline"], format!("{name}-uvicorn"));
    let freeze = std::fs::read_to_string(out.join("environments/cpython-main.txt"))
        .expect("the versions installed");
    assert!(freeze.contains("fastapi=="), "{freeze}");
    assert!(freeze.contains("uvicorn=="), "{freeze}");
    let setup = std::fs::read_to_string(out.join("logs/setup.log")).expect("setup's log");
    assert!(setup.contains("notes: 1000"), "{setup}");
    let stderr = text(&run.stderr);
    assert!(stderr.contains("cannot run here"), "{stderr}");
    let _ = std::fs::remove_dir_all(&home);
    let _ = std::fs::remove_dir_all(&broken);
}
