//! Targets: how to start each implementation, read from `bench/targets.toml`
//! (built into the binary; `--targets-file` reads another).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// The targets file shipped with bookbench.
pub const BUILTIN: &str = include_str!("../../../bench/targets.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub name: String,
    pub description: String,
    /// Program and arguments, with placeholders.
    pub command: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub workers: u32,
    pub cpus: Vec<usize>,
    /// A path answering 200 once the target serves.
    pub ready: String,
    /// How long the target may take to become ready.
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_s: u64,
    /// Programs (looked up on PATH) or paths (with a `/`) that must exist.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Facts the report states about this target (for example, that its
    /// server closes every connection).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Seconds of warm-up this target needs at least (a JIT needs long).
    #[serde(default)]
    pub min_warmup_s: Option<f64>,
    /// The Python environment it runs in (`bookbench peers setup`), set up
    /// on demand by `bookbench run`.
    #[serde(default)]
    pub venv: Option<String>,
}

fn default_ready_timeout() -> u64 {
    120
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    target: Vec<Target>,
}

/// What the placeholders stand for.
#[derive(Debug, Clone)]
pub struct Placeholders {
    pub bookbench: PathBuf,
    pub port: u16,
    pub database_url: String,
    pub home: PathBuf,
    pub repo: PathBuf,
}

/// Parses a targets file.
pub fn parse(text: &str) -> Result<Vec<Target>, Error> {
    let file: File = toml::from_str(text).map_err(|e| Error::Targets(e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    for t in &file.target {
        if !seen.insert(t.name.as_str()) {
            return Err(Error::Targets(format!(
                "target '{}' is declared twice",
                t.name
            )));
        }
        if t.command.is_empty() || t.cpus.is_empty() || t.workers == 0 {
            return Err(Error::Targets(format!(
                "target '{}' needs a command, at least one CPU and one worker",
                t.name
            )));
        }
    }
    Ok(file.target)
}

/// The built-in targets, or those of `path`.
pub fn load(path: Option<&Path>) -> Result<Vec<Target>, Error> {
    match path {
        Some(p) => parse(
            &std::fs::read_to_string(p)
                .map_err(|e| Error::Targets(format!("{}: {e}", p.display())))?,
        ),
        None => parse(BUILTIN),
    }
}

/// The targets named in `names`, in that order; an unknown name lists the
/// valid ones.
pub fn select(all: &[Target], names: &[String]) -> Result<Vec<Target>, Error> {
    names
        .iter()
        .map(|n| {
            all.iter().find(|t| &t.name == n).cloned().ok_or_else(|| {
                Error::Usage(format!(
                    "unknown target '{n}'; targets: {}",
                    all.iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .collect()
}

impl Target {
    /// Why this target cannot run here, if it cannot.
    pub fn unavailable(&self, p: &Placeholders) -> Option<String> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if let Some(cpu) = self.cpus.iter().find(|&&c| c >= cores) {
            return Some(format!(
                "it is pinned to CPU {cpu}, but this machine has {cores}"
            ));
        }
        if let Some(venv) = self.venv.as_deref()
            && let Some(why) = crate::peers::recorded_failure(&p.home, &p.repo, venv)
        {
            return Some(format!("its environment {venv} cannot be set up: {why}"));
        }
        self.requires.iter().find_map(|r| {
            let r = self.expand(r, p);
            let found = if r.contains('/') {
                Path::new(&r).exists()
            } else {
                on_path(&r)
            };
            (!found).then(|| format!("{r} is missing"))
        })
    }

    pub fn expand(&self, text: &str, p: &Placeholders) -> String {
        text.replace("{bookbench}", &p.bookbench.to_string_lossy())
            .replace("{port}", &p.port.to_string())
            .replace("{database_url}", &p.database_url)
            .replace("{workers}", &self.workers.to_string())
            .replace("{home}", &p.home.to_string_lossy())
            .replace("{repo}", &p.repo.to_string_lossy())
    }

    /// The command line, pinned with `taskset` to the target's CPUs.
    pub fn command_line(&self, p: &Placeholders) -> Vec<String> {
        let cpus = self
            .cpus
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut line = vec!["taskset".to_string(), "-c".to_string(), cpus];
        line.extend(self.command.iter().map(|a| self.expand(a, p)));
        line
    }
}

pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_targets_parse_and_start_with_rust() {
        let targets = parse(BUILTIN).expect("bench/targets.toml parses");
        assert_eq!(targets[0].name, "rust");
    }

    #[test]
    fn unknown_target_names_list_the_valid_ones() {
        let all = parse(BUILTIN).expect("parses");
        let err = select(&all, &["nope".to_string()]).expect_err("unknown");
        assert!(err.to_string().contains("targets: rust"), "{err}");
    }
}
