//! A TCP relay that puts a network's round trip between two parties on one
//! machine: whatever one side sends reaches the other half the round trip
//! later, in order, byte for byte.
//!
//! It stands in for `tc qdisc ... netem delay`, which kernels without the
//! `netem` qdisc do not have, between an app and its database: the app
//! connects to the relay, the relay to the database. Each direction of
//! each connection is a reader thread that stamps every chunk it reads with
//! its arrival time and a writer thread that sends it on when that time
//! plus the delay comes; so the delay does not grow with the traffic, and a
//! chunk is never held behind a later one. At a round trip of 0 the reader
//! writes on itself while nothing is queued: no second thread to wake,
//! which halves what the relay costs there (bench/relay-cost.sh). Threads rather than an async
//! runtime: a thread's sleep ends within tens of microseconds of its
//! deadline, where tokio's timer wheel rounds up to the millisecond, which
//! would turn a 0.5 ms round trip into 2 ms.
//!
//! ```no_run
//! use std::time::Duration;
//! let db: std::net::SocketAddr = "127.0.0.1:5432".parse()?;
//! let relay = bookbench_relay::Relay::start(db, Duration::from_millis(2))?;
//! // Point the app at relay.addr() instead of db: every statement now
//! // waits 2 ms longer for its answer.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The round trip can be changed while the relay runs
//! ([`Relay::set_round_trip`]): a chunk read after the change waits the new
//! delay, so a benchmark can sweep round trips without restarting the app
//! or its connection pool. Connections a relay carries end when either side
//! closes; dropping the relay stops it accepting new ones.

pub mod control;

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How much a reader takes from the socket at once.
const CHUNK: usize = 64 * 1024;

/// The most a writer wakes before a chunk is due, to make up for the time
/// the machine takes to run it once its timer fires. What is left until
/// due is spent polling the clock, on a core the app and the database
/// share: 0.2 ms made the relay cost half a core at 1,700 statements/s; at
/// 0.05 ms it writes about 35 us late on average (bench/relay-cost.sh).
const MAX_LEAD: Duration = Duration::from_micros(50);

/// A running relay.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    /// Half the round trip, in nanoseconds: the delay of each direction.
    delay_ns: Arc<AtomicU64>,
    stopping: Arc<AtomicBool>,
    counters: Arc<Counters>,
    acceptor: Option<JoinHandle<()>>,
}

/// What a relay has carried, in both directions together.
#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    bytes: AtomicU64,
    /// Chunks written, and how late after their due time in total.
    writes: AtomicU64,
    late_ns: AtomicU64,
}

impl Relay {
    /// Listens on a free port of 127.0.0.1 and relays every connection to
    /// `upstream` with `round_trip` added (half each way).
    pub fn start(upstream: SocketAddr, round_trip: Duration) -> io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), upstream, round_trip)
    }

    /// As [`Relay::start`], listening on `listen`.
    pub fn start_on(
        listen: SocketAddr,
        upstream: SocketAddr,
        round_trip: Duration,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let delay_ns = Arc::new(AtomicU64::new(half_in_ns(round_trip)));
        let acceptor = {
            let stopping = Arc::clone(&stopping);
            let counters = Arc::clone(&counters);
            let delay_ns = Arc::clone(&delay_ns);
            thread::Builder::new()
                .name("relay-accept".to_string())
                .spawn(move || accept(&listener, upstream, &delay_ns, &stopping, &counters))?
        };
        Ok(Self {
            addr,
            delay_ns,
            stopping,
            counters,
            acceptor: Some(acceptor),
        })
    }

    /// Where to connect instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The round trip it adds.
    pub fn round_trip(&self) -> Duration {
        Duration::from_nanos(self.delay_ns.load(Ordering::Relaxed).saturating_mul(2))
    }

    /// Adds `round_trip` from now on, to the connections it carries
    /// already as well as to new ones.
    pub fn set_round_trip(&self, round_trip: Duration) {
        self.delay_ns
            .store(half_in_ns(round_trip), Ordering::Relaxed);
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.counters.connections.load(Ordering::Relaxed)
    }

    /// Bytes forwarded so far, both directions.
    pub fn bytes(&self) -> u64 {
        self.counters.bytes.load(Ordering::Relaxed)
    }

    /// How late after its due time the relay wrote a chunk, on average:
    /// its own error, apart from how fast the parties answer.
    pub fn mean_lateness(&self) -> Duration {
        let writes = self.counters.writes.load(Ordering::Relaxed).max(1);
        Duration::from_nanos(self.counters.late_ns.load(Ordering::Relaxed) / writes)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the acceptor, which then sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn half_in_ns(round_trip: Duration) -> u64 {
    u64::try_from((round_trip / 2).as_nanos()).unwrap_or(u64::MAX)
}

fn accept(
    listener: &TcpListener,
    upstream: SocketAddr,
    delay_ns: &Arc<AtomicU64>,
    stopping: &AtomicBool,
    counters: &Arc<Counters>,
) {
    for client in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        counters.connections.fetch_add(1, Ordering::Relaxed);
        let counters = Arc::clone(counters);
        let delay_ns = Arc::clone(delay_ns);
        // A connection the upstream refuses is closed at once: the client
        // sees what it would have seen connecting directly, a closed
        // connection.
        let _ = thread::Builder::new()
            .name("relay-connect".to_string())
            .spawn(move || {
                if let Err(e) = relay_connection(client, upstream, &delay_ns, &counters) {
                    eprintln!("relay: a connection to {upstream} failed: {e}");
                }
            });
    }
}

fn relay_connection(
    client: TcpStream,
    upstream: SocketAddr,
    delay_ns: &Arc<AtomicU64>,
    counters: &Arc<Counters>,
) -> io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    for s in [&client, &server] {
        s.set_nodelay(true)?;
    }
    let pairs = [(client.try_clone()?, server.try_clone()?), (server, client)];
    for (from, to) in pairs {
        direction(from, to, Arc::clone(delay_ns), Arc::clone(counters))?;
    }
    Ok(())
}

/// One direction of one connection: a reader that stamps what it reads
/// with when it is due, and a writer that sends it then.
fn direction(
    from: TcpStream,
    to: TcpStream,
    delay_ns: Arc<AtomicU64>,
    counters: Arc<Counters>,
) -> io::Result<()> {
    // Chunks and the instant each is due; `None` is the end of the stream.
    let (tx, rx) = mpsc::channel::<Option<(Instant, Vec<u8>)>>();
    // When writing fails, the reader is stopped through its socket.
    let reader = from.try_clone()?;
    let direct = to.try_clone()?;
    let queued = Arc::new(AtomicU64::new(0));
    let counters_w = Arc::clone(&counters);
    let queued_w = Arc::clone(&queued);
    thread::Builder::new()
        .name("relay-write".to_string())
        .spawn(move || write_when_due(&rx, to, &reader, &queued_w, &counters_w))?;
    thread::Builder::new()
        .name("relay-read".to_string())
        .spawn(move || {
            let out = Out {
                tx: &tx,
                direct,
                queued: &queued,
            };
            read_and_stamp(from, &delay_ns, out, &counters);
        })?;
    Ok(())
}

/// Where a reader sends what it read.
struct Out<'a> {
    tx: &'a mpsc::Sender<Option<(Instant, Vec<u8>)>>,
    /// The other side, written to at once when there is no delay and
    /// nothing is queued: no second thread to wake, which halves the
    /// relay's cost at 0 ms.
    direct: TcpStream,
    /// Chunks sent to the writer that it has not written yet.
    queued: &'a AtomicU64,
}

fn read_and_stamp(
    mut from: TcpStream,
    delay_ns: &AtomicU64,
    mut out: Out<'_>,
    counters: &Counters,
) {
    let tx = out.tx;
    let mut buf = vec![0; CHUNK];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let delay = delay_ns.load(Ordering::Relaxed);
                // In order: only when the writer has written everything.
                if delay == 0 && out.queued.load(Ordering::Acquire) == 0 {
                    let Some(chunk) = buf.get(..n) else { break };
                    counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
                    if out.direct.write_all(chunk).is_err() {
                        let _ = from.shutdown(Shutdown::Both);
                        return;
                    }
                    counters.writes.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                // From when the reader woke up: on a busy machine some tens
                // of microseconds after the bytes arrived, which the delay
                // then adds to. (The kernel's receive timestamps,
                // SO_TIMESTAMPNS, were tried: on TCP over loopback they were
                // at times older than the bytes, which let chunks out early.)
                let due = Instant::now() + Duration::from_nanos(delay);
                let chunk = buf.get(..n).unwrap_or_default().to_vec();
                counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
                out.queued.fetch_add(1, Ordering::AcqRel);
                if tx.send(Some((due, chunk))).is_err() {
                    // The writer is gone: the other side failed.
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
    }
    let _ = tx.send(None);
}

fn write_when_due(
    rx: &mpsc::Receiver<Option<(Instant, Vec<u8>)>>,
    mut to: TcpStream,
    reader: &TcpStream,
    queued: &AtomicU64,
    counters: &Counters,
) {
    // The kernel lets a sleeping thread's timer fire up to its slack late
    // (50 us by default) to batch wake-ups; a relay's delay is its job.
    let _ = nix::sys::prctl::set_timerslack(1);
    // A sleep still ends late, by the time the machine takes to run the
    // thread once its timer fires (about 0.1 ms on a busy virtual machine):
    // the writer learns by how much, and sleeps that much less.
    let mut lead = Duration::ZERO;
    while let Ok(Some((due, chunk))) = rx.recv() {
        let wake_at = due.checked_sub(lead).unwrap_or(due);
        let now = Instant::now();
        if wake_at > now {
            thread::sleep(wake_at - now);
            let late = Instant::now().saturating_duration_since(wake_at);
            // An average over the last few sleeps, bounded, so that one
            // preempted wake-up does not make the writer spin for long.
            lead = ((lead * 3 + late) / 4).min(MAX_LEAD);
        }
        // Never early: what is left of the lead is spent polling the clock.
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        let late = Instant::now().saturating_duration_since(due);
        if to.write_all(&chunk).is_err() {
            let _ = reader.shutdown(Shutdown::Both);
            return;
        }
        queued.fetch_sub(1, Ordering::AcqRel);
        counters.writes.fetch_add(1, Ordering::Relaxed);
        counters.late_ns.fetch_add(
            u64::try_from(late.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
    let _ = to.shutdown(Shutdown::Write);
}
