//! `bookbench cost` as a user runs it: the Rust server and copies of it
//! under real valgrind, against a real PostgreSQL. Counts, so the
//! assertions are about equality and proportion, never about time.

use std::path::Path;

use bookbench_testdb::TestDb;

use crate::{Scratch, assert_valid_results, bookbench, ok, results, temp_dir};

/// `bookbench cost ARGS` on a tiny data set in `db`, with the targets of
/// `targets` added, into `out`; it must succeed.
fn cost(args: &[&str], db: &TestDb, targets: Option<&Path>, out: &Path) {
    let mut run = bookbench();
    run.arg("cost")
        .args(args)
        .args(["--scale", "tiny", "--database-url", db.url()]);
    if let Some(targets) = targets {
        run.arg("--targets-file").arg(targets);
    }
    let home = temp_dir("home");
    let run = run
        .arg("--out")
        .arg(out)
        .env("BOOKBENCH_HOME", home.path())
        .output()
        .expect("cost");
    ok(&run);
}

fn per_request<'a>(r: &'a serde_json::Value, target: &str) -> &'a serde_json::Value {
    r["cost"]
        .as_array()
        .expect("cost points")
        .iter()
        .find(|p| p["target"] == target)
        .unwrap_or_else(|| panic!("no cost point of {target}: {r}"))
}

/// The calibration: the Rust server against an identical copy (A/A), and
/// against a copy whose every request runs a loop sized to add 5% of its
/// instructions there, sized from two probes with loops some 20 and 40
/// times as long. Each target in three layouts, compared across them (the
/// calibration by windows alone is the own-cluster test's).
#[tokio::test(flavor = "multi_thread")]
async fn the_cost_calibration_counts_copies_alike_and_finds_added_work_in_proportion() {
    let db = TestDb::new().await;
    let out = temp_dir("cost");
    cost(
        &[
            "--calibrate",
            "--targets",
            "rust",
            "--scenarios",
            "author-detail",
            "--concurrency",
            "4",
            "--requests",
            "50",
            // Enough for each of the server's connections to have planned its
            // prepared statements for good (PostgreSQL plans the first five
            // executions anew, counting planning's buffers).
            "--warmup-requests",
            "100",
            "--idle",
            "1s",
            "--layouts",
            "3",
        ],
        &db,
        None,
        &out,
    );
    let r = results(&out);
    assert_valid_results(&r);
    assert_eq!(r["cost_run"]["layouts"], 3, "{}", r["cost_run"]);
    assert_eq!(r["cost_run"]["threshold"], 0.01, "{}", r["cost_run"]);
    for p in r["cost"].as_array().expect("cost points") {
        // Each point holds its other two layouts, each a start of its own
        // with more environment, and is compared across the three.
        let paddings: Vec<u64> = p["layouts"]
            .as_array()
            .unwrap_or_else(|| panic!("no layouts: {p}"))
            .iter()
            .map(|l| l["padding_bytes"].as_u64().expect("padding"))
            .collect();
        assert_eq!(paddings, [23, 97], "{p}");
        if p["target"] != "rust" {
            assert_eq!(p["comparison"]["basis"], "layouts", "{p}");
        }
    }
    assert!(
        r["cost_run"]["valgrind"]
            .as_str()
            .is_some_and(|v| v.starts_with("valgrind-3")),
        "{}",
        r["cost_run"]
    );

    let instructions = |target: &str| -> f64 {
        let p = per_request(&r, target);
        assert_eq!(p["status"], "settled", "{p}");
        // Consecutive windows agree to half a percent (the spread is the
        // whole range: ±half of it).
        assert!(p["spread"].as_f64().expect("spread") < 0.01, "{p}");
        let warmup = p["warmup_windows"].as_u64().expect("warm-up windows") as usize;
        let windows = &p["windows"].as_array().expect("windows")[warmup..];
        // The same requests in every window: the same statements and rows.
        // The buffers agree to half a percent of their median, as the
        // windows settled: which of the server's pooled connections serves
        // a request is timing's choice, and with it whether PostgreSQL plans
        // that prepared statement anew (seen: 1,574 to 1,582). At one
        // connection they are the same.
        let db: Vec<&serde_json::Value> = windows.iter().map(|w| &w["database"]).collect();
        let mut hits: Vec<f64> = db
            .iter()
            .map(|d| d["shared_blocks_hit"].as_f64().expect("hit"))
            .collect();
        hits.sort_by(f64::total_cmp);
        let median = hits[hits.len() / 2];
        for d in &db {
            assert_eq!(d["statements"], 100, "2 statements an author detail: {p}");
            assert_eq!(d["rows"], db[0]["rows"], "{db:?}");
            let hit = d["shared_blocks_hit"].as_f64().expect("hit");
            assert!((hit / median - 1.0).abs() <= 0.005, "{db:?}");
        }
        assert!(p["per_request"]["system_calls"].as_f64() > Some(0.0), "{p}");
        assert!(
            p["objects"][0]["object"]
                .as_str()
                .is_some_and(|o| o.starts_with("bookbench")),
            "the server's own binary first: {p}"
        );
        p["per_request"]["instructions"]
            .as_f64()
            .expect("instructions")
    };
    let base = instructions("rust");
    let plus = instructions("rust~x105");
    // A/A: the same binary counts the same, started with an environment of
    // any of three sizes, and is judged so.
    for copy in ["rust~aa", "rust~aa2", "rust~aa3"] {
        let again = instructions(copy);
        assert!(
            (again / base - 1.0).abs() < 0.005,
            "{copy}: {again} against {base}"
        );
        assert_eq!(
            per_request(&r, copy)["comparison"]["verdict"],
            "no-significant-difference"
        );
    }
    // The added work is found, costlier, by the share added: the probes'
    // count of one iteration holds for a loop twenty times shorter.
    assert_eq!(
        per_request(&r, "rust~x105")["comparison"]["verdict"],
        "costlier"
    );
    assert!((plus / base - 1.05).abs() < 0.005, "{plus} against {base}");
    let c: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("calibration.json")).expect("calibration.json"),
    )
    .expect("calibration.json is JSON");
    assert_eq!(c["aa_judged_different"], 0, "{c}");
    // The intervals of the Rust server's copies across three layouts are
    // narrow: they reach less far from 1 than one start's threshold.
    assert_eq!(c["layouts"], 3, "{c}");
    let reach = c["largest_aa_reach"]
        .as_f64()
        .expect("the A/A intervals' reach");
    assert!(
        reach >= c["largest_aa_deviation"].as_f64().expect("deviation") && reach < 0.025,
        "{c}"
    );
    assert_eq!(c["known_found"], 1, "{c}");
    assert_eq!(c["known_in_proportion"], 1, "{c}");
    assert!(
        c["known_work"]["instructions_per_iteration"].as_f64() > Some(0.0),
        "{c}"
    );
    assert!(
        r["cost"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|p| !p["target"].as_str().unwrap_or_default().contains("probe")),
        "the probes are a means, not a finding"
    );
    let md = std::fs::read_to_string(out.join("calibration.md")).expect("calibration.md");
    assert!(
        md.contains("1 of 1 judged costlier, 1 of them within"),
        "{md}"
    );
    assert!(md.contains("counted in 3 layouts"), "{md}");
    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(summary.contains("## Counted cost per request"), "{summary}");

    compare_judges_counts_between_runs(&out.join("results.json"));
}

/// `bookbench compare` on two counting runs: a run against itself differs
/// nowhere; against a copy whose Rust server counted 5% more in every
/// window, that point is costlier, and `--fail-on-regression` says so in
/// one line.
fn compare_judges_counts_between_runs(results_json: &Path) {
    let compare = |b: &Path, gate: bool| {
        let mut run = bookbench();
        run.arg("compare").arg(results_json).arg(b);
        if gate {
            run.arg("--fail-on-regression");
        }
        run.output().expect("compare")
    };
    let same = compare(results_json, true);
    ok(&same);
    let table = String::from_utf8_lossy(&same.stdout).into_owned();
    assert!(table.contains("Counted, not timed"), "{table}");
    assert_eq!(
        table.matches("no significant difference").count(),
        5,
        "a run against itself, the Rust server and its four copies: {table}"
    );

    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results_json).expect("results"))
            .expect("results.json");
    for p in r["cost"].as_array_mut().expect("cost points") {
        if p["target"] != "rust" {
            continue;
        }
        // In every layout: compared across them, one layout's 5% alone is
        // a third of it, within the layouts' interval.
        let mut layouts = p["layouts"].as_array().cloned().unwrap_or_default();
        for l in std::iter::once(&mut *p).chain(layouts.iter_mut()) {
            for w in l["windows"].as_array_mut().expect("windows") {
                let i = w["instructions"].as_f64().expect("instructions");
                w["instructions"] = serde_json::json!((i * 1.05).round() as u64);
            }
        }
        p["layouts"] = serde_json::Value::Array(layouts);
    }
    let edited = temp_dir("compare-costlier");
    let costlier = edited.join("results.json");
    std::fs::write(&costlier, r.to_string()).expect("write the edited copy");
    let gated = compare(&costlier, true);
    assert!(!gated.status.success(), "{gated:?}");
    let err = String::from_utf8_lossy(&gated.stderr).into_owned();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("rust author-detail c=4 costlier"), "{err}");
    let table = String::from_utf8_lossy(&gated.stdout).into_owned();
    assert!(table.contains("% costlier"), "{table}");
}

#[test]
fn cost_without_valgrind_says_what_to_install_in_one_line() {
    let (empty, home) = (temp_dir("no-valgrind"), temp_dir("home"));
    let out = bookbench()
        .args(["cost", "--targets", "rust"])
        .env("PATH", empty.path())
        .env("BOOKBENCH_HOME", home.path())
        .output()
        .expect("cost");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("valgrind is missing") && err.contains("apt-get install valgrind"),
        "{err}"
    );
}

/// A target that dies under valgrind and one that cannot run here are each
/// recorded with the reason, and the others are still counted.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_dies_under_valgrind_is_recorded_and_the_rest_is_counted() {
    let db = TestDb::new().await;
    let out = temp_dir("cost-dies");
    let targets = out.join("targets.toml");
    std::fs::write(
        &targets,
        r#"
[[target]]
name = "dies"
description = "exits at once"
command = ["sh", "-c", "echo 'no such database' >&2; exit 3"]
workers = 1
cpus = [0]
ready = "/"

[[target]]
name = "missing"
description = "needs a program that is not there"
command = ["no-such-program-here"]
requires = ["no-such-program-here"]
workers = 1
cpus = [0]
ready = "/"
"#,
    )
    .expect("targets file");
    cost(
        &[
            "--targets",
            "dies,missing,rust",
            "--scenarios",
            "hello-get",
            "--concurrency",
            "1",
            "--requests",
            "20",
            "--warmup-requests",
            "10",
            "--idle",
            "1s",
        ],
        &db,
        Some(&targets),
        &out,
    );
    let r = results(&out);
    let outcome = |name: &str| {
        r["targets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no outcome of {name}: {r}"))
    };
    let dies = outcome("dies");
    assert_eq!(dies["status"], "failed", "{dies}");
    assert!(
        dies["reason"]
            .as_str()
            .is_some_and(|why| why.contains("no such database")),
        "the reason with the last line of its log: {dies}"
    );
    assert_eq!(outcome("missing")["status"], "skipped");
    assert_eq!(outcome("rust")["status"], "measured");
    assert_eq!(per_request(&r, "rust")["status"], "settled");
    assert_eq!(r["partial"], false);
}

/// Debian's own CPython is stripped: `_PyType_Lookup` keeps its name, the
/// search of the class hierarchy it calls on a miss does not, so the
/// misses cannot be told apart. Its windows record none, and targets on it
/// are compared by whole counts, at their threshold: a copy alike is no
/// different, one with a loop added to every request is costlier.
#[tokio::test(flavor = "multi_thread")]
async fn an_interpreter_whose_type_cache_search_has_no_name_is_compared_by_whole_counts() {
    const PYTHON: &str = "/usr/bin/python3";
    assert!(
        Path::new(PYTHON).exists(),
        "no {PYTHON}: install Debian's python3 (scripts/setup --tests)"
    );
    let db = TestDb::new().await;
    let out = temp_dir("cost-stripped");
    let files = out.join("files");
    std::fs::create_dir_all(&files).expect("files");
    std::fs::write(files.join("a.txt"), "a file to list\n").expect("a file");
    let server = out.join("serve.py");
    std::fs::write(&server, STDLIB_FILE_SERVER).expect("server");
    let target = |name: &str, loops: u32| {
        format!(
            "[[target]]\nname = \"{name}\"\ndescription = \"the standard library's file server\"\n\
             command = [\"{PYTHON}\", \"{}\", \"{{port}}\", \"{{address}}\", \"{}\", \"{loops}\"]\n\
             workers = 1\ncpus = [0]\nready = \"/\"\n",
            server.display(),
            files.display()
        )
    };
    let targets = out.join("targets.toml");
    std::fs::write(
        &targets,
        [
            target("stripped", 0),
            target("stripped-copy", 0),
            target("stripped-looping", 200),
        ]
        .join("\n"),
    )
    .expect("targets file");
    let scenario = out.join("listing.toml");
    std::fs::write(&scenario, "[[request]]\npath = \"/\"\n").expect("scenario file");
    let scenario = scenario.to_string_lossy().into_owned();
    cost(
        &[
            "--targets",
            "stripped,stripped-copy,stripped-looping",
            "--scenario-file",
            &scenario,
            "--concurrency",
            "1",
            "--requests",
            "10",
            "--warmup-requests",
            "10",
            "--idle",
            "1s",
        ],
        &db,
        Some(&targets),
        &out,
    );
    let r = results(&out);
    assert_valid_results(&r);
    for name in ["stripped", "stripped-copy", "stripped-looping"] {
        let p = per_request(&r, name);
        assert_eq!(p["status"], "settled", "{p}");
        for w in p["windows"].as_array().expect("windows") {
            assert!(w["type_cache"].is_null(), "no misses told apart: {w}");
        }
        assert!(p["per_request"]["type_cache_misses"].is_null(), "{p}");
    }
    let compared = |name: &str| per_request(&r, name)["comparison"].clone();
    let copy = compared("stripped-copy");
    assert!(copy["basis"].is_null(), "whole counts, by windows: {copy}");
    assert_eq!(copy["verdict"], "no-significant-difference", "{copy}");
    let looping = compared("stripped-looping");
    assert!(looping["basis"].is_null(), "{looping}");
    assert_eq!(looping["verdict"], "costlier", "{looping}");
    // 200 iterations of a Python loop: some tens of thousands of
    // instructions on a request of some hundreds of thousands.
    let ratio = looping["ratio"].as_f64().expect("ratio");
    assert!(ratio > 1.05 && ratio < 2.0, "{looping}");
}

/// A file server on the standard library alone; every GET first runs a
/// loop of as many iterations as its fourth argument says.
const STDLIB_FILE_SERVER: &str = r#"import functools
import http.server
import sys

port, bind, directory, loops = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        total = 0
        for i in range(loops):
            total += i
        super().do_GET()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(
    (bind, port), functools.partial(Handler, directory=directory)
).serve_forever()
"#;

/// `run --cost`: throughput first, then counted cost of the same targets,
/// in one results file, one summary and one report; a target with a long
/// JIT warm-up is timed, and listed as not counted, with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn run_with_cost_counts_after_the_throughput_into_the_same_results() {
    let db = TestDb::new().await;
    let out = temp_dir("run-cost");
    let targets = out.join("targets.toml");
    std::fs::write(
        &targets,
        r#"
[[target]]
name = "jit"
description = "bookbench serve, declared to warm as a JIT does"
command = ["{bookbench}", "serve", "--listen", "{address}:{port}", "--workers", "{workers}"]
workers = 1
cpus = [0]
ready = "/healthz"
min_warmup_s = 0.2
"#,
    )
    .expect("targets file");
    let targets = targets.to_string_lossy();
    let run = crate::tiny_run(
        &[
            "--targets-file",
            &targets,
            "--targets",
            "rust,jit",
            "--scenarios",
            "hello-get",
            "--cost",
        ],
        "1",
        &db,
        &out,
        &temp_dir("home"),
    );
    ok(&run);
    let r = results(&out);
    let jit = r["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == "jit"))
        .unwrap_or_else(|| panic!("no outcome of jit: {r}"));
    assert!(
        jit["notes"]
            .as_array()
            .is_some_and(|notes| notes.iter().any(|n| n
                .as_str()
                .is_some_and(|n| n.starts_with("counted cost: skipped: its JIT warms")))),
        "{jit}"
    );
    assert!(
        r["cost"]
            .as_array()
            .is_some_and(|points| points.iter().all(|p| p["target"] != "jit")),
        "{r}"
    );
    assert_eq!(
        r["runs"].as_array().map(Vec::len),
        Some(2),
        "both timed: {r}"
    );
    let p = per_request(&r, "rust");
    assert_eq!(p["status"], "settled", "{p}");
    assert_eq!(p["concurrency"], 4, "the run's first concurrency: {p}");
    // hello-get touches no table.
    assert_eq!(p["per_request"]["db_statements"], 0.0, "{p}");
    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(
        summary.contains("## Requests per second")
            && summary.contains("## Counted cost per request"),
        "{summary}"
    );
}

/// bookbench's own cluster in a home of the test's, stopped when the test
/// ends, passed or not (the home itself is a `Scratch`).
struct OwnCluster(Scratch);

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = bookbench()
            .args(["db", "stop"])
            .env("BOOKBENCH_HOME", self.0.path())
            .output();
    }
}

/// On bookbench's own cluster, `cost` counts the database's instructions
/// too: after the targets, the cluster runs under callgrind, the target
/// natively, and each window ends with every backend dumping its counts;
/// then the cluster runs plainly again.
#[test]
fn on_its_own_cluster_cost_counts_the_database_s_instructions_and_restarts_it_plainly() {
    let home = OwnCluster(temp_dir("home-own"));
    // The Rust server counted on the cluster of `home`, into `out`.
    let count_rust = |out: &Path, extra: &[&str]| {
        let run = bookbench()
            .args(["cost", "--targets", "rust", "--scale", "tiny"])
            .args(["--concurrency", "2", "--requests", "20"])
            .args(["--warmup-requests", "20", "--idle", "1s"])
            .args(extra)
            .arg("--out")
            .arg(out)
            .env("BOOKBENCH_HOME", home.0.path())
            .output()
            .expect("cost");
        ok(&run);
        results(out)
    };
    let out = temp_dir("cost-own");
    let r = count_rust(
        &out,
        &["--scenarios", "author-detail,author-list,hello-get"],
    );
    assert_valid_results(&r);
    // No type cache of CPython's in the Rust server: none missed, and
    // every window says so.
    for p in r["cost"].as_array().expect("cost points") {
        for w in p["windows"].as_array().expect("windows") {
            assert_eq!(w["type_cache"]["misses"], 0, "{w}");
        }
    }
    assert!(
        r["cost_run"]["database_instructions"]
            .as_str()
            .is_some_and(|d| d.contains("pg_log_backend_memory_contexts")),
        "{}",
        r["cost_run"]
    );
    let point = |scenario: &str| {
        r["cost"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["scenario"] == scenario))
            .map(|p| p["database_instructions"].clone())
            .unwrap_or_else(|| panic!("no point of {scenario}: {r}"))
    };
    let mut per_request = Vec::new();
    for scenario in ["author-detail", "author-list"] {
        let d = point(scenario);
        assert_eq!(d["status"], "settled", "{scenario}: {d}");
        // Settled: its windows agree to half a percent.
        assert!(d["spread"].as_f64().is_some_and(|s| s <= 0.01), "{d}");
        let warmup = d["warmup_windows"].as_u64().expect("warm-up") as usize;
        for w in &d["windows"].as_array().expect("windows")[warmup..] {
            // The server's pool holds a connection per load connection, and
            // none opened or closed in a settled window.
            assert!(w["backends"].as_u64() >= Some(1), "{w}");
            assert!(w["instructions"].as_u64() > Some(0), "{w}");
        }
        // A dump's own cost is known, and is not the window's.
        assert!(d["trigger_instructions"].as_u64() > Some(0), "{d}");
        per_request.push(d["per_request"].as_f64().expect("per request"));
    }
    // An author's page joins their books; a list page reads twenty
    // authors by the primary key: PostgreSQL does more for the first.
    assert!(per_request[0] > per_request[1], "{per_request:?}");
    let hello = point("hello-get");
    assert_eq!(hello["per_request"], 0.0, "no statement: {hello}");
    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(summary.contains("database instructions"), "{summary}");
    // The cluster runs again, and plainly: its postmaster is postgres, not
    // valgrind's tool.
    let status = bookbench()
        .args(["db", "status"])
        .env("BOOKBENCH_HOME", home.0.path())
        .output()
        .expect("db status");
    ok(&status);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    let data = status
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no data directory in {status}"));
    let pid = std::fs::read_to_string(Path::new(data).join("postmaster.pid"))
        .expect("postmaster.pid: the cluster runs")
        .lines()
        .next()
        .map(str::to_string)
        .expect("a pid");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("the postmaster's program");
    assert_eq!(
        exe.file_name().and_then(|n| n.to_str()),
        Some("postgres"),
        "{exe:?}"
    );
    // The backends' dumps were read and removed.
    let dumps = Path::new(data)
        .parent()
        .expect("the cluster's directory")
        .join("callgrind");
    assert!(!dumps.exists(), "{dumps:?}");

    // A budget its probe cannot meet (its share of 0.1 s is 5 ms, less
    // than two requests take under callgrind): the probe is cut short
    // there, its statements cancelled, and the point said to be over
    // budget.
    let r = count_rust(
        &temp_dir("cost-own-budget"),
        &["--scenarios", "author-detail", "--database-budget", "100ms"],
    );
    let d = &r["cost"][0]["database_instructions"];
    assert_eq!(d["status"], "over_budget", "{d}");
    assert!(
        d["reason"]
            .as_str()
            .is_some_and(|why| why.contains("probe") && why.contains("--database-budget")),
        "{d}"
    );
    assert!(!dumps.exists(), "{dumps:?}");

    // The calibration on the same cluster counts the database's
    // instructions of each A/A copy too: the copies send the same
    // statements, so the backends serving them count alike, and the
    // statements and rows a request are the same.
    let out = temp_dir("cost-own-calibrate");
    let r = count_rust(&out, &["--calibrate", "--scenarios", "author-list"]);
    assert!(
        r["cost_run"]["database_instructions"]
            .as_str()
            .is_some_and(|d| d.contains("pg_log_backend_memory_contexts")),
        "the A/A run's settings: {}",
        r["cost_run"]
    );
    let c: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("calibration.json")).expect("calibration.json"),
    )
    .expect("calibration.json is JSON");
    let rows = c["database_aa"]
        .as_array()
        .expect("the database's A/A rows");
    assert_eq!(rows.len(), 3, "one a copy: {c}");
    assert_eq!(c["database_aa_not_compared"], 0, "{c}");
    assert_eq!(c["database_aa_judged_different"], 0, "{c}");
    // Each compared, and within the threshold: on the tiny data set at two
    // connections the copies' database counts were seen up to 1.3% apart
    // (0.12% at most on the medium one at ten, docs/method.md).
    for row in rows {
        let ratio = row["ratio"].as_f64().expect("a ratio");
        assert!((ratio - 1.0).abs() < 0.025, "{row}");
    }
    assert_eq!(c["aa_statements_or_rows_differing"], 0, "{c}");
    // The known work is the server's own: its copy is not counted in the
    // database's pass.
    let known = r["cost"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["target"] == "rust~x105"))
        .unwrap_or_else(|| panic!("the known work's point: {r}"));
    assert!(known["database_instructions"].is_null(), "{known}");
    let md = std::fs::read_to_string(out.join("calibration.md")).expect("calibration.md");
    assert!(
        md.contains("The database's instructions: 3 comparisons"),
        "{md}"
    );
}
