//! The results, summary and report a run writes, and what `report`,
//! `merge` and `compare` make of them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bookbench_testdb::TestDb;

use crate::{TINY, assert_valid_results, bookbench, ok, results, temp_dir, text};

#[tokio::test(flavor = "multi_thread")]
async fn a_tiny_run_writes_results_a_summary_and_a_report_that_a_browser_renders() {
    let db = TestDb::new().await;
    let (out, home) = (temp_dir("run"), temp_dir("home"));
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
            "--no-cost",
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
        .arg(out.path())
        .env("BOOKBENCH_HOME", home.path())
        .output()
        .expect("run");
    ok(&run);

    let r = results(&out);
    // Readable without bookbench: the file is what its schema says.
    assert_valid_results(&r);
    assert_eq!(r["version"], 4);
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
                // One round pairs to a ratio without an interval: its high
                // end is infinite, written null.
                let (low, high) = (
                    c["ratio"]["low"].as_f64().expect("low"),
                    c["ratio"]["high"].as_f64().unwrap_or(f64::INFINITY),
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
        .arg(charts.path())
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
