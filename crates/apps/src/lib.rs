//! A WSGI or ASGI app of one's own, as the targets of `bookbench matrix`:
//! one for every way the blog post ran its app and today's, each server
//! under CPython and under PyPy, in virtual environments built from the
//! app's requirements and cached under `$BOOKBENCH_HOME/apps/<app>/`.
//!
//! What cannot run here (a requirements file that does not install under
//! one interpreter, a server package that does not, an app that does not
//! import) becomes a target that says why instead of running, so that the
//! rest of the matrix runs and the report lists it with its reason.

pub mod env;
pub mod matrix;
pub mod servers;

use std::path::{Path, PathBuf};

use bookbench_suite::Error;

/// The interface the app speaks to its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    Wsgi,
    Asgi,
}

impl Interface {
    pub fn name(self) -> &'static str {
        match self {
            Self::Wsgi => "wsgi",
            Self::Asgi => "asgi",
        }
    }
}

/// A Python interpreter the app can run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Interpreter {
    CPython,
    PyPy,
}

impl Interpreter {
    pub const ALL: [Self; 2] = [Self::CPython, Self::PyPy];

    /// Its name on the command line and in directories.
    pub fn name(self) -> &'static str {
        match self {
            Self::CPython => "cpython",
            Self::PyPy => "pypy",
        }
    }

    /// The program that makes its environments, looked up on PATH.
    pub fn program(self) -> &'static str {
        match self {
            Self::CPython => "python3",
            Self::PyPy => "pypy3",
        }
    }

    /// What its targets' names start with: the blog post named PyPy's
    /// configurations `pypy-...` and CPython's plainly, as the peers do.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::CPython => "",
            Self::PyPy => "pypy-",
        }
    }

    pub fn parse(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|i| i.name() == name)
            .ok_or_else(|| {
                Error::Usage(format!("unknown interpreter '{name}'; use cpython or pypy"))
            })
    }
}

/// The app: where it is, how a server finds it, and what it needs.
#[derive(Debug, Clone)]
pub struct App {
    /// Short, for target names: the directory's name unless given.
    pub name: String,
    /// Absolute.
    pub dir: PathBuf,
    pub interface: Interface,
    /// `MODULE:ATTR`, as gunicorn, uvicorn and granian take it.
    pub entry: String,
    /// The requirements file for CPython, and for PyPy (often the same).
    pub requirements: PathBuf,
    pub pypy_requirements: PathBuf,
}

impl App {
    /// Checks what is given: the directory and requirements files exist,
    /// the entry is `MODULE:ATTR`, the name can be part of a target's.
    pub fn new(
        dir: &Path,
        interface: Interface,
        entry: &str,
        requirements: Option<&Path>,
        pypy_requirements: Option<&Path>,
        name: Option<&str>,
    ) -> Result<Self, Error> {
        let dir = std::fs::canonicalize(dir).map_err(|e| {
            Error::Usage(format!(
                "the app's directory {} cannot be used: {e}",
                dir.display()
            ))
        })?;
        check_entry(entry, interface)?;
        let requirements = match requirements {
            Some(r) => r.to_path_buf(),
            None => dir.join("requirements.txt"),
        };
        let requirements = std::fs::canonicalize(&requirements).map_err(|e| {
            Error::Usage(format!(
                "the requirements file {} cannot be read ({e}); give one with --requirements",
                requirements.display()
            ))
        })?;
        let pypy_requirements = match pypy_requirements {
            Some(r) => std::fs::canonicalize(r).map_err(|e| {
                Error::Usage(format!(
                    "the PyPy requirements file {} cannot be read: {e}",
                    r.display()
                ))
            })?,
            None => {
                let beside = dir.join("requirements-pypy.txt");
                if beside.is_file() {
                    beside
                } else {
                    requirements.clone()
                }
            }
        };
        let name = match name {
            Some(n) => n.to_string(),
            None => dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let fits = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !fits {
            return Err(Error::Usage(format!(
                "'{name}' cannot name the app's targets: use letters, digits, '-' and '_' (--name)"
            )));
        }
        Ok(Self {
            name,
            dir,
            interface,
            entry: entry.to_string(),
            requirements,
            pypy_requirements,
        })
    }

    /// The requirements file for `interpreter`.
    pub fn requirements_for(&self, interpreter: Interpreter) -> &Path {
        match interpreter {
            Interpreter::CPython => &self.requirements,
            Interpreter::PyPy => &self.pypy_requirements,
        }
    }
}

/// `MODULE:ATTR`: dotted Python identifiers on both sides.
fn check_entry(entry: &str, interface: Interface) -> Result<(), Error> {
    let identifiers = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
    };
    match entry.split_once(':') {
        Some((module, attr)) if identifiers(module) && identifiers(attr) => Ok(()),
        _ => Err(Error::Usage(format!(
            "--{} '{entry}' is not MODULE:ATTR, as in app:app or myproject.wsgi:application",
            interface.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_module_colon_attribute() {
        for good in ["app:app", "myproject.wsgi:application", "_x.y:z.w"] {
            assert!(check_entry(good, Interface::Wsgi).is_ok(), "{good}");
        }
        for bad in ["app", "app:", ":app", "my-app:app", "app:app()", "1x:app"] {
            let e = check_entry(bad, Interface::Asgi).err();
            let e = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(e.starts_with("--asgi"), "{bad}: {e}");
        }
    }
}
