//! The Python peers: `bookbench peers setup` builds their environments, and
//! each peer, started as `bookbench target NAME`, passes `bookbench verify`
//! against a tiny database. The environments live under the test target
//! directory, so that a second test run reuses them (the set-up is
//! idempotent) rather than installing them again.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bookbench_testdb::TestDb;

const CPYTHON_VENVS: &str =
    "flask-cpython,flask-cpython-eventlet,sanic-cpython,fastapi-cpython,django-cpython";
const CPYTHON_TARGETS: &[&str] = &[
    "flask-dev",
    "flask-dev-pg8000",
    "flask-gunicorn-sync",
    "flask-gunicorn-sync-pg8000",
    "flask-gunicorn-gevent",
    "flask-gunicorn-gevent-pg8000",
    "flask-gunicorn-eventlet",
    "flask-gunicorn-eventlet-pg8000",
    "flask-granian",
    "sanic-tortoise",
    "fastapi",
    "fastapi-granian",
    "django-gunicorn-sync",
    "django-gunicorn-gthread",
    "django-granian",
];
/// The Django peer's targets and Granian's: a run must verify and measure
/// each.
const DJANGO_AND_GRANIAN: &[&str] = &[
    "django-gunicorn-sync",
    "django-gunicorn-gthread",
    "django-granian",
    "flask-granian",
    "fastapi-granian",
];
const PYPY_VENVS: &[&str] = &["flask-pypy", "flask-pypy-eventlet"];
const PYPY_TARGETS: &[(&str, &str)] = &[
    ("flask-pypy", "pypy-flask-gunicorn-sync"),
    ("flask-pypy", "pypy-flask-gunicorn-gevent-pg8000"),
    ("flask-pypy", "pypy-flask-gunicorn-gevent"),
    ("flask-pypy-eventlet", "pypy-flask-gunicorn-eventlet-pg8000"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where the environments live across test runs.
fn home() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("peers-home");
    std::fs::create_dir_all(&dir).expect("peers home");
    dir
}

fn bookbench() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bookbench"));
    cmd.env_remove("DATABASE_URL")
        .env("BOOKBENCH_HOME", home())
        .current_dir(repo());
    cmd
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// CI sets CI=true, and installs every tool (scripts/setup --tests).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether the test can go on without `what`: on a developer's machine it
/// is skipped with a line saying so; in CI, where nothing may be missing,
/// the test fails.
fn skip_without(what: &str, why: &str) -> bool {
    assert!(!in_ci(), "{what} is missing in CI: {why}");
    eprintln!("skipped: {what} is missing ({why})");
    true
}

fn seed(url: &str) {
    let out = bookbench()
        .args(["seed", "--scale", "tiny", "--database-url", url])
        .output()
        .expect("seed");
    ok(&out, "seed");
}

/// What docs/targets.md tells a user to do: a file of `extra`
/// declarations, added to the built-in targets with `--targets-file`, given
/// to `bookbench run` (with `args`, on a tiny data set in `url`). The run must succeed; its results, and the
/// directory to remove afterwards.
fn run_beside_the_builtin_targets(
    name: &str,
    extra: &str,
    url: &str,
    args: impl FnOnce(&mut Command),
) -> (serde_json::Value, PathBuf) {
    let dir = std::env::temp_dir().join(format!("bookbench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let targets = dir.join("targets.toml");
    std::fs::write(&targets, extra).expect("write targets");
    let out = dir.join("out");
    let mut run = bookbench();
    args(&mut run);
    let run = run
        .args(["--scale", "tiny", "--database-url", url])
        .arg("--targets-file")
        .arg(&targets)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    ok(&run, &format!("bookbench run ({name})"));
    (results_in(&out), dir)
}

/// The results.json of a run's output directory.
fn results_in(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).expect("results.json"))
        .expect("results.json is JSON")
}

/// A target's outcome in a run's results.
fn outcome(results: &serde_json::Value, name: &str) -> serde_json::Value {
    results["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not in {}", results["targets"]))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A target running in the foreground in its own process group, stopped
/// (the whole group) when dropped.
struct Running {
    child: Child,
    port: u16,
}

impl Running {
    fn start(name: &str, url: &str) -> Self {
        let port = free_port();
        let child = bookbench()
            .args([
                "target",
                name,
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                url,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("start the target");
        Self { child, port }
    }

    /// Waits until the port accepts connections.
    fn wait_ready(&mut self, name: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{name} exited before it served: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not listen within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn verify(&self) -> Output {
        bookbench()
            .args(["verify", &format!("http://127.0.0.1:{}", self.port)])
            .output()
            .expect("verify")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn verify_target(name: &str, url: &str, ready_timeout: Duration) {
    let mut running = Running::start(name, url);
    running.wait_ready(name, ready_timeout);
    let out = running.verify();
    ok(&out, &format!("{name} fails bookbench verify"));
    let checks = bookbench_suite::verify::check_names().len();
    assert!(
        text(&out.stdout).contains(&format!("{checks} passed, 0 failed")),
        "{name}: {}",
        text(&out.stdout)
    );
    eprintln!("{name}: verify passed");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_cpython_peer_passes_verify_and_a_run_sets_up_or_skips_peers() {
    if !on_path("python3") && skip_without("python3", "the CPython peers need it") {
        return;
    }
    let db = TestDb::new().await;
    seed(db.url());

    let setup = bookbench()
        .args(["peers", "setup", "--venv", CPYTHON_VENVS])
        .output()
        .expect("setup");
    ok(&setup, "peers setup");
    // Idempotent: a second set-up finds every environment up to date.
    let again = bookbench()
        .args(["peers", "setup", "--venv", CPYTHON_VENVS])
        .output()
        .expect("setup");
    ok(&again, "peers setup, again");
    assert_eq!(
        text(&again.stdout).matches(": up to date").count(),
        CPYTHON_VENVS.split(',').count(),
        "{}",
        text(&again.stdout)
    );

    for name in CPYTHON_TARGETS {
        verify_target(name, db.url(), Duration::from_secs(60));
    }

    // A run sets up (here: finds) a peer's environment on demand, and skips
    // a peer whose environment cannot be set up, with the reason.
    let extra = "[[target]]\nname = \"no-such-peer\"\ndescription = \"a peer whose environment is unknown\"\n\
                 command = [\"python3\", \"-c\", \"pass\"]\nworkers = 1\ncpus = [0]\nready = \"/\"\n\
                 requires = [\"python3\"]\nvenv = \"no-such-venv\"\n";
    let targets = format!("{},no-such-peer", DJANGO_AND_GRANIAN.join(","));
    let (results, dir) = run_beside_the_builtin_targets("peers-run", extra, db.url(), |run| {
        run.args([
            "run",
            "--no-cost",
            "--targets",
            &targets,
            "--baseline",
            "flask-granian",
            "--scenarios",
            "hello-get,author-detail",
        ])
        .args([
            "--concurrency",
            "2",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
            "--min-rounds",
            "1",
            "--max-rounds",
            "1",
        ]);
    });
    let target = |name: &str| outcome(&results, name);
    for name in DJANGO_AND_GRANIAN {
        assert_eq!(
            target(name)["status"],
            "measured",
            "{name}: {}",
            results["targets"]
        );
    }
    let skipped = target("no-such-peer");
    assert_eq!(skipped["status"], "skipped", "{skipped}");
    assert!(
        skipped["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no-such-venv")),
        "{skipped}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn pypy_peers_pass_verify_where_they_install() {
    if !on_path("pypy3") && skip_without("pypy3", "scripts/setup --tests installs it") {
        return;
    }
    let db = TestDb::new().await;
    seed(db.url());
    let mut installed = Vec::new();
    for venv in PYPY_VENVS {
        let setup = bookbench()
            .args(["peers", "setup", "--venv", venv])
            .output()
            .expect("setup");
        if setup.status.success() {
            installed.push(*venv);
        } else {
            let why = text(&setup.stdout);
            assert!(!in_ci(), "{venv} did not install in CI: {}", why.trim());
            eprintln!("skipped {venv}: {}", why.trim());
        }
    }
    for (venv, name) in PYPY_TARGETS {
        if installed.contains(venv) {
            verify_target(name, db.url(), Duration::from_secs(120));
        } else {
            eprintln!("skipped {name}: its environment {venv} did not install");
        }
    }
}

/// docs/targets.md's worked example: the Node.js target of examples/node,
/// declared in its own targets file and put beside the built-in ones as
/// the page says, is verified and then measured against the Rust server.
#[tokio::test(flavor = "multi_thread")]
async fn the_worked_example_of_a_target_in_another_language_is_verified_and_measured() {
    if !(on_path("node") && on_path("npm"))
        && skip_without("node or npm", "scripts/setup --tests installs them")
    {
        return;
    }
    let example = repo().join("examples/node");
    // What docs/targets.md tells a user to run first: the lock file's
    // packages, exactly.
    let npm = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&example)
        .output()
        .expect("npm ci");
    ok(&npm, "npm ci in examples/node");

    let db = TestDb::new().await;
    let mine =
        std::fs::read_to_string(example.join("targets.toml")).expect("the example's targets");
    let (results, dir) = run_beside_the_builtin_targets("node-run", &mine, db.url(), |run| {
        run.args([
            "run",
            "--no-cost",
            "--targets",
            "node,rust",
            "--baseline",
            "rust",
        ])
        .args(["--scenarios", "hello-get,author-detail,author-list"])
        .args([
            "--concurrency",
            "4",
            "--duration",
            "1s",
            "--warmup",
            "200ms",
        ])
        .args(["--min-rounds", "3", "--max-rounds", "3"]);
    });
    let node = outcome(&results, "node");
    assert_eq!(node["status"], "measured", "{node}");
    let checks = node["verify"].as_array().expect("verify checks");
    assert_eq!(checks.len(), 20, "{node}");
    assert!(checks.iter().all(|c| c["failure"].is_null()), "{node}");
    let points: Vec<&serde_json::Value> = results["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|p| p["target"] == "node")
        .collect();
    assert_eq!(points.len(), 3, "{results}");
    for p in points {
        assert!(p["rps"].as_f64().is_some_and(|r| r > 0.0), "{p}");
        assert_eq!(p["errors"], serde_json::json!({}), "{p}");
        assert_eq!(p["comparison"]["reference"], "rust", "{p}");
        assert_eq!(p["windows"].as_array().map(Vec::len), Some(3), "{p}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// gunicorn's sync worker behind nginx, as its documentation recommends:
/// verified through nginx and measured beside itself.
#[tokio::test(flavor = "multi_thread")]
async fn gunicorn_sync_behind_nginx_passes_verify_and_is_measured_beside_itself() {
    if !on_path("nginx") && skip_without("nginx", "scripts/setup --tests installs nginx") {
        return;
    }
    let db = TestDb::new().await;
    let (results, dir) = run_beside_the_builtin_targets("nginx-peer", "", db.url(), |run| {
        run.args([
            "run",
            "--no-cost",
            "--targets",
            "flask-gunicorn-sync",
            "--proxy",
            "nginx",
        ])
        .args(["--scenarios", "author-detail", "--concurrency", "4"])
        .args(["--duration", "1s", "--warmup", "200ms"])
        .args(["--min-rounds", "2", "--max-rounds", "2"]);
    });
    let behind = outcome(&results, "flask-gunicorn-sync+nginx");
    assert_eq!(behind["status"], "measured", "{behind}");
    let checks = behind["verify"].as_array().expect("verify checks");
    assert_eq!(checks.len(), 20, "{behind}");
    assert!(checks.iter().all(|c| c["failure"].is_null()), "{behind}");
    let point = results["runs"]
        .as_array()
        .and_then(|ps| {
            ps.iter()
                .find(|p| p["target"] == "flask-gunicorn-sync+nginx")
        })
        .expect("its point");
    assert!(point["rps"].as_f64() > Some(0.0), "{point}");
    assert_eq!(point["errors"], serde_json::json!({}), "{point}");
    // Its ratio is nginx's cost: against the target itself.
    assert_eq!(
        point["comparison"]["reference"], "flask-gunicorn-sync",
        "{point}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// gunicorn's sync worker counted under callgrind (`bookbench cost`), with
/// psycopg2 and with pg8000: its master and its forked worker are both
/// counted, the windows settle to half a percent, the database does the
/// same work in every window, the interpreter is where the instructions
/// ran, and the pure-Python driver costs more than the C one.
#[tokio::test(flavor = "multi_thread")]
async fn gunicorn_sync_is_counted_master_and_worker_and_pg8000_costs_more_than_psycopg2() {
    let db = TestDb::new().await;
    let (results, dir) = run_beside_the_builtin_targets("cost-peer", "", db.url(), |run| {
        run.args([
            "cost",
            "--targets",
            "flask-gunicorn-sync,flask-gunicorn-sync-pg8000",
        ])
        .args(["--scenarios", "author-detail", "--concurrency", "2"])
        .args([
            "--requests",
            "30",
            "--warmup-requests",
            "30",
            "--idle",
            "2s",
        ]);
    });
    let points = results["cost"].as_array().expect("cost points");
    assert_eq!(points.len(), 2, "{results}");
    for p in points {
        assert_eq!(p["status"], "settled", "{p}");
        assert!(p["spread"].as_f64().expect("spread") < 0.01, "±0.5%: {p}");
        let warmup = p["warmup_windows"].as_u64().expect("warm-up windows") as usize;
        let windows = &p["windows"].as_array().expect("windows")[warmup..];
        assert!(
            windows.iter().all(|w| w["processes"] == 2),
            "master and worker: {p}"
        );
        let db: Vec<&serde_json::Value> = windows.iter().map(|w| &w["database"]).collect();
        assert!(
            db.iter()
                .all(|d| *d == db[0] && d["statements"].as_u64() > Some(30)),
            "{db:?}"
        );
        assert!(
            p["objects"][0]["object"]
                .as_str()
                .is_some_and(|o| o.starts_with("libpython3")),
            "{p}"
        );
        // CPython's type-cache misses are counted apart in every window:
        // searches a request, each dearer than a lookup, a part of the
        // whole count.
        for w in windows {
            let misses = w["type_cache"]["misses"].as_u64().unwrap_or(0);
            let spent = w["type_cache"]["instructions"].as_u64().unwrap_or(0);
            let all = w["instructions"].as_u64().expect("instructions");
            assert!(
                misses > 30 && spent > 100 * misses && spent < all / 4,
                "{w}"
            );
        }
        assert!(
            p["per_request"]["type_cache_misses"].as_f64() > Some(1.0),
            "{p}"
        );
    }
    let pg8000 = points
        .iter()
        .find(|p| p["target"] == "flask-gunicorn-sync-pg8000")
        .expect("pg8000's point");
    assert_eq!(pg8000["comparison"]["reference"], "flask-gunicorn-sync");
    assert_eq!(pg8000["comparison"]["verdict"], "costlier", "{pg8000}");
    assert_eq!(
        pg8000["comparison"]["basis"], "windows-less-misses",
        "one start each: compared less the misses: {pg8000}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
