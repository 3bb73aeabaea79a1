//! Targets: how to start each implementation, read from `bench/targets.toml`
//! (built into the binary; `--targets-file` reads another).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;
use crate::placeholders::Placeholders;

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
    /// The share of its CPUs it may use (0.9: 90%), through the `cpu`
    /// cgroup controller: a known loss, for calibration.
    #[serde(default)]
    pub cpu_quota: Option<f64>,
    /// A proxy it runs behind (`nginx`), started with it and verified and
    /// loaded through.
    #[serde(default)]
    pub proxy: Option<crate::proxy::Proxy>,
    /// Copies of it behind the proxy, each on a port of its own.
    #[serde(default = "one")]
    pub instances: u32,
    /// Whether it serves the bookstore's contract, verified before it is
    /// measured; an app of one's own does not.
    #[serde(default = "yes")]
    pub contract: bool,
    /// Why it cannot run here, found before the run (an environment that
    /// did not install, an app that does not import): it is reported so,
    /// not started.
    #[serde(skip)]
    pub cannot_run: Option<String>,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

fn default_ready_timeout() -> u64 {
    120
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// An empty file declares none.
    #[serde(default)]
    target: Vec<toml::Spanned<Target>>,
}

/// Parses the built-in targets file.
pub fn parse(text: &str) -> Result<Vec<Target>, Error> {
    Ok(parse_file(text, BUILTIN_NAME)?
        .into_iter()
        .map(|(t, _)| t)
        .collect())
}

/// How the built-in file is named in messages.
const BUILTIN_NAME: &str = "bench/targets.toml (built in)";

/// Parses a targets file; `file` names it in errors, each with its line.
/// Each target comes with the line it is declared at.
fn parse_file(text: &str, file: &str) -> Result<Vec<(Target, usize)>, Error> {
    let at = |span: Option<std::ops::Range<usize>>, message: String| Error::ConfigFile {
        file: file.to_string(),
        line: crate::line_of(text, span.map_or(0, |s| s.start)),
        message,
    };
    let parsed: File = toml::from_str(text).map_err(|e| at(e.span(), e.message().to_string()))?;
    let mut seen = std::collections::HashSet::new();
    for spanned in &parsed.target {
        let t = spanned.get_ref();
        let fail = |why: String| {
            Err(at(
                Some(spanned.span()),
                format!("target '{}' {why}", t.name),
            ))
        };
        if !seen.insert(t.name.as_str()) {
            return fail("is declared twice".into());
        }
        if t.command.is_empty() || t.cpus.is_empty() || t.workers == 0 {
            return fail("needs a command, at least one CPU and one worker".into());
        }
        if let Some(q) = t.cpu_quota
            && !(q > 0.0 && q <= 1.0)
        {
            return fail(format!(
                "has cpu_quota {q}; it must be more than 0 and at most 1"
            ));
        }
        // Every local user can read a command line (ps, /proc/PID/cmdline),
        // and the URL carries the database's password.
        if t.command.iter().any(|a| a.contains("{database_url}")) {
            return fail(
                "has {database_url} in its command, where every user can read the password; \
                 it reaches the target as DATABASE_URL in its environment"
                    .into(),
            );
        }
    }
    Ok(parsed
        .target
        .into_iter()
        .map(|spanned| {
            let line = crate::line_of(text, spanned.span().start);
            (spanned.into_inner(), line)
        })
        .collect())
}

/// Which targets a command knows: the built-in ones, with those of a file
/// of the user's after them, or a file's alone.
#[derive(Debug, Clone, Default)]
pub enum Declared {
    /// bench/targets.toml, built into the binary.
    #[default]
    BuiltIn,
    /// The built-in targets, and the file's after them.
    Adding(PathBuf),
    /// The file's targets alone.
    Only(PathBuf),
}

/// The targets `declared` names. A file's target of a built-in one's name
/// is refused when it is added (which of the two was meant?), with the
/// line it is declared at.
pub fn load(declared: &Declared) -> Result<Vec<Target>, Error> {
    let read = |p: &Path| -> Result<Vec<(Target, usize)>, Error> {
        let text = std::fs::read_to_string(p)
            .map_err(|e| Error::io(format!("cannot read the targets file {}", p.display()), e))?;
        parse_file(&text, &p.display().to_string())
    };
    match declared {
        Declared::BuiltIn => parse(BUILTIN),
        Declared::Only(p) => Ok(read(p)?.into_iter().map(|(t, _)| t).collect()),
        Declared::Adding(p) => {
            let mut all = parse(BUILTIN)?;
            for (t, line) in read(p)? {
                if all.iter().any(|b| b.name == t.name) {
                    return Err(Error::ConfigFile {
                        file: p.display().to_string(),
                        line,
                        message: format!(
                            "target '{}' is a built-in target's name too; rename it, or read \
                             only this file's targets with --only-targets-file",
                            t.name
                        ),
                    });
                }
                all.push(t);
            }
            Ok(all)
        }
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
    /// This target behind `proxy`, `instances` copies of it: named
    /// `<name>+nginx` (`<name>+nginx-xN`), to be measured beside the target
    /// itself in one run.
    pub fn behind(&self, proxy: crate::proxy::Proxy, instances: u32) -> Self {
        let mut t = self.clone();
        t.name = if instances > 1 {
            format!("{}+{}-x{instances}", self.name, proxy.name())
        } else {
            format!("{}+{}", self.name, proxy.name())
        };
        t.description = format!(
            "{}; behind {}{}",
            self.description,
            proxy.name(),
            if instances > 1 {
                format!(", {instances} instances")
            } else {
                String::new()
            }
        );
        t.proxy = Some(proxy);
        t.instances = instances;
        t
    }

    /// Why this target cannot run here, if it cannot.
    pub fn unavailable(&self, p: &Placeholders) -> Option<String> {
        if let Some(why) = &self.cannot_run {
            return Some(why.clone());
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if let Some(cpu) = self.cpus.iter().find(|&&c| c >= cores) {
            return Some(format!(
                "it is pinned to CPU {cpu}, but this machine has {cores}"
            ));
        }
        if self.cpu_quota.is_some()
            && let Some(why) = crate::cgroup::unavailable()
        {
            return Some(format!("it has a CPU quota, but {why}"));
        }
        if self.proxy == Some(crate::proxy::Proxy::Nginx) && !crate::which::on_path("nginx") {
            return Some(
                "it runs behind nginx, which is missing (Debian: apt-get install nginx)"
                    .to_string(),
            );
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
                crate::which::on_path(&r)
            };
            (!found).then(|| format!("{r} is missing"))
        })
    }

    /// What it needs on its host: the programs and paths it requires, and
    /// its command's program, expanded.
    pub fn needs(&self, p: &Placeholders) -> Vec<String> {
        self.requires
            .iter()
            .chain(self.command.first())
            .map(|r| self.expand(r, p))
            .collect()
    }

    pub fn expand(&self, text: &str, p: &Placeholders) -> String {
        text.replace("{bookbench}", &p.bookbench.to_string_lossy())
            .replace("{address}", &p.address)
            .replace("{port}", &p.port.to_string())
            .replace("{database_url}", &p.database_url)
            .replace("{workers}", &self.workers.to_string())
            .replace("{home}", &p.home.to_string_lossy())
            .replace("{repo}", &p.repo.to_string_lossy())
    }

    /// The target's environment: its own variables, expanded, then
    /// `DATABASE_URL`, `HOST` and `PORT`, which every target takes (the URL
    /// holds a password, so never the command line).
    pub fn process_env(&self, p: &Placeholders) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), self.expand(v, p)))
            .chain([
                ("DATABASE_URL".to_string(), p.database_url.clone()),
                ("HOST".to_string(), p.address.clone()),
                ("PORT".to_string(), p.port.to_string()),
            ])
            .collect()
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

    #[test]
    fn no_target_has_the_database_url_on_its_command_line() {
        let all = parse(BUILTIN).expect("parses");
        let p = Placeholders {
            bookbench: PathBuf::from("bookbench"),
            address: "198.18.0.30".into(),
            port: 8000,
            database_url: "postgres://bookbench:s3cret-password@127.0.0.1:5432/bookbench".into(),
            home: PathBuf::from("home"),
            repo: PathBuf::from("repo"),
        };
        for t in &all {
            let line = t.command_line(&p).join(" ");
            assert!(!line.contains("s3cret-password"), "{}: {line}", t.name);
            // On a host of the lab, every target listens on its address
            // (Sanic's takes it from HOST).
            assert!(!line.contains("127.0.0.1"), "{}: {line}", t.name);
            assert!(
                t.process_env(&p)
                    .iter()
                    .any(|(k, v)| k == "HOST" && v == "198.18.0.30")
            );
            let env = t.process_env(&p);
            assert!(
                env.iter()
                    .any(|(k, v)| k == "DATABASE_URL" && v == &p.database_url),
                "{}",
                t.name
            );
        }
    }

    #[test]
    fn a_command_that_would_show_the_database_url_is_refused() {
        let text = r#"
[[target]]
name = "leaky"
description = "puts the URL in its argv"
command = ["server", "--db", "{database_url}"]
workers = 1
cpus = [0]
ready = "/"
"#;
        let err = parse(text).expect_err("refused");
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    }

    #[test]
    fn a_bad_targets_file_is_refused_in_one_line_with_its_file_and_line() {
        let unknown_field = "[[target]]\nname = \"x\"\ndescription = \"d\"\ncommand = [\"a\"]\n\
                             workers = 1\ncpus = [0]\nready = \"/\"\ncolour = \"red\"\n";
        let err = parse_file(unknown_field, "mine.toml").expect_err("refused");
        let line = err.to_string();
        assert!(
            line.starts_with("mine.toml, line 8: unknown field `colour`"),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");

        let no_command = "# two targets\n[[target]]\nname = \"a\"\ndescription = \"d\"\n\
                          command = [\"a\"]\nworkers = 1\ncpus = [0]\nready = \"/\"\n\n\
                          [[target]]\nname = \"b\"\ndescription = \"d\"\ncommand = []\n\
                          workers = 1\ncpus = [0]\nready = \"/\"\n";
        let err = parse_file(no_command, "mine.toml").expect_err("refused");
        let line = err.to_string();
        assert!(
            line.starts_with("mine.toml, line 10: target 'b' needs a command"),
            "{line}"
        );

        let missing = "[[target]]\nname = \"x\"\ndescription = \"d\"\nworkers = 1\ncpus = [0]\nready = \"/\"\n";
        let err = parse_file(missing, "mine.toml").expect_err("refused");
        assert!(err.to_string().contains("missing field `command`"), "{err}");
    }

    fn a_file(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "bookbench-targets-{name}-{}-{:08x}.toml",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::write(&path, text).expect("a targets file");
        path
    }

    const MINE: &str = "[[target]]\nname = \"mine\"\ndescription = \"mine\"\n\
                        command = [\"true\"]\nworkers = 1\ncpus = [0]\nready = \"/\"\n";

    #[test]
    fn a_targets_file_adds_its_targets_after_the_built_in_ones_or_stands_alone() {
        let path = a_file("mine", MINE);
        let builtin = parse(BUILTIN).expect("built in");
        let added = load(&Declared::Adding(path.clone())).expect("added");
        assert_eq!(added.len(), builtin.len() + 1);
        assert_eq!(added.first().map(|t| t.name.as_str()), Some("rust"));
        assert_eq!(added.last().map(|t| t.name.as_str()), Some("mine"));
        let alone = load(&Declared::Only(path.clone())).expect("alone");
        let names: Vec<&str> = alone.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["mine"]);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn an_added_target_named_like_a_built_in_one_is_refused_at_its_line() {
        let path = a_file(
            "clash",
            &format!("{MINE}\n{}", MINE.replace("mine", "rust")),
        );
        let err = load(&Declared::Adding(path.clone()))
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains(&format!("{}, line 9", path.display()))
                && err.contains("'rust'")
                && err.contains("--only-targets-file"),
            "{err}"
        );
        // Alone, the file's own `rust` is the one meant.
        assert_eq!(
            load(&Declared::Only(path.clone())).map(|t| t.len()).ok(),
            Some(2)
        );
        let _ = std::fs::remove_file(path);
    }
}
