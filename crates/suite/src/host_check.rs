//! `bookbench hosts check`: whether each host of a hosts file can take its
//! role, asked through its prefix: that it answers, runs this bookbench,
//! and has what its role needs (nginx on a proxy host, the targets'
//! programs and environments on an app host).

use crate::Error;
use crate::hosts::{CHECK_TIMEOUT, Host, Hosts, Role, shell_quote};
use crate::targets::Target;

/// One line of `bookbench hosts check`.
#[derive(Debug, Clone)]
pub struct Checked {
    pub host: String,
    pub role: Role,
    /// What was found, or why the host cannot be used.
    pub outcome: Result<String, String>,
}

/// Checks every host for what its role needs: that it answers, that its
/// bookbench is this one's version, and that a proxy host has nginx and an
/// app host the programs and environments of `targets`.
pub fn check(hosts: &Hosts, targets: &[Target]) -> Vec<Checked> {
    hosts
        .hosts
        .iter()
        .map(|h| Checked {
            host: h.name.clone(),
            role: h.role,
            outcome: check_host(h, targets).map_err(|e| bookbench_errors::chain(&e)),
        })
        .collect()
}

fn check_host(host: &Host, targets: &[Target]) -> Result<String, Error> {
    host.reachable()?;
    let mut found = vec![format!("{} at {}", host.via(), host.address)];
    let word = |s: &str| s.to_string();
    let needs_bookbench = matches!(host.role, Role::Client | Role::App);
    if needs_bookbench {
        let bookbench = host.bookbench.to_string_lossy().into_owned();
        let version = host
            .run(&[bookbench.clone(), word("--version")], CHECK_TIMEOUT)
            .map_err(|_| {
                Error::Host(format!(
                    "host '{}': no bookbench at {bookbench}; copy this machine's binary there \
                     (docs/hosts.md) or set its `bookbench`",
                    host.name
                ))
            })?;
        let ours = format!("bookbench {}", env!("CARGO_PKG_VERSION"));
        if version.trim() != ours {
            return Err(Error::Host(format!(
                "host '{}': {bookbench} is '{}', this one is '{ours}'; copy this machine's \
                 binary there",
                host.name,
                version.trim()
            )));
        }
        found.push(ours);
    }
    let clock = host.clock_offset()?;
    found.push(format!(
        "clock {:+.3} ms (±{:.3})",
        clock.offset_us as f64 / 1e3,
        clock.uncertainty_us as f64 / 1e3
    ));
    match host.role {
        Role::Proxy => {
            host.run(&[word("nginx"), word("-v")], CHECK_TIMEOUT)
                .map_err(|_| {
                    Error::Host(format!(
                        "host '{}': nginx is missing there (Debian: apt-get install nginx)",
                        host.name
                    ))
                })?;
            found.push("nginx".to_string());
        }
        Role::App => {
            // Each need probed once: the peers share environments.
            let p = host.placeholders();
            let mut probed: std::collections::BTreeMap<String, bool> = Default::default();
            let mut can_run = 0;
            for t in targets {
                let mut ok = true;
                for need in t.needs(&p) {
                    let found = *probed.entry(need.clone()).or_insert_with(|| {
                        let probe = if need.contains('/') {
                            vec![word("test"), word("-e"), need.clone()]
                        } else {
                            vec![
                                word("sh"),
                                word("-c"),
                                format!("command -v {}", shell_quote(&need)),
                            ]
                        };
                        host.run(&probe, CHECK_TIMEOUT).is_ok()
                    });
                    ok &= found;
                }
                can_run += usize::from(ok);
            }
            let missing: Vec<&str> = probed
                .iter()
                .filter(|(_, found)| !**found)
                .map(|(need, _)| need.as_str())
                .collect();
            found.push(format!(
                "{can_run} of {} targets can run there",
                targets.len()
            ));
            if !missing.is_empty() {
                found.push(format!(
                    "missing there: {} (the peers' environments: `bookbench peers setup` there)",
                    missing.join(", ")
                ));
            }
        }
        Role::Client | Role::Database => {}
    }
    Ok(found.join(", "))
}
