//! Sessions: windows of requests on connections kept between windows.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bookbench_load::{LoadConfig, RequestSpec, Session, Window};

use crate::{config, refusing_addr, serve_counting_connections, text, url};

#[test]
fn a_session_keeps_its_connections_and_sends_the_same_requests_every_window() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = Arc::clone(&seen);
    let (addr, connections) = serve_counting_connections(move |req| {
        if req.method() != hyper::Method::HEAD {
            record
                .lock()
                .expect("lock")
                .push(req.uri().path().to_string());
        }
        async { text(200, "Hello, World!") }
    });
    let mut c = config(addr, "/r/{int:0..1000}");
    // One thread draws every value in the order of the claims; with more,
    // each has its own stream, and their shares vary.
    c.connections = 4;
    c.threads = 1;
    c.rng_seed = Some(7);
    let mut session = Session::start(&c).expect("session");
    let mut windows = Vec::new();
    for _ in 0..3 {
        let window = session.window(50).expect("window");
        assert_eq!(
            window,
            Window {
                requests: 50,
                ok: 50,
                bytes_read: 50 * 13,
                connects: if windows.is_empty() { 4 } else { 0 },
            }
        );
        let mut paths = std::mem::take(&mut *seen.lock().expect("lock"));
        paths.sort();
        windows.push(paths);
    }
    assert_eq!(windows[0].len(), 50);
    assert!(
        windows[0].windows(2).any(|p| p[0] != p[1]),
        "the paths are drawn: {:?}",
        windows[0]
    );
    assert_eq!(windows[0], windows[1], "the same requests every window");
    assert_eq!(windows[1], windows[2]);
    drop(session);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        5,
        "the preflight's connection and one a user, kept from window to window"
    );
}

#[test]
fn a_session_window_against_a_server_that_is_gone_ends_with_its_requests_failed() {
    let mut c = LoadConfig::new(&url(refusing_addr()), vec![RequestSpec::get("test", "/")]);
    c.connections = 2;
    assert!(Session::start(&c).is_err(), "the preflight finds no server");
    c.preflight = false;
    let mut session = Session::start(&c).expect("session");
    let window = session.window(6).expect("window");
    assert_eq!(
        window,
        Window {
            requests: 6,
            ok: 0,
            bytes_read: 0,
            connects: 0,
        }
    );
}
