//! Runs as asked: caps, durations, rates, checks, latency correction, and
//! the ways a server may frame its answers.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bookbench_load::{BodyCheck, LoadConfig, LoadError, RequestSpec, run};

use crate::{
    answering_server, config, counting_server, raw_server, read_request, serve, serve_at_most,
    text, timing, url,
};

#[test]
fn a_request_cap_sends_exactly_that_many_requests() {
    let (addr, count) = counting_server();
    let mut c = config(addr, "/");
    c.threads = 2;
    c.connections = 8;
    c.duration = Duration::from_secs(20);
    c.max_requests = Some(1_000);
    let started = Instant::now();
    let r = run(&c).expect("run");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the cap ends the run"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1_000);
    assert_eq!(
        (r.sent, r.requests, r.ok, r.unfinished),
        (1_000, 1_000, 1_000, 0)
    );
    assert_eq!(r.status.get("200"), Some(&1_000));
    assert_eq!(r.errors.total, 0);
    assert_eq!(r.connects, 8, "keep-alive: one connection per user");
    assert_eq!(r.histogram().expect("histogram").len(), 1_000);
}

#[test]
fn a_closed_loop_run_ends_on_time_and_counts_what_the_server_saw() {
    let _timing = timing();
    let (addr, count) = counting_server();
    let mut c = config(addr, "/");
    c.duration = Duration::from_millis(1500);
    let started = Instant::now();
    let r = run(&c).expect("run");
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2000), "took {took:?}");
    let seen = count.load(Ordering::SeqCst);
    assert!(r.ok > 100, "{r:?}");
    assert_eq!(r.ok, r.requests);
    // Requests still in flight at the end reached the server, or not.
    assert!(
        seen >= r.requests && seen <= r.sent,
        "server {seen}, report {r:?}"
    );
    assert!(r.unfinished <= u64::from(c.connections));
    assert!((r.duration_s - 1.5).abs() < 0.05, "{}", r.duration_s);
    assert!(r.latency_us.p50 > 0 && r.latency_us.p50 <= r.latency_us.max);
    assert!(r.latency_us_uncorrected.is_none());
}

#[test]
fn an_open_loop_run_sends_rate_times_duration_requests() {
    let _timing = timing();
    let (addr, count) = counting_server();
    let mut c = config(addr, "/");
    c.rate = Some(500.0);
    c.connections = 10;
    c.duration = Duration::from_secs(2);
    let r = run(&c).expect("run");
    let s = r.schedule.expect("schedule");
    assert_eq!(s.scheduled, 1_000);
    assert!(r.sent.abs_diff(1_000) <= 10, "sent {} of 1000", r.sent);
    let seen = count.load(Ordering::SeqCst);
    assert!(
        seen >= r.requests && seen <= r.sent,
        "server {seen}, report {r:?}"
    );
    // Punctual: on an idle machine no request is late; a busy one (tests
    // run in parallel) may delay a few.
    assert!(s.late * 10 < s.scheduled, "{s:?}");
    assert_eq!(s.unsent, 0, "{s:?}");
    assert!(r.latency_us_uncorrected.is_some() && r.histogram_uncorrected.is_some());
}

#[test]
fn statuses_and_bodies_are_checked_and_counted() {
    let counts: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let seen = Arc::clone(&counts);
    let addr = serve(move |req| {
        let path = req.uri().path().to_string();
        if req.method() != hyper::Method::HEAD {
            *seen.lock().expect("lock").entry(path.clone()).or_default() += 1;
        }
        async move {
            match path.as_str() {
                "/r/0" => text(200, "good: the whole body"),
                "/r/1" => text(503, "good: but unavailable"),
                _ => text(200, "bad"),
            }
        }
    });
    let mut spec = RequestSpec::get("test", "/r/{int:0..3}");
    spec.expect_body = Some(BodyCheck::StartsWith("good".to_string()));
    let mut c = LoadConfig::new(&url(addr), vec![spec]);
    c.connections = 3;
    c.max_requests = Some(600);
    c.duration = Duration::from_secs(20);
    let r = run(&c).expect("run");
    let counts = counts.lock().expect("lock").clone();
    let n = |p: &str| counts.get(p).copied().unwrap_or(0);
    assert_eq!(n("/r/0") + n("/r/1") + n("/r/2"), 600);
    assert!(
        n("/r/0") > 100 && n("/r/1") > 100 && n("/r/2") > 100,
        "{counts:?}"
    );
    assert_eq!(r.ok, n("/r/0"));
    assert_eq!(r.errors.status, n("/r/1"));
    assert_eq!(r.errors.body, n("/r/2"));
    assert_eq!(r.status.get("503"), Some(&n("/r/1")));
    assert_eq!(r.status.get("200"), Some(&(n("/r/0") + n("/r/2"))));
    assert_eq!(r.requests, 600);
    assert!(r.has_flag(bookbench_load::Flag::Errors));

    // A substring check, and an explicit status list.
    let mut spec = RequestSpec::get("test", "/r/1");
    spec.expect_status = vec![503];
    spec.expect_body = Some(BodyCheck::Contains("unavailable".to_string()));
    let mut c = LoadConfig::new(&url(addr), vec![spec]);
    c.max_requests = Some(50);
    let r = run(&c).expect("run");
    assert_eq!((r.ok, r.errors.total), (50, 0));
}

#[test]
fn a_stall_shows_in_corrected_latency_and_hides_from_uncorrected() {
    let _timing = timing();
    // The server stalls every request that arrives between 1 s and 2 s
    // after the first one until 2 s: a one-second pause.
    let first: Arc<OnceLock<Instant>> = Arc::default();
    let addr = serve(move |req| {
        let head = req.method() == hyper::Method::HEAD;
        let t0 = *first.get_or_init(Instant::now);
        async move {
            let since = t0.elapsed();
            if !head && since >= Duration::from_secs(1) && since < Duration::from_secs(2) {
                tokio::time::sleep_until((t0 + Duration::from_secs(2)).into()).await;
            }
            text(200, "Hello, World!")
        }
    });
    let mut c = config(addr, "/");
    c.preflight = false;
    c.rate = Some(200.0);
    c.connections = 10;
    c.duration = Duration::from_secs(3);
    let r = run(&c).expect("run");
    let corrected = r.latency_us;
    let uncorrected = r.latency_us_uncorrected.expect("uncorrected");
    // A third of the requests were due during the stall: the corrected
    // p90 is hundreds of milliseconds, the uncorrected one sees only the
    // ten requests that were in flight.
    assert!(corrected.p90 >= 300_000, "corrected {corrected:?}");
    assert!(uncorrected.p90 < 50_000, "uncorrected {uncorrected:?}");
    assert!(corrected.max >= 900_000 && uncorrected.max >= 900_000);
    assert!(corrected.p50 >= uncorrected.p50);
    let s = r.schedule.expect("schedule");
    assert!(s.late >= 100, "{s:?}");
    assert!(
        r.has_flag(bookbench_load::Flag::ScheduleSlipped),
        "{:?}",
        r.flags
    );
    assert_eq!(r.errors.total, 0);
}

#[test]
fn servers_that_close_after_each_response_or_delimit_by_close_are_served() {
    // Connection: close with a length, and a body that ends with the
    // connection: both are complete responses, and the user reconnects.
    fn close_after_response(mut s: std::net::TcpStream) {
        read_request(&mut s);
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 13\r\n\r\nHello, World!",
        );
    }
    fn delimit_by_close(mut s: std::net::TcpStream) {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\nHello, World!");
    }
    for server in [close_after_response, delimit_by_close] {
        let addr = raw_server(server);
        let mut c = config(addr, "/");
        c.duration = Duration::from_millis(500);
        let r = run(&c).expect("run");
        assert!(r.ok > 10, "{r:?}");
        assert_eq!(r.errors.total, 0, "{:?}", r.errors);
        assert!(r.connects >= r.ok, "a connection per request: {r:?}");
        assert_eq!(r.bytes_read, 13 * r.ok);
    }
}

#[test]
fn chunked_responses_are_read_and_checked() {
    let addr = answering_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nHello, \r\n6\r\nWorld!\r\n0\r\n\r\n",
    );
    let mut c = config(addr, "/");
    c.duration = Duration::from_millis(500);
    c.requests = vec![RequestSpec {
        expect_body: Some(BodyCheck::StartsWith("Hello, World".to_string())),
        ..RequestSpec::get("test", "/")
    }];
    let r = run(&c).expect("run");
    assert!(r.ok > 10, "{r:?}");
    assert_eq!(r.errors.total, 0, "{:?}", r.errors);
    assert_eq!(r.connects, u64::from(c.connections), "keep-alive");
    assert_eq!(r.bytes_read, 13 * r.ok);
}

#[test]
fn a_silent_server_times_out_and_the_run_still_ends_on_time() {
    let _timing = timing();
    let addr = raw_server(|mut s| {
        read_request(&mut s);
        std::thread::sleep(Duration::from_secs(5));
    });
    let mut c = config(addr, "/");
    c.timeout = Duration::from_millis(200);
    let err = run(&c).expect_err("silent");
    assert!(matches!(err, LoadError::NoResponse { .. }), "{err}");

    c.preflight = false;
    c.duration = Duration::from_secs(1);
    let started = Instant::now();
    let r = run(&c).expect("run");
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(r.errors.timeout >= 4, "{:?}", r.errors);
    assert_eq!(r.ok, 0);
}

#[test]
fn connections_a_server_leaves_waiting_while_it_serves_others_flag_the_run_unserved() {
    let _timing = timing();
    let addr = serve_at_most(2, |_| async { text(200, "hello") }).0;
    let mut c = config(addr, "/");
    c.connections = 4;
    c.duration = Duration::from_millis(2500);
    let r = run(&c).expect("run");
    assert!(r.ok > 100, "two connections were served: {}", r.ok);
    // The two left waiting, and perhaps the last of the two served.
    assert!((2..=4).contains(&r.unfinished), "{}", r.unfinished);
    let oldest = r.unfinished_oldest_s.expect("an oldest unanswered request");
    assert!(oldest > 2.0, "waited the whole run: {oldest} s");
    assert!(
        r.flags.contains(&bookbench_load::Flag::Unserved),
        "{:?}",
        r.flags
    );
    assert!(r.summary().contains("unserved:"), "{}", r.summary());

    // The same server with room for every connection: none waits.
    let mut c = config(serve_at_most(4, |_| async { text(200, "hello") }).0, "/");
    c.duration = Duration::from_millis(1500);
    let r = run(&c).expect("run");
    assert!(
        r.unfinished_oldest_s.is_none_or(|s| s < 1.0),
        "{:?}",
        r.unfinished_oldest_s
    );
    assert!(
        !r.flags.contains(&bookbench_load::Flag::Unserved),
        "{:?}",
        r.flags
    );
}
