//! Running a target: in its own process group, so that stopping it stops
//! everything it started (gunicorn's workers, a reloader's child), and never
//! leaving one behind:
//! - a Ctrl-C, SIGTERM or SIGHUP to the suite stops every running target
//!   before the suite exits;
//! - a [`Running`] that is dropped (an early return, a panic) stops its
//!   target's whole group;
//! - if bookbench itself dies, even by SIGKILL, a watchdog stops the group:
//!   a small shell that reads a pipe whose write end only bookbench holds.
//!   The kernel closes that pipe when bookbench exits for any reason. A
//!   parent-death signal would reach only the direct child, and only when
//!   the thread that forked it exits, not the process; the group needs both
//!   fixed.
//!
//! On a remote host (reached through ssh, [`crate::hosts::Reach::Remote`])
//! the group is the remote shell's, which sshd made a session leader: the
//! shell starts the target in the background and watches its own standard
//! input, the ssh channel, and when that ends (the group here was stopped,
//! or bookbench died and its watchdog stopped ssh) it stops the remote
//! group the same way, SIGTERM then SIGKILL.

use std::fs::File;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::Error;
use crate::cgroup::CpuQuota;
use crate::hosts::{Host, Reach};
use crate::placeholders::Placeholders;
use crate::targets::Target;

/// Process groups of the targets that run now.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// How long a target has to exit after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

/// Whether the user asked the suite to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// On SIGINT, SIGTERM or SIGHUP: stop every running target, and let the
/// suite write what it has. Installed once, before the first target starts.
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
                let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                    signal(SignalKind::hangup()),
                ) else {
                    return;
                };
                loop {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                        _ = hup.recv() => {}
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

/// Where a target's standard output and error go.
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// Appended to this file.
    Log(&'a Path),
    /// To bookbench's own (a target run in the foreground).
    Inherit,
}

/// A started target. Dropping it stops the target's whole process group.
#[derive(Debug)]
pub struct Running {
    child: Child,
    pgid: i32,
    watchdog: Option<Child>,
    stopped: bool,
    /// Dropped after the group is stopped: a cgroup is removed empty.
    quota: Option<CpuQuota>,
    /// On a remote host: the group there.
    remote: Option<Remote>,
    /// Where its output goes, when to a file.
    log: Option<std::path::PathBuf>,
}

/// A process group on a remote host.
#[derive(Debug)]
struct Remote {
    host: Host,
    pgid: i32,
    /// The remote shell's standard input: its end stops the group there.
    stdin: Option<ChildStdin>,
}

/// The remote shell around a command (its first argument): reads the
/// environment as `NAME=value` lines up to an empty one, says its process
/// group, starts the command, and stops the group when its standard input
/// ends. A background list's input is /dev/null unless redirected, hence
/// descriptor 3; the watcher writes nowhere, so that sshd ends the session
/// when the command exits.
const REMOTE_SHELL: &str = r#"exec 3<&0
while IFS= read -r l && [ -n "$l" ]; do export "$l"; done
echo "bookbench-pgid $$"
sh -c "$1" </dev/null &
t=$!
{ cat >/dev/null; kill -TERM 0; sleep 10; kill -KILL 0; } <&3 >/dev/null 2>&1 &
exec 3<&-
wait "$t""#;

impl Running {
    /// Starts a declared target: its command line pinned to its CPUs,
    /// under its CPU quota if it has one, with its environment, behind
    /// `prefix` (`ip netns exec NAME`: on a host of the lab; it execs, so
    /// the target keeps the process group, and its CPU time is read from
    /// /proc as for one on this machine).
    pub fn start_target(
        target: &Target,
        placeholders: &Placeholders,
        host: Option<&Host>,
        output: Output<'_>,
    ) -> Result<Self, Error> {
        let mut line = target.command_line(placeholders);
        let env = target.process_env(placeholders);
        if let Some(h) = host.filter(|h| h.reach() == Reach::Remote) {
            if target.cpu_quota.is_some() {
                return Err(Error::Unavailable(format!(
                    "it has a CPU quota, which needs this machine's cgroups, and runs on host '{}'",
                    h.name
                )));
            }
            return Self::start_remote(h, &line, &env, output);
        }
        let quota = match target.cpu_quota {
            Some(fraction) => Some(CpuQuota::create(&target.name, fraction, target.cpus.len())?),
            None => None,
        };
        if let Some(q) = &quota {
            line = q.wrap(&line);
        }
        if let Some(h) = host {
            line = h.line(&line);
        }
        let mut running = Self::start(&line, &env, output)?;
        running.quota = quota;
        Ok(running)
    }

    /// Starts `command` on `host` (any host: on this machine or a
    /// namespace of it, as [`Running::start`] behind its prefix).
    pub fn start_on(
        host: Option<&Host>,
        command: &[String],
        env: &[(String, String)],
        output: Output<'_>,
    ) -> Result<Self, Error> {
        match host {
            Some(h) if h.reach() == Reach::Remote => Self::start_remote(h, command, env, output),
            Some(h) => Self::start(&h.line(command), env, output),
            None => Self::start(command, env, output),
        }
    }

    /// Starts `command` on a remote host inside [`REMOTE_SHELL`], its
    /// environment written to the shell's input, and learns the remote
    /// group from the shell's first line; the rest of its output goes to
    /// `output`.
    fn start_remote(
        host: &Host,
        command: &[String],
        env: &[(String, String)],
        output: Output<'_>,
    ) -> Result<Self, Error> {
        use std::io::{BufRead as _, Write as _};
        let shell = vec![
            "sh".to_string(),
            "-c".to_string(),
            REMOTE_SHELL.to_string(),
            "sh".to_string(),
            crate::hosts::shell_line(command),
        ];
        let mut running = Self::spawn(&host.line(&shell), &[], output, true)?;
        let (Some(mut stdin), Some(stdout)) =
            (running.child.stdin.take(), running.child.stdout.take())
        else {
            return Err(Error::Target(
                "the remote shell's input or output was not piped".into(),
            ));
        };
        let lines: String = env
            .iter()
            .map(|(k, v)| format!("{k}={}\n", v.replace('\n', " ")))
            .chain(["\n".to_string()])
            .collect();
        stdin
            .write_all(lines.as_bytes())
            .map_err(|e| Error::io(format!("cannot reach host '{}'", host.name), e))?;
        let mut reader = std::io::BufReader::new(stdout);
        let mut first = String::new();
        let _ = reader.read_line(&mut first);
        let pgid = first
            .trim()
            .strip_prefix("bookbench-pgid ")
            .and_then(|n| n.parse::<i32>().ok())
            .ok_or_else(|| {
                Error::Host(format!(
                    "host '{}' did not start the command through `{}` (it said '{}')",
                    host.name,
                    host.via(),
                    first.trim()
                ))
            })?;
        // The command's own output, after the shell's line.
        let sink: Box<dyn std::io::Write + Send> = match output {
            Output::Log(log) => Box::new(
                File::options()
                    .create(true)
                    .append(true)
                    .open(log)
                    .map_err(|e| Error::io(format!("cannot open {}", log.display()), e))?,
            ),
            Output::Inherit => Box::new(std::io::stdout()),
        };
        std::thread::spawn(move || {
            let mut sink = sink;
            let _ = std::io::copy(&mut reader, &mut sink);
        });
        running.remote = Some(Remote {
            host: host.clone(),
            pgid,
            stdin: Some(stdin),
        });
        Ok(running)
    }

    /// Starts `command` with `env`, in a process group of its own, with the
    /// soft limit on open files raised to the hard limit (a target measured
    /// at 3,000 connections must not stop at a shell's default of 1,024).
    pub fn start(
        command: &[String],
        env: &[(String, String)],
        output: Output<'_>,
    ) -> Result<Self, Error> {
        Self::spawn(command, env, output, false)
    }

    /// As [`Running::start`], with its standard input and output piped to
    /// bookbench (its errors still go to `log`): a process steered by
    /// lines, such as the latency relay.
    pub fn start_piped(
        command: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> Result<(Self, ChildStdin, ChildStdout), Error> {
        let mut running = Self::spawn(command, env, Output::Log(log), true)?;
        match (running.child.stdin.take(), running.child.stdout.take()) {
            (Some(input), Some(output)) => Ok((running, input, output)),
            _ => Err(Error::Target(
                "its standard input or output was not piped".to_string(),
            )),
        }
    }

    fn spawn(
        command: &[String],
        env: &[(String, String)],
        output: Output<'_>,
        piped: bool,
    ) -> Result<Self, Error> {
        use std::os::unix::process::CommandExt as _;
        let (program, args) = command
            .split_first()
            .ok_or_else(|| Error::Target("empty command".to_string()))?;
        let (out, err) = match output {
            Output::Log(log) => {
                let out = File::options()
                    .create(true)
                    .append(true)
                    .open(log)
                    .map_err(|e| Error::io(format!("cannot open {}", log.display()), e))?;
                let err = out
                    .try_clone()
                    .map_err(|e| Error::io(format!("cannot open {}", log.display()), e))?;
                (Stdio::from(out), Stdio::from(err))
            }
            Output::Inherit => (Stdio::inherit(), Stdio::inherit()),
        };
        // The child inherits the limit; raising it here covers every
        // target, whatever it is written in.
        let _ = rlimit::increase_nofile_limit(u64::MAX);
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(if piped { Stdio::piped() } else { Stdio::null() })
            .stdout(if piped { Stdio::piped() } else { out })
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io(format!("cannot start {program}"), e))?;
        let pgid = i32::try_from(child.id()).unwrap_or(i32::MAX);
        if let Ok(mut g) = RUNNING.lock() {
            g.push(pgid);
        }
        let mut running = Self {
            child,
            pgid,
            watchdog: None,
            stopped: false,
            quota: None,
            remote: None,
            log: match output {
                Output::Log(log) => Some(log.to_path_buf()),
                Output::Inherit => None,
            },
        };
        // Dropped on error: the target is stopped, since nothing would
        // stop it if bookbench were killed.
        running.watchdog = Some(watchdog(pgid)?);
        Ok(running)
    }

    /// Its process group: on its host (where its CPU time is read).
    pub fn pgid(&self) -> i32 {
        self.remote.as_ref().map_or(self.pgid, |r| r.pgid)
    }

    /// The remote host it runs on, when it is not this machine.
    pub fn remote_host(&self) -> Option<&Host> {
        self.remote.as_ref().map(|r| &r.host)
    }

    /// `Some(status)` if the target has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last line its log holds, what a target that died said last
    /// (the log is shared with the target's other processes, so this is a
    /// hint, not a proof). Read from the end: a log may be large.
    pub fn last_words(&self) -> Option<String> {
        use std::io::{Read as _, Seek as _, SeekFrom};
        const TAIL: u64 = 4096;
        let mut file = File::open(self.log.as_ref()?).ok()?;
        let len = file.metadata().ok()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(TAIL))).ok()?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).ok()?;
        // Under valgrind (`bookbench cost`), its own report (`==PID==`
        // lines) follows the target's last words.
        let valgrinds = |l: &str| {
            l.strip_prefix("==")
                .and_then(|rest| rest.split_once("=="))
                .is_some_and(|(pid, _)| pid.chars().all(|c| c.is_ascii_digit()))
        };
        String::from_utf8_lossy(&tail)
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty() && !valgrinds(l))
            .map(|l| l.chars().take(300).collect())
    }

    /// Polls `url` until it answers 200, the target dies or `timeout` passes.
    pub async fn wait_ready(&mut self, url: &str, timeout: Duration) -> Result<(), Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| Error::Target(format!("cannot build an HTTP client: {e}")))?;
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

    /// Waits until the target exits by itself or the user asks bookbench to
    /// stop (the interrupt handler then sends the group SIGTERM); `None` in
    /// the second case.
    pub fn wait(&mut self) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if interrupted() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM to the whole group, SIGKILL after 10 s, and wait until no
    /// process of the group is left.
    pub fn stop(mut self) {
        self.stop_group();
    }

    fn stop_group(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // The watchdog goes first: once the group is gone its id may be
        // reused, and a late watchdog would signal a stranger.
        if let Some(mut w) = self.watchdog.take() {
            let wpgid = i32::try_from(w.id()).unwrap_or(i32::MAX);
            let _ = killpg(Pid::from_raw(wpgid), Signal::SIGKILL);
            let _ = w.wait();
        }
        let group = Pid::from_raw(self.pgid);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + GRACE;
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
        if let Some(mut r) = self.remote.take() {
            // Ended by now with the channel; waited for, so that the next
            // target finds its port and its CPU free.
            drop(r.stdin.take());
            let probe = [
                "sh".to_string(),
                "-c".to_string(),
                format!("kill -0 -{} 2>/dev/null", r.pgid),
            ];
            let deadline = Instant::now() + GRACE + Duration::from_secs(5);
            while r.host.run(&probe, crate::hosts::CHECK_TIMEOUT).is_ok()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if let Ok(mut g) = RUNNING.lock() {
            g.retain(|&p| p != self.pgid);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_group();
    }
}

/// Starts the watchdog of the process group `pgid`: when its standard input
/// closes, it sends the group SIGTERM, then SIGKILL after the grace time.
fn watchdog(pgid: i32) -> Result<Child, Error> {
    use std::os::unix::process::CommandExt as _;
    // `kill -SIG -PGID`, without `--`: dash's kill takes no `--`.
    const SCRIPT: &str =
        r#"cat >/dev/null; kill -TERM "-$1" 2>/dev/null; sleep "$2"; kill -KILL "-$1" 2>/dev/null"#;
    Command::new("/bin/sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("sh")
        .arg(pgid.to_string())
        .arg(GRACE.as_secs().to_string())
        // std's pipes are close-on-exec: no other child holds this one open.
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own group: a Ctrl-C at the terminal must not kill the
        // watchdog before it has done its work.
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io("cannot start the target's watchdog (/bin/sh)", e))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn forking() -> Vec<String> {
        ["sh", "-c", "sleep 300 & sleep 300"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn a_target_that_died_is_known_by_the_last_line_of_its_log() {
        let log = std::env::temp_dir().join(format!(
            "bookbench-last-words-{}-{:08x}.log",
            std::process::id(),
            fastrand::u32(..)
        ));
        // More than the tail that is read, so that it is read from the end.
        let line = [
            "sh",
            "-c",
            "i=0; while [ $i -lt 500 ]; do echo \"line $i of its output\"; i=$((i+1)); done; \
             echo 'error: bind() to 198.18.0.30:8000 failed (98: Address in use)' >&2; echo; exit 1",
        ]
        .map(String::from);
        let mut running = Running::start(&line, &[], Output::Log(&log)).expect("starts");
        let status = running.wait().expect("it exits by itself");
        let said = running.last_words();
        let _ = std::fs::remove_file(&log);
        assert_eq!(status.code(), Some(1));
        assert_eq!(
            said.as_deref(),
            Some("error: bind() to 198.18.0.30:8000 failed (98: Address in use)")
        );
        // Without a log, nothing to say.
        let quiet = Running::start(&["true".to_string()], &[], Output::Inherit).expect("starts");
        assert_eq!(quiet.last_words(), None);
    }

    #[test]
    fn a_panic_inside_a_measurement_leaves_no_process_of_the_target_behind() {
        let measured = std::thread::spawn(|| {
            let running = Running::start(&forking(), &[], Output::Inherit).expect("starts");
            let pgid = running.pgid();
            // Let the shell start its child, so that there is a group.
            let deadline = Instant::now() + Duration::from_secs(5);
            while group_processes(pgid).len() < 2 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(group_processes(pgid).len() >= 2, "the target and its child");
            PANICKED_GROUP.store(pgid, Ordering::SeqCst);
            panic!("a measurement went wrong");
        })
        .join();
        assert!(measured.is_err(), "the measurement panicked");
        let pgid = PANICKED_GROUP.load(Ordering::SeqCst);
        assert!(pgid > 0);
        assert!(!group_alive(pgid), "the target's group outlived the panic");
    }

    static PANICKED_GROUP: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

    #[test]
    fn a_dropped_target_stops_and_is_no_longer_listed_as_running() {
        let running = Running::start(&forking(), &[], Output::Inherit).expect("starts");
        let pgid = running.pgid();
        drop(running);
        assert!(!group_alive(pgid));
        let listed = RUNNING.lock().map(|g| g.contains(&pgid)).unwrap_or(true);
        assert!(
            !listed,
            "a stopped group is still listed for the interrupt handler"
        );
    }
}
