//! valgrind on this machine, and a target made to run under callgrind with
//! everything fixed that would make its counts differ from run to run.

use std::path::Path;
use std::process::Command;

use bookbench_suite::targets::Target;

use crate::Error;

/// valgrind and `callgrind_control`, found.
#[derive(Debug, Clone)]
pub struct Valgrind {
    /// `valgrind-3.19.0`.
    pub version: String,
}

/// Environment that makes counts repeat: no hash randomisation (Python's
/// dicts and sets of strings), and glibc's string functions chosen without
/// the CPU's vector extensions, so that `memcpy` runs the same
/// instructions on another CPU model.
const ENV: &[(&str, &str)] = &[
    ("PYTHONHASHSEED", "0"),
    (
        "GLIBC_TUNABLES",
        "glibc.cpu.hwcaps=-AVX2,-AVX512F,-AVX512BW,-AVX512VL,-ERMS,-FSRM",
    ),
];

/// valgrind's options: callgrind, into `cg.PID` files of the output
/// directory (a dump adds `.N`), following `exec` (a script's interpreter,
/// a shell's command; a `fork` is followed anyway), system calls counted.
/// Instrumentation starts off and is switched on once the target answers:
/// an interpreter's imports run some five times faster uninstrumented
/// (FastAPI's start under uvicorn: 23 s instrumented, 4.4 s not), and
/// every window zeroes before it counts anyway.
const OPTIONS: &[&str] = &[
    "--tool=callgrind",
    "--trace-children=yes",
    "--collect-systime=nsec",
    "--vgdb=yes",
    "--instr-atstart=no",
];

/// How much longer a target may take to start under callgrind: it runs
/// code 20 to 100 times slower, an interpreter's imports included.
pub const READY_SLOWDOWN: u64 = 20;

impl Valgrind {
    /// Finds valgrind, `callgrind_control` and `setarch`; the error says
    /// what to install.
    pub fn find() -> Result<Self, Error> {
        let version = Command::new("valgrind")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .ok_or_else(|| {
                Error::Usage(
                    "valgrind is missing; install it (Debian: apt-get install valgrind)"
                        .to_string(),
                )
            })?;
        for (program, package) in [("callgrind_control", "valgrind"), ("setarch", "util-linux")] {
            if !bookbench_suite::which::on_path(program) {
                return Err(Error::Usage(format!(
                    "{program} is missing; install it (Debian: apt-get install {package})"
                )));
            }
        }
        Ok(Self { version })
    }

    /// `target` as it runs under callgrind, its dumps in `out_dir`: its
    /// command behind `setarch -R` (no address randomisation) and
    /// valgrind, an environment that fixes hash seeds and string functions,
    /// and more time to start.
    pub fn wrap(&self, target: &Target, out_dir: &Path) -> Target {
        let mut command: Vec<String> = ["setarch", "-R", "valgrind"]
            .into_iter()
            .chain(OPTIONS.iter().copied())
            .map(String::from)
            .collect();
        command.push(format!("--callgrind-out-file={}/cg.%p", out_dir.display()));
        command.extend(target.command.iter().cloned());
        let mut env = target.env.clone();
        for (name, value) in ENV {
            env.insert((*name).to_string(), (*value).to_string());
        }
        Target {
            command,
            env,
            ready_timeout_s: target.ready_timeout_s.saturating_mul(READY_SLOWDOWN),
            ..target.clone()
        }
    }

    /// The program and arguments that run PostgreSQL's postmaster under
    /// callgrind, its dumps in `out_dir`: every backend (forked, never
    /// executed) dumps its counts since its last dump when it handles
    /// `pg_log_backend_memory_contexts` (crate::backends), and never
    /// through ptrace, which would end an idle one.
    pub fn database_prefix(&self, out_dir: &Path) -> Vec<String> {
        let env = ENV
            .iter()
            .filter(|(name, _)| *name == "GLIBC_TUNABLES")
            .map(|(name, value)| format!("{name}={value}"));
        ["env".to_string()]
            .into_iter()
            .chain(env)
            .chain(["setarch", "-R", "valgrind", "--tool=callgrind"].map(String::from))
            .chain([
                "--dump-after=ProcessLogMemoryContextInterrupt".to_string(),
                "--vgdb=no".to_string(),
                format!("--callgrind-out-file={}/cg.%p", out_dir.display()),
            ])
            .collect()
    }

    /// What was fixed, for the results.
    pub fn determinism(&self) -> Vec<String> {
        ["setarch -R (no address space randomisation)".to_string()]
            .into_iter()
            .chain(OPTIONS.iter().map(|o| format!("valgrind {o}")))
            .chain(ENV.iter().map(|(n, v)| format!("{n}={v}")))
            .chain([
                "the same requests in every window (the load generator's seed fixed)".to_string(),
                "VACUUM ANALYZE before counting (no autovacuum replans a statement midway)"
                    .to_string(),
            ])
            .collect()
    }
}
