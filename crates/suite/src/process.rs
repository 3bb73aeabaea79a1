//! Running a target: in its own process group, so that stopping it stops
//! everything it started (gunicorn's workers, a reloader's child), and never
//! leaving one behind: a Ctrl-C or SIGTERM to the suite stops every running
//! target before the suite exits.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::Error;

/// Process groups of the targets that run now.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// Whether the user asked the suite to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// On SIGINT or SIGTERM: stop every running target, and let the suite write
/// what it has. Installed once, before the first target starts.
pub fn install_interrupt_handler() {
    HANDLER.call_once(|| {
        std::thread::spawn(|| {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use tokio::signal::unix::{SignalKind, signal};
                let (Ok(mut int), Ok(mut term)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                ) else {
                    return;
                };
                loop {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                    INTERRUPTED.store(true, Ordering::SeqCst);
                    let groups = RUNNING.lock().map(|g| g.clone()).unwrap_or_default();
                    for pgid in groups {
                        let _ = killpg(Pid::from_raw(pgid), Signal::SIGTERM);
                    }
                }
            });
        });
    });
}

/// A started target.
#[derive(Debug)]
pub struct Running {
    child: Child,
    pgid: i32,
}

impl Running {
    /// Starts `command` with `env`, in a process group of its own, its output
    /// appended to `log`.
    pub fn start(command: &[String], env: &[(String, String)], log: &Path) -> Result<Self, Error> {
        use std::os::unix::process::CommandExt as _;
        let (program, args) = command
            .split_first()
            .ok_or_else(|| Error::Target("empty command".to_string()))?;
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Error::Io(format!("{}: {e}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::Io(format!("{}: {e}", log.display())))?;
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| Error::Target(format!("cannot start {program}: {e}")))?;
        let pgid = i32::try_from(child.id()).unwrap_or(i32::MAX);
        if let Ok(mut g) = RUNNING.lock() {
            g.push(pgid);
        }
        Ok(Self { child, pgid })
    }

    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// `Some(status)` if the target has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    /// Polls `url` until it answers 200, the target dies or `timeout` passes.
    pub async fn wait_ready(&mut self, url: &str, timeout: Duration) -> Result<(), Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| Error::Target(e.to_string()))?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Err(Error::Target(format!(
                    "it exited before it was ready ({status})"
                )));
            }
            if interrupted() {
                return Err(Error::Interrupted);
            }
            if let Ok(r) = client.get(url).send().await
                && r.status() == reqwest::StatusCode::OK
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Target(format!(
                    "{url} did not answer 200 within {} s",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM to the whole group, SIGKILL after 10 s, and wait until no
    /// process of the group is left.
    pub fn stop(mut self) {
        let group = Pid::from_raw(self.pgid);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while group_alive(self.pgid) && Instant::now() < deadline {
            let _ = self.child.try_wait();
            std::thread::sleep(Duration::from_millis(50));
        }
        if group_alive(self.pgid) {
            let _ = killpg(group, Signal::SIGKILL);
        }
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_alive(self.pgid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Ok(mut g) = RUNNING.lock() {
            g.retain(|&p| p != self.pgid);
        }
    }
}

/// The live (not zombie) processes of a process group, with their CPU time
/// in clock ticks: (pid, utime + stime).
pub fn group_processes(pgid: i32) -> Vec<(i32, u64)> {
    crate::cpu::processes()
        .into_iter()
        .filter(|p| p.pgrp == pgid && p.state != 'Z')
        .map(|p| (p.pid, p.ticks))
        .collect()
}

pub fn group_alive(pgid: i32) -> bool {
    !group_processes(pgid).is_empty()
}
