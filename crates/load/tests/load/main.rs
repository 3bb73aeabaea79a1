//! The load generator against small HTTP servers on 127.0.0.1, run in this
//! process: counts, checks, coordinated omission, failures, templates and
//! histogram merging.

mod errors;
mod reports;
mod runs;
mod session;

use std::convert::Infallible;
use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bookbench_load::{LoadConfig, RequestSpec};
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
    serve_counting_connections(handler).0
}

/// As [`serve`], with the count of connections accepted.
fn serve_counting_connections<F, Fut>(handler: F) -> (SocketAddr, Arc<AtomicU64>)
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    serve_at_most(tokio::sync::Semaphore::MAX_PERMITS, handler)
}

/// As [`serve_counting_connections`], serving at most `at_once` connections
/// and accepting another only when one of them closes, as Granian does with
/// `--backpressure`: the connections beyond wait in the listen backlog.
fn serve_at_most<F, Fut>(at_once: usize, handler: F) -> (SocketAddr, Arc<AtomicU64>)
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let connections = Arc::new(AtomicU64::new(0));
    let accepted = Arc::clone(&connections);
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
            let permits = Arc::new(tokio::sync::Semaphore::new(at_once));
            loop {
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    return;
                };
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                accepted.fetch_add(1, Ordering::SeqCst);
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
                    drop(permit);
                });
            }
        });
    });
    (addr, connections)
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
