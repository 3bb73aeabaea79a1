//! The engine: worker threads, each a current-thread runtime running one task
//! per virtual user, each user on its own keep-alive connection.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HOST, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::LocalSet;

use crate::LoadError;
use crate::cpu;
use crate::scenario::{BodyCheck, RequestSpec};
use crate::stats::{ErrorKind, Stats, Verdict};
use crate::template::{Expander, IdSpace, Template};

/// A request that went out more than this after it was due counts as late.
/// Above the timer's granularity (1 ms), so a punctual client counts none.
pub const LATE_AFTER: Duration = Duration::from_millis(2);

/// How long a user waits before connecting again after a failed attempt.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// Where requests go.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub addr: SocketAddr,
    pub host: HeaderValue,
    /// The URL's path without its trailing slash; request paths follow it.
    pub base_path: String,
}

/// One request kind, compiled.
#[derive(Debug)]
pub(crate) struct Kind {
    method: Method,
    path: Template,
    /// The whole path and query when the template has no variables.
    fixed_uri: Option<Uri>,
    body: Option<Template>,
    fixed_body: Option<Bytes>,
    headers: HeaderMap,
    /// Empty: any 2xx.
    expect_status: Vec<u16>,
    check: Option<(bool, Vec<u8>)>,
    weight: u32,
}

impl Kind {
    pub fn compile(spec: &RequestSpec, target: &Target) -> Result<Self, LoadError> {
        let method = Method::from_bytes(spec.method.as_bytes())
            .map_err(|_| LoadError::Config(format!("'{}' is not an HTTP method", spec.method)))?;
        let path = Template::parse(&spec.path)?;
        if !spec.path.starts_with('/') {
            return Err(LoadError::Config(format!(
                "the request path '{}' must start with '/'",
                spec.path
            )));
        }
        let body = spec.body.as_deref().map(Template::parse).transpose()?;
        let mut headers = HeaderMap::new();
        headers.insert(HOST, target.host.clone());
        for (name, value) in &spec.headers {
            let n = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| LoadError::Config(format!("'{name}' is not a header name")))?;
            let v = HeaderValue::from_str(value.trim()).map_err(|_| {
                LoadError::Config(format!("the value of header '{name}' is not valid"))
            })?;
            headers.append(n, v);
        }
        let fixed_uri = match path.as_literal() {
            Some(p) => Some(make_uri(&target.base_path, p)?),
            None => None,
        };
        let fixed_body = body
            .as_ref()
            .and_then(Template::as_literal)
            .map(Bytes::copy_from_slice);
        let check = spec.expect_body.as_ref().map(|c| match c {
            BodyCheck::StartsWith(s) => (true, s.as_bytes().to_vec()),
            BodyCheck::Contains(s) => (false, s.as_bytes().to_vec()),
        });
        let kind = Self {
            method,
            path,
            fixed_uri,
            body,
            fixed_body,
            headers,
            expect_status: spec.expect_status.clone(),
            check,
            weight: spec.weight,
        };
        // Expanded paths only ever differ by ids and digits: one that parses
        // means all do.
        let mut ex = Expander::new(Some(SAMPLE_IDS), 1, 0, 1);
        let mut buf = Vec::new();
        kind.uri(&target.base_path, &mut ex, &mut buf)?;
        Ok(kind)
    }

    pub fn needs_ids(&self) -> bool {
        self.path.needs_ids() || self.body.as_ref().is_some_and(Template::needs_ids)
    }

    fn uri(&self, base: &str, ex: &mut Expander, buf: &mut Vec<u8>) -> Result<Uri, LoadError> {
        if let Some(u) = &self.fixed_uri {
            return Ok(u.clone());
        }
        buf.clear();
        self.path.expand_into(ex, buf);
        make_uri(base, buf)
    }

    fn request(
        &self,
        base: &str,
        ex: &mut Expander,
        buf: &mut Vec<u8>,
    ) -> Result<Request<Full<Bytes>>, LoadError> {
        let uri = self.uri(base, ex, buf)?;
        let body = match (&self.fixed_body, &self.body) {
            (Some(b), _) => b.clone(),
            (None, Some(t)) => {
                buf.clear();
                t.expand_into(ex, buf);
                Bytes::copy_from_slice(buf)
            }
            (None, None) => Bytes::new(),
        };
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = uri;
        *req.headers_mut() = self.headers.clone();
        Ok(req)
    }

    fn status_ok(&self, status: u16) -> bool {
        if self.expect_status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.expect_status.contains(&status)
        }
    }
}

const SAMPLE_IDS: IdSpace = IdSpace {
    seed: 0,
    authors: 1,
    books: 1,
};

fn make_uri(base: &str, path: &[u8]) -> Result<Uri, LoadError> {
    let mut full = Vec::with_capacity(base.len() + path.len());
    full.extend_from_slice(base.as_bytes());
    full.extend_from_slice(path);
    Uri::from_maybe_shared(Bytes::from(full)).map_err(|e| {
        LoadError::Config(format!(
            "'{}{}' is not a valid request path: {e}",
            base,
            String::from_utf8_lossy(path)
        ))
    })
}

/// What every worker shares.
#[derive(Debug)]
pub(crate) struct Plan {
    pub target: Target,
    pub kinds: Vec<Kind>,
    pub connections: u32,
    pub threads: u32,
    /// Load before the measured window: what ends in it is not counted.
    pub warmup: Duration,
    pub duration: Duration,
    /// Seconds between two requests in an open-loop run (over all users:
    /// request number `i` is due at `i x interval`, sent by user `i mod
    /// connections`).
    pub interval_s: Option<f64>,
    pub timeout: Duration,
    pub cap: Option<u64>,
    pub claimed: AtomicU64,
    pub ids: Option<IdSpace>,
    pub rng_seed: u64,
    pub record_samples: bool,
    pub live: Vec<Live>,
}

/// Counters the main thread reads every second while workers run.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct Live {
    pub ok: AtomicU64,
    pub errors: AtomicU64,
}

/// One worker's counts and its own CPU time.
#[derive(Debug)]
pub(crate) struct WorkerResult {
    pub stats: Stats,
    pub wall: Duration,
    pub cpu: Duration,
}

/// Runs worker `w`'s users until the deadline (or until the request cap is
/// reached), then drops whatever is still in flight.
pub(crate) fn worker(
    plan: &Arc<Plan>,
    w: u32,
    barrier: &Barrier,
) -> Result<WorkerResult, LoadError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LoadError::Runtime)?;
    let local = LocalSet::new();
    let stats = Rc::new(RefCell::new(Stats::new(
        plan.interval_s.is_some(),
        plan.record_samples,
    )));
    let ex = Rc::new(RefCell::new(Expander::new(
        plan.ids,
        plan.rng_seed ^ u64::from(w).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        u64::from(w),
        u64::from(plan.threads),
    )));
    barrier.wait();
    let start = Instant::now();
    let record_from = start + plan.warmup;
    let deadline = record_from + plan.duration;
    // The worker's CPU time from the end of the warm-up.
    let cpu_start = Rc::new(Cell::new(cpu::thread_cpu()));
    rt.block_on(local.run_until(async {
        if !plan.warmup.is_zero() {
            let cpu_start = Rc::clone(&cpu_start);
            tokio::task::spawn_local(async move {
                tokio::time::sleep_until(record_from.into()).await;
                cpu_start.set(cpu::thread_cpu());
            });
        }
        let mut users = Vec::new();
        let mut watches = Vec::new();
        let mut k = w;
        while k < plan.connections {
            let watch = Rc::new(Watch::default());
            watches.push(Rc::clone(&watch));
            let user = User {
                plan: Arc::clone(plan),
                stats: Rc::clone(&stats),
                ex: Rc::clone(&ex),
                watch,
                live: w as usize,
                index: u64::from(k),
                start,
                record_from,
                buf: Vec::with_capacity(256),
            };
            users.push(tokio::task::spawn_local(user.run()));
            k += plan.threads;
        }
        tokio::task::spawn_local(sweep(watches, plan.timeout));
        let _ = tokio::time::timeout_at(deadline.into(), async {
            for u in users {
                let _ = u.await;
            }
        })
        .await;
    }));
    let wall = start.elapsed().saturating_sub(plan.warmup);
    let cpu = cpu::thread_cpu().saturating_sub(cpu_start.get());
    // Cancels the users and their connections: requests in flight are
    // dropped, and counted as sent but not finished.
    drop(local);
    drop(rt);
    let stats = Rc::try_unwrap(stats)
        .map_err(|_| LoadError::Config("a user outlived its worker".to_string()))?
        .into_inner();
    Ok(WorkerResult {
        stats,
        wall: wall.min(plan.duration),
        cpu,
    })
}

/// A user's request deadline. One sweeper per worker watches them all, so
/// that a request costs no timer of its own.
#[derive(Debug, Default)]
struct Watch {
    deadline: Cell<Option<Instant>>,
    expired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Watch {
    /// Runs `fut` until it finishes (`Some`) or its deadline passes
    /// (`None`).
    async fn run<F: Future>(&self, deadline: Instant, fut: F) -> Option<F::Output> {
        self.deadline.set(Some(deadline));
        self.expired.set(false);
        let mut fut = std::pin::pin!(fut);
        let out = std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(out));
            }
            if self.expired.get() {
                return Poll::Ready(None);
            }
            let mut slot = self.waker.borrow_mut();
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await;
        self.deadline.set(None);
        out
    }
}

/// Expires the requests past their deadline, checking every 1/20 of the
/// timeout (between 1 and 50 ms): timeouts are that precise.
async fn sweep(watches: Vec<Rc<Watch>>, timeout: Duration) {
    let every = (timeout / 20).clamp(Duration::from_millis(1), Duration::from_millis(50));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
        let now = Instant::now();
        for w in &watches {
            if w.deadline.get().is_some_and(|d| now >= d) && !w.expired.get() {
                w.expired.set(true);
                if let Some(waker) = w.waker.borrow_mut().take() {
                    waker.wake();
                }
            }
        }
    }
}

/// A keep-alive connection, closed when dropped. Its user's task drives it
/// (no task of its own): one task per user, no wake-ups between tasks.
struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    io: Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>,
    /// The connection future has finished: the connection is closed.
    ended: bool,
}

impl Conn {
    /// Lets the connection notice what happened while nobody drove it (a
    /// close by the server); true when it can take a request.
    async fn usable(&mut self) -> bool {
        let (io, ended) = (&mut self.io, &mut self.ended);
        std::future::poll_fn(|cx| {
            if !*ended && io.as_mut().poll(cx).is_ready() {
                *ended = true;
            }
            Poll::Ready(())
        })
        .await;
        !self.ended && !self.sender.is_closed()
    }

    /// Runs `fut` (a request on this connection) while driving the
    /// connection; `None` when the connection ended and `fut` still waits.
    async fn drive<F: Future>(
        io: &mut Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>,
        ended: &mut bool,
        fut: F,
    ) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(out));
            }
            if !*ended && io.as_mut().poll(cx).is_ready() {
                *ended = true;
                // The connection's end settles whatever it carried.
                if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                    return Poll::Ready(Some(out));
                }
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Conn, std::io::Error> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    let (sender, io) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    Ok(Conn {
        sender,
        io: Box::pin(io),
        ended: false,
    })
}

/// The preflight: one connection and one `HEAD` of the URL's path, so that
/// a URL with no HTTP server behind it fails with one clear line.
pub(crate) async fn preflight(target: &Target, timeout: Duration) -> Result<(), LoadError> {
    let addr = target.addr;
    let mut conn = connect(addr, timeout)
        .await
        .map_err(|cause| LoadError::Connect { addr, cause })?;
    let path = if target.base_path.is_empty() {
        "/"
    } else {
        target.base_path.as_str()
    };
    let mut req = Request::new(Full::new(Bytes::new()));
    *req.method_mut() = Method::HEAD;
    *req.uri_mut() = make_uri("", path.as_bytes())?;
    req.headers_mut().insert(HOST, target.host.clone());
    let sent = conn.sender.send_request(req);
    let answer =
        tokio::time::timeout(timeout, Conn::drive(&mut conn.io, &mut conn.ended, sent)).await;
    match answer {
        Err(_) => Err(LoadError::NoResponse { addr, timeout }),
        Ok(None) => Err(LoadError::NotHttp {
            addr,
            detail: "the connection closed without a response".to_string(),
        }),
        Ok(Some(Err(e))) => Err(LoadError::NotHttp {
            addr,
            detail: bookbench_errors::chain(&e),
        }),
        Ok(Some(Ok(_))) => Ok(()),
    }
}

/// One virtual user.
struct User {
    plan: Arc<Plan>,
    stats: Rc<RefCell<Stats>>,
    ex: Rc<RefCell<Expander>>,
    watch: Rc<Watch>,
    live: usize,
    /// The user's number in the run (0-based), which places its requests
    /// on the open-loop schedule.
    index: u64,
    start: Instant,
    /// The end of the warm-up: what ends before it is not counted.
    record_from: Instant,
    buf: Vec<u8>,
}

/// How a request ended.
enum Outcome {
    Response {
        status: u16,
        verdict: Verdict,
        bytes: u64,
    },
    Failed(ErrorKind),
}

impl User {
    async fn run(mut self) {
        let plan = Arc::clone(&self.plan);
        let mut conn: Option<Conn> = None;
        // When this user was last free to send: the end of its previous
        // request, or of its last reconnection.
        let mut free_since = self.start;
        let mut n: u64 = 0;
        loop {
            let due = match plan.interval_s {
                Some(interval) => {
                    let slot = self.index + n * u64::from(plan.connections);
                    let due = self.start + Duration::from_secs_f64(slot as f64 * interval);
                    if due >= self.record_from + plan.duration {
                        return;
                    }
                    Some(due)
                }
                None => None,
            };
            if let Some(due) = due
                && due > Instant::now()
            {
                tokio::time::sleep_until(due.into()).await;
            }
            // A live connection (after a failure, this waits for the server
            // to come back, counting each refused attempt).
            let ready = match conn.as_mut() {
                Some(c) => c.usable().await,
                None => false,
            };
            if !ready {
                conn = None;
                match connect(plan.target.addr, plan.timeout).await {
                    Ok(c) => {
                        if Instant::now() >= self.record_from {
                            self.stats.borrow_mut().connects += 1;
                        }
                        conn = Some(c);
                        free_since = Instant::now();
                    }
                    Err(_) => {
                        self.count_error(ErrorKind::Connect);
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                        continue;
                    }
                }
            }
            if let Some(cap) = plan.cap
                && plan.claimed.fetch_add(1, Ordering::Relaxed) >= cap
            {
                return;
            }
            let Some(c) = conn.as_mut() else { continue };
            let kind = pick(&plan.kinds, &self.ex);
            let req = {
                let mut ex = self.ex.borrow_mut();
                kind.request(&plan.target.base_path, &mut ex, &mut self.buf)
            };
            let Ok(req) = req else {
                // Unreachable: compile() expanded the template once.
                self.count_error(ErrorKind::Read);
                continue;
            };
            let sent = Instant::now();
            // A request of the warm-up that ends in the window counts as
            // sent in it, when it ends.
            let counted = sent >= self.record_from;
            if counted {
                self.stats.borrow_mut().sent += 1;
            }
            let exchange = exchange(&mut c.sender, kind, req);
            let driven = Conn::drive(&mut c.io, &mut c.ended, exchange);
            let outcome = match self.watch.run(sent + plan.timeout, driven).await {
                Some(Some(o)) => o,
                Some(None) => Outcome::Failed(ErrorKind::Read),
                None => Outcome::Failed(ErrorKind::Timeout),
            };
            let done = Instant::now();
            n += 1;
            if done < self.record_from {
                if matches!(outcome, Outcome::Failed(_)) {
                    conn = None;
                }
                free_since = done;
                continue;
            }
            if !counted {
                self.stats.borrow_mut().sent += 1;
            }
            match outcome {
                Outcome::Response {
                    status,
                    verdict,
                    bytes,
                } => {
                    // Open loop: when the user was still busy with an
                    // earlier request at the due time, the server held this
                    // one up, and its latency counts from when it was due
                    // (coordinated omission). Otherwise from when it went
                    // out, so the client's timer adds nothing.
                    let from = match due {
                        Some(due) if free_since > due => due,
                        _ => sent,
                    };
                    let corrected = micros(done - from);
                    let uncorrected = micros(done - sent);
                    let mut s = self.stats.borrow_mut();
                    if due.is_some_and(|d| sent.saturating_duration_since(d) > LATE_AFTER) {
                        s.late += 1;
                    }
                    s.bytes += bytes;
                    s.response(corrected, uncorrected, status, verdict);
                    let live = &plan.live[self.live];
                    live.ok.store(s.ok, Ordering::Relaxed);
                    live.errors.store(s.error_count(), Ordering::Relaxed);
                }
                Outcome::Failed(kind) => {
                    {
                        let mut s = self.stats.borrow_mut();
                        s.finished += 1;
                        if due.is_some_and(|d| sent.saturating_duration_since(d) > LATE_AFTER) {
                            s.late += 1;
                        }
                    }
                    self.count_error(kind);
                    // The connection's state is unknown: start afresh.
                    conn = None;
                }
            }
            free_since = done;
        }
    }

    fn count_error(&self, kind: ErrorKind) {
        if Instant::now() < self.record_from {
            return;
        }
        let mut s = self.stats.borrow_mut();
        s.error(kind);
        self.plan.live[self.live]
            .errors
            .store(s.error_count(), Ordering::Relaxed);
    }
}

/// Chooses a request kind at random by weight.
fn pick<'a>(kinds: &'a [Kind], ex: &RefCell<Expander>) -> &'a Kind {
    if kinds.len() == 1 {
        return &kinds[0];
    }
    let total: u32 = kinds.iter().map(|k| k.weight).sum();
    let mut r = ex.borrow_mut().rng().u32(..total.max(1));
    for k in kinds {
        if r < k.weight {
            return k;
        }
        r -= k.weight;
    }
    &kinds[0]
}

/// Sends one request and reads the whole response, checking it.
async fn exchange(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    kind: &Kind,
    req: Request<Full<Bytes>>,
) -> Outcome {
    let resp = match sender.send_request(req).await {
        Ok(r) => r,
        Err(_) => return Outcome::Failed(ErrorKind::Read),
    };
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    let mut bytes = 0u64;
    // The check's state: for a prefix, the bytes seen so far (up to the
    // prefix's length); for a substring, the whole body.
    let mut seen: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(_) => return Outcome::Failed(ErrorKind::Read),
        };
        if let Ok(data) = frame.into_data() {
            bytes += data.len() as u64;
            if let Some((prefix, want)) = &kind.check {
                let room = if *prefix {
                    want.len().saturating_sub(seen.len())
                } else {
                    data.len()
                };
                seen.extend_from_slice(&data[..room.min(data.len())]);
            }
        }
    }
    let verdict = if !kind.status_ok(status) {
        Verdict::Status
    } else {
        match &kind.check {
            Some((true, want)) if !seen.starts_with(want) => Verdict::Body,
            Some((false, want)) if !contains(&seen, want) => Verdict::Body,
            _ => Verdict::Ok,
        }
    };
    Outcome::Response {
        status,
        verdict,
        bytes,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
