//! Windows of requests on kept connections: what `bookbench cost` counts.
//!
//! A run opens its connections when it starts and closes them when it ends,
//! so each run's requests pay for setting up as many connections as it has
//! users. A session keeps them open from one window to the next, as a timed
//! run keeps them for its whole duration: a window counts requests, not
//! connections (a server that closes a connection after a response still
//! makes each request open one). Each worker's values start again from the
//! seed every window: with one worker thread, every window sends the same
//! requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use crate::coordinator::{plan, spawn_workers};
use crate::engine::{CLAIM_BITS, Gate, Plan, STOP, WorkerResult};
use crate::{LoadConfig, LoadError};

/// What one window of a session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Requests answered or failed: the window's size.
    pub requests: u64,
    /// Of them, answered as the scenario expects.
    pub ok: u64,
    /// Body bytes received.
    pub bytes_read: u64,
    /// Connections opened: none on kept connections, one a request where
    /// the server closes each, and more where it closed kept ones while
    /// they waited between windows.
    pub connects: u64,
}

/// A closed-loop load whose requests are sent a window at a time, on
/// connections kept open between windows.
#[derive(Debug)]
pub struct Session {
    plan: Arc<Plan>,
    window: tokio::sync::watch::Sender<u64>,
    done: mpsc::Receiver<()>,
    ended: mpsc::Receiver<()>,
    workers: Vec<std::thread::JoinHandle<Result<WorkerResult, LoadError>>>,
    next: u64,
}

impl Session {
    /// Checks `config` (its setup requests already sent: [`crate::prepare`]),
    /// sends the preflight unless it is off, and starts the workers, which
    /// wait for the first window. It has no warm-up, no rate and no cap; it
    /// lasts until dropped, a day at most.
    pub fn start(config: &LoadConfig) -> Result<Self, LoadError> {
        if !config.setup.is_empty() {
            return Err(LoadError::Config(
                "a session's setup requests must be sent first (bookbench_load::prepare)".into(),
            ));
        }
        if config.rate.is_some() {
            return Err(LoadError::Config(
                "a session sends its windows in a closed loop: no rate".into(),
            ));
        }
        let (window, receiver) = tokio::sync::watch::channel(0);
        let (done_tx, done) = mpsc::channel();
        let gate = Gate {
            window: receiver,
            size: AtomicU64::new(0),
            claims: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            done: done_tx,
        };
        let mut config = config.clone();
        config.warmup = std::time::Duration::ZERO;
        config.max_requests = None;
        config.duration = crate::MAX_DURATION;
        let plan = plan(&config, Some(gate))?;
        let (ended_tx, ended) = mpsc::channel();
        let (workers, barrier) = spawn_workers(&plan, &ended_tx)?;
        barrier.wait();
        Ok(Self {
            plan,
            window,
            done,
            ended,
            workers,
            next: 1,
        })
    }

    /// Sends `requests` requests (the same ones every window) and returns
    /// once every one is answered or has failed.
    pub fn window(&mut self, requests: u64) -> Result<Window, LoadError> {
        if requests == 0 {
            return Err(LoadError::Config("a window needs requests".into()));
        }
        if self.next >= STOP {
            return Err(LoadError::Config("a session's windows ran out".into()));
        }
        let Some(gate) = self.plan.gate.as_ref() else {
            return Err(LoadError::Config("a session without its gate".into()));
        };
        let before = self.counts();
        gate.size.store(requests, Ordering::Release);
        gate.answered.store(0, Ordering::Release);
        gate.claims
            .store(self.next << CLAIM_BITS, Ordering::Release);
        self.window.send_replace(self.next);
        self.next += 1;
        // Every request ends, answered or timed out, so the window does; a
        // worker that ends first has failed.
        loop {
            match self
                .done
                .recv_timeout(std::time::Duration::from_millis(100))
            {
                Ok(()) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if self.ended.try_recv().is_ok() {
                        return Err(LoadError::Config(
                            "a worker of the load generator ended during a window".into(),
                        ));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(LoadError::Config(
                        "the load generator's workers are gone".into(),
                    ));
                }
            }
        }
        let after = self.counts();
        Ok(Window {
            requests,
            ok: after.0.saturating_sub(before.0),
            bytes_read: after.1.saturating_sub(before.1),
            connects: after.2.saturating_sub(before.2),
        })
    }

    /// Answered requests, body bytes and connections so far, over all
    /// workers.
    fn counts(&self) -> (u64, u64, u64) {
        self.plan
            .live
            .iter()
            .fold((0, 0, 0), |(ok, bytes, connects), l| {
                (
                    ok + l.ok.load(Ordering::Acquire),
                    bytes + l.bytes.load(Ordering::Acquire),
                    connects + l.connects.load(Ordering::Acquire),
                )
            })
    }
}

impl Drop for Session {
    /// Ends the workers (their connections close with them) and waits for
    /// them.
    fn drop(&mut self) {
        self.window.send_replace(STOP);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
