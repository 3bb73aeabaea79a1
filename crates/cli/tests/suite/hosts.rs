//! Runs across hosts: the database a network away through the relay, the
//! lab's namespaces, nginx in front, and hosts of a file reached by ssh.

use std::path::{Path, PathBuf};
use std::process::Command;

use bookbench_testdb::TestDb;

use crate::{LAB, TINY, bookbench, live_processes_whose, ok, results, temp_dir, text, tiny_run};

#[tokio::test(flavor = "multi_thread")]
async fn a_run_across_database_round_trips_measures_each_through_the_relay_and_charts_it() {
    let db = TestDb::new().await;
    let out = temp_dir("db-latency");
    let run = tiny_run(
        &[
            "--targets",
            "rust",
            "--scenarios",
            "author-detail",
            "--db-latency",
            "0,5ms",
        ],
        "1",
        &db,
        &out,
        &temp_dir("home"),
    );
    ok(&run);

    let r = results(&out);
    assert_eq!(
        r["config"]["db_round_trips_us"],
        serde_json::json!([0, 5000])
    );
    let runs = r["runs"].as_array().expect("runs");
    let at = |us: u64| {
        runs.iter()
            .find(|p| p["db_round_trip_us"] == us)
            .unwrap_or_else(|| panic!("no point at {us} us: {runs:?}"))
    };
    let (near, far) = (at(0), at(5000));
    assert_eq!(runs.len(), 2);
    for p in [near, far] {
        assert_eq!(p["errors"], serde_json::json!({}), "{p}");
        // The relay is its own party: it forwarded every statement.
        assert!(p["cpu"]["relay"].as_f64().unwrap_or(0.0) > 0.0, "{p}");
    }
    // Each request waits at least one round trip: four connections can do
    // at most 4 / 5 ms = 800 requests/s.
    let p50 = |p: &serde_json::Value| p["latency_us"]["p50"].as_f64().expect("p50");
    assert!(p50(far) >= 5_000.0, "{far}");
    assert!(far["rps"].as_f64() < Some(800.0), "{far}");
    assert!(far["rps"].as_f64() < near["rps"].as_f64(), "{near}\n{far}");

    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(
        summary.contains("## Against the database's round trip") && summary.contains("| 5ms |"),
        "{summary}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(
        html.contains("author-detail: requests/s against the database&#39;s round trip (c=4)")
            || html.contains("author-detail: requests/s against the database's round trip (c=4)"),
        "the chart's title"
    );
    assert!(html.contains("<th>CPU relay</th>"));
    // The relay stopped with the run.
    let upstream = format!("127.0.0.1:{}", db_port(db.url()));
    assert_eq!(relays_to(&upstream), Vec::<u32>::new());
}

fn db_port(url: &str) -> u16 {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.port())
        .expect("a port in the test database's URL")
}

/// Live `bookbench relay` processes relaying to `upstream`.
fn relays_to(upstream: &str) -> Vec<u32> {
    live_processes_whose("cmdline", &format!("relay\0--upstream\0{upstream}\0"))
}

/// `run --lab`: the target starts on the lab's app host, listening on its
/// address (which exists in that namespace only, so a target that answered
/// ran there); the embedded cluster starts on the database host, listening
/// on its address, and the target reaches it through the relay on the
/// lab's bridge; a copy of it behind nginx has nginx on the proxy host.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_in_the_lab_starts_the_target_on_the_app_host_and_measures_it_across_the_bridge() {
    let _lab = LAB.lock().await;
    let db = TestDb::new().await;
    let (out, home) = (temp_dir("lab-run"), temp_dir("home"));
    let bookbench_at_home = |args: &[&str]| {
        bookbench()
            .args(args)
            .env("BOOKBENCH_HOME", home.path())
            .output()
            .expect("bookbench")
    };
    let _ = bookbench_at_home(&["lab", "down"]);
    ok(&bookbench_at_home(&[
        "lab",
        "up",
        "--clients",
        "2",
        "--proxy",
    ]));
    // No --database-url: the home's own cluster, on the database host.
    let run = bookbench()
        .args([
            "run",
            "--lab",
            "--targets",
            "rust",
            "--scenarios",
            "author-detail",
            "--proxy",
            "nginx",
        ])
        .args(TINY)
        .args(["--min-rounds", "1", "--max-rounds", "1"])
        .arg("--out")
        .arg(out.path())
        .env("BOOKBENCH_HOME", home.path())
        .env_remove("DATABASE_URL")
        .output()
        .expect("run");
    let status = bookbench_at_home(&["db", "status"]);
    let postmaster_ns = text(&status.stdout)
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(|pid| {
            let ns = Command::new("ip")
                .args(["netns", "identify", pid])
                .output()
                .expect("ip netns identify");
            text(&ns.stdout).trim().to_string()
        });
    let down = bookbench_at_home(&["lab", "down"]);
    ok(&run);
    ok(&down);
    assert_eq!(
        postmaster_ns.as_deref(),
        Some("bookbench-db"),
        "{}",
        text(&status.stdout)
    );
    assert!(
        text(&status.stdout).contains(" on 198.18.0.40:"),
        "{}",
        text(&status.stdout)
    );
    // Down stopped the cluster, cleanly, with the lab.
    let after = bookbench_at_home(&["db", "status"]);
    assert!(
        text(&after.stdout).contains("cluster:  stopped"),
        "{}",
        text(&after.stdout)
    );
    // The cluster's data is this test's own.
    let _ = std::fs::remove_dir_all(&home);

    let r = results(&out);
    let target = &r["targets"][0];
    assert_eq!(target["status"], "measured", "{target}");
    assert_eq!(target["host"], "bookbench-app", "{target}");
    // Verified from client host 1, loaded by an agent on each client host.
    assert_eq!(
        r["env"]["client_hosts"],
        serde_json::json!(["bookbench-client1", "bookbench-client2"])
    );
    agents_add_up(&r["runs"][0], 2, 1_000_000);
    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(
        summary.contains(
            "Load from 2 agent(s), one on each client host (bookbench-client1, bookbench-client2)"
        ),
        "{summary}"
    );
    assert!(
        target["verify"]
            .as_array()
            .is_some_and(|v| !v.is_empty() && v.iter().all(|c| c["failure"].is_null())),
        "{target}"
    );
    assert!(
        r["env"]["database_address"]
            .as_str()
            .is_some_and(|a| a.starts_with("198.18.0.40:")),
        "{}",
        r["env"]
    );
    // Behind nginx on the proxy host, in front of the target on the app
    // host, and verified through it from the client host.
    let behind = &r["targets"][1];
    measured_behind_nginx(behind, "bookbench-proxy");
    assert_eq!(behind["host"], "bookbench-app", "{behind}");
    let p = &r["runs"][0];
    assert!(p["rps"].as_f64() > Some(0.0), "{p}");
    assert_eq!(p["errors"], serde_json::json!({}), "{p}");
    // The targets' statements went through the relay, at 0 ms.
    assert!(p["cpu"]["relay"].as_f64() > Some(0.0), "{p}");
    // Without a lab, --lab builds one for the run and removes it after.
    let alone = tiny_run(
        &["--lab", "--targets", "rust", "--scenarios", "author-detail"],
        "1",
        &db,
        &temp_dir("lab-alone"),
        &temp_dir("home"),
    );
    ok(&alone);
    let err = text(&alone.stderr);
    assert!(err.contains("lab: built for this run"), "{err}");
    assert!(err.contains("lab: removed"), "{err}");
    let status = bookbench()
        .args(["lab", "status"])
        .output()
        .expect("lab status");
    assert_eq!(text(&status.stdout).trim(), "no lab");
}

/// `--proxy nginx`: each target is measured beside a copy of itself behind
/// nginx, here two instances of it, verified through nginx; nginx's files
/// are under $BOOKBENCH_HOME and nothing of it is left after the run.
///
/// The home is inside a directory only its owner may enter, as a checkout
/// under `/root` is: nginx started as root must still reach its files there
/// (its workers would be `nobody` by default, and answer a body with 500).
#[tokio::test(flavor = "multi_thread")]
async fn a_target_behind_nginx_is_verified_and_measured_through_it_beside_itself() {
    use std::os::unix::fs::PermissionsExt as _;
    let db = TestDb::new().await;
    let private = temp_dir("private");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700))
        .expect("a private directory");
    let (out, home) = (temp_dir("nginx"), private.join("home"));
    let run = tiny_run(
        &[
            "--targets",
            "rust",
            "--scenarios",
            "author-detail",
            "--proxy",
            "nginx",
            "--instances",
            "2",
        ],
        "2",
        &db,
        &out,
        &home,
    );
    ok(&run);
    let r = results(&out);
    let names: Vec<&str> = r["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["rust", "rust+nginx-x2"]);
    for t in r["targets"].as_array().expect("targets") {
        assert_eq!(t["status"], "measured", "{t}");
        assert!(
            t["verify"]
                .as_array()
                .is_some_and(|v| v.len() > 10 && v.iter().all(|c| c["failure"].is_null())),
            "{t}"
        );
    }
    let behind = r["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|p| p["target"] == "rust+nginx-x2")
        .expect("a point behind nginx");
    assert_eq!(behind["errors"], serde_json::json!({}), "{behind}");
    assert!(behind["rps"].as_f64() > Some(0.0));
    // Compared with the target itself, in the same rounds, and the summary
    // says so.
    assert_eq!(behind["comparison"]["reference"], "rust", "{behind}");
    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(
        summary.contains("; `rust+nginx-x2`'s is `rust`)"),
        "{summary}"
    );
    let conf = std::fs::read_to_string(home.join("nginx/rust+nginx-x2/nginx.conf"))
        .expect("nginx.conf under BOOKBENCH_HOME");
    assert_eq!(
        conf.matches("        server 127.0.0.1:").count(),
        2,
        "{conf}"
    );
    assert!(conf.contains("keepalive 256;"));
    let conf_arg = home
        .join("nginx/rust+nginx-x2/nginx.conf")
        .display()
        .to_string();
    assert_eq!(
        live_processes_whose("cmdline", &conf_arg),
        Vec::<u32>::new()
    );
}

/// Every window of point `p` was loaded by `agents` agents, each of which
/// counted requests, whose counts add up to the window's, and which
/// started less than `skew_us` apart.
fn agents_add_up(p: &serde_json::Value, agents: usize, skew_us: u64) {
    for w in p["windows"].as_array().expect("windows") {
        let each: Vec<u64> = w["agent_requests"]
            .as_array()
            .expect("each agent's requests")
            .iter()
            .filter_map(serde_json::Value::as_u64)
            .collect();
        assert_eq!(each.len(), agents, "{w}");
        assert!(each.iter().all(|&n| n > 0), "{w}");
        assert_eq!(
            each.iter().sum::<u64>(),
            w["requests"].as_u64().expect("requests")
        );
        assert!(w["start_skew_us"].as_u64() < Some(skew_us), "{w}");
    }
}

/// `target` is the Rust server behind nginx on `proxy_host`, measured, and
/// every verify check through the proxy passed.
fn measured_behind_nginx(target: &serde_json::Value, proxy_host: &str) {
    assert_eq!(target["name"], "rust+nginx", "{target}");
    assert_eq!(target["status"], "measured", "{target}");
    assert_eq!(target["proxy_host"], proxy_host, "{target}");
    assert!(
        target["verify"]
            .as_array()
            .is_some_and(|v| !v.is_empty() && v.iter().all(|c| c["failure"].is_null())),
        "{target}"
    );
}

/// An sshd on a host of the lab, on port 2222 of its address, that lets
/// in the key it made; killed on drop.
struct Sshd {
    child: std::process::Child,
    key: PathBuf,
    address: &'static str,
}

impl Sshd {
    fn start(dir: &Path, namespace: &str, address: &'static str) -> Self {
        let dir = &dir.join(namespace);
        std::fs::create_dir_all(dir).expect("sshd's dir");
        for name in ["host", "client"] {
            let made = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(name))
                .output()
                .expect("ssh-keygen (Debian: apt-get install openssh-client)");
            ok(&made);
        }
        std::fs::copy(dir.join("client.pub"), dir.join("authorized_keys")).expect("key");
        let config = format!(
            "Port 2222\nListenAddress {address}\nHostKey {dir}/host\n\
             AuthorizedKeysFile {dir}/authorized_keys\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nStrictModes no\n\
             UsePAM no\nPidFile {dir}/sshd.pid\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("sshd_config"), config).expect("sshd_config");
        // Its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                namespace,
                "/usr/sbin/sshd",
                "-D",
                "-e",
                "-f",
            ])
            .arg(dir.join("sshd_config"))
            .stderr(std::fs::File::create(dir.join("sshd.log")).expect("sshd.log"))
            .spawn()
            .expect("sshd (Debian: apt-get install openssh-server)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect((address, 2222)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "sshd did not listen: {}",
                std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self {
            child,
            key: dir.join("client"),
            address,
        }
    }

    /// The prefix that reaches it, as a TOML array, on `port`.
    fn prefix(&self, port: u16) -> String {
        format!(
            r#"["ssh", "-i", "{}", "-p", "{port}", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", "root@{}"]"#,
            self.key.display(),
            self.address
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lab's two client hosts by their namespaces, its app host by
/// `app_prefix` and its proxy host by `proxy_prefix`, in a hosts file; the
/// database is the test's own, reached through the relay on this machine's
/// bridge address.
fn hosts_file(dir: &Path, name: &str, app_prefix: &str, proxy_prefix: &str) -> PathBuf {
    let text = format!(
        r#"here = "198.18.0.1"
network = "198.18.0.0/24"

[[host]]
name = "client1"
role = "client"
prefix = ["ip", "netns", "exec", "bookbench-client1"]
address = "198.18.0.11"

[[host]]
name = "client2"
role = "client"
prefix = ["ip", "netns", "exec", "bookbench-client2"]
address = "198.18.0.12"

[[host]]
name = "app"
role = "app"
prefix = {app_prefix}
address = "198.18.0.30"

[[host]]
name = "proxy"
role = "proxy"
prefix = {proxy_prefix}
address = "198.18.0.20"
"#
    );
    let path = dir.join(name);
    std::fs::write(&path, text).expect("hosts file");
    path
}

/// `run --hosts FILE` with the app and proxy hosts reached through ssh (an
/// sshd in each of the lab's namespaces) and the client hosts through `ip
/// netns exec`: the target starts there through ssh and its CPU time is
/// read there through ssh, and a copy behind nginx has nginx on the proxy
/// host, configured through ssh; each client host runs a `bookbench load`
/// process, started at one instant, whose counts add up to the window's;
/// `hosts check` passes each host; nothing is left running after. A host
/// that cannot be reached stops `run` and `hosts check` with one line.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_with_hosts_in_a_file_starts_the_target_through_ssh_and_loads_it_from_agent_processes()
 {
    let _lab = LAB.lock().await;
    let db = TestDb::new().await;
    let dir = temp_dir("hosts");
    let _ = bookbench().args(["lab", "down"]).output();
    ok(&bookbench()
        .args(["lab", "up", "--clients", "2", "--proxy"])
        .output()
        .expect("lab up"));
    let sshd = Sshd::start(&dir, "bookbench-app", "198.18.0.30");
    let proxy_sshd = Sshd::start(&dir, "bookbench-proxy", "198.18.0.20");
    let file = hosts_file(
        &dir,
        "hosts.toml",
        &sshd.prefix(2222),
        &proxy_sshd.prefix(2222),
    );
    let check = bookbench()
        .args(["hosts", "check", "--targets", "rust", "--hosts"])
        .arg(&file)
        .output()
        .expect("hosts check");
    let (out, home) = (temp_dir("hosts-run"), temp_dir("home"));
    let run = tiny_run(
        &[
            "--hosts",
            &file.to_string_lossy(),
            "--targets",
            "rust",
            "--scenarios",
            "author-detail",
            "--proxy",
            "nginx",
        ],
        "1",
        &db,
        &out,
        &home,
    );
    let mut left = live_processes_whose("cmdline", "198.18.0.30:");
    // nginx's command line names its directory under the home.
    left.extend(live_processes_whose("cmdline", &home.to_string_lossy()));
    // Nothing answers on 2223: that host cannot be reached.
    let refused = hosts_file(
        &dir,
        "refused.toml",
        &sshd.prefix(2223),
        &proxy_sshd.prefix(2222),
    );
    let unreachable = tiny_run(
        &["--hosts", &refused.to_string_lossy(), "--targets", "rust"],
        "1",
        &db,
        &temp_dir("hosts-refused"),
        &temp_dir("home"),
    );
    let check_refused = bookbench()
        .args(["hosts", "check", "--targets", "rust", "--hosts"])
        .arg(&refused)
        .output()
        .expect("hosts check");
    drop((sshd, proxy_sshd));
    let down = bookbench()
        .args(["lab", "down"])
        .output()
        .expect("lab down");
    ok(&check);
    ok(&run);
    ok(&down);
    let checked = text(&check.stdout);
    assert!(
        checked.lines().any(|l| l.starts_with("ok    app ")
            && l.contains("ssh -i")
            && l.contains("1 of 1 targets can run there")),
        "{checked}"
    );
    assert_eq!(
        checked.lines().filter(|l| l.starts_with("ok ")).count(),
        4,
        "{checked}"
    );
    assert!(left.is_empty(), "the target outlived the run: {left:?}");

    let r = results(&out);
    let target = &r["targets"][0];
    assert_eq!(target["status"], "measured", "{target}");
    assert_eq!(target["host"], "app", "{target}");
    assert!(
        target["verify"]
            .as_array()
            .is_some_and(|v| !v.is_empty() && v.iter().all(|c| c["failure"].is_null())),
        "{target}"
    );
    assert_eq!(
        r["env"]["client_hosts"],
        serde_json::json!(["client1", "client2"])
    );
    let clocks = r["env"]["client_clocks"].as_array().expect("client clocks");
    assert_eq!(clocks.len(), 2, "{clocks:?}");
    let p = &r["runs"][0];
    // Read on the app host through ssh: a target that served has CPU time.
    assert!(p["cpu"]["server"].as_f64() > Some(0.0), "{p}");
    // Each started within 100 ms of the instant it was given.
    agents_add_up(p, 2, 100_000);
    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(
        summary.contains("Each agent was a `bookbench load` process"),
        "{summary}"
    );
    // nginx on the proxy host, in front of the target on the app host,
    // both started through ssh, and verified through them.
    measured_behind_nginx(&r["targets"][1], "proxy");
    let through = r["runs"]
        .as_array()
        .and_then(|runs| runs.iter().find(|p| p["target"] == "rust+nginx"))
        .expect("a point of rust+nginx");
    assert!(through["rps"].as_f64() > Some(0.0), "{through}");
    agents_add_up(through, 2, 100_000);

    for (what, out) in [("run", &unreachable), ("hosts check", &check_refused)] {
        assert!(!out.status.success(), "{what}");
        let err = text(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{what}: {err}");
        assert!(
            err.starts_with("error:")
                && (err.contains("host 'app' cannot be reached through `ssh")
                    || err.trim().ends_with("cannot be used: app")),
            "{what}: {err}"
        );
    }
    assert!(
        text(&check_refused.stdout)
            .contains("FAIL  app        app      host 'app' cannot be reached through `ssh"),
        "{}",
        text(&check_refused.stdout)
    );
}
