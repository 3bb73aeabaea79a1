use std::path::{Path, PathBuf};

use crate::Error;

const PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Where `initdb`, `pg_ctl` and `postgres` live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// Whether the server can load pg_stat_statements (Debian ships it
    /// with the server).
    pub fn has_pg_stat_statements(&self) -> bool {
        self.dir()
            .parent()
            .is_some_and(|p| p.join("lib/pg_stat_statements.so").exists())
    }

    /// `$BOOKBENCH_PG_BINDIR` when set; otherwise looks on `PATH` first (a
    /// user's own build wins), then under `/usr/lib/postgresql/*/bin`
    /// (Debian and Ubuntu keep them off `PATH`), newest major version first.
    pub fn find() -> Result<Self, Error> {
        if let Some(dir) = std::env::var_os("BOOKBENCH_PG_BINDIR").filter(|d| !d.is_empty()) {
            return Self::in_dir(Path::new(&dir));
        }
        let path_dirs = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default();
        let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let major = e.file_name().to_str()?.parse().ok()?;
                Some((major, e.path().join("bin")))
            })
            .collect();
        debian.sort_by_key(|d| std::cmp::Reverse(d.0));
        path_dirs
            .into_iter()
            .chain(debian.into_iter().map(|(_, dir)| dir))
            .find_map(|dir| Self::in_dir(&dir).ok())
            .ok_or(Error::MissingBinaries)
    }

    /// The binaries in `dir`, which must hold all of them.
    pub fn in_dir(dir: &Path) -> Result<Self, Error> {
        if PROGRAMS.iter().all(|p| is_executable(&dir.join(p))) {
            // Resolve links so that the directory also finds the server's
            // own share/ and lib/ (a PATH entry is often a link farm).
            let initdb =
                std::fs::canonicalize(dir.join("initdb")).map_err(|e| Error::io(dir, e))?;
            let real = initdb.parent().unwrap_or(dir).to_path_buf();
            if PROGRAMS.iter().all(|p| is_executable(&real.join(p))) {
                return Ok(Self { dir: real });
            }
            return Ok(Self {
                dir: dir.to_path_buf(),
            });
        }
        Err(Error::MissingBinaries)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The server's version, as `postgres --version` prints it.
    pub fn version(&self) -> Result<String, Error> {
        let out = std::process::Command::new(self.program("postgres"))
            .arg("--version")
            .output()
            .map_err(|e| Error::spawn("postgres", e))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
