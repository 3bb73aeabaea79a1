//! The servers an app runs under: the blog post's (the framework's
//! development server, gunicorn's sync, gevent and eventlet workers) and
//! today's (gunicorn's gthread worker, uvicorn, Granian), each with the
//! command that starts it and the packages it needs.

use std::path::Path;

use crate::{App, Interface};

/// One way to serve the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Server {
    Dev,
    GunicornSync,
    GunicornGthread,
    GunicornGevent,
    GunicornEventlet,
    Uvicorn,
    Granian,
}

/// The environment a server is installed in. gunicorn 26 dropped the
/// eventlet worker, so eventlet needs an older gunicorn than the others:
/// an environment of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flavour {
    Main,
    Eventlet,
}

impl Flavour {
    pub fn name(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Eventlet => "eventlet",
        }
    }
}

/// Threads of gunicorn's gthread worker: as many as the peers' pools hold
/// connections.
pub const GTHREAD_THREADS: u32 = 10;

impl Server {
    pub const ALL: [Self; 7] = [
        Self::Dev,
        Self::GunicornSync,
        Self::GunicornGthread,
        Self::GunicornGevent,
        Self::GunicornEventlet,
        Self::Uvicorn,
        Self::Granian,
    ];

    /// Its name in targets' names and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::GunicornSync => "gunicorn-sync",
            Self::GunicornGthread => "gunicorn-gthread",
            Self::GunicornGevent => "gunicorn-gevent",
            Self::GunicornEventlet => "gunicorn-eventlet",
            Self::Uvicorn => "uvicorn",
            Self::Granian => "granian",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether it serves apps of `interface`.
    pub fn serves(self, interface: Interface) -> bool {
        match self {
            Self::Dev
            | Self::GunicornSync
            | Self::GunicornGthread
            | Self::GunicornGevent
            | Self::GunicornEventlet => interface == Interface::Wsgi,
            Self::Uvicorn => interface == Interface::Asgi,
            Self::Granian => true,
        }
    }

    pub fn flavour(self) -> Flavour {
        match self {
            Self::GunicornEventlet => Flavour::Eventlet,
            _ => Flavour::Main,
        }
    }

    /// The pip requirement it needs beside the app's own (none for the
    /// framework's development server).
    pub fn package(self) -> Option<&'static str> {
        match self {
            Self::Dev => None,
            Self::GunicornSync | Self::GunicornGthread => Some("gunicorn"),
            Self::GunicornGevent => Some("gunicorn[gevent]"),
            // The newest gunicorn with the eventlet worker that the
            // interpreter can run.
            Self::GunicornEventlet => Some("gunicorn[eventlet]<26"),
            Self::Uvicorn => Some("uvicorn"),
            Self::Granian => Some("granian"),
        }
    }

    /// Whether it is one of gunicorn's workers.
    pub fn is_gunicorn(self) -> bool {
        matches!(
            self,
            Self::GunicornSync
                | Self::GunicornGthread
                | Self::GunicornGevent
                | Self::GunicornEventlet
        )
    }

    /// The command, with the suite's placeholders for address, port and
    /// workers. `dev` is the development server's launcher; gunicorn gets
    /// `gunicorn_flags` before its own.
    pub fn command(
        self,
        python: &Path,
        app: &App,
        dev: &Path,
        gunicorn_flags: &[&str],
    ) -> Vec<String> {
        let python = python.to_string_lossy().into_owned();
        let dir = app.dir.to_string_lossy().into_owned();
        let line = |parts: &[&str]| parts.iter().map(|p| (*p).to_string()).collect::<Vec<_>>();
        let gunicorn = |class: &str, extra: &[&str]| {
            let mut c = line(&[&python, "-m", "gunicorn"]);
            c.extend(line(gunicorn_flags));
            c.extend(line(&["--chdir", &dir, "-w", "{workers}"]));
            c.extend(line(&["-k", class]));
            c.extend(line(extra));
            c.extend(line(&["-b", "{address}:{port}", &app.entry]));
            c
        };
        let listen = [
            "--host",
            "{address}",
            "--port",
            "{port}",
            "--workers",
            "{workers}",
        ];
        let threads = GTHREAD_THREADS.to_string();
        match self {
            Self::Dev => line(&[&python, &dev.to_string_lossy(), &app.entry, &dir]),
            Self::GunicornSync => gunicorn("sync", &[]),
            Self::GunicornGthread => gunicorn("gthread", &["--threads", &threads]),
            Self::GunicornGevent => gunicorn("gevent", &[]),
            Self::GunicornEventlet => gunicorn("eventlet", &[]),
            Self::Uvicorn => [
                line(&[&python, "-m", "uvicorn", "--app-dir", &dir]),
                line(&listen),
                line(&["--no-access-log", &app.entry]),
            ]
            .concat(),
            Self::Granian => [
                line(&[
                    &python,
                    "-m",
                    "granian",
                    "--interface",
                    app.interface.name(),
                ]),
                line(&["--working-dir", &dir]),
                line(&listen),
                line(&[&app.entry]),
            ]
            .concat(),
        }
    }

    /// What the report says of it.
    pub fn note(self) -> String {
        match self {
            Self::Dev => "The framework's own development server (Flask's app.run, Django's \
                          runserver), as its docs start it, without the reloader."
                .to_string(),
            Self::GunicornSync => "gunicorn's sync worker: one request at a time.".to_string(),
            Self::GunicornGthread => {
                format!("gunicorn's gthread worker with {GTHREAD_THREADS} threads.")
            }
            Self::GunicornGevent => {
                "gunicorn's gevent worker: greenlets, the standard library monkey-patched."
                    .to_string()
            }
            Self::GunicornEventlet => "gunicorn's eventlet worker (gunicorn before 26, which \
                                       dropped it)."
                .to_string(),
            Self::Uvicorn => "uvicorn, access log off (gunicorn's is off by default).".to_string(),
            Self::Granian => "Granian, its defaults but one worker.".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_is_named_once_and_each_interface_has_servers() {
        for s in Server::ALL {
            assert_eq!(Server::parse(s.name()), Some(s));
        }
        let wsgi: Vec<_> = Server::ALL
            .into_iter()
            .filter(|s| s.serves(Interface::Wsgi))
            .collect();
        assert_eq!(wsgi.len(), 6);
        let asgi: Vec<_> = Server::ALL
            .into_iter()
            .filter(|s| s.serves(Interface::Asgi))
            .collect();
        assert_eq!(asgi, [Server::Uvicorn, Server::Granian]);
    }
}
