//! Would an io_uring engine pay? The same minimal closed loop (a fixed
//! `GET /`, keep-alive, responses framed by `Content-Length`, one latency
//! sample per response) over N connections, driven either by epoll or by
//! io_uring (one ring, every ready operation submitted in one call), so
//! that the two differ only in how they reach the kernel. It prints the
//! requests made and the process's CPU time per request.
//! `bench/io-probe.sh` runs it beside `bookbench load`, alternating.
//!
//! ```text
//! io-probe 127.0.0.1:8099 100 10 epoll|uring
//! ```
//!
//! A probe, not a load generator: it stops at the first error.

// io_uring's submissions and raw epoll are unsafe by nature; the engine
// itself has no unsafe code.
#![allow(unsafe_code)]

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd as _;
use std::time::{Duration, Instant};

use io_uring::{IoUring, opcode, types};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";
const BUFFER: usize = 8 * 1024;

type Result<T> = std::result::Result<T, String>;

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
    sent: Instant,
}

/// Whether the bytes received so far hold the whole response; if so they
/// are consumed.
fn complete(c: &mut Conn) -> Result<bool> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut r = httparse::Response::new(&mut headers);
    let have = c.buf.get(..c.filled).unwrap_or_default();
    match r.parse(have) {
        Ok(httparse::Status::Complete(head)) => {
            let length = r
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| {
                    std::str::from_utf8(h.value)
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
                .ok_or("a response without Content-Length")?;
            if c.filled >= head + length {
                c.filled = 0;
                Ok(true)
            } else {
                Ok(false)
            }
        }
        Ok(httparse::Status::Partial) => Ok(false),
        Err(e) => Err(format!("not HTTP: {e}")),
    }
}

struct Tally {
    requests: u64,
    latency: hdrhistogram::Histogram<u64>,
}

impl Tally {
    fn record(&mut self, sent: Instant, now: Instant) {
        self.requests += 1;
        let us = u64::try_from(now.duration_since(sent).as_micros()).unwrap_or(u64::MAX);
        let _ = self.latency.record(us.max(1));
    }
}

fn connect(addr: SocketAddr, n: usize) -> Result<Vec<Conn>> {
    (0..n)
        .map(|_| {
            let stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            Ok(Conn {
                stream,
                buf: vec![0; BUFFER],
                filled: 0,
                sent: Instant::now(),
            })
        })
        .collect()
}

fn errno() -> String {
    std::io::Error::last_os_error().to_string()
}

fn send(c: &mut Conn, now: Instant) -> Result<()> {
    // SAFETY: a valid descriptor and a static buffer of that length.
    let n = unsafe { libc::write(c.stream.as_raw_fd(), REQUEST.as_ptr().cast(), REQUEST.len()) };
    if n != REQUEST.len() as isize {
        return Err(format!("write: {}", errno()));
    }
    c.sent = now;
    Ok(())
}

/// epoll, edge-triggered, every socket registered once: per request one
/// `write` and one `read`, and an `epoll_wait` shared by the connections
/// ready together (what `bookbench load` does through tokio).
fn run_epoll(conns: &mut [Conn], deadline: Instant, tally: &mut Tally) -> Result<()> {
    // SAFETY: plain system calls on descriptors this function owns.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(format!("epoll_create1: {}", errno()));
    }
    let start = Instant::now();
    for (i, c) in conns.iter_mut().enumerate() {
        c.stream.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: i as u64,
        };
        // SAFETY: as above.
        if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, c.stream.as_raw_fd(), &mut ev) } < 0 {
            return Err(format!("epoll_ctl: {}", errno()));
        }
        send(c, start)?;
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; conns.len()];
    loop {
        // SAFETY: the buffer holds `events.len()` entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 100) };
        if n < 0 {
            return Err(format!("epoll_wait: {}", errno()));
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        for ev in events.iter().take(n as usize) {
            let Some(c) = conns.get_mut(ev.u64 as usize) else {
                continue;
            };
            let room = c.buf.len() - c.filled;
            // SAFETY: the buffer has `room` bytes free after `filled`.
            let got = unsafe {
                libc::read(
                    c.stream.as_raw_fd(),
                    c.buf.as_mut_ptr().add(c.filled).cast(),
                    room,
                )
            };
            if got == 0 {
                return Err("the server closed a connection".to_string());
            }
            if got < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock {
                    continue;
                }
                return Err(format!("read: {}", errno()));
            }
            c.filled += got as usize;
            if complete(c)? {
                tally.record(c.sent, now);
                send(c, now)?;
            }
        }
    }
    // SAFETY: closes the descriptor made above.
    unsafe { libc::close(ep) };
    Ok(())
}

/// io_uring: a `Send` and a `Recv` per request, as completions arrive;
/// one `io_uring_enter` submits every operation made ready by the last
/// batch and waits for the next (single issuer, deferred task work).
fn run_uring(conns: &mut [Conn], deadline: Instant, tally: &mut Tally) -> Result<()> {
    let entries = (2 * conns.len()).next_power_of_two().max(8) as u32;
    let mut ring: IoUring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(entries)
        .map_err(|e| format!("io_uring_setup: {e}"))?;
    const RECV: u64 = 1;
    let start = Instant::now();
    let send_entry = |i: usize, c: &Conn| {
        opcode::Send::new(
            types::Fd(c.stream.as_raw_fd()),
            REQUEST.as_ptr(),
            REQUEST.len() as u32,
        )
        .build()
        .user_data((i as u64) << 1)
    };
    let recv_entry = |i: usize, c: &mut Conn| {
        // SAFETY (of the pointer): the buffer lives in `conns`, which is
        // neither moved nor resized while operations are in flight.
        let room = c.buf.len() - c.filled;
        opcode::Recv::new(
            types::Fd(c.stream.as_raw_fd()),
            unsafe { c.buf.as_mut_ptr().add(c.filled) },
            room as u32,
        )
        .build()
        .user_data(((i as u64) << 1) | RECV)
    };
    for (i, c) in conns.iter_mut().enumerate() {
        c.sent = start;
        let e = send_entry(i, c);
        // SAFETY: the entry's buffers outlive the operation.
        unsafe { ring.submission().push(&e) }.map_err(|_| "the submission queue is full")?;
    }
    let mut done: Vec<(u64, i32)> = Vec::with_capacity(entries as usize);
    loop {
        ring.submit_and_wait(1)
            .map_err(|e| format!("io_uring_enter: {e}"))?;
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        done.clear();
        done.extend(ring.completion().map(|c| (c.user_data(), c.result())));
        for &(data, result) in &done {
            let i = (data >> 1) as usize;
            let Some(c) = conns.get_mut(i) else { continue };
            if result < 0 {
                return Err(format!(
                    "operation failed: {}",
                    std::io::Error::from_raw_os_error(-result)
                ));
            }
            let next = if data & RECV == 0 {
                if result as usize != REQUEST.len() {
                    return Err("a short send".to_string());
                }
                recv_entry(i, c)
            } else {
                if result == 0 {
                    return Err("the server closed a connection".to_string());
                }
                c.filled += result as usize;
                if complete(c)? {
                    tally.record(c.sent, now);
                    c.sent = now;
                    send_entry(i, c)
                } else {
                    recv_entry(i, c)
                }
            };
            // SAFETY: as above; at most one operation per connection is in
            // flight, so the queue (twice the connections) has room.
            unsafe { ring.submission().push(&next) }.map_err(|_| "the submission queue is full")?;
        }
    }
    Ok(())
}

fn cpu() -> (f64, f64) {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (s(u.ru_utime), s(u.ru_stime))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: io-probe ADDR CONNECTIONS SECONDS epoll|uring";
    let (Some(addr), Some(n), Some(secs), Some(mode)) = (
        args.get(1).and_then(|a| a.parse::<SocketAddr>().ok()),
        args.get(2).and_then(|a| a.parse::<usize>().ok()),
        args.get(3).and_then(|a| a.parse::<u64>().ok()),
        args.get(4),
    ) else {
        eprintln!("error: {usage}");
        std::process::exit(2);
    };
    let outcome = (|| -> Result<(Tally, Duration, (f64, f64))> {
        let mut conns = connect(addr, n)?;
        let mut tally = Tally {
            requests: 0,
            latency: hdrhistogram::Histogram::new_with_bounds(1, 90_000_000_000, 3)
                .map_err(|e| e.to_string())?,
        };
        let before = cpu();
        let start = Instant::now();
        let deadline = start + Duration::from_secs(secs);
        match mode.as_str() {
            "epoll" => run_epoll(&mut conns, deadline, &mut tally)?,
            "uring" => run_uring(&mut conns, deadline, &mut tally)?,
            other => return Err(format!("unknown mode '{other}'; {usage}")),
        }
        let after = cpu();
        Ok((
            tally,
            start.elapsed(),
            (after.0 - before.0, after.1 - before.1),
        ))
    })();
    match outcome {
        Ok((tally, wall, (user, sys))) => {
            let per = |t: f64| t * 1e6 / tally.requests.max(1) as f64;
            println!(
                "mode={mode} requests={} seconds={:.3} rps={:.0} user_us={:.2} sys_us={:.2} p50_us={}",
                tally.requests,
                wall.as_secs_f64(),
                tally.requests as f64 / wall.as_secs_f64(),
                per(user),
                per(sys),
                tally.latency.value_at_quantile(0.5)
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
