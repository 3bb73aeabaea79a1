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
    let command = [
        "sh".to_string(),
        "-c".to_string(),
        "cat /proc/[0-9]*/stat 2>/dev/null".to_string(),
    ];
    // A host always has processes: none read means the read failed (an
    // ssh connection dropped while others start, as sshd's MaxStartups
    // does), and a failed read would count the window's CPU as none. It is
    // tried again.
    for _ in 0..REMOTE_READ_TRIES {
        // `cat` fails on a process that exits while it reads: what it read
        // holds.
        let read: Vec<Proc> = host
            .run_output(&command, crate::hosts::CHECK_TIMEOUT)
            .map(|ran| {
                ran.stdout
                    .lines()
                    .filter_map(|l| parse_proc(l.split(' ').next()?.parse().ok()?, l))
                    .collect()
            })
            .unwrap_or_default();
        if !read.is_empty() {
            return read;
        }
    }
    Vec::new()
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
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let mut s = Sample {
        groups: vec![0; groups.len()],
        ..Sample::default()
    };
    if let Some(host) = remote {
        for p in processes_on(host) {
            if let Some(i) = groups.iter().position(|g| g.contains(&p.pgrp))
                && let Some(t) = s.groups.get_mut(i)
            {
                *t += p.ticks;
            }
        }
    }
    let local_groups: &[Vec<i32>] = if remote.is_some() { &[] } else { groups };
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
