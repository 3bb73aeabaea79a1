use std::path::{Path, PathBuf};

/// Everything that can go wrong while running a cluster. Each message is one
/// line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or under \
         /usr/lib/postgresql/*/bin; install them (Debian: apt-get install postgresql) or pass \
         --database-url"
    )]
    MissingBinaries,
    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} failed: {message}")]
    Failed { program: String, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is owned by uid {owner}, but the server runs as uid {expected}; \
         remove it or fix its owner (chown -R)", path.display()
    )]
    NotOwned {
        path: PathBuf,
        owner: u32,
        expected: u32,
    },
    #[error("could not set up the service user {name}: {message}")]
    ServiceUser { name: String, message: String },
    #[error("the cluster state file {} is damaged: {message}; remove it, or run 'bookbench db start' again after 'rm -r' of the home", path.display())]
    State { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn spawn(program: &str, source: std::io::Error) -> Self {
        Self::Spawn {
            program: program.to_string(),
            source,
        }
    }

    /// A failed command, with the meaningful part of what it printed folded
    /// into one line.
    pub(crate) fn failed(program: &str, output: &[u8]) -> Self {
        let text = String::from_utf8_lossy(output);
        let message = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" | ");
        Self::Failed {
            program: program.to_string(),
            message: if message.is_empty() {
                "no output".to_string()
            } else {
                message
            },
        }
    }
}
