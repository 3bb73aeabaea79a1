//! The report for people, in the manner of wrk's.

use std::fmt::Write as _;

use crate::{Flag, Mode, Percentiles, Report, Tick};

impl Report {
    /// A few lines: what ran, latency, counts, throughput, the client's CPU
    /// and the flags.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let what = match &self.scenario {
            Some(s) => format!("scenario {s} @ {}", self.url),
            None => self.url.clone(),
        };
        let mode = match (self.mode, &self.schedule) {
            (Mode::Open, Some(s)) => format!("open loop at {} requests/s", trim_float(s.rate)),
            _ => "closed loop".to_string(),
        };
        let _ = writeln!(out, "{:.2}s run of {what}", self.duration_s);
        let _ = writeln!(
            out,
            "  {} connections on {} thread{}, {mode}",
            self.connections,
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        );
        let _ = writeln!(
            out,
            "  Latency      {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "mean", "p50", "p90", "p99", "p99.9", "p99.99", "max"
        );
        let row = |out: &mut String, label: &str, p: &Percentiles| {
            let _ = writeln!(
                out,
                "  {label:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                micros_f(p.mean),
                micros(p.p50),
                micros(p.p90),
                micros(p.p99),
                micros(p.p999),
                micros(p.p9999),
                micros(p.max)
            );
        };
        match &self.latency_us_uncorrected {
            Some(u) => {
                row(&mut out, "corrected", &self.latency_us);
                row(&mut out, "uncorrected", u);
            }
            None => row(&mut out, "", &self.latency_us),
        }
        let _ = writeln!(
            out,
            "  {} requests in {:.2}s, {} read; {} ok, {} errors",
            self.requests,
            self.duration_s,
            bytes(self.bytes_read),
            self.ok,
            self.errors.total
        );
        if self.errors.total > 0 {
            let e = &self.errors;
            let _ = writeln!(
                out,
                "  Errors: connect {}, timeout {}, read {}, status {}, body {}",
                e.connect, e.timeout, e.read, e.status, e.body
            );
        }
        if !self.status.is_empty() {
            let codes: Vec<String> = self
                .status
                .iter()
                .map(|(code, n)| format!("{code} x {n}"))
                .collect();
            let _ = writeln!(out, "  Status: {}", codes.join(", "));
        }
        if let Some(s) = &self.schedule {
            let _ = writeln!(
                out,
                "  Schedule: {} due, {} sent, {} late (over {} ms), {} never sent",
                s.scheduled,
                s.sent,
                s.late,
                s.late_after_us / 1000,
                s.unsent
            );
        }
        let _ = writeln!(out, "Requests/sec: {:>10.2} (successful)", self.rps);
        let c = &self.client_cpu;
        let _ = writeln!(
            out,
            "Client CPU:   {:.2}s user, {:.2}s system, {:.1} us per request, busiest thread {:.0}%",
            c.user_s,
            c.system_s,
            c.per_request_us,
            c.busy * 100.0
        );
        if !self.flags.is_empty() {
            let names: Vec<&str> = self.flags.iter().map(|f| f.name()).collect();
            let _ = writeln!(out, "Flags: {}", names.join(", "));
        }
        if self.has_flag(Flag::ClientBound) {
            let _ = writeln!(
                out,
                "  (client-bound: the load generator was over 90% busy, so these figures may measure it rather than the server; add --threads)"
            );
        }
        if self.has_flag(Flag::Unserved) {
            let _ = writeln!(
                out,
                "  (unserved: a request was still unanswered after {:.1} s while the others were answered within {:.3} s; the server left some connections waiting, so fewer were served than opened)",
                self.unfinished_oldest_s.unwrap_or(0.0),
                self.latency_us.max as f64 / 1e6
            );
        }
        if self.has_flag(Flag::ScheduleSlipped) {
            let _ = writeln!(
                out,
                "  (schedule slipped: over 1% of the requests went out late or never; the server, or the connections, could not keep up with the rate)"
            );
        }
        out
    }
}

impl Tick {
    /// One line per second: `  3s   12345 ok/s   0 errors/s   cpu 45%`.
    pub fn line(&self) -> String {
        format!(
            "{:>4}s {:>10} ok/s {:>8} errors/s   client cpu {:>3.0}%",
            self.elapsed.as_secs(),
            self.ok,
            self.errors,
            self.cpu_busy * 100.0
        )
    }
}

fn micros(us: u64) -> String {
    micros_f(us as f64)
}

fn micros_f(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0}us")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1_000.0)
    } else {
        format!("{:.2}s", us / 1_000_000.0)
    }
}

fn bytes(b: u64) -> String {
    let b = b as f64;
    if b < 1024.0 {
        format!("{b:.0} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2} GiB", b / 1024.0 / 1024.0 / 1024.0)
    }
}

fn trim_float(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}
