//! `bookbench run`, `verify`, `compare` and `merge` as a user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bookbench_testdb::TestDb;

fn bookbench() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bookbench"));
    cmd.env_remove("DATABASE_URL");
    cmd
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "bookbench-{name}-{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
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

fn results(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).expect("results.json"))
        .expect("results.json is JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tiny_run_writes_results_a_summary_and_a_report_that_a_browser_renders() {
    let db = TestDb::new().await;
    let out = temp_dir("run");
    // A second copy of the Rust server, added to the built-in targets: two
    // targets measured in interleaved rounds, one compared with the other.
    let targets = out.join("targets.toml");
    std::fs::write(
        &targets,
        "[[target]]\nname = \"rust-again\"\ndescription = \"the Rust server again\"\n\
         command = [\"{bookbench}\", \"serve\", \"--listen\", \"127.0.0.1:{port}\"]\n\
         workers = 1\ncpus = [0]\nready = \"/healthz\"\n",
    )
    .expect("targets file");
    let run = bookbench()
        .args([
            "run",
            "--targets",
            "rust,rust-again",
            "--scenarios",
            "hello-get,author-detail",
        ])
        .args(TINY)
        .args(["--min-rounds", "3", "--max-rounds", "3", "--seed", "7"])
        .args(["--database-url", db.url()])
        .arg("--targets-file")
        .arg(&targets)
        .arg("--out")
        .arg(&out)
        .env("BOOKBENCH_HOME", temp_dir("home"))
        .output()
        .expect("run");
    ok(&run);

    let r = results(&out);
    // Readable without bookbench: the file is what its schema says.
    let schema = jsonschema::validator_for(&bookbench_results::json_schema()).expect("the schema");
    let wrong: Vec<String> = schema.iter_errors(&r).map(|e| e.to_string()).collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(r["version"], 2);
    assert_eq!(r["config"]["baseline"], "rust");
    assert_eq!(r["config"]["seed"], 7);
    assert_eq!(r["partial"], false);
    assert_eq!(r["env"]["scale"]["authors"], 1000);
    assert_eq!(r["targets"][0]["status"], "measured", "{}", r["targets"]);
    let runs = r["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 4);
    for p in runs {
        assert!(p["target"] == "rust" || p["target"] == "rust-again", "{p}");
        assert_eq!(p["concurrency"], 4);
        assert!(p["rps"].as_f64().expect("rps") > 0.0, "{p}");
        assert_eq!(p["errors"], serde_json::json!({}), "{p}");
        assert!(p["cpu"]["server"].as_f64().expect("cpu") > 0.0, "{p}");
        let windows = p["windows"].as_array().expect("windows");
        let rounds: Vec<u64> = windows.iter().filter_map(|w| w["round"].as_u64()).collect();
        assert_eq!(rounds, [0, 1, 2], "{p}");
        for w in windows {
            assert!(
                w["cpu_per_request_us"]["server"]
                    .as_f64()
                    .expect("server us")
                    > 0.0,
                "{w}"
            );
            assert!(!w["steal_pct"].as_array().expect("steal").is_empty(), "{w}");
            assert!(
                !w["histogram"].as_str().expect("histogram").is_empty(),
                "{w}"
            );
        }
        let interval = &p["rps_interval"];
        assert!(
            interval["low"].as_f64() <= interval["estimate"].as_f64(),
            "{p}"
        );
        if p["target"] == "rust-again" {
            let c = &p["comparison"];
            // Rounds in which both windows were undisturbed are paired.
            let disturbing = ["not-settled", "steal", "neighbour-busy", "stalled"];
            let disturbed = |point: &serde_json::Value| -> Vec<u64> {
                point["windows"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|w| {
                        w["flags"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|f| disturbing.contains(&f.as_str().unwrap_or_default()))
                    })
                    .filter_map(|w| w["round"].as_u64())
                    .collect()
            };
            let reference = runs
                .iter()
                .find(|q| q["target"] == "rust" && q["scenario"] == p["scenario"])
                .expect("the reference's point");
            let mut lost = disturbed(p);
            lost.extend(disturbed(reference));
            lost.sort_unstable();
            lost.dedup();
            // A busy host can spoil every round (steal): then there is
            // nothing to pair, and no comparison.
            if lost.len() == 3 {
                assert!(c.is_null(), "no undisturbed round to pair: {p}");
            } else {
                assert_eq!(c["reference"], "rust", "{p}");
                assert_eq!(c["rounds"], 3 - lost.len() as u64, "{p}");
                let (low, high) = (
                    c["ratio"]["low"].as_f64().expect("low"),
                    c["ratio"]["high"].as_f64().expect("high"),
                );
                let estimate = c["ratio"]["estimate"].as_f64().expect("estimate");
                assert!(low < estimate && estimate < high, "{c}");
                assert!(
                    ["faster", "slower", "no-significant-difference"]
                        .contains(&c["verdict"].as_str().unwrap_or_default()),
                    "{c}"
                );
            }
        } else {
            assert!(
                p["comparison"].is_null(),
                "the baseline is compared with itself: {p}"
            );
        }
        assert!(p["latency_us"]["p50"].as_u64().expect("p50") > 0);
        assert!(!p["histogram"].as_str().expect("histogram").is_empty());
    }
    let detail = runs
        .iter()
        .find(|p| p["scenario"] == "author-detail")
        .expect("author-detail");
    assert!(
        detail["db_statements_per_request"]
            .as_f64()
            .expect("statements")
            >= 1.0,
        "{detail}"
    );
    assert!(
        detail["cpu"]["database"].as_f64().expect("db cpu") > 0.0,
        "{detail}"
    );

    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(
        summary.contains("| rust |") && summary.contains("author-detail"),
        "{summary}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(html.contains("<svg"));
    // Self-contained: the only address is the SVG namespace, which is a name.
    let addresses = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!addresses.contains("http://") && !addresses.contains("https://"));

    let shot = screenshot(&out.join("report.html"));
    let charted = chart_pixels(&shot);
    assert!(
        charted > 500,
        "the report's screenshot is nearly blank ({charted} coloured pixels)"
    );

    let compare = bookbench()
        .arg("compare")
        .arg(out.join("results.json"))
        .arg(out.join("results.json"))
        .output()
        .expect("compare");
    ok(&compare);
    let table = text(&compare.stdout);
    assert_eq!(table.matches(" 1.000 ").count(), 4, "{table}");
    assert_eq!(
        table.matches("no significant difference").count(),
        4,
        "a run against itself: {table}"
    );
    assert!(table.contains("author-detail"), "{table}");
    let gate = bookbench()
        .arg("compare")
        .arg(out.join("results.json"))
        .arg(out.join("results.json"))
        .arg("--fail-on-regression")
        .output()
        .expect("compare");
    ok(&gate);

    std::fs::remove_file(out.join("report.html")).expect("remove the report");
    ok(&bookbench()
        .arg("report")
        .arg(out.join("results.json"))
        .output()
        .expect("report"));
    let again = std::fs::read_to_string(out.join("report.html")).expect("report.html again");
    assert_eq!(again, html, "the report rendered from results.json differs");

    let charts = temp_dir("charts");
    ok(&bookbench()
        .arg("report")
        .arg(out.join("results.json"))
        .arg("--charts")
        .arg(&charts)
        .output()
        .expect("report --charts"));
    for scenario in ["hello-get", "author-detail"] {
        for file in [format!("{scenario}.svg"), format!("{scenario}-bars.svg")] {
            let svg = std::fs::read_to_string(charts.join(&file)).expect("chart");
            assert!(
                svg.starts_with("<svg") && svg.contains("rust"),
                "{file}: {svg}"
            );
        }
    }

    merge_joins_runs_of_other_targets_and_refuses_the_rest(&out.join("results.json"));
}

/// `bookbench merge`, on a real run's results and edited copies of them: the
/// same run under another target's name, and on another data set.
fn merge_joins_runs_of_other_targets_and_refuses_the_rest(real: &Path) {
    let dir = temp_dir("merge");
    let original = results(real.parent().expect("the run's folder"));
    let mut renamed = original.clone();
    let suffixed = |v: &serde_json::Value| format!("{}-b", v.as_str().unwrap_or_default());
    for t in renamed["targets"].as_array_mut().expect("targets") {
        t["name"] = suffixed(&t["name"]).into();
    }
    for p in renamed["runs"].as_array_mut().expect("runs") {
        p["target"] = suffixed(&p["target"]).into();
    }
    let renamed_path = dir.join("renamed.json");
    std::fs::write(&renamed_path, renamed.to_string()).expect("write");
    let mut other_data = renamed.clone();
    other_data["env"]["scale"]["authors"] = 2000.into();
    let other_data_path = dir.join("other-data.json");
    std::fs::write(&other_data_path, other_data.to_string()).expect("write");

    let out = dir.join("merged");
    let merge = bookbench()
        .arg("merge")
        .arg(real)
        .arg(&renamed_path)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("merge");
    ok(&merge);
    let merged = results(&out);
    let names: Vec<_> = merged["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(names, ["rust", "rust-again", "rust-b", "rust-again-b"]);
    assert_eq!(merged["runs"].as_array().map(Vec::len), Some(8));
    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    assert!(summary.contains("| rust-again-b |"), "{summary}");
    assert!(out.join("report.html").is_file());

    for (other, expected) in [
        (real, "measured in both"),
        (other_data_path.as_path(), "data set differs"),
    ] {
        let refused = bookbench()
            .arg("merge")
            .arg(real)
            .arg(other)
            .arg("--out")
            .arg(dir.join("refused"))
            .output()
            .expect("merge");
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
        let err = text(&refused.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expected), "{err}");
    }
    assert!(!dir.join("refused").exists(), "a refused merge wrote files");
}

/// Headless Chromium at a 1280 × 1600 window, with `args` and `page`.
fn chromium(args: &[String], page: &Path) -> Output {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is installed (scripts/setup installs it: apt-get install chromium)");
    let profile = temp_dir("chromium");
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,1600",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

/// Opens the page in headless Chromium; fails on any console message.
fn screenshot(page: &Path) -> PathBuf {
    let png = page.with_extension("png");
    let out = chromium(&[format!("--screenshot={}", png.display())], page);
    let log = text(&out.stderr);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "the report logged to the console: {console:?}"
    );
    assert!(png.exists(), "no screenshot: {log}");
    png
}

/// The blog study's report, 19 targets with long names, laid out by a real
/// browser: the attribution table ends within the page's column (no
/// sideways scrolling), measured by a script added to a copy of the page.
#[test]
fn the_report_of_19_targets_fits_its_attribution_table_in_the_page() {
    let dir = temp_dir("wide-report");
    let results = dir.join("results.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/blog/results.json"),
        &results,
    )
    .expect("the blog study's results");
    ok(&bookbench()
        .arg("report")
        .arg(&results)
        .output()
        .expect("report"));
    let page = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(
        page.matches("<td>pypy-<wbr>flask-").count() > 0,
        "19 targets, PyPy's among them"
    );
    let probe = "<script>window.addEventListener('load',function(){\
        var t=document.querySelector('table.attribution').getBoundingClientRect();\
        var b=getComputedStyle(document.body);\
        var inner=document.body.getBoundingClientRect().right-parseFloat(b.paddingRight);\
        document.title='measured '+Math.ceil(t.right)+' '+Math.floor(inner)+' '+\
        document.documentElement.scrollWidth+' '+document.documentElement.clientWidth;});</script>";
    let probed = dir.join("probed.html");
    std::fs::write(&probed, page.replace("</body>", &format!("{probe}</body>"))).expect("write");
    let out = chromium(&["--dump-dom".to_string()], &probed);
    let dom = text(&out.stdout);
    let measured: Vec<i64> = dom
        .split("<title>measured ")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("the probe did not run: {}", text(&out.stderr)))
        .split(' ')
        .filter_map(|n| n.parse().ok())
        .collect();
    let [table, column, page_width, window] = measured[..] else {
        panic!("measured {measured:?}");
    };
    assert!(
        table <= column + 1,
        "the table ends at {table} px, the column at {column}"
    );
    assert!(
        page_width <= window,
        "the page is {page_width} px wide in a {window} px window"
    );
    screenshot(&dir.join("report.html"));
}

/// Pixels that are neither white nor grey: chart lines and markers.
fn chart_pixels(png: &Path) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png).expect("png"),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|px| {
            let (r, g, b) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
            (r - g).abs() > 40 || (g - b).abs() > 40 || (r - b).abs() > 40
        })
        .count()
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

#[tokio::test(flavor = "multi_thread")]
async fn failing_targets_are_recorded_with_their_reason_and_leave_no_process_behind() {
    let db = TestDb::new().await;
    let out = temp_dir("failing");
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
        .arg(&out)
        .env("BOOKBENCH_HOME", temp_dir("home"))
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
    ] {
        let out = bookbench().args(args).output().expect("run");
        assert!(!out.status.success(), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{needle} not in {err}");
    }
}

#[test]
fn compare_refuses_a_file_that_is_not_results() {
    let dir = temp_dir("compare");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"version\": 99}").expect("write");
    let out = bookbench()
        .arg("compare")
        .arg(&bad)
        .arg(&bad)
        .output()
        .expect("compare");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("results version"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_the_targets_and_leaves_partial_results() {
    let db = TestDb::new().await;
    let out = temp_dir("interrupted");
    let tag = format!("BOOKBENCH_TEST_TAG={:016x}", fastrand::u64(..));
    let (tag_name, tag_value) = tag.split_once('=').expect("tag");
    let mut child = bookbench()
        .args([
            "run",
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
        .arg(&out)
        .env("BOOKBENCH_HOME", temp_dir("home"))
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
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

#[test]
fn compare_refuses_two_files_that_share_no_point() {
    let dir = temp_dir("compare-disjoint");
    // The quick run in the docs is a version 1 file: read through its
    // upgrade, then refused for sharing no point with its renamed copy.
    let docs = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/results/2026-11-26-quick-results.json");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&docs).expect("docs results")).expect("json");
    let mut renamed = original.clone();
    for p in renamed["runs"].as_array_mut().expect("runs") {
        p["target"] = "someone-else".into();
    }
    let renamed_path = dir.join("renamed.json");
    std::fs::write(&renamed_path, renamed.to_string()).expect("write");
    let same = bookbench()
        .arg("compare")
        .arg(&docs)
        .arg(&docs)
        .output()
        .expect("compare");
    ok(&same);
    let out = bookbench()
        .arg("compare")
        .arg(&docs)
        .arg(&renamed_path)
        .output()
        .expect("compare");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("share no point"), "{err}");
}

/// `bookbench run ARGS` as the tests below run it: one scenario's point at
/// c=4, 1 s windows, on a tiny data set in `db`, into `out`, with `home` as
/// $BOOKBENCH_HOME.
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

fn tiny_run(args: &[&str], rounds: &str, db: &TestDb, out: &Path, home: &Path) -> Output {
    bookbench()
        .arg("run")
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
            .env("BOOKBENCH_HOME", &home)
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
        .arg(&out)
        .env("BOOKBENCH_HOME", &home)
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
