use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The unprivileged account that runs PostgreSQL when bookbench runs as root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: Option<PathBuf>,
}

const NAME: &str = "postgres";

impl ServiceUser {
    /// `None` for a normal user (the server runs as that user); as root, the
    /// `postgres` account, created as a system user when it does not exist.
    pub fn for_current_process() -> Result<Option<Self>, Error> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(None);
        }
        if let Some(u) = Self::lookup(NAME)? {
            return Ok(Some(u));
        }
        let out = Command::new("useradd")
            .args([
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/bin/sh",
            ])
            .args(["--home-dir", "/nonexistent", NAME])
            .output()
            .map_err(|e| Error::ServiceUser {
                name: NAME.to_string(),
                message: format!("useradd: {e}"),
            })?;
        if !out.status.success() {
            return Err(Error::ServiceUser {
                name: NAME.to_string(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Self::lookup(NAME)?
            .ok_or_else(|| Error::ServiceUser {
                name: NAME.to_string(),
                message: "useradd succeeded but the user is not there".to_string(),
            })
            .map(Some)
    }

    fn lookup(name: &str) -> Result<Option<Self>, Error> {
        let user = nix::unistd::User::from_name(name).map_err(|e| Error::ServiceUser {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        Ok(user.map(|u| Self {
            name: u.name,
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
            home: Some(u.dir).filter(|d| d.is_dir()),
        }))
    }

    /// Whether this user can enter `dir` (every ancestor must let it through).
    pub fn can_enter(&self, dir: &Path) -> bool {
        use std::os::unix::process::CommandExt as _;
        Command::new("/bin/sh")
            .args(["-c", r#"test -x "$1""#, "sh"])
            .arg(dir)
            .current_dir("/")
            .uid(self.uid)
            .gid(self.gid)
            .status()
            .is_ok_and(|s| s.success())
    }
}
