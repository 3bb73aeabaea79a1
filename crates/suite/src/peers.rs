//! The Python peers' virtual environments: one per peer, interpreter and
//! set of pins, under `$BOOKBENCH_HOME/peers/<name>`, installed from the
//! pinned requirements files in the repository (`pip install
//! --require-hashes`).
//!
//! Setting one up is idempotent: a stamp in the environment records a
//! fingerprint of the interpreter and the requirements file, and an
//! environment whose stamp matches is left alone. A failed set-up is
//! recorded too (`<name>.failed`, with the reason), so that a run skips a
//! peer that cannot install here without trying again for minutes each time;
//! `retry` tries again.
//!
//! An environment is built in a temporary directory and renamed into place
//! when complete, so a half-built one is never used. Its console scripts
//! keep the temporary path in their `#!` line, so targets start programs as
//! `bin/python -m gunicorn`, never `bin/gunicorn`.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;
use crate::which::on_path;

/// One virtual environment.
#[derive(Debug, Clone, Copy)]
pub struct Venv {
    pub name: &'static str,
    /// The interpreter, looked up on PATH.
    pub interpreter: &'static str,
    /// The pinned requirements, relative to the repository.
    pub requirements: &'static str,
}

/// Every environment a target can name.
pub const VENVS: &[Venv] = &[
    Venv {
        name: "flask-cpython",
        interpreter: "python3",
        requirements: "peers/flask/requirements-cpython.txt",
    },
    Venv {
        name: "flask-cpython-eventlet",
        interpreter: "python3",
        requirements: "peers/flask/requirements-cpython-eventlet.txt",
    },
    Venv {
        name: "flask-pypy",
        interpreter: "pypy3",
        requirements: "peers/flask/requirements-pypy.txt",
    },
    Venv {
        name: "flask-pypy-eventlet",
        interpreter: "pypy3",
        requirements: "peers/flask/requirements-pypy-eventlet.txt",
    },
    Venv {
        name: "sanic-cpython",
        interpreter: "python3",
        requirements: "peers/sanic/requirements-cpython.txt",
    },
    Venv {
        name: "fastapi-cpython",
        interpreter: "python3",
        requirements: "peers/fastapi/requirements-cpython.txt",
    },
    Venv {
        name: "django-cpython",
        interpreter: "python3",
        requirements: "peers/django/requirements-cpython.txt",
    },
];

const STAMP: &str = ".bookbench-stamp";

/// What [`setup`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The environment was there with the same pins.
    UpToDate,
    /// It was (re)built, taking this long.
    Installed(Duration),
}

/// The environment named `name`.
pub fn find(name: &str) -> Result<&'static Venv, Error> {
    VENVS.iter().find(|v| v.name == name).ok_or_else(|| {
        Error::Usage(format!(
            "unknown environment '{name}'; environments: {}",
            VENVS.iter().map(|v| v.name).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// Where the environments live.
pub fn root(home: &Path) -> PathBuf {
    home.join("peers")
}

/// Where the environment `name` lives.
pub fn dir(home: &Path, name: &str) -> PathBuf {
    root(home).join(name)
}

fn failed_file(home: &Path, name: &str) -> PathBuf {
    root(home).join(format!("{name}.failed"))
}

/// The set-up log of `name`.
pub fn log_file(home: &Path, name: &str) -> PathBuf {
    root(home).join(format!("{name}.log"))
}

/// FNV-1a, 64 bits: enough to tell one set of pins from another.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The fingerprint of `venv` here: the interpreter's version and the
/// requirements file's content.
fn fingerprint(venv: &Venv, repo: &Path) -> Result<String, Error> {
    if !on_path(venv.interpreter) {
        return Err(Error::Unavailable(format!(
            "{} is missing",
            venv.interpreter
        )));
    }
    let requirements = repo.join(venv.requirements);
    let pins = fs::read(&requirements).map_err(|e| {
        Error::Usage(format!(
            "cannot read {} ({e}); run bookbench from the repository's root",
            requirements.display()
        ))
    })?;
    let version = Command::new(venv.interpreter)
        .args(["-c", "import sys; print(sys.version)"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Unavailable(format!("cannot run {}: {e}", venv.interpreter)))?;
    if !version.status.success() {
        return Err(Error::Unavailable(format!(
            "{} does not run",
            venv.interpreter
        )));
    }
    Ok(format!("{:016x}", fnv1a(&[&version.stdout, &pins])))
}

/// Why `name` could not be set up here, when a failure with the current
/// pins and interpreter is on record.
pub fn recorded_failure(home: &Path, repo: &Path, name: &str) -> Option<String> {
    let venv = find(name).ok()?;
    let text = fs::read_to_string(failed_file(home, name)).ok()?;
    let (print, reason) = text.split_once('\n')?;
    (fingerprint(venv, repo).ok()? == print).then(|| reason.trim().to_string())
}

/// Whether `name` is set up with the current pins.
pub fn is_ready(home: &Path, repo: &Path, name: &str) -> bool {
    let Ok(venv) = find(name) else { return false };
    let stamp = fs::read_to_string(dir(home, name).join(STAMP)).unwrap_or_default();
    fingerprint(venv, repo).is_ok_and(|print| stamp.trim() == print)
}

/// Sets up the environment `name` under `home` from the pins in `repo`,
/// unless it is there already with the same pins. A failure on record is
/// returned as is unless `retry`. A missing interpreter is
/// [`Error::Unavailable`]; a failed install is [`Error::Target`] naming the
/// log.
pub fn setup(home: &Path, repo: &Path, name: &str, retry: bool) -> Result<Setup, Error> {
    let venv = find(name)?;
    let print = fingerprint(venv, repo)?;
    let target = dir(home, name);
    let stamp = fs::read_to_string(target.join(STAMP)).unwrap_or_default();
    if stamp.trim() == print {
        return Ok(Setup::UpToDate);
    }
    if !retry && let Some(reason) = recorded_failure(home, repo, name) {
        return Err(Error::Target(format!(
            "{reason} (recorded earlier; `bookbench peers setup --retry` tries again)"
        )));
    }
    let base = root(home);
    fs::create_dir_all(&base)
        .map_err(|e| Error::io(format!("cannot create {}", base.display()), e))?;
    let started = Instant::now();
    let _lock = Lock::acquire(&base.join(format!(".{name}.lock")))?;
    // Another process may have set it up while this one waited.
    if is_ready(home, repo, name) {
        return Ok(Setup::UpToDate);
    }
    match build(venv, repo, &base, &print) {
        Ok(tmp) => {
            if target.exists() {
                fs::remove_dir_all(&target)
                    .map_err(|e| Error::io(format!("cannot replace {}", target.display()), e))?;
            }
            if let Err(e) = fs::rename(&tmp, &target) {
                let _ = fs::remove_dir_all(&tmp);
                // Another set-up may have finished first.
                if !is_ready(home, repo, name) {
                    return Err(Error::io(
                        format!("cannot move into {}", target.display()),
                        e,
                    ));
                }
            }
            let _ = fs::remove_file(failed_file(home, name));
            Ok(Setup::Installed(started.elapsed()))
        }
        Err(reason) => {
            let _ = fs::write(failed_file(home, name), format!("{print}\n{reason}\n"));
            Err(Error::Target(reason))
        }
    }
}

/// One set-up of an environment at a time: a lock file holding the owner's
/// process id, taken over when that process is gone.
#[derive(Debug)]
pub struct Lock(PathBuf);

impl Lock {
    pub fn acquire(path: &Path) -> Result<Self, Error> {
        let deadline = Instant::now() + Duration::from_secs(3600);
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut f) => {
                    let _ = write!(f, "{}", std::process::id());
                    return Ok(Self(path.to_path_buf()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(path).unwrap_or_default();
                    let alive = owner
                        .trim()
                        .parse::<u32>()
                        .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                    if !alive && !owner.is_empty() {
                        let _ = fs::remove_file(path);
                        continue;
                    }
                    if Instant::now() > deadline {
                        return Err(Error::Target(format!(
                            "{} is held by process {owner}",
                            path.display()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => {
                    return Err(Error::io(format!("cannot create {}", path.display()), e));
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Builds `venv` in a temporary directory under `base`; its path, or why
/// it failed.
fn build(venv: &Venv, repo: &Path, base: &Path, print: &str) -> Result<PathBuf, String> {
    let tmp = base.join(format!(".{}.tmp-{}", venv.name, std::process::id()));
    let log_path = base.join(format!("{}.log", venv.name));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| format!("cannot clear {}: {e}", tmp.display()))?;
    }
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let _ = writeln!(log, "== setting up {} ({print})", venv.name);
    let python = tmp.join("bin").join("python");
    let requirements = repo.join(venv.requirements);
    let result = step(
        &mut log,
        "creating the environment",
        venv.interpreter.as_ref(),
        &["-m".as_ref(), "venv".as_ref(), tmp.as_os_str()],
    )
    .and_then(|()| {
        step(
            &mut log,
            "pip install",
            python.as_os_str(),
            &[
                "-m".as_ref(),
                "pip".as_ref(),
                "install".as_ref(),
                "--disable-pip-version-check".as_ref(),
                "--no-input".as_ref(),
                "--require-hashes".as_ref(),
                "-r".as_ref(),
                requirements.as_os_str(),
            ],
        )
    })
    .and_then(|()| {
        fs::write(tmp.join(STAMP), format!("{print}\n"))
            .map_err(|e| format!("cannot write the stamp: {e}"))
    });
    match result {
        Ok(()) => Ok(tmp),
        Err(why) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(format!("{why} (log: {})", log_path.display()))
        }
    }
}

/// Runs one step of a set-up, its output appended to `log`; why it
/// failed, with the line of its output that says so.
pub fn step(
    log: &mut fs::File,
    what: &str,
    program: &std::ffi::OsStr,
    args: &[&std::ffi::OsStr],
) -> Result<(), String> {
    let line: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let _ = writeln!(log, "$ {} {}", program.to_string_lossy(), line.join(" "));
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .env("PIP_NO_INPUT", "1")
        .output()
        .map_err(|e| format!("{what}: cannot run {}: {e}", program.to_string_lossy()))?;
    let _ = log.write_all(&out.stdout);
    let _ = log.write_all(&out.stderr);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}",
            out.status,
            last_error(&String::from_utf8_lossy(&out.stderr))
        ))
    }
}

/// The line of pip's output that says what went wrong.
fn last_error(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("ERROR:") || l.contains("error:"))
        .or(lines.last())
        .copied()
        .unwrap_or("no output");
    line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_environment_has_a_requirements_file() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for v in VENVS {
            assert!(repo.join(v.requirements).is_file(), "{}", v.requirements);
        }
    }

    #[test]
    fn the_fingerprint_changes_with_the_pins() {
        assert_ne!(fnv1a(&[b"a", b"bc"]), fnv1a(&[b"ab", b"c"]));
        assert_eq!(fnv1a(&[b"x"]), fnv1a(&[b"x"]));
    }

    #[test]
    fn pip_errors_are_found() {
        let err = "Collecting x\n  Downloading\nERROR: No matching distribution found for x\n";
        assert_eq!(
            last_error(err),
            "ERROR: No matching distribution found for x"
        );
    }
}
