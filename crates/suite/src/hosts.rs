//! Hosts: where each role of a run lives, and how bookbench reaches it,
//! read from a hosts file (`run --hosts FILE`, `bookbench hosts check`;
//! `bench/hosts.toml` describes the lab).
//!
//! A host is reached by a command prefix: nothing (this machine),
//! `ip netns exec NAME` (a network namespace here: same processes, same
//! `/proc`, another network), or anything else, such as `ssh HOST`, which
//! is taken to run one shell command line given as its last argument, the
//! way ssh does. On such a host, bookbench's commands are shell lines, a
//! target's environment goes through its standard input (never a command
//! line, which every user can read), and its CPU time is read from that
//! host's `/proc` through the same prefix (docs/hosts.md).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::Error;
use crate::placeholders::Placeholders;

/// What a host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs a load agent (`bookbench load`); `verify` runs on the first.
    Client,
    /// Runs the proxy of a target run behind one.
    Proxy,
    /// Runs the targets.
    App,
    /// Runs the embedded database cluster (a namespace of this machine),
    /// or holds the PostgreSQL of `database_url`.
    Database,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Proxy => "proxy",
            Self::App => "app",
            Self::Database => "database",
        }
    }
}

/// How a host's processes are seen from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// This machine.
    Here,
    /// A network namespace of this machine: its processes are this
    /// machine's, with their process ids.
    Namespace(String),
    /// Another machine (or one seen only through a shell, such as ssh):
    /// commands are shell lines, processes are read through the prefix.
    Remote,
}

/// One host of a hosts file, its placeholders expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub role: Role,
    /// The command prefix that runs a command there.
    pub prefix: Vec<String>,
    /// Where the other hosts reach it.
    pub address: IpAddr,
    /// The bookbench binary there.
    pub bookbench: PathBuf,
    /// The checkout there (the peers' code).
    pub repo: PathBuf,
    /// `$BOOKBENCH_HOME` there (the peers' environments).
    pub home: PathBuf,
    /// A database host's PostgreSQL, when it is not the embedded cluster.
    pub database_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    here: String,
    network: String,
    host: Vec<toml::Spanned<HostEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostEntry {
    name: String,
    role: Role,
    #[serde(default)]
    prefix: Vec<String>,
    address: String,
    #[serde(default = "default_bookbench")]
    bookbench: String,
    #[serde(default = "default_repo")]
    repo: String,
    #[serde(default = "default_home")]
    home: String,
    #[serde(default)]
    database_url: Option<String>,
}

fn default_bookbench() -> String {
    "{bookbench}".to_string()
}

fn default_repo() -> String {
    "{repo}".to_string()
}

fn default_home() -> String {
    "{home}".to_string()
}

/// The hosts of a run.
#[derive(Debug, Clone)]
pub struct Hosts {
    /// The file they came from, for messages.
    pub file: String,
    /// This machine as the hosts reach it: the latency relay to the
    /// database listens there.
    pub here: IpAddr,
    /// The network the hosts connect from (CIDR): the embedded database
    /// admits it.
    pub network: String,
    pub hosts: Vec<Host>,
}

impl Hosts {
    /// Reads a hosts file; `{bookbench}`, `{repo}` and `{home}` in it
    /// stand for this machine's (`p`).
    pub fn load(path: &Path, p: &Placeholders) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read the hosts file {}", path.display()), e))?;
        Self::parse(&text, &path.display().to_string(), p)
    }

    /// Parses a hosts file; `file` names it in errors, each with its line.
    pub fn parse(text: &str, file: &str, p: &Placeholders) -> Result<Self, Error> {
        let at = |span: Option<std::ops::Range<usize>>, message: String| Error::ConfigFile {
            file: file.to_string(),
            line: crate::line_of(text, span.map_or(0, |s| s.start)),
            message,
        };
        let parsed: File =
            toml::from_str(text).map_err(|e| at(e.span(), e.message().to_string()))?;
        let here = parsed.here.parse().map_err(|_| {
            at(
                None,
                format!("here = '{}' is not an IP address", parsed.here),
            )
        })?;
        if !valid_cidr(&parsed.network) {
            return Err(at(
                None,
                format!(
                    "network = '{}' is not a network like 198.18.0.0/24",
                    parsed.network
                ),
            ));
        }
        let expand = |s: &str| {
            s.replace("{bookbench}", &p.bookbench.to_string_lossy())
                .replace("{repo}", &p.repo.to_string_lossy())
                .replace("{home}", &p.home.to_string_lossy())
        };
        let mut names = BTreeSet::new();
        let mut hosts = Vec::new();
        for spanned in &parsed.host {
            let h = spanned.get_ref();
            let fail = |why: String| at(Some(spanned.span()), format!("host '{}' {why}", h.name));
            if !names.insert(h.name.clone()) {
                return Err(fail("is declared twice".into()));
            }
            let address = h
                .address
                .parse()
                .map_err(|_| fail(format!("has address '{}', not an IP address", h.address)))?;
            if h.database_url.is_some() && h.role != Role::Database {
                return Err(fail(
                    "has a database_url, which only a database host has".into(),
                ));
            }
            let host = Host {
                name: h.name.clone(),
                role: h.role,
                prefix: h.prefix.iter().map(|a| expand(a)).collect(),
                address,
                bookbench: PathBuf::from(expand(&h.bookbench)),
                repo: PathBuf::from(expand(&h.repo)),
                home: PathBuf::from(expand(&h.home)),
                database_url: h.database_url.clone(),
            };
            if host.role == Role::Database
                && host.database_url.is_none()
                && matches!(host.reach(), Reach::Remote)
            {
                return Err(fail(
                    "is reached through a shell, where bookbench cannot start its embedded \
                     database: give the database_url of a PostgreSQL there (filled with \
                     'bookbench seed --database-url URL')"
                        .into(),
                ));
            }
            hosts.push(host);
        }
        let count = |role: Role| hosts.iter().filter(|h| h.role == role).count();
        if count(Role::App) != 1 {
            return Err(at(
                None,
                format!("needs one app host, not {}", count(Role::App)),
            ));
        }
        for role in [Role::Proxy, Role::Database] {
            if count(role) > 1 {
                return Err(at(
                    None,
                    format!("has {} {} hosts; at most one", count(role), role.name()),
                ));
            }
        }
        Ok(Self {
            file: file.to_string(),
            here,
            network: parsed.network,
            hosts,
        })
    }

    pub fn app(&self) -> &Host {
        // `parse` makes sure there is one.
        self.with_role(Role::App)
            .next()
            .unwrap_or_else(|| unreachable!("a hosts file has an app host"))
    }

    pub fn clients(&self) -> impl Iterator<Item = &Host> {
        self.with_role(Role::Client)
    }

    pub fn proxy(&self) -> Option<&Host> {
        self.with_role(Role::Proxy).next()
    }

    pub fn database(&self) -> Option<&Host> {
        self.with_role(Role::Database).next()
    }

    fn with_role(&self, role: Role) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(move |h| h.role == role)
    }
}

fn valid_cidr(s: &str) -> bool {
    s.split_once('/').is_some_and(|(addr, len)| {
        addr.parse::<IpAddr>().is_ok_and(|a| {
            let max = if a.is_ipv4() { 32 } else { 128 };
            len.parse::<u8>().is_ok_and(|l| l <= max)
        })
    })
}

/// A word for a POSIX shell: in single quotes, each quote closed, escaped
/// and reopened.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// A command line for a shell.
pub fn shell_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long a check of a host may take: an ssh that asks for a password, or
/// a host that does not answer, fails rather than waits.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(15);

impl Host {
    /// The placeholders of a target on this host: its binary, checkout and
    /// home, its address; `port` and `database_url` are set per target.
    pub fn placeholders(&self) -> Placeholders {
        Placeholders {
            bookbench: self.bookbench.clone(),
            address: self.address.to_string(),
            port: 0,
            database_url: String::new(),
            home: self.home.clone(),
            repo: self.repo.clone(),
        }
    }

    /// A host in the network namespace `namespace` of this machine, with
    /// this machine's placeholders (the lab's hosts).
    pub fn in_namespace(role: Role, namespace: &str, address: IpAddr, p: &Placeholders) -> Self {
        Self {
            name: namespace.to_string(),
            role,
            prefix: ["ip", "netns", "exec", namespace]
                .into_iter()
                .map(String::from)
                .collect(),
            address,
            bookbench: p.bookbench.clone(),
            repo: p.repo.clone(),
            home: p.home.clone(),
            database_url: None,
        }
    }

    pub fn reach(&self) -> Reach {
        match self.prefix.as_slice() {
            [] => Reach::Here,
            [ip, netns, exec, name] if ip == "ip" && netns == "netns" && exec == "exec" => {
                Reach::Namespace(name.clone())
            }
            _ => Reach::Remote,
        }
    }

    /// `command` as run there: behind the prefix, as one shell line for a
    /// remote host.
    pub fn line(&self, command: &[String]) -> Vec<String> {
        let mut line = self.prefix.clone();
        match self.reach() {
            Reach::Remote => line.push(shell_line(command)),
            Reach::Here | Reach::Namespace(_) => line.extend(command.iter().cloned()),
        }
        line
    }

    /// How it is reached, for messages: `this machine`, `ip netns exec
    /// bookbench-app`.
    pub fn via(&self) -> String {
        if self.prefix.is_empty() {
            "this machine".to_string()
        } else {
            self.prefix.join(" ")
        }
    }

    /// Runs `command` there and returns its standard output; a failure, or
    /// no answer within `timeout`, is an error naming the host with the
    /// last line it wrote.
    pub fn run(&self, command: &[String], timeout: Duration) -> Result<String, Error> {
        let output = self.run_output(command, timeout)?;
        if output.status.success() {
            return Ok(output.stdout);
        }
        Err(Error::Host(format!(
            "host '{}' ({}): `{}` failed ({}): {}",
            self.name,
            self.via(),
            command.join(" "),
            output.status,
            output.last_error_line
        )))
    }

    /// Runs `command` there, whatever its exit status; only a command that
    /// cannot be started or that outlives `timeout` (then killed) is an
    /// error.
    pub fn run_output(&self, command: &[String], timeout: Duration) -> Result<Ran, Error> {
        let line = self.line(command);
        let (program, args) = line
            .split_first()
            .ok_or_else(|| Error::Usage("empty command".to_string()))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.unreachable(&format!("cannot start {program}: {e}")))?;
        // Read while it runs: a full pipe would stall it.
        let (out, err) = (child.stdout.take(), child.stderr.take());
        let (out, err) = (drain(out), drain(err));
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(
                        self.unreachable(&format!("no answer within {} s", timeout.as_secs()))
                    );
                }
            }
        };
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        let last_error_line = stderr
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or("no message")
            .to_string();
        Ok(Ran {
            status,
            stdout,
            last_error_line,
        })
    }

    fn unreachable(&self, why: &str) -> Error {
        Error::Host(format!(
            "host '{}' cannot be reached through `{}`: {why}",
            self.name,
            self.via()
        ))
    }

    /// Checks that a shell answers there: the first thing a run asks of
    /// every host.
    pub fn reachable(&self) -> Result<(), Error> {
        let ran = self.run_output(
            &["echo".to_string(), "bookbench".to_string()],
            CHECK_TIMEOUT,
        )?;
        if !ran.status.success() {
            return Err(self.unreachable(&ran.last_error_line));
        }
        if ran.stdout.trim() == "bookbench" {
            Ok(())
        } else {
            Err(self.unreachable(&format!("it answered '{}' to an echo", ran.stdout.trim())))
        }
    }

    /// How far this host's clock is ahead of this machine's, in
    /// microseconds, with its uncertainty (half the best round trip of
    /// five readings of `date`).
    pub fn clock_offset(&self) -> Result<ClockOffset, Error> {
        let mut best: Option<ClockOffset> = None;
        for _ in 0..5 {
            let before = now_us();
            let said = self.run(&["date".to_string(), "+%s%N".to_string()], CHECK_TIMEOUT)?;
            let after = now_us();
            let theirs: i128 = said.trim().parse::<i128>().map_err(|_| {
                Error::Host(format!(
                    "host '{}': `date +%s%N` answered '{}', not nanoseconds",
                    self.name,
                    said.trim()
                ))
            })? / 1000;
            let reading = ClockOffset {
                offset_us: i64::try_from(theirs - (before + after) / 2).unwrap_or(i64::MAX),
                uncertainty_us: u64::try_from((after - before) / 2).unwrap_or(u64::MAX),
            };
            if best.is_none_or(|b| reading.uncertainty_us < b.uncertainty_us) {
                best = Some(reading);
            }
        }
        best.ok_or_else(|| self.unreachable("no clock reading"))
    }
}

/// Reads a pipe to its end on a thread of its own.
fn drain<R: std::io::Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut text);
        }
        text
    })
}

fn now_us() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_micros()).unwrap_or(i128::MAX))
}

/// What a command run on a host did.
#[derive(Debug)]
pub struct Ran {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    /// The last line it wrote to its standard error.
    pub last_error_line: String,
}

/// A host's clock against this machine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ClockOffset {
    /// Ahead of this machine's clock (negative: behind).
    pub offset_us: i64,
    /// The offset is within this of the truth.
    pub uncertainty_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here() -> Placeholders {
        Placeholders {
            bookbench: PathBuf::from("/opt/bb/bookbench"),
            address: "127.0.0.1".to_string(),
            port: 0,
            database_url: String::new(),
            home: PathBuf::from("/opt/bb/home"),
            repo: PathBuf::from("/opt/bb/repo"),
        }
    }

    const TWO: &str = r#"
here = "198.18.0.1"
network = "198.18.0.0/24"
[[host]]
name = "c1"
role = "client"
prefix = ["ip", "netns", "exec", "bookbench-client1"]
address = "198.18.0.11"
[[host]]
name = "app"
role = "app"
prefix = ["ssh", "-p", "2222", "root@198.18.0.30"]
address = "198.18.0.30"
bookbench = "/usr/local/bin/bookbench"
"#;

    #[test]
    fn a_hosts_file_gives_each_host_its_role_prefix_and_placeholders() {
        let hosts = Hosts::parse(TWO, "hosts.toml", &here()).expect("parses");
        let c = hosts.clients().next().expect("a client");
        assert_eq!(c.reach(), Reach::Namespace("bookbench-client1".into()));
        assert_eq!(c.bookbench, PathBuf::from("/opt/bb/bookbench"));
        let app = hosts.app();
        assert_eq!(app.reach(), Reach::Remote);
        assert_eq!(app.bookbench, PathBuf::from("/usr/local/bin/bookbench"));
        assert_eq!(app.repo, PathBuf::from("/opt/bb/repo"));
        assert!(hosts.proxy().is_none() && hosts.database().is_none());
    }

    #[test]
    fn a_remote_host_runs_a_command_as_one_shell_line_and_a_namespace_as_words() {
        let hosts = Hosts::parse(TWO, "hosts.toml", &here()).expect("parses");
        let cmd = vec!["echo".to_string(), "it's a $HOME".to_string()];
        assert_eq!(
            hosts.app().line(&cmd).last().map(String::as_str),
            Some(r"'echo' 'it'\''s a $HOME'")
        );
        let c = hosts.clients().next().expect("a client");
        assert_eq!(c.line(&cmd)[4..], cmd[..]);
    }

    #[test]
    fn a_hosts_file_without_one_app_host_or_with_a_bad_address_is_refused_with_its_line() {
        let no_app = TWO.replace("role = \"app\"", "role = \"proxy\"");
        let e = Hosts::parse(&no_app, "hosts.toml", &here()).expect_err("no app host");
        assert!(e.to_string().contains("needs one app host, not 0"), "{e}");
        let bad = TWO.replace("address = \"198.18.0.30\"", "address = \"app.lab\"");
        let e = Hosts::parse(&bad, "hosts.toml", &here()).expect_err("bad address");
        assert!(
            e.to_string()
                .starts_with("hosts.toml, line 9: host 'app' has address 'app.lab'"),
            "{e}"
        );
        let role = TWO.replace("role = \"client\"", "role = \"load\"");
        let e = Hosts::parse(&role, "hosts.toml", &here()).expect_err("bad role");
        assert!(e.to_string().starts_with("hosts.toml, line 6:"), "{e}");
    }

    #[test]
    fn a_remote_database_host_needs_a_url() {
        let db = format!(
            "{TWO}[[host]]\nname = \"db\"\nrole = \"database\"\nprefix = [\"ssh\", \"db\"]\naddress = \"198.18.0.40\"\n"
        );
        let e = Hosts::parse(&db, "hosts.toml", &here()).expect_err("no url");
        assert!(e.to_string().contains("give the database_url"), "{e}");
    }

    #[test]
    fn a_host_whose_prefix_fails_cannot_be_reached_in_one_line() {
        let mut hosts = Hosts::parse(TWO, "hosts.toml", &here()).expect("parses");
        let app = &mut hosts.hosts[1];
        app.prefix = vec![
            "sh".into(),
            "-c".into(),
            "echo 'connection refused' >&2; exit 255".into(),
        ];
        let e = app.reachable().expect_err("unreachable");
        let text = e.to_string();
        assert!(
            text.starts_with("host 'app' cannot be reached through `sh -c")
                && text.ends_with("connection refused"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn this_machine_is_reachable_and_its_clock_is_its_own() {
        let mut hosts = Hosts::parse(TWO, "hosts.toml", &here()).expect("parses");
        let app = &mut hosts.hosts[1];
        app.prefix = Vec::new();
        app.reachable().expect("this machine answers");
        let c = app.clock_offset().expect("a clock");
        assert!(
            c.offset_us.unsigned_abs() <= c.uncertainty_us + 1000,
            "{c:?}"
        );
    }
}
