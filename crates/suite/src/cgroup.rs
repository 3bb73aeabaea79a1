//! A CPU quota for a target, from the kernel's `cpu` cgroup controller: a
//! known, adjustable loss of capacity, so that the calibration can check
//! that the suite finds a difference that is really there.
//!
//! cgroup v1 (`/sys/fs/cgroup/cpu`, `cpu.cfs_quota_us` over
//! `cpu.cfs_period_us`) and v2 (`cpu.max`) are both handled. Each quota is
//! a group of its own, removed when the target has stopped.

use std::path::{Path, PathBuf};

use crate::Error;

/// The scheduler's accounting period: 100 ms, the kernel's default.
const PERIOD_US: u64 = 100_000;

/// A cgroup whose processes may use `fraction` of `cpus` CPUs.
#[derive(Debug)]
pub struct CpuQuota {
    dir: PathBuf,
}

/// Where the `cpu` controller is mounted, and whether it is cgroup v2.
fn controller() -> Option<(PathBuf, bool)> {
    let v1 = Path::new("/sys/fs/cgroup/cpu");
    if v1.join("cpu.cfs_quota_us").is_file() {
        return Some((v1.to_path_buf(), false));
    }
    let v2 = Path::new("/sys/fs/cgroup");
    let controllers = std::fs::read_to_string(v2.join("cgroup.controllers")).ok()?;
    controllers
        .split_whitespace()
        .any(|c| c == "cpu")
        .then(|| (v2.to_path_buf(), true))
}

/// Why a quota cannot be set here, if it cannot.
pub fn unavailable() -> Option<String> {
    match controller() {
        None => Some("the cpu cgroup controller is not mounted".to_string()),
        Some((root, _)) => {
            let writable = nix::unistd::access(&root, nix::unistd::AccessFlags::W_OK).is_ok();
            (!writable).then(|| {
                format!(
                    "{} is not writable (a CPU quota needs root)",
                    root.display()
                )
            })
        }
    }
}

impl CpuQuota {
    /// Creates the group `bookbench-<pid>-<name>` with its quota.
    pub fn create(name: &str, fraction: f64, cpus: usize) -> Result<Self, Error> {
        let (root, v2) = controller()
            .ok_or_else(|| Error::Unavailable("the cpu cgroup controller is not mounted".into()))?;
        let dir = root.join(format!("bookbench-{}-{name}", std::process::id()));
        let io = |what: &str, e| Error::io(format!("cannot {what} {}", dir.display()), e);
        std::fs::create_dir_all(&dir).map_err(|e| io("create", e))?;
        let quota = Self { dir };
        let quota_us = (fraction * cpus.max(1) as f64 * PERIOD_US as f64).round() as u64;
        let writes: Vec<(&str, String)> = if v2 {
            vec![("cpu.max", format!("{quota_us} {PERIOD_US}"))]
        } else {
            vec![
                ("cpu.cfs_period_us", PERIOD_US.to_string()),
                ("cpu.cfs_quota_us", quota_us.to_string()),
            ]
        };
        for (file, value) in writes {
            let path = quota.dir.join(file);
            std::fs::write(&path, value)
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        }
        Ok(quota)
    }

    /// The file a process writes its id to, to join the group.
    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// The command line that runs `line` inside the group: a shell joins
    /// it and then becomes the target, so that every process the target
    /// starts is in the group from its first instruction.
    pub fn wrap(&self, line: &[String]) -> Vec<String> {
        let mut wrapped = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            r#"echo $$ > "$0" && exec "$@""#.to_string(),
            self.procs().to_string_lossy().into_owned(),
        ];
        wrapped.extend(line.iter().cloned());
        wrapped
    }
}

impl Drop for CpuQuota {
    fn drop(&mut self) {
        // A group can be removed once its processes are gone; the last
        // ones may take a moment to be reaped.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
