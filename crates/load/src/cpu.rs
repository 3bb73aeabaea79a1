//! The client's own CPU use, from the kernel's accounting.

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};

/// User plus system time of the calling thread.
pub(crate) fn thread_cpu() -> Duration {
    let (user, sys) = usage(UsageWho::RUSAGE_THREAD);
    user + sys
}

/// User and system time of the whole process.
pub(crate) fn process_cpu() -> (Duration, Duration) {
    usage(UsageWho::RUSAGE_SELF)
}

fn usage(who: UsageWho) -> (Duration, Duration) {
    match getrusage(who) {
        Ok(u) => (to_duration(u.user_time()), to_duration(u.system_time())),
        Err(_) => (Duration::ZERO, Duration::ZERO),
    }
}

fn to_duration(t: nix::sys::time::TimeVal) -> Duration {
    let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
    let micros = u32::try_from(t.tv_usec()).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

/// Raises the soft limit on open files to `needed` when the hard limit
/// allows; returns the limit in force.
pub(crate) fn ensure_fd_limit(needed: u64) -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return u64::MAX;
    };
    if soft >= needed {
        return soft;
    }
    if hard >= needed && setrlimit(Resource::RLIMIT_NOFILE, needed, hard).is_ok() {
        return needed;
    }
    soft
}
