//! The app's virtual environments: one per interpreter and flavour, under
//! `$BOOKBENCH_HOME/apps/<app>/<interpreter>-<flavour>`, holding the app's
//! requirements and then each server package, installed one at a time so
//! that one that does not install leaves the others usable.
//!
//! As the peers' environments: built in a temporary directory and renamed
//! into place, kept while the interpreter, the requirements file and the
//! packages asked for are the same (a stamp records their fingerprint), one
//! set-up at a time (a lock), and a failure of the requirements themselves
//! recorded so that the next matrix does not spend minutes failing again
//! unless told to retry. The versions installed are written beside it
//! (`pip freeze`), since the app's requirements are the user's, not pinned
//! here.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bookbench_suite::Error;
use bookbench_suite::peers::{Lock, fnv1a, step};

use crate::servers::Flavour;
use crate::{App, Interpreter};

const STAMP: &str = ".bookbench-stamp";
const PACKAGES: &str = ".bookbench-packages";
/// The versions installed, as `pip freeze` lists them.
pub const FREEZE: &str = "freeze.txt";

/// A set-up environment.
#[derive(Debug, Clone)]
pub struct Env {
    pub interpreter: Interpreter,
    pub flavour: Flavour,
    pub dir: PathBuf,
    /// `bin/python`: the real interpreter, as valgrind needs it.
    pub python: PathBuf,
    /// Each server package asked for: installed, or why not.
    pub packages: BTreeMap<String, Result<(), String>>,
    /// Its set-up log.
    pub log: PathBuf,
}

impl Env {
    /// Whether `package` installed, or why not.
    pub fn package(&self, package: &str) -> Result<(), String> {
        self.packages
            .get(package)
            .cloned()
            .unwrap_or_else(|| Err(format!("{package} was not asked for")))
    }
}

/// Where the app's environments live.
pub fn root(home: &Path, app: &App) -> PathBuf {
    home.join("apps").join(&app.name)
}

/// Sets up the environment of `app` for `interpreter` and `flavour` with
/// `packages`, unless it is there with the same fingerprint. A missing
/// interpreter is [`Error::Unavailable`]; requirements that do not install
/// are [`Error::Target`] naming the log.
pub fn setup(
    home: &Path,
    app: &App,
    interpreter: Interpreter,
    flavour: Flavour,
    packages: &[&str],
    retry: bool,
) -> Result<Env, Error> {
    let base = root(home, app);
    let name = format!("{}-{}", interpreter.name(), flavour.name());
    let dir = base.join(&name);
    let log = base.join(format!("{name}.log"));
    let failed = base.join(format!("{name}.failed"));
    let print = fingerprint(app, interpreter, packages)?;
    let env = |packages| Env {
        interpreter,
        flavour,
        dir: dir.clone(),
        python: dir.join("bin").join("python"),
        packages,
        log: log.clone(),
    };
    if let Some(packages) = ready(&dir, &print) {
        return Ok(env(packages));
    }
    if !retry
        && let Ok(text) = fs::read_to_string(&failed)
        && let Some((recorded, reason)) = text.split_once('\n')
        && recorded == print
    {
        return Err(Error::Target(format!(
            "{} (recorded earlier; --retry tries again)",
            reason.trim()
        )));
    }
    fs::create_dir_all(&base)
        .map_err(|e| Error::io(format!("cannot create {}", base.display()), e))?;
    let _lock = Lock::acquire(&base.join(format!(".{name}.lock")))?;
    if let Some(packages) = ready(&dir, &print) {
        return Ok(env(packages));
    }
    let tmp = base.join(format!(".{name}.tmp-{}", std::process::id()));
    match build(app, interpreter, &tmp, &log, packages) {
        Ok(installed) => {
            let mut listed = String::new();
            for (package, outcome) in &installed {
                match outcome {
                    Ok(()) => listed.push_str(&format!("{package}\tok\n")),
                    Err(why) => listed.push_str(&format!("{package}\tfailed\t{why}\n")),
                }
            }
            let written = fs::write(tmp.join(PACKAGES), listed)
                .and_then(|()| fs::write(tmp.join(STAMP), format!("{print}\n")));
            if let Err(e) = written {
                let _ = fs::remove_dir_all(&tmp);
                return Err(Error::io(format!("cannot finish {}", dir.display()), e));
            }
            if dir.exists() {
                fs::remove_dir_all(&dir)
                    .map_err(|e| Error::io(format!("cannot replace {}", dir.display()), e))?;
            }
            fs::rename(&tmp, &dir)
                .map_err(|e| Error::io(format!("cannot move into {}", dir.display()), e))?;
            let _ = fs::remove_file(&failed);
            Ok(env(installed))
        }
        Err(reason) => {
            let _ = fs::remove_dir_all(&tmp);
            let _ = fs::write(&failed, format!("{print}\n{reason}\n"));
            Err(Error::Target(reason))
        }
    }
}

/// The packages of the environment in `dir` when its stamp is `print`.
fn ready(dir: &Path, print: &str) -> Option<BTreeMap<String, Result<(), String>>> {
    let stamp = fs::read_to_string(dir.join(STAMP)).ok()?;
    if stamp.trim() != print {
        return None;
    }
    let listed = fs::read_to_string(dir.join(PACKAGES)).ok()?;
    Some(
        listed
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, '\t');
                let package = parts.next()?.to_string();
                let outcome = match (parts.next()?, parts.next()) {
                    ("ok", _) => Ok(()),
                    (_, why) => Err(why.unwrap_or("did not install").to_string()),
                };
                Some((package, outcome))
            })
            .collect(),
    )
}

/// The interpreter's version, the requirements file's content and the
/// packages asked for.
fn fingerprint(app: &App, interpreter: Interpreter, packages: &[&str]) -> Result<String, Error> {
    let program = interpreter.program();
    if !bookbench_suite::which::on_path(program) {
        return Err(Error::Unavailable(format!("{program} is missing")));
    }
    let version = Command::new(program)
        .args(["-c", "import sys; print(sys.version)"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Unavailable(format!("cannot run {program}: {e}")))?;
    if !version.status.success() {
        return Err(Error::Unavailable(format!("{program} does not run")));
    }
    let requirements = app.requirements_for(interpreter);
    let pins = fs::read(requirements).map_err(|e| {
        Error::io(
            format!("cannot read the requirements {}", requirements.display()),
            e,
        )
    })?;
    let asked = packages.join("\n");
    Ok(format!(
        "{:016x}",
        fnv1a(&[&version.stdout, &pins, asked.as_bytes()])
    ))
}

/// Builds the environment in `tmp`: the app's requirements (or why they
/// did not install), then each package, and the versions installed.
fn build(
    app: &App,
    interpreter: Interpreter,
    tmp: &Path,
    log_path: &Path,
    packages: &[&str],
) -> Result<BTreeMap<String, Result<(), String>>, String> {
    if tmp.exists() {
        fs::remove_dir_all(tmp).map_err(|e| format!("cannot clear {}: {e}", tmp.display()))?;
    }
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let _ = writeln!(log, "== setting up {} for {}", tmp.display(), app.name);
    let python = tmp.join("bin").join("python");
    let pip = |package: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "-m".as_ref(),
            "pip".as_ref(),
            "install".as_ref(),
            "--disable-pip-version-check".as_ref(),
            "--no-input".as_ref(),
        ];
        args.extend_from_slice(package);
        args.into_iter().map(ToOwned::to_owned).collect::<Vec<_>>()
    };
    let requirements = app.requirements_for(interpreter);
    let started = Instant::now();
    step(
        &mut log,
        "creating the environment",
        interpreter.program().as_ref(),
        &["-m".as_ref(), "venv".as_ref(), tmp.as_os_str()],
    )
    .and_then(|()| {
        let args = pip(&["-r".as_ref(), requirements.as_os_str()]);
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        step(
            &mut log,
            &format!("pip install -r {}", requirements.display()),
            python.as_os_str(),
            &args,
        )
    })
    .map_err(|why| format!("{why} (log: {})", log_path.display()))?;
    let mut installed = BTreeMap::new();
    for package in packages {
        let args = pip(&[package.as_ref()]);
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let outcome = step(
            &mut log,
            &format!("pip install {package}"),
            python.as_os_str(),
            &args,
        );
        installed.insert((*package).to_string(), outcome);
    }
    if let Ok(freeze) = Command::new(&python)
        .args(["-m", "pip", "freeze", "--disable-pip-version-check"])
        .stdin(Stdio::null())
        .output()
    {
        let _ = fs::write(tmp.join(FREEZE), &freeze.stdout);
    }
    let _ = writeln!(log, "== done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(installed)
}

/// Whether the environment's gunicorn has a control socket (25.1 and
/// later), which `--no-control-socket` turns off: all of a matrix's
/// targets run at once from the app's directory, where each would make
/// its socket.
pub fn gunicorn_has_control_socket(env: &Env) -> bool {
    Command::new(&env.python)
        .args(["-m", "gunicorn", "--help"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("--no-control-socket"))
}

/// What a probe found the app to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    Flask,
    Django,
    Other,
}

/// How long an import may take: an app that connects to its database at
/// import time waits for it.
const PROBE_LIMIT: Duration = Duration::from_secs(60);

/// Imports the app in `env` as its servers will (from its directory, with
/// `DATABASE_URL`); what it is, or the last line of the error.
pub fn probe(
    env: &Env,
    app: &App,
    (database_url, vars): (&str, &BTreeMap<String, String>),
    script: &Path,
) -> Result<Framework, String> {
    let mut child = Command::new(&env.python)
        .arg(script)
        .arg(&app.entry)
        .arg(&app.dir)
        .current_dir(&app.dir)
        .envs(vars)
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", env.python.display()))?;
    let deadline = Instant::now() + PROBE_LIMIT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "importing {} took more than {} s",
                    app.entry,
                    PROBE_LIMIT.as_secs()
                ));
            }
            Err(e) => return Err(format!("cannot wait for the import: {e}")),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot read the import's output: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{} does not import: {}",
            app.entry,
            last_line(&stderr)
        ));
    }
    Ok(match String::from_utf8_lossy(&out.stdout).trim() {
        "flask" => Framework::Flask,
        "django" => Framework::Django,
        _ => Framework::Other,
    })
}

/// The last line of a program's output that says anything: where Python
/// puts the error that ended it.
pub(crate) fn last_line(output: &str) -> &str {
    output
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no output")
}
