//! What a server can do wrong, each counted as the error it is, and the
//! settings refused before a run.

use std::io::{Read as _, Write as _};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bookbench_load::{LoadConfig, LoadError, run};

use crate::{
    answering_server, config, counting_server, raw_server, read_request, refusing_addr, url,
};

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
