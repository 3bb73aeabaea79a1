//! Reports: merged histograms, the JSON document, templates against a
//! seeded database, warm-up accounting, and agents' reports merged.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bookbench_load::{
    EncodedHistogram, IdSpace, LoadConfig, Percentiles, Report, merge_histograms, new_histogram,
    run,
};

use crate::{config, counting_server, serve, text, timing, url};

/// Decodes what a report carries (after a trip through JSON).
fn roundtrip(r: &Report) -> Report {
    serde_json::from_str(&r.to_json()).expect("the JSON document parses back")
}

#[test]
fn histograms_of_two_runs_merge_into_the_percentiles_of_both() {
    let (addr, _) = counting_server();
    let mut runs = Vec::new();
    for connections in [2, 6] {
        let mut c = config(addr, "/");
        c.connections = connections;
        c.max_requests = Some(3_000);
        c.duration = Duration::from_secs(20);
        c.record_samples = true;
        runs.push(run(&c).expect("run"));
    }
    let json: Vec<Report> = runs.iter().map(roundtrip).collect();
    assert!(
        json.iter().all(|r| r.samples.is_none()),
        "samples stay out of the JSON"
    );
    let merged = merge_histograms(json.iter().map(|r| &r.histogram)).expect("the histograms merge");
    let mut both = new_histogram();
    for r in &runs {
        for &us in r.samples.as_ref().expect("samples") {
            both.record(us).expect("record");
        }
    }
    assert_eq!(merged.len(), 6_000);
    assert_eq!(Percentiles::of(&merged), Percentiles::of(&both));
    // And each run's own histogram survives the trip exactly.
    for (r, j) in runs.iter().zip(&json) {
        assert_eq!(j.latency_us, r.latency_us);
        assert_eq!(
            Percentiles::of(&j.histogram().expect("decode")),
            r.latency_us
        );
    }
    let bad = EncodedHistogram {
        data: "not base64!".to_string(),
        ..json[0].histogram.clone()
    };
    assert!(merge_histograms([&bad]).is_err());
}

#[test]
fn the_json_document_has_the_promised_fields() {
    let (addr, _) = counting_server();
    let mut c = config(addr, "/");
    c.rate = Some(100.0);
    c.duration = Duration::from_millis(500);
    let r = run(&c).expect("run");
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
    for field in [
        "version",
        "rps",
        "requests",
        "duration_s",
        "errors",
        "status",
        "latency_us",
        "latency_us_uncorrected",
        "client_cpu",
        "flags",
        "histogram",
    ] {
        assert!(v.get(field).is_some(), "no {field} in {v}");
    }
    for p in ["p50", "p90", "p99", "p999", "p9999", "max", "mean"] {
        assert!(v["latency_us"][p].is_number(), "latency_us.{p}");
    }
    for e in ["connect", "timeout", "read", "status", "body"] {
        assert!(v["errors"][e].is_number(), "errors.{e}");
    }
    assert_eq!(v["version"], 1);
    assert_eq!(v["histogram"]["encoding"], "hdrhistogram-v2-deflate+base64");
    assert!(r.summary().contains("Requests/sec"));
}

#[test]
fn templates_draw_only_ids_that_exist_in_the_seeded_database() {
    let _timing = timing();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let db = rt.block_on(bookbench_testdb::TestDb::new());
    let plan = bookbench_datagen::Plan {
        seed: 99,
        authors: 60,
        scale: None,
    };
    let dataset = rt.block_on(async {
        let mut client = db.client().await;
        bookbench_datagen::seed(&mut client, &plan, false, &bookbench_datagen::NoProgress)
            .await
            .expect("seed")
    });

    // The server answers every path and remembers it.
    let paths: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&paths);
    let addr = serve(move |req| {
        if req.method() != hyper::Method::HEAD {
            let pq = req
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default();
            seen.lock().expect("lock").push(pq);
        }
        let status = if req.method() == hyper::Method::POST {
            201
        } else {
            200
        };
        let body = if req.uri().path() == "/author" && status == 200 {
            "[]"
        } else {
            "{}"
        };
        async move { text(status, body) }
    });
    let mut c = LoadConfig::scenario(&url(addr), "mixed").expect("scenario");
    c.ids = Some(IdSpace {
        seed: dataset.seed,
        authors: dataset.authors,
        books: dataset.books,
    });
    c.max_requests = Some(2_000);
    c.duration = Duration::from_secs(20);
    let r = run(&c).expect("run");
    assert_eq!((r.ok, r.errors.total), (2_000, 0), "{r:?}");

    let paths = paths.lock().expect("lock").clone();
    let mut authors = Vec::new();
    let mut books = Vec::new();
    for p in &paths {
        if let Some(id) = p.strip_prefix("/author/") {
            authors.push(id.to_string());
        } else if let Some(id) = p.strip_prefix("/book/") {
            books.push(id.to_string());
        } else if let Some((_, id)) = p.split_once("after=") {
            authors.push(id.to_string());
        }
    }
    assert!(
        authors.len() > 1_000 && books.len() > 100,
        "{} {}",
        authors.len(),
        books.len()
    );
    let to_uuids = |ids: &[String]| -> Vec<uuid::Uuid> {
        ids.iter()
            .map(|s| uuid::Uuid::parse_str(s).expect("a uuid"))
            .collect()
    };
    let (authors, books) = (to_uuids(&authors), to_uuids(&books));
    rt.block_on(async {
        let client = db.client().await;
        let count = |table: &'static str, ids: Vec<uuid::Uuid>| {
            let client = &client;
            async move {
                let distinct: std::collections::HashSet<_> = ids.iter().copied().collect();
                let sql = format!("SELECT count(*) FROM {table} WHERE id = ANY($1)");
                let found: i64 = client
                    .query_one(
                        sql.as_str(),
                        &[&distinct.iter().copied().collect::<Vec<_>>()],
                    )
                    .await
                    .expect("query")
                    .get(0);
                (found, distinct.len() as i64)
            }
        };
        let (found, distinct) = count("author", authors).await;
        assert_eq!(found, distinct, "every drawn author id exists");
        assert!(
            distinct > 50,
            "the draws cover the authors: {distinct} of 60"
        );
        let (found, distinct) = count("book", books).await;
        assert_eq!(found, distinct, "every drawn book id exists");
    });
}

#[test]
fn a_warm_up_counts_what_it_left_in_flight_and_not_what_ended_in_it() {
    let _timing = timing();
    // Every answer takes 1.5 s: the requests sent at the start end inside
    // the window, which a run without a warm-up would not see at all.
    let slow = serve(|req| async move {
        if req.method() != hyper::Method::HEAD {
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        text(200, "Hello, World!")
    });
    let mut c = config(slow, "/");
    c.warmup = Duration::from_secs(1);
    c.duration = Duration::from_secs(1);
    let started = Instant::now();
    let r = run(&c).expect("run");
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert_eq!(r.ok, u64::from(c.connections), "{r:?}");
    assert!(r.latency_us.p50 >= 1_500_000, "{r:?}");
    assert!((r.duration_s - 1.0).abs() < 0.05, "{}", r.duration_s);

    // A fast server: what ended in the warm-up is not in the report.
    let (addr, count) = counting_server();
    let mut c = config(addr, "/");
    c.warmup = Duration::from_millis(600);
    c.duration = Duration::from_millis(600);
    let r = run(&c).expect("run");
    let seen = count.load(Ordering::SeqCst);
    assert!(r.ok > 50, "{r:?}");
    assert!(
        seen as f64 > 1.6 * r.ok as f64,
        "the server answered {seen}, the report counts {}",
        r.ok
    );
}

#[test]
fn two_agents_reports_merge_into_one_whose_counts_are_their_sums() {
    let _timing = timing();
    let (addr, count) = counting_server();
    let mut c = config(addr, "/");
    c.duration = Duration::from_millis(1000);
    c.connections = 2;
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(&c).expect("agent a"));
        let b = s.spawn(|| run(&c).expect("agent b"));
        (a.join().expect("a"), b.join().expect("b"))
    });
    let merged = Report::merge(&[a.clone(), b.clone()])
        .expect("merges")
        .expect("a report");
    assert_eq!(merged.requests, a.requests + b.requests);
    assert_eq!(merged.ok, a.ok + b.ok);
    assert_eq!(merged.connections, 4);
    assert_eq!(merged.status.get("200").copied(), Some(a.ok + b.ok));
    assert!((merged.rps - (a.rps + b.rps)).abs() < 1e-9);
    // Exactly: the merged histogram holds every response of both.
    let h = merged.histogram.decode().expect("histogram");
    assert_eq!(
        h.len(),
        a.histogram.decode().expect("a").len() + b.histogram.decode().expect("b").len()
    );
    assert_eq!(
        merged.latency_us.max,
        a.latency_us.max.max(b.latency_us.max)
    );
    let (low, high) = (
        a.latency_us.p50.min(b.latency_us.p50),
        a.latency_us.p50.max(b.latency_us.p50),
    );
    assert!((low..=high).contains(&merged.latency_us.p50), "{merged:?}");
    assert!(count.load(Ordering::SeqCst) >= merged.requests);
    assert!(Report::merge(&[]).expect("nothing").is_none());
}
