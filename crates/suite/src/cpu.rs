//! CPU time from /proc, to attribute each point's work to the target, the
//! database and the client.

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

/// Clock ticks per second (USER_HZ): 100 on every Linux this runs on.
pub const TICKS_PER_SECOND: f64 = 100.0;

/// CPU ticks so far of a target's process group, of PostgreSQL's processes,
/// and of this process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub target: u64,
    pub database: u64,
    pub client: u64,
}

/// Takes a sample. Processes that exit between two samples take their CPU
/// time with them; targets and PostgreSQL keep their processes for a run.
pub fn sample(target_pgid: i32) -> Sample {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let mut s = Sample::default();
    for p in processes() {
        if p.pgrp == target_pgid {
            s.target += p.ticks;
        } else if p.comm == "postgres" || p.comm.starts_with("postgres:") {
            s.database += p.ticks;
        }
        if p.pid == me {
            s.client += p.ticks;
        }
    }
    s
}

/// CPU use between two samples, in percent of one core.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    pub server: f64,
    pub database: f64,
    pub client: f64,
}

pub fn usage(before: Sample, after: Sample, wall_s: f64) -> Usage {
    let pct = |a: u64, b: u64| {
        if wall_s <= 0.0 {
            0.0
        } else {
            (b.saturating_sub(a)) as f64 / TICKS_PER_SECOND / wall_s * 100.0
        }
    };
    Usage {
        server: pct(before.target, after.target),
        database: pct(before.database, after.database),
        client: pct(before.client, after.client),
    }
}
