//! The embedded default: one long-lived cluster per `$BOOKBENCH_HOME`.
//!
//! Its state (where the data directory is, the port, the password) is kept in
//! `$BOOKBENCH_HOME/cluster.json`, readable only by its owner. As root the
//! data directory must be reachable by the service user; a home under a 0700
//! directory (such as a checkout in `/root`) is not, so the data then lives
//! in `/var/lib/bookbench/<hash of the home>/`, and `db status` says so.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Binaries, Cluster, Error, ServiceUser, Settings, Status, StopMode};

/// The database and role that bookbench creates in its cluster.
pub const DATABASE: &str = "bookbench";
pub const ROLE: &str = "bookbench";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    dir: PathBuf,
    port: u16,
    password: String,
    /// Where it was last started to listen, when not on 127.0.0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listen: Option<IpAddr>,
}

/// Where the cluster listens when not on this machine's loopback: a host of
/// the lab (docs/hosts.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// The host's address, the one the cluster listens on.
    pub address: IpAddr,
    /// The network its clients connect from (CIDR, `198.18.0.0/15`).
    pub clients: String,
}

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// The cluster of one `$BOOKBENCH_HOME`.
#[derive(Debug)]
pub struct Embedded {
    home: PathBuf,
    state: State,
    cluster: Cluster,
}

/// What `bookbench db status` reports.
#[derive(Debug, Clone)]
pub struct Report {
    pub status: Status,
    pub dir: PathBuf,
    pub data_dir: PathBuf,
    pub log_file: PathBuf,
    pub port: u16,
    pub address: IpAddr,
    pub run_as: Option<String>,
    pub binaries: PathBuf,
}

/// `$BOOKBENCH_HOME`, or `./.bookbench`, made absolute.
pub fn home_from_env() -> PathBuf {
    let home = std::env::var_os("BOOKBENCH_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".bookbench"));
    std::path::absolute(&home).unwrap_or(home)
}

impl Embedded {
    /// Opens the home's cluster, choosing its place on first use. Nothing is
    /// started or created on disk but the home itself.
    pub fn open(home: &Path) -> Result<Self, Error> {
        let bins = Binaries::find()?;
        let user = ServiceUser::for_current_process()?;
        fs::create_dir_all(home).map_err(|e| Error::io(home, e))?;
        let state_path = home.join("cluster.json");
        let state = match fs::read_to_string(&state_path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| Error::State {
                path: state_path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State {
                dir: cluster_dir(home, user.as_ref()),
                port: crate::free_port()?,
                password: crate::random_password(),
                listen: None,
            },
            Err(e) => return Err(Error::io(&state_path, e)),
        };
        let cluster = Cluster::new(bins, state.dir.clone(), user);
        Ok(Self {
            home: home.to_path_buf(),
            state,
            cluster,
        })
    }

    /// Initialises the cluster if needed, starts it on 127.0.0.1 if it is not
    /// running there and creates the database. Safe to call from several
    /// processes at once.
    pub fn ensure_started(&mut self) -> Result<(), Error> {
        self.ensure_started_on(None)
    }

    /// As [`Self::ensure_started`], listening on `listen` when given: in the
    /// calling thread's network namespace, which is where it then runs. A
    /// cluster running elsewhere is stopped and started here.
    pub fn ensure_started_on(&mut self, listen: Option<Listen>) -> Result<(), Error> {
        let _lock = self.lock()?;
        let want = listen.as_ref().map(|l| l.address);
        if !self.cluster.is_initialized() {
            let bins = self.cluster.binaries().clone();
            let pgss = bins.has_pg_stat_statements();
            self.cluster
                .init(ROLE, &self.state.password, &Settings::benchmark(pgss))?;
            self.save()?;
        }
        let mut status = self.cluster.status()?;
        // A postmaster left under valgrind by a counting run that never
        // ended would slow every later run fifty times.
        if status != Status::Stopped
            && (self.state.listen != want || !self.cluster.runs_plainly()?)
        {
            self.cluster.stop(StopMode::Fast)?;
            status = Status::Stopped;
        }
        if status == Status::Stopped {
            let address = want.unwrap_or(LOOPBACK);
            if std::net::TcpListener::bind((address, self.state.port)).is_err() {
                self.state.port = crate::free_port()?;
            }
            if let Some(l) = &listen {
                self.cluster.allow_network(&l.clients)?;
            }
            self.state.listen = want;
            self.save()?;
            self.cluster.start_on(self.state.port, address)?;
        }
        self.create_database()
    }

    /// Stops the running cluster and starts it again where it listened, its
    /// postmaster run through `prefix` (valgrind's, to count what its
    /// backends do), or plainly when `prefix` is empty.
    pub fn restart_through(&mut self, prefix: &[String]) -> Result<(), Error> {
        let _lock = self.lock()?;
        self.cluster.stop(StopMode::Fast)?;
        self.cluster
            .start_through(self.state.port, self.address(), prefix)?;
        Ok(())
    }

    pub fn stop(&self) -> Result<(), Error> {
        let _lock = self.lock()?;
        self.cluster.stop(StopMode::Fast)
    }

    pub fn status(&self) -> Result<Report, Error> {
        Ok(Report {
            status: self.cluster.status()?,
            dir: self.cluster.dir().to_path_buf(),
            data_dir: self.cluster.data_dir(),
            log_file: self.cluster.log_file(),
            port: self.state.port,
            address: self.address(),
            run_as: self.cluster.user().map(|u| u.name.clone()),
            binaries: self.cluster.binaries().dir().to_path_buf(),
        })
    }

    /// The connection URL of the bookbench database.
    pub fn url(&self) -> String {
        self.url_of(DATABASE)
    }

    fn url_of(&self, database: &str) -> String {
        format!(
            "postgres://{ROLE}:{}@{}/{database}",
            self.state.password,
            std::net::SocketAddr::from((self.address(), self.state.port))
        )
    }

    /// The address it listens on (when running).
    pub fn address(&self) -> IpAddr {
        self.state.listen.unwrap_or(LOOPBACK)
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    fn create_database(&self) -> Result<(), Error> {
        let out = std::process::Command::new(self.cluster.binaries().program("psql"))
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .arg("-d")
            .arg(self.url_of("postgres"))
            .arg("-c")
            .arg(format!(
                "SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"
            ))
            .output()
            .map_err(|e| Error::spawn("psql", e))?;
        if !out.status.success() {
            return Err(Error::failed("psql", &out.stderr));
        }
        if String::from_utf8_lossy(&out.stdout).trim() == "1" {
            return Ok(());
        }
        let out = std::process::Command::new(self.cluster.binaries().program("createdb"))
            .arg("-h")
            .arg(self.address().to_string())
            .arg("-p")
            .arg(self.state.port.to_string())
            .args(["-U", ROLE, DATABASE])
            .env("PGPASSWORD", &self.state.password)
            .output()
            .map_err(|e| Error::spawn("createdb", e))?;
        if !out.status.success() {
            return Err(Error::failed("createdb", &out.stderr));
        }
        Ok(())
    }

    fn save(&self) -> Result<(), Error> {
        let path = self.home.join("cluster.json");
        let tmp = self.home.join("cluster.json.tmp");
        let text = serde_json::to_string_pretty(&self.state).map_err(|e| Error::State {
            path: path.clone(),
            message: e.to_string(),
        })?;
        crate::write_private(&tmp, &text)?;
        fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }

    fn lock(&self) -> Result<nix::fcntl::Flock<fs::File>, Error> {
        let path = self.home.join("cluster.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::io(&path, e.into()))
    }
}

/// Where a new cluster of `home` goes: inside it when the server's user can
/// reach it, otherwise under /var/lib/bookbench.
fn cluster_dir(home: &Path, user: Option<&ServiceUser>) -> PathBuf {
    match user {
        Some(u) if !u.can_enter(home) => {
            PathBuf::from("/var/lib/bookbench").join(format!("{:016x}", fnv1a(home)))
        }
        _ => home.join("pg"),
    }
}

/// FNV-1a: a stable name for a path, not a secret.
fn fnv1a(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt as _;
    path.as_os_str()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}
