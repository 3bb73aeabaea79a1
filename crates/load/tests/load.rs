//! The load generator against small HTTP servers on 127.0.0.1, run in this
//! process: counts, checks, coordinated omission, failures, templates and
//! histogram merging.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bookbench_load::{
    BodyCheck, EncodedHistogram, IdSpace, LoadConfig, LoadError, Percentiles, Report, RequestSpec,
    merge_histograms, new_histogram, run,
};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};

type Resp = Response<Full<Bytes>>;

/// Taken by the tests whose assertions are about time (schedules, stalls,
/// ends) and by the heavy one, so that they do not compete for the two
/// cores of a small machine.
static TIMING: Mutex<()> = Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves `handler` on 127.0.0.1 from a thread of its own, for the rest of
/// the test process.
fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let handler = Arc::clone(&handler);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let fut = handler(req);
                        async move { Ok::<_, Infallible>(fut.await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    addr
}

fn text(status: u16, body: &'static str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    r
}

/// A hello-world server that counts the requests it answers (but not the
/// preflight's HEAD).
fn counting_server() -> (SocketAddr, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&count);
    let addr = serve(move |req| {
        if req.method() != hyper::Method::HEAD {
            c.fetch_add(1, Ordering::SeqCst);
        }
        async { text(200, "Hello, World!") }
    });
    (addr, count)
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

fn config(addr: SocketAddr, path: &str) -> LoadConfig {
    let mut c = LoadConfig::new(&url(addr), vec![RequestSpec::get("test", path)]);
    c.duration = Duration::from_secs(2);
    c.connections = 4;
    c
}

/// Servers that misbehave at the TCP level, one connection at a time.
fn raw_server(behaviour: fn(std::net::TcpStream)) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || behaviour(stream));
        }
    });
    addr
}

fn read_request(s: &mut std::net::TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.read(&mut buf);
}

fn refusing_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    addr
}

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
fn refused_connections_count_as_connect_errors() {
    let addr = refusing_addr();
    let err = run(&config(addr, "/")).expect_err("refused");
    assert!(matches!(err, LoadError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("refused"), "{err}");

    let mut c = config(addr, "/");
    c.preflight = false;
    c.duration = Duration::from_millis(500);
    let started = Instant::now();
    let r = run(&c).expect("run");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(r.errors.connect > 0, "{:?}", r.errors);
    assert_eq!((r.requests, r.ok, r.errors.read), (0, 0, 0));
}

#[test]
fn reset_connections_count_as_read_errors() {
    let addr = raw_server(|mut s| {
        read_request(&mut s);
        let s = tokio::net::TcpStream::from_std(s);
        // Dropping with a zero linger sends a reset.
        if let Ok(s) = s {
            let _ = s.set_zero_linger();
        }
    });
    let err = run(&config(addr, "/")).expect_err("reset");
    assert!(matches!(err, LoadError::NotHttp { .. }), "{err}");

    let mut c = config(addr, "/");
    c.preflight = false;
    c.duration = Duration::from_millis(500);
    let r = run(&c).expect("run");
    assert!(r.errors.read > 0, "{:?}", r.errors);
    assert_eq!((r.ok, r.errors.connect, r.errors.timeout), (0, 0, 0));
}

#[test]
fn garbage_and_half_responses_count_as_read_errors() {
    let garbage = raw_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
    });
    let err = run(&config(garbage, "/")).expect_err("garbage");
    assert!(matches!(err, LoadError::NotHttp { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("does not answer as an HTTP server"),
        "{err}"
    );

    // Closes mid-body.
    let half = raw_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHello");
    });
    let mut c = config(half, "/");
    c.duration = Duration::from_millis(500);
    let r = run(&c).expect("run");
    assert!(r.errors.read > 0, "{:?}", r.errors);
    assert_eq!(r.ok, 0);
}

/// A server that answers every request on a connection with `answer`,
/// keeping the connection open, for as long as the client writes.
fn answering_server(answer: &'static [u8]) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = stream;
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 4096];
                while matches!(s.read(&mut buf), Ok(n) if n > 0) {
                    if s.write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Every request of a run against a server that always breaks the protocol
/// in one way ends as a `read` error, on a fresh connection each time; the
/// run ends on time and its counts add up.
fn assert_every_request_is_a_read_error(answer: &'static [u8], what: &str) {
    let addr = answering_server(answer);
    let mut c = config(addr, "/");
    c.preflight = false;
    c.duration = Duration::from_millis(400);
    c.timeout = Duration::from_secs(2);
    let started = Instant::now();
    let r = run(&c).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{what}: the run ends on time"
    );
    assert!(r.errors.read > 0, "{what}: {:?}", r.errors);
    assert_eq!(r.ok, 0, "{what}");
    assert_eq!(
        r.errors.timeout, 0,
        "{what}: framing never waits for bytes that are not coming"
    );
    assert_eq!(r.requests, r.errors.read, "{what}: {r:?}");
    assert!(
        r.connects + u64::from(c.connections) >= r.requests,
        "{what}: each failed connection is replaced ({} connects, {} requests)",
        r.connects,
        r.requests
    );
}

#[test]
fn malformed_responses_are_read_errors_and_replace_the_connection() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
            "a bad status line",
        ),
        (
            b"HTTP/1.1 200 OK\r\nNo Colon Here\r\n\r\n",
            "a bad header line",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot-hex\r\n",
            "a bad chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokAND MORE",
            "a body longer than its Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\
              HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "two responses to one request",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\nok",
            "a Content-Length that is not a number",
        ),
    ];
    for (answer, what) in cases {
        assert_every_request_is_a_read_error(answer, what);
    }
}

#[test]
fn a_head_section_over_the_limit_is_a_read_error() {
    static HUGE: OnceLock<Vec<u8>> = OnceLock::new();
    let answer = HUGE.get_or_init(|| {
        let mut a = b"HTTP/1.1 200 OK\r\nX-Long: ".to_vec();
        a.resize(100 * 1024, b'a');
        a.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        a
    });
    assert_every_request_is_a_read_error(answer, "a 100 KiB header");
}

#[test]
fn a_response_while_no_request_is_outstanding_is_a_read_error() {
    // Answers, then 20 ms later answers again, unasked.
    let addr = raw_server(|mut s| {
        let mut buf = [0u8; 4096];
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {
            let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            if s.write_all(ok).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
            if s.write_all(ok).is_err() {
                return;
            }
        }
    });
    let mut c = config(addr, "/");
    c.preflight = false;
    c.connections = 1;
    // One request every 100 ms: the second answer arrives while the user
    // waits for its next turn.
    c.rate = Some(10.0);
    c.duration = Duration::from_secs(1);
    let r = run(&c).expect("run");
    assert!(r.ok >= 5, "{r:?}");
    assert!(r.errors.read >= 5, "{:?}", r.errors);
    assert!(r.connects >= r.ok, "every connection is replaced: {r:?}");
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
fn bad_settings_are_refused_with_a_reason() {
    let (addr, count) = counting_server();
    let check = |edit: &dyn Fn(&mut LoadConfig), want: &str| {
        let mut c = config(addr, "/");
        edit(&mut c);
        let err = run(&c).expect_err(want).to_string();
        assert!(err.contains(want), "'{err}' should say '{want}'");
    };
    check(&|c| c.connections = 0, "connections must be at least 1");
    check(&|c| c.duration = Duration::ZERO, "duration");
    check(
        &|c| c.duration = Duration::from_secs(365 * 86_400),
        "at most 24 h",
    );
    check(&|c| c.rate = Some(-5.0), "rate");
    check(&|c| c.rate = Some(f64::INFINITY), "rate");
    check(&|c| c.rate = Some(1e12), "rate");
    check(&|c| c.timeout = Duration::ZERO, "timeout");
    // One more connection than the hard limit on open files allows.
    if let Some(hard) = hard_file_limit()
        && hard < u64::from(bookbench_load::MAX_CONNECTIONS)
    {
        let too_many = u32::try_from(hard + 1).expect("below the maximum");
        check(&move |c| c.connections = too_many, "open files");
    }
    check(
        &|c| c.requests[0].path = "/author/{authorid}".to_string(),
        "unknown variable {authorid}",
    );
    check(
        &|c| c.requests[0].path = "/author/{author_id}".to_string(),
        "seed and counts",
    );
    check(
        &|c| c.requests[0].path = "/a b".to_string(),
        "not a valid request path",
    );
    check(
        &|c| c.requests[0].method = "G E T".to_string(),
        "not an HTTP method",
    );
    check(&|c| c.url = "ftp://127.0.0.1/".to_string(), "scheme");
    check(&|c| c.url = "127.0.0.1:80".to_string(), "not a valid URL");
    check(
        &|c| c.url = "https://127.0.0.1/".to_string(),
        "https is not supported",
    );
    let err = LoadConfig::scenario(&url(addr), "author-everything").expect_err("unknown");
    assert!(err.to_string().contains("mixed"), "{err}");
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "no bad setting sent a request"
    );
}

/// The hard limit on open files, from /proc (None when unlimited or
/// unreadable).
fn hard_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(4)?.parse().ok()
}

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
