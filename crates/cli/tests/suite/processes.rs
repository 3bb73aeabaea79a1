//! Targets as processes: those that fail, those stopped by a signal or by
//! Ctrl-C, and what they may hold.

use std::path::{Path, PathBuf};
use std::process::Command;

use bookbench_testdb::TestDb;

use crate::{bookbench, free_port, ok, processes_tagged, results, temp_dir, text};

#[tokio::test(flavor = "multi_thread")]
async fn failing_targets_are_recorded_with_their_reason_and_leave_no_process_behind() {
    let db = TestDb::new().await;
    let (out, home) = (temp_dir("failing"), temp_dir("home"));
    let tag = format!("BOOKBENCH_TEST_TAG={:016x}", fastrand::u64(..));
    let (tag_name, tag_value) = tag.split_once('=').expect("tag");
    let targets = out.join("targets.toml");
    std::fs::write(
        &targets,
        format!(
            r#"
[[target]]
name = "wrong-greeting"
description = "a static file server: ready, but not the bookstore"
command = ["sh", "-c", "sleep 300 & exec python3 -m http.server {{port}} --bind 127.0.0.1"]
env = {{ {tag_name} = "{tag_value}" }}
workers = 1
cpus = [0]
ready = "/"

[[target]]
name = "never-ready"
description = "starts, never answers"
command = ["sleep", "300"]
env = {{ {tag_name} = "{tag_value}" }}
workers = 1
cpus = [0]
ready = "/"
ready_timeout_s = 2

[[target]]
name = "missing"
description = "needs a program that is not there"
command = ["no-such-program-here"]
requires = ["no-such-program-here"]
workers = 1
cpus = [0]
ready = "/"
"#
        ),
    )
    .expect("targets file");
    let run = bookbench()
        .args([
            "run",
            "--no-cost",
            "--targets",
            "wrong-greeting,never-ready,missing",
            "--scenarios",
            "hello-get",
        ])
        .args([
            "--concurrency",
            "1",
            "--duration",
            "1s",
            "--min-rounds",
            "1",
            "--max-rounds",
            "1",
            "--scale",
            "tiny",
        ])
        .args(["--database-url", db.url()])
        .arg("--targets-file")
        .arg(&targets)
        .arg("--out")
        .arg(out.path())
        .env("BOOKBENCH_HOME", home.path())
        .output()
        .expect("run");
    ok(&run);
    let r = results(&out);
    let status = |name: &str| {
        let t = r["targets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["name"] == name))
            .unwrap_or_else(|| panic!("no outcome for {name}: {r}"));
        (
            t["status"].as_str().unwrap_or_default().to_string(),
            t["reason"].as_str().unwrap_or_default().to_string(),
        )
    };
    let (s, why) = status("wrong-greeting");
    assert_eq!(s, "failed");
    assert!(why.contains("verify failed at check 'hello-get'"), "{why}");
    let (s, why) = status("never-ready");
    assert_eq!(s, "failed");
    assert!(why.contains("within 2 s"), "{why}");
    let (s, why) = status("missing");
    assert_eq!(s, "skipped");
    assert!(why.contains("no-such-program-here is missing"), "{why}");
    assert_eq!(r["runs"], serde_json::json!([]));
    let report = std::fs::read_to_string(out.join("summary.md")).expect("summary");
    assert!(report.contains("hello-get"), "{report}");
    assert_eq!(
        processes_tagged(&tag),
        Vec::<u32>::new(),
        "a stopped target left processes"
    );
}

#[test]
fn unknown_names_are_refused_with_the_valid_ones() {
    for (args, needle) in [
        (
            &["run", "--targets", "nope"][..],
            "unknown target 'nope'; targets: rust",
        ),
        (
            &["run", "--scenarios", "nope"][..],
            "unknown scenario 'nope'; scenarios: hello-get",
        ),
        (&["run", "--preset", "huge"][..], "quick, full"),
        (&["run", "--precision", "0"][..], "above 0% and below 100%"),
        (
            &["run", "--precision", "150%"][..],
            "above 0% and below 100%",
        ),
        (&["run", "--max-rounds", "0"][..], "--max-rounds"),
        (
            &["run", "--baseline", "nope"][..],
            "the baseline 'nope' is not among the targets measured",
        ),
        (
            &["cost", "--targets", "rust", "--baseline", "nope"][..],
            "the baseline 'nope' is not among the targets counted (rust)",
        ),
        (&["cost", "--extra", "5%"][..], "--calibrate"),
        (&["run", "--cost", "--no-cost"][..], "--no-cost"),
    ] {
        let out = bookbench().args(args).output().expect("run");
        assert!(!out.status.success(), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{needle} not in {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_the_targets_and_leaves_partial_results() {
    let db = TestDb::new().await;
    let (out, home) = (temp_dir("interrupted"), temp_dir("home"));
    let tag = format!("BOOKBENCH_TEST_TAG={:016x}", fastrand::u64(..));
    let (tag_name, tag_value) = tag.split_once('=').expect("tag");
    let mut child = bookbench()
        .args([
            "run",
            "--no-cost",
            "--targets",
            "rust",
            "--scenarios",
            "hello-get,hello-post",
        ])
        .args([
            "--concurrency",
            "2",
            "--duration",
            "2s",
            "--warmup",
            "200ms",
            "--min-rounds",
            "3",
            "--max-rounds",
            "3",
        ])
        .args(["--scale", "tiny", "--database-url", db.url()])
        .arg("--out")
        .arg(out.path())
        .env("BOOKBENCH_HOME", home.path())
        // Inherited by the target, so that its processes can be found.
        .env(tag_name, tag_value)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let measured = std::fs::read_to_string(out.join("results.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|r| r["runs"].as_array().is_some_and(|runs| !runs.is_empty()));
        if measured {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no point was measured within a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let pid = i32::try_from(child.id()).expect("pid");
    Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "an interrupted run exited 0");
    let r = results(&out);
    assert_eq!(r["partial"], true);
    assert!(!r["runs"].as_array().expect("runs").is_empty());
    // The interrupt stopped the target: that is not the target dying.
    assert_eq!(r["targets"][0]["status"], "measured", "{}", r["targets"]);
    assert_eq!(
        processes_tagged(&tag),
        Vec::<u32>::new(),
        "the target outlived the run"
    );
}

/// A targets file of one target that starts a second process (as gunicorn
/// starts its worker), both tagged so that they can be found.
fn forking_target(dir: &Path, tag: &str) -> PathBuf {
    let (tag_name, tag_value) = tag.split_once('=').expect("tag");
    let targets = dir.join("targets.toml");
    std::fs::write(
        &targets,
        format!(
            r#"
[[target]]
name = "forking"
description = "a static file server with a child of its own"
command = ["sh", "-c", "sleep 300 & exec python3 -m http.server {{port}} --bind 127.0.0.1"]
env = {{ {tag_name} = "{tag_value}" }}
workers = 1
cpus = [0]
ready = "/"
"#
        ),
    )
    .expect("targets file");
    targets
}

/// Starts `bookbench target forking` and waits until its server listens.
fn start_forking_target(targets: &Path, db: &TestDb, home: &Path) -> std::process::Child {
    let port = free_port();
    let mut child = bookbench()
        .args(["target", "forking", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--targets-file")
        .arg(targets)
        .args(["--database-url", db.url()])
        .env("BOOKBENCH_HOME", home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("bookbench target");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("bookbench target exited before its target listened: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the target did not listen within 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child
}

/// Waits up to `limit` for the tagged processes to be gone; those left.
fn tagged_after(tag: &str, limit: std::time::Duration) -> Vec<u32> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = processes_tagged(tag);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bookbench_target_stops_its_whole_process_group_on_sigterm_sigint_and_sighup() {
    let db = TestDb::new().await;
    let dir = temp_dir("target-signals");
    for signal in ["TERM", "INT", "HUP"] {
        let tag = format!("BOOKBENCH_TEST_TAG={:016x}", fastrand::u64(..));
        let targets = forking_target(&dir, &tag);
        let mut child = start_forking_target(&targets, &db, &dir);
        assert_eq!(
            processes_tagged(&tag).len(),
            2,
            "the target and its child run"
        );
        Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        let status = child.wait().expect("wait");
        assert!(status.code().is_some(), "SIG{signal}: bookbench died of it");
        // bookbench waits for the group before it exits: nothing is left
        // the moment it is gone.
        assert_eq!(
            processes_tagged(&tag),
            Vec::<u32>::new(),
            "SIG{signal} to bookbench target left processes behind"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_bookbench_target_takes_its_target_with_it() {
    let db = TestDb::new().await;
    let dir = temp_dir("target-sigkill");
    let tag = format!("BOOKBENCH_TEST_TAG={:016x}", fastrand::u64(..));
    let targets = forking_target(&dir, &tag);
    let mut child = start_forking_target(&targets, &db, &dir);
    assert_eq!(processes_tagged(&tag).len(), 2);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert_eq!(
        tagged_after(&tag, std::time::Duration::from_secs(15)),
        Vec::<u32>::new(),
        "the target outlived a SIGKILL of bookbench"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_holds_3000_connections_when_started_under_a_soft_limit_of_1024() {
    let db = TestDb::new().await;
    let port = free_port();
    let mut server = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 1024 && exec "$0" serve --listen "127.0.0.1:$1""#)
        .arg(env!("CARGO_BIN_EXE_bookbench"))
        .arg(port.to_string())
        .env("DATABASE_URL", db.url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bookbench serve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "serve did not listen");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let load = bookbench()
        .arg("load")
        .arg(format!("http://127.0.0.1:{port}/"))
        .args(["-c", "3000", "-d", "3s", "--timeout", "20s", "--json", "-"])
        .output()
        .expect("bookbench load");
    let _ = server.kill();
    let _ = server.wait();
    ok(&load);
    let report: serde_json::Value =
        serde_json::from_slice(&load.stdout).expect("the load report is JSON");
    assert_eq!(report["errors"]["connect"], 0, "{}", report["errors"]);
    assert_eq!(report["connects"], 3000, "{report}");
    assert!(report["ok"].as_u64().is_some_and(|n| n >= 3000), "{report}");
    let mut log = String::new();
    if let Some(mut err) = server.stderr.take() {
        use std::io::Read as _;
        let _ = err.read_to_string(&mut log);
    }
    let limit: u64 = log
        .lines()
        .find_map(|l| l.strip_prefix("open files: up to "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("serve did not say its limit: {log}"));
    assert!(limit > 3000, "{log}");
}

#[test]
fn verify_on_a_port_that_does_not_answer_says_so_in_one_line() {
    let port = free_port();
    let out = bookbench()
        .args(["verify", &format!("http://127.0.0.1:{port}")])
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("nothing answers at"), "{err}");
    assert!(
        text(&out.stdout).is_empty(),
        "no checks ran: {}",
        text(&out.stdout)
    );
}
