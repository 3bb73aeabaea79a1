//! The engine: worker threads, each a current-thread runtime running one task
//! per virtual user, each user on its own keep-alive connection, which its
//! task reads and writes itself (see [`crate::wire`] for the protocol).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HOST;
use http::{Method, Request};
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::LocalSet;

use crate::LoadError;
use crate::cpu;
use crate::kind::{Kind, Scratch, Target, make_uri};
use crate::stats::{ErrorKind, Stats, Verdict};
use crate::template::{Expander, IdSpace};
use crate::wire::{HEAD_LIMIT, Response};

/// A request that went out more than this after it was due counts as late.
/// Above the timer's granularity (1 ms), so a punctual client counts none.
pub const LATE_AFTER: Duration = Duration::from_millis(2);

/// How long a user waits before connecting again after a failed attempt.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

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
    /// Windows on kept connections ([`crate::Session`]); `None` for a run.
    pub gate: Option<Gate>,
}

/// The windows of a [`crate::Session`]: the coordinator opens each by
/// setting its size and then `claims` to its number with no request claimed,
/// and announces it on `window`. One atomic holds both the window and its
/// claims, so that a user can never claim a request of one window believing
/// it of another.
#[derive(Debug)]
pub(crate) struct Gate {
    pub window: tokio::sync::watch::Receiver<u64>,
    pub size: AtomicU64,
    /// The window's number above `CLAIM_BITS`, its requests claimed below.
    pub claims: AtomicU64,
    pub answered: AtomicU64,
    /// Told when the window's last request is answered.
    pub done: std::sync::mpsc::Sender<()>,
}

/// Bits of [`Gate::claims`] that count a window's claimed requests.
pub(crate) const CLAIM_BITS: u32 = 40;

/// The window number that ends a session.
pub(crate) const STOP: u64 = (1 << (64 - CLAIM_BITS)) - 1;

impl Gate {
    /// Claims a request of the current window: `Ok` with the window, or
    /// `Err` with it when all of its requests are claimed.
    fn claim(&self) -> Result<u64, u64> {
        let v = self.claims.fetch_add(1, Ordering::AcqRel);
        let (window, n) = (v >> CLAIM_BITS, v & ((1 << CLAIM_BITS) - 1));
        if n < self.size.load(Ordering::Acquire) {
            Ok(window)
        } else {
            Err(window)
        }
    }

    /// Counts one answer (or failure) of the current window.
    fn answer(&self) {
        let n = self.answered.fetch_add(1, Ordering::AcqRel) + 1;
        if n == self.size.load(Ordering::Acquire) {
            let _ = self.done.send(());
        }
    }
}

impl Plan {
    /// Worker `w`'s expander, as it starts: its own stream of values.
    fn expander(&self, w: u32) -> Expander {
        Expander::new(
            self.ids,
            self.rng_seed ^ u64::from(w).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            u64::from(w),
            u64::from(self.threads),
        )
    }
}

/// Counters the main thread reads every second while workers run.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct Live {
    pub ok: AtomicU64,
    pub errors: AtomicU64,
    /// Body bytes received and connections opened (for a session's
    /// windows).
    pub bytes: AtomicU64,
    pub connects: AtomicU64,
}

/// One worker's counts and its own CPU time.
#[derive(Debug)]
pub(crate) struct WorkerResult {
    pub stats: Stats,
    pub wall: Duration,
    pub cpu: Duration,
    /// How long the oldest request still in flight at the end had waited.
    pub oldest_unfinished: Option<Duration>,
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
    let ex = Rc::new(RefCell::new(plan.expander(w)));
    // The window the worker's expander was last set for: every window of a
    // session draws the same requests.
    let ex_window = Rc::new(Cell::new(0_u64));
    barrier.wait();
    let start = Instant::now();
    let record_from = start + plan.warmup;
    let deadline = record_from + plan.duration;
    // The worker's CPU time from the end of the warm-up.
    let cpu_start = Rc::new(Cell::new(cpu::thread_cpu()));
    let watches = rt.block_on(local.run_until(async {
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
                ex_window: Rc::clone(&ex_window),
                worker: w,
                watch,
                live: w as usize,
                index: u64::from(k),
                start,
                record_from,
                scratch: Scratch::default(),
                response: Response::new(),
            };
            users.push(tokio::task::spawn_local(user.run()));
            k += plan.threads;
        }
        tokio::task::spawn_local(sweep(watches.clone(), plan.timeout));
        let _ = tokio::time::timeout_at(deadline.into(), async {
            for u in users {
                let _ = u.await;
            }
        })
        .await;
        watches
    }));
    let wall = start.elapsed().saturating_sub(plan.warmup);
    let oldest_unfinished = oldest_in_flight(&watches, plan.timeout);
    drop(watches);
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
        oldest_unfinished,
    })
}

/// How long the oldest of the requests in flight has waited: a request's
/// deadline is its sending plus the timeout.
fn oldest_in_flight(watches: &[Rc<Watch>], timeout: Duration) -> Option<Duration> {
    let now = Instant::now();
    watches
        .iter()
        .filter_map(|w| w.deadline.get())
        .map(|deadline| (now + timeout).saturating_duration_since(deadline))
        .max()
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
    /// An exchange that ends by `deadline`, or fails as timed out.
    async fn exchange_by(
        &self,
        deadline: Instant,
        exchange: impl Future<Output = Outcome>,
    ) -> Outcome {
        self.run(deadline, exchange)
            .await
            .unwrap_or(Outcome::Failed(ErrorKind::Timeout))
    }

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

/// The preflight's connection: hyper's, whose errors say what a server
/// that is not HTTP did. The hot path has its own (below).
pub(crate) async fn connect_hyper(
    addr: SocketAddr,
    timeout: Duration,
) -> Result<
    (
        http1::SendRequest<Full<Bytes>>,
        http1::Connection<TokioIo<TcpStream>, Full<Bytes>>,
    ),
    std::io::Error,
> {
    let stream = connect(addr, timeout).await?;
    http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, std::io::Error> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The preflight: one connection and one `HEAD` of the URL's path, so that
/// a URL with no HTTP server behind it fails with one clear line.
pub(crate) async fn preflight(target: &Target, timeout: Duration) -> Result<(), LoadError> {
    let addr = target.addr;
    let (mut sender, conn) = connect_hyper(addr, timeout)
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
    let sent = sender.send_request(req);
    let mut conn = std::pin::pin!(conn);
    let mut sent = std::pin::pin!(sent);
    let mut ended = false;
    let answer = tokio::time::timeout(
        timeout,
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = sent.as_mut().poll(cx) {
                return Poll::Ready(Some(out));
            }
            if !ended && conn.as_mut().poll(cx).is_ready() {
                ended = true;
                // The connection's end settles the request it carried.
                if let Poll::Ready(out) = sent.as_mut().poll(cx) {
                    return Poll::Ready(Some(out));
                }
                return Poll::Ready(None);
            }
            Poll::Pending
        }),
    )
    .await;
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

/// The first size of a user's read buffer: a response head and a small
/// body in one read. It grows (to twice [`HEAD_LIMIT`] at most) only for a
/// head that does not fit.
const READ_BUFFER: usize = 8 * 1024;

/// One keep-alive connection and what was read from it: a user's own
/// socket, driven by the user's task (no connection task, no channels).
struct Conn {
    stream: TcpStream,
    /// Received bytes not yet taken by the parser are `buf[..filled]`.
    buf: Vec<u8>,
    filled: usize,
    /// Whether it carried a response before.
    reused: bool,
    /// Whether any byte of the current request's response came.
    heard: bool,
}

/// How a connection that carried requests looks before the next one.
enum Idle {
    /// Nothing happened: it can take a request.
    Quiet,
    /// The server closed it (or reset it) while it was idle.
    Closed,
    /// The server sent bytes that answer no request.
    Unsolicited,
}

impl Conn {
    fn new(stream: TcpStream, buf: Vec<u8>) -> Self {
        Self {
            stream,
            buf,
            filled: 0,
            reused: false,
            heard: false,
        }
    }

    /// Whether its last request failed on a connection that had answered
    /// before, with not a byte of response: the server closed it while it
    /// was idle, and the request did not reach it.
    fn stale(&self) -> bool {
        self.reused && !self.heard
    }

    /// Whether the server did anything while no request was outstanding.
    /// Costs no system call when the socket had no event since the last
    /// read drained it.
    fn idle(&mut self) -> Idle {
        let Some(room) = self.buf.get_mut(self.filled..) else {
            return Idle::Unsolicited;
        };
        match self.stream.try_read(room) {
            Ok(0) => Idle::Closed,
            Ok(_) => Idle::Unsolicited,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Idle::Quiet,
            Err(_) => Idle::Closed,
        }
    }

    /// Writes `request` and reads its whole response into `response`.
    async fn exchange(&mut self, request: &[u8], kind: &Kind, response: &mut Response) -> Outcome {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        self.heard = false;
        if self.stream.write_all(request).await.is_err() {
            return Outcome::Failed(ErrorKind::Read);
        }
        response.reset(kind.head_request);
        loop {
            if self.filled == self.buf.len() {
                // Only a head can be left untaken this long (the parser
                // refuses one over HEAD_LIMIT), so this stays bounded.
                let grown = (self.buf.len() * 2).min(2 * HEAD_LIMIT);
                if grown <= self.buf.len() {
                    return Outcome::Failed(ErrorKind::Read);
                }
                self.buf.resize(grown, 0);
            }
            let Some(room) = self.buf.get_mut(self.filled..) else {
                return Outcome::Failed(ErrorKind::Read);
            };
            let n = match self.stream.read(room).await {
                Ok(n) => n,
                Err(_) => return Outcome::Failed(ErrorKind::Read),
            };
            if n == 0 {
                return match response.closed() {
                    Ok(()) => {
                        self.reused = true;
                        Outcome::Response {
                            verdict: kind.verdict(response),
                            keep_alive: false,
                        }
                    }
                    Err(_) => Outcome::Failed(ErrorKind::Read),
                };
            }
            self.heard = true;
            self.filled += n;
            let pending = self.buf.get(..self.filled).unwrap_or_default();
            let (taken, done) = match response.advance(pending, kind.check.as_ref()) {
                Ok(progress) => progress,
                Err(_) => return Outcome::Failed(ErrorKind::Read),
            };
            if taken >= self.filled {
                self.filled = 0;
            } else if taken > 0 {
                self.buf.copy_within(taken..self.filled, 0);
                self.filled -= taken;
            }
            if done {
                // More than the response framed: a body longer than its
                // length, or a second response to one request.
                if self.filled > 0 {
                    return Outcome::Failed(ErrorKind::Read);
                }
                self.reused = true;
                return Outcome::Response {
                    verdict: kind.verdict(response),
                    keep_alive: response.keep_alive,
                };
            }
        }
    }

    /// Gives the read buffer back for the next connection.
    fn into_buffer(self) -> Vec<u8> {
        self.buf
    }
}

/// One virtual user.
struct User {
    plan: Arc<Plan>,
    stats: Rc<RefCell<Stats>>,
    ex: Rc<RefCell<Expander>>,
    /// The session's window `ex` was last set for (shared by the worker's
    /// users).
    ex_window: Rc<Cell<u64>>,
    /// The user's worker thread.
    worker: u32,
    watch: Rc<Watch>,
    live: usize,
    /// The user's number in the run (0-based), which places its requests
    /// on the open-loop schedule.
    index: u64,
    start: Instant,
    /// The end of the warm-up: what ends before it is not counted.
    record_from: Instant,
    scratch: Scratch,
    response: Response,
}

/// How a request ended.
enum Outcome {
    /// A complete response (see the user's `response` for what it held).
    Response {
        verdict: Verdict,
        keep_alive: bool,
    },
    Failed(ErrorKind),
}

impl User {
    async fn run(mut self) {
        let plan = Arc::clone(&self.plan);
        let mut conn: Option<Conn> = None;
        // The read buffer outlives connections: a reconnection allocates
        // nothing.
        let mut spare = vec![0u8; READ_BUFFER];
        // When this user was last free to send: the end of its previous
        // request, or of its last reconnection.
        let mut free_since = self.start;
        // The clock, as last read. Between two requests the user only does
        // its own bookkeeping, so the end of one request is the start of
        // the next: one clock read per request in a closed loop.
        let mut now = Instant::now();
        let mut n: u64 = 0;
        let mut window = plan.gate.as_ref().map(|g| g.window.clone());
        // A session's request claimed and not yet answered: kept while the
        // user connects.
        let mut holding = false;
        loop {
            if let (Some(gate), Some(window), false) = (&plan.gate, window.as_mut(), holding) {
                if !self.claim_in_session(gate, window).await {
                    return;
                }
                holding = true;
                now = Instant::now();
            }
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
                && due > now
            {
                tokio::time::sleep_until(due.into()).await;
                now = Instant::now();
            }
            // A quiet connection, or a new one (after a failure, this waits
            // for the server to come back, counting each refused attempt).
            if let Some(c) = conn.as_mut() {
                match c.idle() {
                    Idle::Quiet => {}
                    Idle::Closed => {
                        if let Some(c) = conn.take() {
                            spare = c.into_buffer();
                        }
                    }
                    Idle::Unsolicited => {
                        self.count_error(ErrorKind::Read);
                        if let Some(c) = conn.take() {
                            spare = c.into_buffer();
                        }
                    }
                }
            }
            if conn.is_none() {
                match connect(plan.target.addr, plan.timeout).await {
                    Ok(stream) => {
                        now = Instant::now();
                        if now >= self.record_from {
                            count_connect(&self.stats, &plan.live[self.live]);
                        }
                        conn = Some(Conn::new(stream, std::mem::take(&mut spare)));
                        free_since = now;
                    }
                    Err(_) => {
                        self.count_error(ErrorKind::Connect);
                        // A session's window must end: the claimed request
                        // failed.
                        if let Some(gate) = &plan.gate {
                            gate.answer();
                            holding = false;
                        }
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                        now = Instant::now();
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
            let request = {
                let mut ex = self.ex.borrow_mut();
                kind.render(&mut ex, &mut self.scratch)
            };
            let sent = now;
            // A request of the warm-up that ends in the window counts as
            // sent in it, when it ends.
            let counted = sent >= self.record_from;
            if counted {
                self.stats.borrow_mut().sent += 1;
            }
            let exchange = c.exchange(request, kind, &mut self.response);
            let mut outcome = self.watch.exchange_by(sent + plan.timeout, exchange).await;
            // A session's connection waits between windows, and a server
            // may close it then (a keep-alive timeout) as the next request
            // goes out. That request never reached it: it goes again, once,
            // on a new connection, so that a window's requests all count.
            if plan.gate.is_some()
                && matches!(outcome, Outcome::Failed(ErrorKind::Read))
                && conn.as_ref().is_some_and(Conn::stale)
            {
                if let Some(c) = conn.take() {
                    spare = c.into_buffer();
                }
                if let Ok(stream) = connect(plan.target.addr, plan.timeout).await {
                    if Instant::now() >= self.record_from {
                        count_connect(&self.stats, &plan.live[self.live]);
                    }
                    let c = conn.insert(Conn::new(stream, std::mem::take(&mut spare)));
                    let exchange = c.exchange(request, kind, &mut self.response);
                    outcome = self
                        .watch
                        .exchange_by(Instant::now() + plan.timeout, exchange)
                        .await;
                }
            }
            let done = Instant::now();
            now = done;
            n += 1;
            let keep = matches!(
                outcome,
                Outcome::Response {
                    keep_alive: true,
                    ..
                }
            );
            if !keep && let Some(c) = conn.take() {
                spare = c.into_buffer();
            }
            if done < self.record_from {
                free_since = done;
                continue;
            }
            if !counted {
                self.stats.borrow_mut().sent += 1;
            }
            let late = due.is_some_and(|d| sent.saturating_duration_since(d) > LATE_AFTER);
            match outcome {
                Outcome::Response { verdict, .. } => {
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
                    if late {
                        s.late += 1;
                    }
                    s.bytes += self.response.body_bytes;
                    s.response(corrected, uncorrected, self.response.status, verdict);
                    let live = &plan.live[self.live];
                    live.ok.store(s.ok, Ordering::Relaxed);
                    live.errors.store(s.error_count(), Ordering::Relaxed);
                    live.bytes.store(s.bytes, Ordering::Relaxed);
                }
                Outcome::Failed(kind) => {
                    {
                        let mut s = self.stats.borrow_mut();
                        s.finished += 1;
                        if late {
                            s.late += 1;
                        }
                    }
                    self.count_error(kind);
                }
            }
            free_since = done;
            // Last, once the counts the session reads are stored.
            if let Some(gate) = &plan.gate {
                gate.answer();
                holding = false;
            }
        }
    }

    /// Claims a request of the session's current window, waiting for the
    /// next window while this one's are all claimed: `false` once the
    /// session ends. The first claim of a window on this worker starts its
    /// expander again, so that every window sends the same requests.
    async fn claim_in_session(
        &self,
        gate: &Gate,
        window: &mut tokio::sync::watch::Receiver<u64>,
    ) -> bool {
        loop {
            match gate.claim() {
                Ok(current) => {
                    if self.ex_window.get() != current {
                        *self.ex.borrow_mut() = self.plan.expander(self.worker);
                        self.ex_window.set(current);
                    }
                    return true;
                }
                Err(current) => {
                    let next = window.wait_for(|&w| w > current).await.map(|w| *w);
                    if !matches!(next, Ok(w) if w < STOP) {
                        return false;
                    }
                }
            }
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

/// Counts a connection opened (after the warm-up).
fn count_connect(stats: &RefCell<Stats>, live: &Live) {
    let mut s = stats.borrow_mut();
    s.connects += 1;
    live.connects.store(s.connects, Ordering::Relaxed);
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

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
