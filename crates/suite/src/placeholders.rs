//! What the placeholders of a targets file (`{bookbench}`, `{address}`,
//! `{port}`, `{database_url}`, `{home}`, `{repo}`) stand for, on this
//! machine or on a host.

use std::path::PathBuf;

use crate::Error;

/// What the placeholders stand for.
#[derive(Debug, Clone)]
pub struct Placeholders {
    pub bookbench: PathBuf,
    /// Where the target listens: 127.0.0.1, or its host's address.
    pub address: String,
    pub port: u16,
    pub database_url: String,
    pub home: PathBuf,
    pub repo: PathBuf,
}

impl Placeholders {
    /// The placeholders of this bookbench: its own binary, and the checkout
    /// that holds the peers' code, found as the current directory when it
    /// is the checkout, else as the one the binary was built in
    /// (`target/*/bookbench`). `port` is set per target.
    pub fn discover(database_url: &str, home: PathBuf) -> Result<Self, Error> {
        let exe = std::env::current_exe()
            .map_err(|e| Error::io("cannot find the bookbench binary", e))?;
        let cwd = std::env::current_dir().map_err(|e| Error::io("no current directory", e))?;
        let repo = std::iter::once(cwd.as_path())
            .chain(exe.ancestors())
            .find(|d| d.join("bench/targets.toml").is_file())
            .unwrap_or(&cwd)
            .to_path_buf();
        Ok(Self {
            bookbench: exe,
            address: "127.0.0.1".to_string(),
            port: 0,
            database_url: database_url.to_string(),
            home,
            repo,
        })
    }
}
