//! The `bookbench` binary as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bookbench_testdb::TestDb;

fn bookbench(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bookbench"));
    cmd.env("BOOKBENCH_HOME", home).env_remove("DATABASE_URL");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("bookbench runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh home under the temp dir (reachable by the service user as root),
/// whose cluster is stopped when the test ends.
struct Home(PathBuf);

impl Home {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "bookbench-cli-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir_all(&dir).expect("home");
        Self(dir)
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = bookbench(&self.0).args(["db", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `bookbench serve` on a free port of 127.0.0.1, once it listens.
fn serve(home: &Path, database_url: &str) -> (std::process::Child, u16) {
    let port = bookbench_cluster::free_port().expect("port");
    let server = bookbench(home)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", database_url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("bookbench serve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "serve did not listen");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (server, port)
}

fn pid_in(status: &str) -> u32 {
    status
        .split("(pid ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no pid in: {status}"))
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success());
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "{needle:?} not in: {err}");
}

#[test]
fn db_start_is_idempotent_and_stop_leaves_no_process_behind() {
    let home = Home::new();
    let out = run(bookbench(&home.0).args(["db", "start"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let pid = pid_in(&stdout(&out));
    assert!(bookbench_cluster::is_running(pid));

    let again = run(bookbench(&home.0).args(["db", "start"]));
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        pid_in(&stdout(&again)),
        pid,
        "a second start started another server"
    );

    let url = stdout(&run(bookbench(&home.0).args(["db", "url"])));
    assert!(
        url.starts_with("postgres://") && url.contains("@127.0.0.1:"),
        "{url}"
    );
    let status = stdout(&run(bookbench(&home.0).args(["db", "status"])));
    assert!(status.contains("running"), "{status}");

    let stop = run(bookbench(&home.0).args(["db", "stop"]));
    assert!(stop.status.success(), "{}", stderr(&stop));
    assert!(
        !bookbench_cluster::is_running(pid),
        "postmaster {pid} still runs"
    );
    let status = stdout(&run(bookbench(&home.0).args(["db", "status"])));
    assert!(status.contains("stopped"), "{status}");
}

/// The program a process runs, by its file name.
fn program_of(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// A cost run that was killed while it counted the database leaves the
/// cluster under valgrind, fifty times slower; the next start sees it and
/// starts it plainly.
#[test]
fn db_start_restarts_plainly_a_cluster_left_under_valgrind() {
    let home = Home::new();
    let out = run(bookbench(&home.0).args(["db", "start"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut cluster =
        bookbench_cluster::embedded::Embedded::open(&home.0).expect("the home's cluster");
    // As the database's count restarts it, with valgrind's lightest tool.
    cluster
        .restart_through(&[
            "valgrind".to_string(),
            "--tool=none".to_string(),
            "-q".to_string(),
        ])
        .expect("restarted under valgrind");
    let status = stdout(&run(bookbench(&home.0).args(["db", "status"])));
    let wrapped = pid_in(&status);
    assert!(
        program_of(wrapped).starts_with("none-"),
        "{}",
        program_of(wrapped)
    );

    let again = run(bookbench(&home.0).args(["db", "start"]));
    assert!(again.status.success(), "{}", stderr(&again));
    let plain = pid_in(&stdout(&again));
    assert_ne!(plain, wrapped, "the wrapped postmaster still runs");
    assert_eq!(program_of(plain), "postgres");
    assert!(!bookbench_cluster::is_running(wrapped));
}

#[test]
fn db_start_recovers_from_a_crash_that_left_a_stale_pid_file() {
    let home = Home::new();
    let pid = pid_in(&stdout(&run(bookbench(&home.0).args(["db", "start"]))));
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    for _ in 0..100 {
        if !bookbench_cluster::is_running(pid) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = run(bookbench(&home.0).args(["db", "start"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(pid_in(&stdout(&out)), pid);
}

/// A reader gone from the pipe (`bookbench targets | head -0`): what is
/// written to it is dropped, and the verb ends as it would have, without a
/// panic.
#[test]
fn a_closed_pipe_on_standard_output_is_no_panic() {
    let home = Home::new();
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = bookbench(&home.0)
        .arg("targets")
        .stdout(writer)
        .output()
        .expect("bookbench runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn seed_rejects_bad_arguments_with_one_line() {
    let home = Home::new();
    for (args, needle) in [
        (&["seed", "--authors", "-5"][..], "--authors"),
        (&["seed", "--authors", "0"][..], "--authors"),
        (
            &["seed", "--scale", "huge"][..],
            "tiny, small, medium, full",
        ),
        (&["seed", "--seed", "x"][..], "--seed"),
    ] {
        let out = run(bookbench(&home.0).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_one_line_error(&out, needle);
    }
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let home = Home::new();
    let port = bookbench_cluster::free_port().expect("port");
    let url = format!("postgres://someone:hunter2@127.0.0.1:{port}/nowhere");
    let out = run(bookbench(&home.0).args(["seed", "--scale", "tiny", "--database-url", &url]));
    assert_one_line_error(&out, "cannot connect to postgres://someone:***@127.0.0.1");
    assert!(!stderr(&out).contains("hunter2"));
}

#[test]
fn missing_server_binaries_say_what_to_install() {
    let home = Home::new();
    let out = run(bookbench(&home.0)
        .env("BOOKBENCH_PG_BINDIR", "/nonexistent")
        .args(["db", "start"]));
    assert_one_line_error(&out, "apt-get install postgresql");
}

#[tokio::test]
async fn seed_fills_a_database_leaves_the_same_data_set_and_refuses_another_without_force() {
    let db = TestDb::new().await;
    let home = Home::new();
    let seed = |extra: &[&str]| {
        let mut cmd = bookbench(&home.0);
        cmd.args(["seed", "--scale", "tiny", "--database-url", db.url()])
            .args(extra);
        run(&mut cmd)
    };
    let out = seed(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("seeded 1000 authors"),
        "{}",
        stdout(&out)
    );

    let out = seed(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("holds this data set already"),
        "the same data set again is nothing to do: {}",
        stdout(&out)
    );

    let out = seed(&["--seed", "5"]);
    assert_one_line_error(&out, "--force");

    let out = seed(&["--seed", "5", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let seed_now: i64 = db
        .client()
        .await
        .query_one("SELECT seed FROM dataset", &[])
        .await
        .expect("dataset")
        .get(0);
    assert_eq!(seed_now, 5);
}

#[test]
fn a_data_directory_owned_by_someone_else_is_refused() {
    if !nix_is_root() {
        // As a normal user no directory of another owner can be made here.
        return;
    }
    let home = Home::new();
    let dir = home.0.join("pg");
    std::fs::create_dir_all(&dir).expect("dir");
    Command::new("chown")
        .args(["65534:65534", dir.to_str().expect("utf-8 path")])
        .status()
        .expect("chown");
    let out = run(bookbench(&home.0).args(["db", "start"]));
    assert_one_line_error(&out, "is owned by uid 65534");
}

fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt as _;
        m.uid() == 0
    })
}

/// The lab as a user drives it; one test, since the machine has one lab.
/// As root (CI), and as nobody through `setpriv` for the refusal.
#[test]
fn the_lab_comes_up_says_where_its_hosts_are_refuses_a_second_up_and_goes_down() {
    let home = Home::new();
    let nobody = run(Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_bookbench"))
        .args(["lab", "up"]));
    assert_one_line_error(&nobody, "needs root");

    let _ = run(bookbench(&home.0).args(["lab", "down"]));
    let up = run(bookbench(&home.0).args(["lab", "up", "--clients", "2"]));
    assert!(up.status.success(), "{}", stderr(&up));
    let hosts = stdout(&up);
    for line in [
        "client1 bookbench-client1  198.18.0.11",
        "client2 bookbench-client2  198.18.0.12",
        "app     bookbench-app      198.18.0.30",
        "db      bookbench-db       198.18.0.40",
    ] {
        assert!(hosts.contains(line), "{line}: {hosts}");
    }
    let status = stdout(&run(bookbench(&home.0).args(["lab", "status"])));
    assert!(
        status.contains("bookbench-app 198.18.0.30, 0 process(es)"),
        "{status}"
    );
    assert_one_line_error(
        &run(bookbench(&home.0).args(["lab", "up"])),
        "a lab is up already",
    );
    let down = run(bookbench(&home.0).args(["lab", "down"]));
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(stdout(&down).contains("bookbench-db"), "{}", stdout(&down));
    let status = stdout(&run(bookbench(&home.0).args(["lab", "status"])));
    assert_eq!(status.trim(), "no lab");
}

/// `load --start-at`: two agents given one instant both wait for it, start
/// after it and say how late; an instant gone is refused in one line.
#[tokio::test(flavor = "multi_thread")]
async fn two_load_agents_given_one_start_instant_start_after_it_and_say_how_late() {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let db = TestDb::new().await;
    let home = Home::new();
    let (mut server, port) = serve(&home.0, db.url());
    let at = SystemTime::now() + Duration::from_millis(1500);
    let instant = format!(
        "@{:.6}",
        at.duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64()
    );
    let url = format!("http://127.0.0.1:{port}/");
    let agents: Vec<_> = (0..2)
        .map(|_| {
            bookbench(&home.0)
                .args([
                    "load",
                    &url,
                    "-c",
                    "2",
                    "-d",
                    "300ms",
                    "--start-at",
                    &instant,
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("bookbench load")
        })
        .collect();
    let outputs: Vec<Output> = agents
        .into_iter()
        .map(|a| a.wait_with_output().expect("load"))
        .collect();
    let ended = SystemTime::now();
    let refused = run(bookbench(&home.0).args(["load", &url, "--start-at", "@1000000000"]));
    let _ = server.kill();
    let _ = server.wait();
    for out in &outputs {
        assert!(out.status.success(), "{}", stderr(out));
        let header = stdout(out);
        assert!(header.contains(" us after --start-at"), "{header}");
    }
    // Each waited for the instant and then ran its 300 ms.
    assert!(
        ended >= at + Duration::from_millis(300),
        "the agents ended before the instant and their duration"
    );
    assert_one_line_error(&refused, "that instant passed");
}

/// A scenario file end to end: its setup creates an author from a CSV
/// value and captures the ids of a list, and the load draws from them;
/// a capture that finds nothing and a misspelt field are refused in one
/// line that names the file and line.
#[tokio::test(flavor = "multi_thread")]
async fn a_scenario_file_sets_up_captures_and_loads_and_its_mistakes_name_their_line() {
    let db = TestDb::new().await;
    let home = Home::new();
    let (mut server, port) = serve(&home.0, db.url());
    let dir = home.0.join("workload");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("people.csv"), "country,name\nDE,Ann Example\n").expect("csv");
    let scenario = r#"
[values]
name = { csv = "people.csv", column = "name" }

[[setup]]
method = "POST"
path = "/author"
headers = { content-type = "application/json" }
body = '{"name": "{name}", "country_code": "DE", "email": "setup-{seq}@example.com", "phone": "+49 30 1234567", "contact_address": "Berlin", "contract_started": "2024-01-01T00:00:00Z", "contract_value": 1}'
status = 201

[[setup]]
path = "/author?limit=20"
capture = { author = "$[*].id" }

[[request]]
path = "/author/{author}"
status = 200
body_contains = "Ann Example"
"#;
    let file = dir.join("people.toml");
    std::fs::write(&file, scenario).expect("scenario");
    let url = format!("http://127.0.0.1:{port}");
    let file_arg = file.to_string_lossy().into_owned();
    let loaded = run(bookbench(&home.0).args([
        "load",
        &url,
        "--scenario-file",
        &file_arg,
        "-c",
        "2",
        "-n",
        "40",
        "--json",
        "-",
        "--quiet",
    ]));
    std::fs::write(&file, scenario.replace("$[*].id", "$[*].nope")).expect("scenario");
    let nothing = run(bookbench(&home.0).args(["load", &url, "--scenario-file", &file_arg]));
    std::fs::write(&file, scenario.replace("body_contains", "body_contain")).expect("scenario");
    let misspelt = run(bookbench(&home.0).args(["load", &url, "--scenario-file", &file_arg]));
    let _ = server.kill();
    let _ = server.wait();
    assert!(loaded.status.success(), "{}", stderr(&loaded));
    let report: serde_json::Value = serde_json::from_str(&stdout(&loaded)).expect("a JSON report");
    assert_eq!(report["scenario"], "people");
    assert_eq!(report["ok"], 40, "{report}");
    assert_eq!(report["requests"], 40, "{report}");
    assert_one_line_error(&nothing, "people.toml:14");
    assert_one_line_error(&nothing, "capture 'author' ($[*].nope) found nothing");
    assert_one_line_error(&misspelt, "people.toml:19: unknown field `body_contain`");
}
