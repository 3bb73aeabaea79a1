//! CPU time from /proc, to attribute each point's work to the target, the
//! database and the client.

use bookbench_results::Usage;

/// One process, as `/proc/<pid>/stat` tells it.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: i32,
    pub comm: String,
    pub state: char,
    pub pgrp: i32,
    /// utime + stime, in clock ticks.
    pub ticks: u64,
}

/// Every process on the machine.
pub fn processes() -> Vec<Proc> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read)
        .collect()
}

fn read(pid: i32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_proc(pid, &text)
}

/// Every process of a remote host, read through its prefix in one command
/// (one `/proc/<pid>/stat` line each); none when it does not answer.
pub fn processes_on(host: &crate::hosts::Host) -> Vec<Proc> {
    processes_on_after(host, std::time::Duration::ZERO)
}

/// As [`processes_on`], read `delay` after the command is sent: the host
/// waits until that instant of its clock (a host's clock agrees with this
/// one's, as the load agents' start instants already need), so that the
/// time ssh takes to reach it (seconds, on a loaded machine) falls within
/// the delay rather than after it. Reached later, it reads at once.
fn processes_on_after(host: &crate::hosts::Host, delay: std::time::Duration) -> Vec<Proc> {
    let at_ns = (std::time::SystemTime::now() + delay)
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let read = |delay: std::time::Duration| {
        let line = if delay.is_zero() {
            "cat /proc/[0-9]*/stat 2>/dev/null".to_string()
        } else {
            format!(
                "t={at_ns}; now=$(date +%s%N); if [ \"$now\" -lt \"$t\" ]; then d=$((t - now)); sleep $((d / 1000000000)).$(printf %09d $((d % 1000000000))); fi; cat /proc/[0-9]*/stat 2>/dev/null"
            )
        };
        // `cat` fails on a process that exits while it reads: what it read
        // holds.
        host.run_output(
            &["sh".to_string(), "-c".to_string(), line],
            crate::hosts::CHECK_TIMEOUT + delay,
        )
        .map(|ran| {
            ran.stdout
                .lines()
                .filter_map(|l| parse_proc(l.split(' ').next()?.parse().ok()?, l))
                .collect::<Vec<Proc>>()
        })
        .unwrap_or_default()
    };
    // A host always has processes: none read means the read failed (an
    // ssh connection dropped while others start, as sshd's MaxStartups
    // does), and a failed read would count the window's CPU as none. It is
    // tried again, at once: late is better than none.
    let first = read(delay);
    if !first.is_empty() {
        return first;
    }
    (1..REMOTE_READ_TRIES)
        .map(|_| read(std::time::Duration::ZERO))
        .find(|procs| !procs.is_empty())
        .unwrap_or_default()
}

/// Reads of a host's processes before its CPU is given up for the window.
const REMOTE_READ_TRIES: usize = 3;

fn parse_proc(pid: i32, text: &str) -> Option<Proc> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    let fields: Vec<&str> = text[close + 2..].split(' ').collect();
    // Fields after the name: state(0) ppid(1) pgrp(2) … utime(11) stime(12).
    Some(Proc {
        pid,
        comm,
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        ticks: fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?,
    })
}

/// The resident memory of a process group's live processes, in
/// kibibytes (from `/proc/<pid>/statm`, pages of 4 KiB).
pub fn group_rss_kib(pgid: i32) -> u64 {
    processes()
        .iter()
        .filter(|p| p.pgrp == pgid && p.state != 'Z')
        .filter_map(|p| {
            let statm = std::fs::read_to_string(format!("/proc/{}/statm", p.pid)).ok()?;
            statm.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum::<u64>()
        * 4
}

/// TCP sockets in TIME_WAIT now, from `/proc/net/sockstat` (`TCP: … tw N`).
pub fn time_wait() -> u64 {
    let text = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    parse_time_wait(&text).unwrap_or(0)
}

fn parse_time_wait(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("TCP:"))?;
    let mut fields = line.split_whitespace();
    fields.find(|&f| f == "tw")?;
    fields.next()?.parse().ok()
}

/// Clock ticks per second (USER_HZ): 100 on every Linux this runs on.
pub const TICKS_PER_SECOND: f64 = 100.0;

/// CPU ticks so far of each target's process group (in the order asked),
/// of PostgreSQL's processes, of the latency relay's group, and of this
/// process.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub groups: Vec<u64>,
    pub database: u64,
    pub relay: u64,
    pub client: u64,
    /// The targets run on a remote host that could not be read: `groups`
    /// are unknown, not zero.
    pub remote_unread: bool,
}

impl Sample {
    /// The ticks of the `i`-th group asked for, 0 if it was not asked.
    pub fn group(&self, i: usize) -> u64 {
        self.groups.get(i).copied().unwrap_or(0)
    }
}

/// Takes a sample. Processes that exit between two samples take their CPU
/// time with them; targets and PostgreSQL keep their processes for a run.
/// `groups` holds each target's process groups (several when it runs
/// behind a proxy, or as several instances): their ticks add up.
pub fn sample(groups: &[Vec<i32>], relay: Option<i32>) -> Sample {
    sample_on(None, groups, relay)
}

/// As [`sample`], with the targets' groups on `remote` when given (read
/// through its prefix); the database, relay and client are this machine's.
pub fn sample_on(
    remote: Option<&crate::hosts::Host>,
    groups: &[Vec<i32>],
    relay: Option<i32>,
) -> Sample {
    tally(remote.map(processes_on), groups, relay)
}

/// As [`sample_on`], taken `delay` from now: a remote host's read is sent
/// at once and waits out the delay on the host, so that a window that
/// starts then is read when it starts, however long ssh takes to connect.
pub async fn sample_on_after(
    remote: Option<&crate::hosts::Host>,
    groups: &[Vec<i32>],
    relay: Option<i32>,
    delay: std::time::Duration,
) -> Sample {
    let remote_read = remote.map(|host| {
        let host = host.clone();
        std::thread::spawn(move || processes_on_after(&host, delay))
    });
    tokio::time::sleep(delay).await;
    let remote_procs = match remote_read {
        Some(reading) => Some(
            tokio::task::spawn_blocking(move || reading.join().unwrap_or_default())
                .await
                .unwrap_or_default(),
        ),
        None => None,
    };
    tally(remote_procs, groups, relay)
}

/// A sample from the remote host's processes, when the targets run there,
/// and this machine's.
fn tally(remote: Option<Vec<Proc>>, groups: &[Vec<i32>], relay: Option<i32>) -> Sample {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let mut s = Sample {
        groups: vec![0; groups.len()],
        ..Sample::default()
    };
    let on_remote = remote.is_some();
    // A host always has processes: none read is a read that failed.
    s.remote_unread = remote.as_ref().is_some_and(Vec::is_empty);
    for p in remote.into_iter().flatten() {
        if let Some(i) = groups.iter().position(|g| g.contains(&p.pgrp))
            && let Some(t) = s.groups.get_mut(i)
        {
            *t += p.ticks;
        }
    }
    let local_groups: &[Vec<i32>] = if on_remote { &[] } else { groups };
    for p in processes() {
        if Some(p.pgrp) == relay {
            s.relay += p.ticks;
        } else if let Some(i) = local_groups.iter().position(|g| g.contains(&p.pgrp)) {
            if let Some(t) = s.groups.get_mut(i) {
                *t += p.ticks;
            }
        } else if p.comm == "postgres" || p.comm.starts_with("postgres:") {
            s.database += p.ticks;
        }
        if p.pid == me {
            s.client += p.ticks;
        }
    }
    s
}

/// Percent of one core that `ticks` are over `wall_s` seconds.
pub fn percent(ticks: u64, wall_s: f64) -> f64 {
    if wall_s <= 0.0 {
        0.0
    } else {
        ticks as f64 / TICKS_PER_SECOND / wall_s * 100.0
    }
}

/// Each CPU's time so far, from /proc/stat, in ticks: all of it, and the
/// share of it stolen (the 8th value of a `cpuN` line: time the hypervisor
/// ran someone else while this machine's CPU wanted to run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub total: Vec<u64>,
    pub steal: Vec<u64>,
}

/// Reads /proc/stat; empty where it cannot be read.
pub fn cpu_times() -> CpuTimes {
    parse_stat(&std::fs::read_to_string("/proc/stat").unwrap_or_default())
}

fn parse_stat(text: &str) -> CpuTimes {
    let mut t = CpuTimes::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(name) = fields.next() else { continue };
        // `cpu` alone is the sum; `cpu0`, `cpu1`… are the CPUs.
        if !(name.starts_with("cpu") && name.len() > 3) {
            continue;
        }
        // user nice system idle iowait irq softirq steal (guest time is
        // counted in user already).
        let values: Vec<u64> = fields.take(8).filter_map(|v| v.parse().ok()).collect();
        if values.len() < 8 {
            continue;
        }
        t.total.push(values.iter().sum());
        t.steal.push(values.get(7).copied().unwrap_or(0));
    }
    t
}

/// Steal time of each CPU between two readings, in percent of its time.
pub fn steal_pct(before: &CpuTimes, after: &CpuTimes) -> Vec<f64> {
    before
        .total
        .iter()
        .zip(&after.total)
        .zip(before.steal.iter().zip(&after.steal))
        .map(|((t0, t1), (s0, s1))| {
            let total = t1.saturating_sub(*t0);
            if total == 0 {
                0.0
            } else {
                s1.saturating_sub(*s0) as f64 * 100.0 / total as f64
            }
        })
        .collect()
}

/// The CPU use of the `target`-th group, the database and the client
/// between two samples.
pub fn usage(before: &Sample, after: &Sample, target: usize, wall_s: f64) -> Usage {
    let pct = |a: u64, b: u64| percent(b.saturating_sub(a), wall_s);
    Usage {
        server: pct(before.group(target), after.group(target)),
        database: pct(before.database, after.database),
        client: pct(before.client, after.client),
        relay: pct(before.relay, after.relay),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_read_per_cpu_from_the_eighth_value() {
        let before = parse_stat(
            "cpu  10 0 10 70 0 0 0 10 0 0\ncpu0 5 0 5 35 0 0 0 5 0 0\ncpu1 5 0 5 35 0 0 0 5 0 0\nintr 1\n",
        );
        let after = parse_stat(
            "cpu  20 0 20 140 0 0 0 30 0 0\ncpu0 10 0 10 70 0 0 0 10 0 0\ncpu1 10 0 10 70 0 0 0 20 0 0\n",
        );
        assert_eq!(before.total, vec![50, 50]);
        let steal = steal_pct(&before, &after);
        assert_eq!(steal.len(), 2);
        assert!((steal[0] - 10.0).abs() < 1e-9, "{steal:?}");
        assert!((steal[1] - 15.0 / 60.0 * 100.0).abs() < 1e-9, "{steal:?}");
    }

    #[test]
    fn time_wait_is_read_from_sockstat() {
        let text =
            "sockets: used 120\nTCP: inuse 5 orphan 0 tw 11154 alloc 9 mem 1\nUDP: inuse 0 mem 0\n";
        assert_eq!(parse_time_wait(text), Some(11154));
        assert_eq!(parse_time_wait("UDP: inuse 0\n"), None);
    }

    #[test]
    fn this_machine_reports_its_cpus() {
        let t = cpu_times();
        assert!(!t.total.is_empty());
        assert_eq!(t.total.len(), t.steal.len());
    }
}
