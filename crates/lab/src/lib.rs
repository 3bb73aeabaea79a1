//! The lab: the three hosts of a benchmark (clients, app, database, and a
//! proxy if asked) on one machine, each a network namespace with its own
//! loopback and one interface, joined by a bridge, the way TechEmpower
//! joins three machines by a switch. Addresses come from 198.18.0.0/15,
//! which RFC 2544 reserves for benchmarking networks; nothing routes out
//! of the bridge (no gateway, no forwarding), so traffic stays inside the
//! lab and loopback.
//!
//! ```text
//!   this machine ── bb-lab 198.18.0.1/24
//!                     ├── bb-client1 ── bookbench-client1  198.18.0.11
//!                     ├── bb-proxy   ── bookbench-proxy    198.18.0.20 (if asked)
//!                     ├── bb-app     ── bookbench-app      198.18.0.30
//!                     └── bb-db      ── bookbench-db       198.18.0.40
//! ```
//!
//! A host is reached by prefixing a command with `ip netns exec NAME`
//! ([`Host::prefix`]). The lab is built with iproute2 and needs root.
//! Everything it makes is named `bookbench-*` or `bb-*`, so that [`down`]
//! finds it whatever state an earlier `up` left: a crash or a kill midway
//! leaves pieces that the next [`up`] or [`down`] removes. While [`up`]
//! builds, SIGINT and SIGTERM are held; one that came meanwhile tears down
//! what was built.

use std::fmt;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

/// The prefix of every namespace of the lab.
pub const NAMESPACE_PREFIX: &str = "bookbench-";
/// The bridge in this machine's namespace, and the prefix of the veth ends
/// on it.
pub const BRIDGE: &str = "bb-lab";
const VETH_PREFIX: &str = "bb-";
/// This machine's address on the bridge.
pub const BRIDGE_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const PREFIX_LEN: u8 = 24;
/// The lab's network, every host's address in it.
pub const NETWORK: &str = "198.18.0.0/24";
/// The most client hosts: their addresses are 198.18.0.11 to .19.
pub const MAX_CLIENTS: u8 = 9;

/// What a host is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Runs a load agent; the number tells several apart (from 1).
    Client(u8),
    Proxy,
    App,
    Database,
}

impl Role {
    /// `client1`, `proxy`, `app`, `db`.
    pub fn name(self) -> String {
        match self {
            Self::Client(n) => format!("client{n}"),
            Self::Proxy => "proxy".to_string(),
            Self::App => "app".to_string(),
            Self::Database => "db".to_string(),
        }
    }

    fn addr(self) -> Ipv4Addr {
        let last = match self {
            Self::Client(n) => 10 + n,
            Self::Proxy => 20,
            Self::App => 30,
            Self::Database => 40,
        };
        Ipv4Addr::new(198, 18, 0, last)
    }
}

/// One host of the lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub role: Role,
    /// The network namespace: `bookbench-app`.
    pub namespace: String,
    pub addr: Ipv4Addr,
}

impl Host {
    fn of(role: Role) -> Self {
        Self {
            role,
            namespace: format!("{NAMESPACE_PREFIX}{}", role.name()),
            addr: role.addr(),
        }
    }

    /// The command prefix that runs a command on this host.
    pub fn prefix(&self) -> Vec<String> {
        ["ip", "netns", "exec", &self.namespace]
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// The veth end on the bridge.
    fn veth(&self) -> String {
        format!("{VETH_PREFIX}{}", self.role.name())
    }
}

/// Which hosts a lab has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Client hosts, 1 to [`MAX_CLIENTS`].
    pub clients: u8,
    pub proxy: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            clients: 1,
            proxy: false,
        }
    }
}

impl Layout {
    /// The hosts, clients first.
    pub fn hosts(self) -> Vec<Host> {
        let mut roles: Vec<Role> = (1..=self.clients).map(Role::Client).collect();
        if self.proxy {
            roles.push(Role::Proxy);
        }
        roles.extend([Role::App, Role::Database]);
        roles.into_iter().map(Host::of).collect()
    }
}

/// What can go wrong, each with what to do.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("the lab needs root (it creates network namespaces and a bridge): run it as root")]
    NotRoot,
    #[error("a lab is up already ({0}): `bookbench lab down` first")]
    AlreadyUp(String),
    #[error("{0} client hosts asked: from 1 to {MAX_CLIENTS}")]
    Clients(u8),
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
    #[error("cannot run `ip` (install iproute2)")]
    NoIp(#[source] std::io::Error),
    #[error("interrupted while the lab was built; what was built is torn down")]
    Interrupted,
    #[error("cannot enter the host {namespace} ({message}): is the lab up (`bookbench lab up`)?")]
    Enter { namespace: String, message: String },
}

/// What a lab has now, as found on the machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The lab's namespaces, with the processes in each.
    pub namespaces: Vec<(String, Vec<i32>)>,
    pub bridge: bool,
    /// veth ends of the lab left in this machine's namespace.
    pub veths: Vec<String>,
}

impl Status {
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && !self.bridge && self.veths.is_empty()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "no lab");
        }
        if self.bridge {
            writeln!(f, "bridge {BRIDGE} {BRIDGE_ADDR}/{PREFIX_LEN}")?;
        }
        for (ns, pids) in &self.namespaces {
            write!(f, "{ns}")?;
            if let Some(host) = known_host(ns) {
                write!(f, " {}", host.addr)?;
            }
            writeln!(f, ", {} process(es)", pids.len())?;
        }
        for veth in &self.veths {
            writeln!(f, "interface {veth}")?;
        }
        Ok(())
    }
}

/// The host a namespace of the lab stands for.
fn known_host(namespace: &str) -> Option<Host> {
    let role = match namespace.strip_prefix(NAMESPACE_PREFIX)? {
        "proxy" => Role::Proxy,
        "app" => Role::App,
        "db" => Role::Database,
        other => Role::Client(other.strip_prefix("client")?.parse().ok()?),
    };
    Some(Host::of(role))
}

/// Moves the calling thread onto the host of `namespace`: the sockets it
/// opens from then on, and the threads it starts, are that host's. A
/// thread of its own for it (its runtime or pool would carry the host over
/// to unrelated work).
pub fn enter(namespace: &str) -> Result<(), LabError> {
    use nix::sched::{CloneFlags, setns};
    let failed = |message: String| LabError::Enter {
        namespace: namespace.to_string(),
        message,
    };
    let file = std::fs::File::open(format!("/run/netns/{namespace}"))
        .map_err(|e| failed(e.to_string()))?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| failed(e.to_string()))
}

/// What the machine holds of a lab now.
pub fn status() -> Result<Status, LabError> {
    let namespaces = ip(&["netns", "list"])?
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(NAMESPACE_PREFIX))
        .map(|n| (n.to_string(), pids(n)))
        .collect();
    let links = ip(&["-o", "link", "show"])?;
    let names: Vec<String> = links
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect();
    Ok(Status {
        namespaces,
        bridge: names.iter().any(|n| n == BRIDGE),
        veths: names
            .into_iter()
            .filter(|n| n.starts_with(VETH_PREFIX) && n != BRIDGE)
            .collect(),
    })
}

/// Builds the lab of `layout`; leftovers of an earlier one that did not
/// finish are removed first. Refused when a lab is up.
pub fn up(layout: Layout) -> Result<Vec<Host>, LabError> {
    require_root()?;
    if !(1..=MAX_CLIENTS).contains(&layout.clients) {
        return Err(LabError::Clients(layout.clients));
    }
    let found = status()?;
    if !found.namespaces.is_empty() && found.bridge {
        let names: Vec<&str> = found.namespaces.iter().map(|(n, _)| n.as_str()).collect();
        return Err(LabError::AlreadyUp(names.join(", ")));
    }
    if !found.is_empty() {
        down()?;
    }
    let hosts = layout.hosts();
    let held = hold_signals();
    let built = build(&hosts);
    let interrupted = held.release();
    match (built, interrupted) {
        (Ok(()), false) => Ok(hosts),
        (Ok(()), true) => {
            down()?;
            Err(LabError::Interrupted)
        }
        (Err(e), _) => {
            // What was built goes; the error says why it stopped.
            let _ = down();
            Err(e)
        }
    }
}

fn build(hosts: &[Host]) -> Result<(), LabError> {
    let cidr = |a: Ipv4Addr| format!("{a}/{PREFIX_LEN}");
    ip(&["link", "add", BRIDGE, "type", "bridge"])?;
    ip(&["addr", "add", &cidr(BRIDGE_ADDR), "dev", BRIDGE])?;
    ip(&["link", "set", BRIDGE, "up"])?;
    for h in hosts {
        let (ns, veth) = (h.namespace.as_str(), h.veth());
        ip(&["netns", "add", ns])?;
        ip(&[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ])?;
        ip(&["link", "set", &veth, "master", BRIDGE, "up"])?;
        ip(&["-n", ns, "addr", "add", &cidr(h.addr), "dev", "eth0"])?;
        ip(&["-n", ns, "link", "set", "eth0", "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
    }
    Ok(())
}

/// Removes everything of a lab: the processes in its namespaces (SIGTERM,
/// then SIGKILL after 5 s), the namespaces (their veth pairs go with
/// them), leftover veth ends and the bridge. What it removed.
pub fn down() -> Result<Status, LabError> {
    require_root()?;
    let found = status()?;
    for (ns, _) in &found.namespaces {
        stop_processes(ns);
        ip(&["netns", "delete", ns])?;
    }
    // A namespace's veth pair goes with it, a moment after the namespace
    // (the kernel removes it in the background): an end that is gone by
    // the time it is deleted here is what was wanted. Others had lost
    // their namespace (a crash between creating the two).
    let left = status()?;
    for veth in &left.veths {
        match ip(&["link", "delete", veth]) {
            Err(LabError::Command { message, .. }) if message.contains("Cannot find device") => {}
            other => {
                other?;
            }
        }
    }
    if left.bridge {
        ip(&["link", "delete", BRIDGE])?;
    }
    Ok(found)
}

fn stop_processes(ns: &str) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    for signal in [Signal::SIGTERM, Signal::SIGKILL] {
        for pid in pids(ns) {
            let _ = kill(Pid::from_raw(pid), signal);
        }
        let until = Instant::now() + Duration::from_secs(5);
        while !pids(ns).is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The processes in a namespace (none when it cannot be read).
fn pids(ns: &str) -> Vec<i32> {
    ip(&["netns", "pids", ns])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn require_root() -> Result<(), LabError> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(LabError::NotRoot)
    }
}

fn ip(args: &[&str]) -> Result<String, LabError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(LabError::NoIp)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            command: format!("ip {}", args.join(" ")),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// SIGINT and SIGTERM held off while the lab is built, so that a Ctrl-C
/// cannot leave half a lab with nobody to remove it.
struct Held {
    old: Option<nix::sys::signal::SigSet>,
}

fn hold_signals() -> Held {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    let mut old = SigSet::empty();
    let held = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)).is_ok();
    Held {
        old: held.then_some(old),
    }
}

impl Held {
    /// Whether a held signal came; it is then taken, not delivered.
    fn release(self) -> bool {
        use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
        let Some(old) = self.old else { return false };
        let pending = pending_signals();
        let came: Vec<Signal> = [Signal::SIGINT, Signal::SIGTERM]
            .into_iter()
            .filter(|s| pending & (1u64 << (*s as i32 - 1)) != 0)
            .collect();
        for s in &came {
            let mut one = SigSet::empty();
            one.add(*s);
            let _ = one.wait();
        }
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
        !came.is_empty()
    }
}

/// The signals pending for this thread or process, as the kernel's mask
/// (bit n-1 for signal n), from `/proc/thread-self/status`: nix has no
/// safe `sigpending`.
fn pending_signals() -> u64 {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    status
        .lines()
        .filter_map(|l| {
            let (key, value) = l.split_once(':')?;
            matches!(key, "SigPnd" | "ShdPnd")
                .then(|| u64::from_str_radix(value.trim(), 16).ok())?
        })
        .fold(0, |all, mask| all | mask)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_network_is_the_bridge_address_and_prefix_length() {
        assert_eq!(NETWORK, format!("198.18.0.0/{PREFIX_LEN}"));
    }

    #[test]
    fn a_ctrl_c_while_the_lab_is_built_is_held_then_reported_not_delivered() {
        let held = hold_signals();
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT).unwrap();
        // Still here: the signal waits.
        assert!(held.release(), "the held SIGINT is reported");
        let quiet = hold_signals();
        assert!(!quiet.release(), "and taken: none is left");
    }

    #[test]
    fn every_host_has_its_own_address_in_the_benchmarking_range() {
        let hosts = Layout {
            clients: 2,
            proxy: true,
        }
        .hosts();
        let names: Vec<&str> = hosts.iter().map(|h| h.namespace.as_str()).collect();
        assert_eq!(
            names,
            [
                "bookbench-client1",
                "bookbench-client2",
                "bookbench-proxy",
                "bookbench-app",
                "bookbench-db"
            ]
        );
        for (i, h) in hosts.iter().enumerate() {
            let [a, b, c, _] = h.addr.octets();
            assert_eq!((a, b & 0xfe, c), (198, 18, 0), "{h:?}");
            assert!(hosts.iter().skip(i + 1).all(|o| o.addr != h.addr));
            assert!(
                h.veth().len() <= 15,
                "an interface name has 15 bytes at most"
            );
            assert_eq!(known_host(&h.namespace).as_ref(), Some(h));
        }
        assert_eq!(known_host("bookbench-elsewhere"), None);
        assert_eq!(known_host("other-app"), None);
    }
}
