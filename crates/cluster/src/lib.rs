//! A private PostgreSQL cluster, run from the server binaries already on the
//! machine.
//!
//! Two users share this crate: `bookbench db` (a long-lived cluster under
//! `$BOOKBENCH_HOME`, see [`embedded`]) and the test helper (a throwaway
//! cluster per test binary, see [`Cluster::start_throwaway`]). Both work as a
//! normal user and as root: `initdb` refuses to run as root, so as root every
//! PostgreSQL program runs as an unprivileged service account ([`ServiceUser`]).
//!
//! The cluster listens on TCP only, on 127.0.0.1 unless told otherwise (the
//! lab's database host): Unix socket paths are limited to about 100 bytes,
//! which a deep checkout easily exceeds.

mod binaries;
pub mod embedded;
mod error;
mod settings;
mod user;

use std::fs;
use std::io::Write as _;
use std::net::{IpAddr, TcpListener};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

pub use binaries::Binaries;
pub use error::Error;
pub use settings::Settings;
pub use user::ServiceUser;

/// A PostgreSQL data directory and the means to run it.
#[derive(Debug, Clone)]
pub struct Cluster {
    bins: Binaries,
    /// Holds `data/` and `postgres.log`; owned by the service user.
    dir: PathBuf,
    user: Option<ServiceUser>,
}

/// Whether a cluster's postmaster is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running { pid: u32 },
    Stopped,
}

/// How a running cluster is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Disconnect clients, checkpoint, exit.
    Fast,
    /// Exit at once; the next start recovers from WAL.
    Immediate,
}

impl Cluster {
    /// A cluster in `dir` (which need not exist yet), run by `user` when set.
    pub fn new(bins: Binaries, dir: impl Into<PathBuf>, user: Option<ServiceUser>) -> Self {
        Self {
            bins,
            dir: dir.into(),
            user,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    pub fn binaries(&self) -> &Binaries {
        &self.bins
    }

    pub fn user(&self) -> Option<&ServiceUser> {
        self.user.as_ref()
    }

    pub fn is_initialized(&self) -> bool {
        self.data_dir().join("PG_VERSION").exists()
    }

    /// Creates the directory (owned by the service user) and runs `initdb`
    /// with `superuser` as the bootstrap role, then writes `settings`.
    pub fn init(&self, superuser: &str, password: &str, settings: &Settings) -> Result<(), Error> {
        self.check_owner()?;
        self.prepare_dir()?;
        let pwfile = self.dir.join(".pwfile");
        write_private(&pwfile, password)?;
        self.chown(&pwfile)?;
        let out = self
            .command(self.bins.program("initdb"))
            .arg("--pgdata")
            .arg(self.data_dir())
            .arg("--username")
            .arg(superuser)
            .arg("--pwfile")
            .arg(&pwfile)
            .args(["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"])
            .args(["--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"])
            .args(settings.initdb_args())
            .output();
        let _ = fs::remove_file(&pwfile);
        let out = out.map_err(|e| Error::spawn("initdb", e))?;
        if !out.status.success() {
            return Err(Error::failed("initdb", &out.stderr));
        }
        let conf = self.data_dir().join("postgresql.conf");
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(|e| Error::io(&conf, e))?;
        f.write_all(settings.to_conf().as_bytes())
            .map_err(|e| Error::io(&conf, e))?;
        Ok(())
    }

    /// Starts the postmaster on `port` and waits until it accepts connections.
    pub fn start(&self, port: u16) -> Result<u32, Error> {
        self.start_on(port, IpAddr::from([127, 0, 0, 1]))
    }

    /// Starts the postmaster on `listen`:`port` and waits until it accepts
    /// connections there. It listens in the network namespace of the calling
    /// thread: started from a thread that entered another host's namespace,
    /// it runs on that host.
    pub fn start_on(&self, port: u16, listen: IpAddr) -> Result<u32, Error> {
        self.start_through(port, listen, &[])
    }

    /// As [`Self::start_on`], the postmaster run through `prefix` (a
    /// program and its arguments, valgrind's say), which its backends, forked
    /// and not executed, stay under. An empty prefix runs it plainly.
    pub fn start_through(
        &self,
        port: u16,
        listen: IpAddr,
        prefix: &[String],
    ) -> Result<u32, Error> {
        self.check_owner()?;
        if let Status::Running { pid } = self.status()? {
            return Ok(pid);
        }
        // A crash leaves postmaster.pid behind, and the dead postmaster's
        // children may take a moment to notice and exit. Once they are gone
        // nothing uses the directory, and the file is stale.
        if let Some(pid) = self.recorded_pid() {
            wait_for_children_to_exit(pid);
        }
        let _ = fs::remove_file(self.data_dir().join("postmaster.pid"));
        close_inherited_descriptors_on_exec();
        let mut pg_ctl = self.command(self.bins.program("pg_ctl"));
        pg_ctl
            .arg("start")
            .arg("--pgdata")
            .arg(self.data_dir())
            .arg("--log")
            .arg(self.log_file())
            .args(["--wait", "--timeout=600", "--silent"])
            .arg("-o")
            .arg(format!("-p {port} -c listen_addresses={listen}"))
            .stdin(Stdio::null());
        if !prefix.is_empty() {
            // pg_ctl runs one program: a script that runs the prefix.
            pg_ctl.arg("-p").arg(self.through_script(prefix)?);
        }
        let out = pg_ctl.output().map_err(|e| Error::spawn("pg_ctl", e))?;
        if !out.status.success() {
            let mut msg = out.stderr;
            msg.extend_from_slice(tail(&self.log_file(), 8).as_bytes());
            return Err(Error::failed("pg_ctl start", &msg));
        }
        match self.status()? {
            Status::Running { pid } => Ok(pid),
            Status::Stopped => Err(Error::failed(
                "pg_ctl start",
                tail(&self.log_file(), 8).as_bytes(),
            )),
        }
    }

    /// `postgres` behind `prefix`, as a script the service user can run.
    fn through_script(&self, prefix: &[String]) -> Result<PathBuf, Error> {
        let quote = |word: &str| format!("'{}'", word.replace('\'', r"'\''"));
        let postgres = self.bins.program("postgres");
        let words: Vec<String> = prefix
            .iter()
            .map(|w| quote(w))
            .chain([quote(&postgres.to_string_lossy())])
            .collect();
        let path = self.dir.join("postgres-through.sh");
        let script = format!("#!/bin/sh\nexec {} \"$@\"\n", words.join(" "));
        fs::write(&path, script).map_err(|e| Error::io(&path, e))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }

    /// Whether the running postmaster is `postgres` itself, not run
    /// through a prefix (valgrind's tool is another program).
    pub fn runs_plainly(&self) -> Result<bool, Error> {
        Ok(match self.status()? {
            Status::Running { pid } => fs::read_link(format!("/proc/{pid}/exe"))
                .map(|exe| exe.file_name().is_some_and(|n| n == "postgres"))
                .unwrap_or(true),
            Status::Stopped => true,
        })
    }

    /// A directory of `name` inside the cluster's, empty, that the server
    /// can write (where a wrapped postmaster's processes write).
    pub fn server_dir(&self, name: &str) -> Result<PathBuf, Error> {
        let dir = self.dir.join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        self.chown(&dir)?;
        Ok(dir)
    }

    /// Lets clients from `network` (CIDR, `198.18.0.0/15`) connect with a
    /// password, as those from 127.0.0.1 can; read at the next start.
    pub fn allow_network(&self, network: &str) -> Result<(), Error> {
        let path = self.data_dir().join("pg_hba.conf");
        let hba = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let line = format!("host all all {network} scram-sha-256");
        if hba
            .lines()
            .any(|l| l.split_whitespace().eq(line.split_whitespace()))
        {
            return Ok(());
        }
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        f.write_all(format!("{line}\n").as_bytes())
            .map_err(|e| Error::io(&path, e))
    }

    pub fn status(&self) -> Result<Status, Error> {
        if !self.is_initialized() {
            return Ok(Status::Stopped);
        }
        let out = self
            .command(self.bins.program("pg_ctl"))
            .arg("status")
            .arg("--pgdata")
            .arg(self.data_dir())
            .output()
            .map_err(|e| Error::spawn("pg_ctl", e))?;
        // pg_ctl status: 0 running, 3 not running, 4 no accessible data directory.
        match out.status.code() {
            Some(0) => match self.recorded_pid() {
                // pg_ctl takes a killed postmaster that its parent has not
                // reaped yet (a zombie) for a live one.
                Some(pid) if is_running(pid) => Ok(Status::Running { pid }),
                _ => Ok(Status::Stopped),
            },
            Some(3) => Ok(Status::Stopped),
            _ => Err(Error::failed("pg_ctl status", &out.stderr)),
        }
    }

    /// The postmaster's pid, from its lock file.
    fn recorded_pid(&self) -> Option<u32> {
        fs::read_to_string(self.data_dir().join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()))
    }

    /// Stops the postmaster and waits until every server process is gone.
    pub fn stop(&self, mode: StopMode) -> Result<(), Error> {
        if self.status()? == Status::Stopped {
            return Ok(());
        }
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let out = self
            .command(self.bins.program("pg_ctl"))
            .arg("stop")
            .arg("--pgdata")
            .arg(self.data_dir())
            .args(["--mode", mode, "--wait", "--timeout=120", "--silent"])
            .output()
            .map_err(|e| Error::spawn("pg_ctl", e))?;
        if !out.status.success() {
            return Err(Error::failed("pg_ctl stop", &out.stderr));
        }
        Ok(())
    }

    /// Initialises and starts a cluster that lives exactly as long as the
    /// calling process: a watchdog process reads a pipe whose other end only
    /// this process holds; when this process exits for any reason (SIGKILL
    /// included) the pipe closes, and the watchdog stops the cluster and
    /// removes its directory.
    pub fn start_throwaway(
        bins: Binaries,
        user: Option<ServiceUser>,
        superuser: &str,
        password: &str,
        settings: &Settings,
    ) -> Result<(Self, u16, Watchdog), Error> {
        let base = std::env::temp_dir().join(format!(
            "bookbench-test-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let cluster = Self::new(bins, base, user);
        cluster.init(superuser, password, settings)?;
        let port = free_port()?;
        // The watchdog comes first, so that a failed start is cleaned up too.
        let watchdog = cluster.spawn_watchdog()?;
        cluster.start(port)?;
        Ok((cluster, port, watchdog))
    }

    fn spawn_watchdog(&self) -> Result<Watchdog, Error> {
        use std::os::unix::process::CommandExt as _;
        const SCRIPT: &str = r#"cat >/dev/null; "$1" stop --pgdata "$2" --mode immediate --wait --silent >/dev/null 2>&1; rm -rf "$3""#;
        let child = self
            .command("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("sh")
            .arg(self.bins.program("pg_ctl"))
            .arg(self.data_dir())
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C meant for the tests must not
            // kill the watchdog before it has done its work.
            .process_group(0)
            .spawn()
            .map_err(|e| Error::spawn("/bin/sh", e))?;
        Ok(Watchdog { child })
    }

    /// A command run as the service user, from `/` (the caller's working
    /// directory may be unreachable for that user).
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        use std::os::unix::process::CommandExt as _;
        let mut cmd = Command::new(program);
        cmd.current_dir("/").env("LC_ALL", "C.UTF-8");
        if let Some(u) = &self.user {
            cmd.uid(u.uid).gid(u.gid);
            if let Some(home) = &u.home {
                cmd.env("HOME", home);
            }
        }
        cmd
    }

    /// Creates the directory for the service user; one that exists already
    /// was checked by [`Self::check_owner`].
    fn prepare_dir(&self) -> Result<(), Error> {
        if self.dir.exists() {
            return Ok(());
        }
        fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        self.chown(&self.dir)
    }

    fn chown(&self, path: &Path) -> Result<(), Error> {
        if let Some(u) = &self.user {
            nix::unistd::chown(path, Some(u.uid.into()), Some(u.gid.into()))
                .map_err(|e| Error::io(path, e.into()))?;
        }
        Ok(())
    }

    /// The data directory must belong to whoever runs the server: PostgreSQL
    /// refuses anything else, with a message less clear than this one.
    fn check_owner(&self) -> Result<(), Error> {
        use std::os::unix::fs::MetadataExt as _;
        let expected = match &self.user {
            Some(u) => u.uid,
            None => nix::unistd::geteuid().as_raw(),
        };
        for path in [self.dir.clone(), self.data_dir()] {
            if let Ok(meta) = fs::metadata(&path)
                && meta.uid() != expected
            {
                return Err(Error::NotOwned {
                    path,
                    owner: meta.uid(),
                    expected,
                });
            }
        }
        Ok(())
    }
}

/// Keeps a throwaway cluster alive; see [`Cluster::start_throwaway`].
#[derive(Debug)]
pub struct Watchdog {
    child: Child,
}

impl Watchdog {
    /// Stops the cluster now and waits for it to be gone.
    pub fn shutdown(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }

    /// The pipe's write end, for callers that keep it for the process's
    /// lifetime (a `static` is never dropped; the kernel closes it at exit).
    pub fn into_stdin(mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }
}

/// The postmaster outlives this process, and must not keep open what this
/// process inherited (a `flock` around a script, say, would then stay locked
/// for as long as the cluster runs). Descriptors that Rust opens are
/// close-on-exec already; this marks the inherited ones (3 and up) so too.
fn close_inherited_descriptors_on_exec() {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    use std::os::fd::BorrowedFd;
    let fds: Vec<i32> = fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: the descriptor was listed as open a moment ago and is only
        // borrowed for this one call; if it has been closed since (the
        // listing's own descriptor is), fcntl fails with EBADF, ignored.
        #[allow(unsafe_code)]
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let _ = fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    }
}

/// Whether `pid` is a live process (a zombie is not).
pub fn is_running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// Waits (up to 10 s) until no live process has `parent` as its parent.
fn wait_for_children_to_exit(parent: u32) {
    let has_children = || {
        fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                    return false;
                };
                fs::read_to_string(format!("/proc/{pid}/stat"))
                    .ok()
                    .and_then(|s| {
                        let rest = s.rsplit_once(") ")?.1.to_string();
                        let mut fields = rest.split(' ');
                        let state = fields.next()?;
                        let ppid: u32 = fields.next()?.parse().ok()?;
                        Some(ppid == parent && state != "Z")
                    })
                    .unwrap_or(false)
            })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while has_children() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16, Error> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io(Path::new("127.0.0.1:0"), e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io(Path::new("127.0.0.1:0"), e))
}

/// A random password of 24 alphanumeric characters.
pub fn random_password() -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(24)
        .collect()
}

fn write_private(path: &Path, contents: &str) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| Error::io(path, e))
}

/// The last `n` lines of a log file, for error messages.
fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
