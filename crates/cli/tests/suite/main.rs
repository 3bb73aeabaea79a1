//! `bookbench run`, `verify`, `compare`, `merge` and `report` as a user runs
//! them: the helpers every part shares, and the parts.

mod cost;
mod hosts;
mod matrix;
mod processes;
mod report;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bookbench_testdb::TestDb;

fn bookbench() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bookbench"));
    cmd.env_remove("DATABASE_URL");
    cmd
}

/// A directory of one test's own under the temp dir, named after `name`.
fn temp_dir(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!(
        "bookbench-{name}-{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    Scratch(dir)
}

/// Removed when the test passes, kept when it fails, so that what a failed
/// run wrote (results, logs, callgrind's dumps) can still be read; a machine
/// that runs the suite again and again does not fill up with passed runs'.
/// Not `AsRef<OsStr>`: a directory handed to a command has to be bound to a
/// name that outlives the command, not dropped at the end of its statement.
struct Scratch(PathBuf);

impl Scratch {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for reading: {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The lab is one per machine: its tests take turns.
static LAB: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Fails with every reason when `r` is not what results.schema.json says.
fn assert_valid_results(r: &serde_json::Value) {
    let schema = jsonschema::validator_for(&bookbench_results::json_schema()).expect("the schema");
    let wrong: Vec<String> = schema.iter_errors(r).map(|e| e.to_string()).collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

fn results(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).expect("results.json"))
        .expect("results.json is JSON")
}

/// A unique tag in a target's environment, to find its processes later.
fn processes_tagged(tag: &str) -> Vec<u32> {
    live_processes_whose("environ", tag)
}

/// Live processes whose `/proc/PID/{file}` holds `needle`.
fn live_processes_whose(file: &str, needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/{file}"))
                .is_ok_and(|text| text.windows(needle.len()).any(|w| w == needle.as_bytes()))
                && bookbench_cluster::is_running(*pid)
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A run as short as a test can afford, on the tiny data set.
const TINY: [&str; 8] = [
    "--concurrency",
    "4",
    "--duration",
    "1s",
    "--warmup",
    "300ms",
    "--scale",
    "tiny",
];

/// `bookbench run ARGS` as the tests run it: c=4, 1 s windows, on a tiny
/// data set in `db`, into `out`, with `home` as $BOOKBENCH_HOME; timed only
/// unless `args` ask for counted cost.
fn tiny_run(args: &[&str], rounds: &str, db: &TestDb, out: &Path, home: &Path) -> Output {
    let timed_only = (!args.contains(&"--cost")).then_some("--no-cost");
    bookbench()
        .arg("run")
        .args(timed_only)
        .args(args)
        .args(TINY)
        .args(["--min-rounds", rounds, "--max-rounds", rounds])
        .args(["--database-url", db.url()])
        .arg("--out")
        .arg(out)
        .env("BOOKBENCH_HOME", home)
        .output()
        .expect("run")
}
