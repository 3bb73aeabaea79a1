//! The matrix: the app's environments set up, the app imported in each, and
//! a target for every server and interpreter asked for, each either
//! runnable or saying why it cannot run here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bookbench_suite::Error;
use bookbench_suite::targets::Target;

use crate::env::{self, Env, Framework};
use crate::servers::{Flavour, Server};
use crate::{App, Interface, Interpreter};

const DEV_SCRIPT: &str = include_str!("dev.py");
const PROBE_SCRIPT: &str = include_str!("probe.py");

/// What to build.
#[derive(Debug, Clone)]
pub struct Options {
    pub interpreters: Vec<Interpreter>,
    /// Those that do not serve the app's interface are left out.
    pub servers: Vec<Server>,
    /// A path the app answers with 200 once it serves.
    pub ready: String,
    /// Try again to set up an environment whose failure is on record.
    pub retry: bool,
    /// Variables the app is given beside `DATABASE_URL`, `HOST` and
    /// `PORT`: in every target, the import probe and the set-up step.
    pub env: BTreeMap<String, String>,
}

/// One environment's set-up, for the report.
#[derive(Debug, Clone)]
pub struct EnvOutcome {
    pub interpreter: Interpreter,
    pub flavour: Flavour,
    pub env: Result<Env, String>,
}

/// The matrix's targets, their baseline, and how each environment fared.
#[derive(Debug, Clone)]
pub struct Plan {
    pub targets: Vec<Target>,
    /// gunicorn's sync worker under CPython for a WSGI app, uvicorn for an
    /// ASGI one, or the first target when that one is not asked for.
    pub baseline: Option<String>,
    pub envs: Vec<EnvOutcome>,
}

/// Sets up the environments and makes the targets. `say` hears what is
/// being done, a line at a time (an environment can take minutes).
pub fn plan(
    home: &Path,
    app: &App,
    options: &Options,
    database_url: &str,
    say: &mut dyn FnMut(&str),
) -> Result<Plan, Error> {
    let root = env::root(home, app);
    std::fs::create_dir_all(&root)
        .map_err(|e| Error::io(format!("cannot create {}", root.display()), e))?;
    let dev = write_script(&root, "dev.py", DEV_SCRIPT)?;
    let probe = write_script(&root, "probe.py", PROBE_SCRIPT)?;
    let servers: Vec<Server> = options
        .servers
        .iter()
        .copied()
        .filter(|s| s.serves(app.interface))
        .collect();
    if servers.is_empty() {
        return Err(Error::Usage(format!(
            "none of the servers asked for serves a {} app",
            app.interface.name().to_uppercase()
        )));
    }
    let mut targets = Vec::new();
    let mut envs = Vec::new();
    for &interpreter in &options.interpreters {
        let mut by_flavour: BTreeMap<Flavour, Result<Env, String>> = BTreeMap::new();
        for flavour in [Flavour::Main, Flavour::Eventlet] {
            let mut packages: Vec<&str> = servers
                .iter()
                .filter(|s| s.flavour() == flavour)
                .filter_map(|s| s.package())
                .collect();
            packages.dedup();
            let wanted = servers.iter().any(|s| s.flavour() == flavour);
            if !wanted {
                continue;
            }
            say(&format!(
                "{}: the {} environment under {} (the first time takes minutes)",
                app.name,
                flavour.name(),
                interpreter.name()
            ));
            let env = env::setup(home, app, interpreter, flavour, &packages, options.retry)
                .map_err(|e| match e {
                    Error::Unavailable(why) => why,
                    other => bookbench_errors::chain(&other),
                });
            envs.push(EnvOutcome {
                interpreter,
                flavour,
                env: env.clone(),
            });
            by_flavour.insert(flavour, env);
        }
        // The app is imported once per interpreter, in the first
        // environment that set up.
        let framework = match by_flavour.values().find_map(|e| e.as_ref().ok()) {
            Some(env) => env::probe(env, app, (database_url, &options.env), &probe),
            None => Err("no environment set up".to_string()),
        };
        for &server in &servers {
            let env = by_flavour
                .get(&server.flavour())
                .cloned()
                .unwrap_or_else(|| Err("no environment".to_string()));
            targets.push(target(
                app,
                interpreter,
                server,
                env,
                &framework,
                options,
                &dev,
            ));
        }
    }
    let preferred = match app.interface {
        Interface::Wsgi => Server::GunicornSync,
        Interface::Asgi => Server::Uvicorn,
    };
    let baseline = targets
        .iter()
        .find(|t| t.name == name(app, Interpreter::CPython, preferred))
        .or(targets.first())
        .map(|t| t.name.clone());
    Ok(Plan {
        targets,
        baseline,
        envs,
    })
}

/// A target's name: `[pypy-]APP-SERVER`.
pub fn name(app: &App, interpreter: Interpreter, server: Server) -> String {
    format!("{}{}-{}", interpreter.prefix(), app.name, server.name())
}

fn target(
    app: &App,
    interpreter: Interpreter,
    server: Server,
    env: Result<Env, String>,
    framework: &Result<Framework, String>,
    options: &Options,
    dev: &Path,
) -> Target {
    let cannot_run = match (&env, framework) {
        (Err(why), _) => Some(format!(
            "its {} environment under {} did not set up: {why}",
            server.flavour().name(),
            interpreter.name()
        )),
        (Ok(_), Err(why)) => Some(why.clone()),
        (Ok(env), Ok(framework)) => match server.package().map(|p| (p, env.package(p))) {
            Some((package, Err(why))) => Some(format!(
                "{package} does not install under {}: {why}",
                interpreter.name()
            )),
            _ if server == Server::Dev && *framework == Framework::Other => Some(
                "no development server is known for its framework (Flask's and Django's are)"
                    .to_string(),
            ),
            _ => None,
        },
    };
    let python = env
        .as_ref()
        .map_or_else(|_| PathBuf::from("python"), |e| e.python.clone());
    let quiet = server.is_gunicorn()
        && env
            .as_ref()
            .is_ok_and(|e| cannot_run.is_none() && env::gunicorn_has_control_socket(e));
    let gunicorn_flags: &[&str] = if quiet { &["--no-control-socket"] } else { &[] };
    let mut notes = vec![
        server.note(),
        format!(
            "Installed from {} with the newest versions that install; \
             environments/{}-{}.txt lists them.",
            app.requirements_for(interpreter)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            interpreter.name(),
            server.flavour().name()
        ),
    ];
    if interpreter == Interpreter::PyPy {
        notes.push("PyPy's JIT warms up for 30 s before the first window.".to_string());
    }
    Target {
        name: name(app, interpreter, server),
        description: format!(
            "{} ({}) under {} with {}",
            app.entry,
            app.interface.name().to_uppercase(),
            interpreter.name(),
            server.name()
        ),
        command: server.command(&python, app, dev, gunicorn_flags),
        env: options.env.clone(),
        workers: 1,
        cpus: vec![0],
        ready: options.ready.clone(),
        ready_timeout_s: 120,
        requires: Vec::new(),
        notes,
        min_warmup_s: (interpreter == Interpreter::PyPy).then_some(30.0),
        venv: None,
        cpu_quota: None,
        proxy: None,
        instances: 1,
        contract: false,
        cannot_run,
    }
}

fn write_script(root: &Path, name: &str, text: &str) -> Result<PathBuf, Error> {
    let path = root.join(name);
    std::fs::write(&path, text)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    Ok(path)
}

/// Runs the app's set-up command once, with `sh -c`, in its directory and
/// in `env` (its `bin` first on PATH), with `DATABASE_URL` and `BOOKBENCH`
/// (this bookbench, to seed the bookstore's data); its output goes to
/// `log`.
pub fn run_setup(
    env: &Env,
    app: &App,
    (command, bookbench): (&str, &Path),
    (database_url, vars): (&str, &BTreeMap<String, String>),
    log: &Path,
) -> Result<(), Error> {
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
    }
    let file = std::fs::File::create(log)
        .map_err(|e| Error::io(format!("cannot create {}", log.display()), e))?;
    let err = file
        .try_clone()
        .map_err(|e| Error::io("cannot share the set-up log", e))?;
    let bin = env.dir.join("bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(&path));
    let path = std::env::join_paths(paths)
        .map_err(|e| Error::Usage(format!("the environment's PATH cannot be joined: {e}")))?;
    let status = Command::new("sh")
        .args(["-c", command])
        .envs(vars)
        .current_dir(&app.dir)
        .env("PATH", path)
        .env("VIRTUAL_ENV", &env.dir)
        .env("DATABASE_URL", database_url)
        .env("BOOKBENCH", bookbench)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .status()
        .map_err(|e| Error::io("cannot run sh for --setup", e))?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let last = env::last_line(&text);
    Err(Error::Target(format!(
        "--setup '{command}' failed ({status}): {last} (log: {})",
        log.display()
    )))
}

/// The app's own database on the server of `url`, made if it is not
/// there: `app_<name>`. Its URL.
pub async fn ensure_database(url: &str, app: &App) -> Result<String, Error> {
    let database: String = format!("app_{}", app.name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| Error::database("connecting to make the app's database", e))?;
    let driver = tokio::spawn(connection);
    let exists = client
        .query_opt(DATABASE_EXISTS, &[&database])
        .await
        .map_err(|e| Error::database("looking for the app's database", e))?
        .is_some();
    if !exists {
        // A name cannot be a parameter; this one is made of [a-z0-9_] only.
        client
            .batch_execute(&format!("CREATE DATABASE \"{database}\""))
            .await
            .map_err(|e| Error::database(format!("creating the database {database}"), e))?;
    }
    drop(client);
    driver.abort();
    let mut parsed = url::Url::parse(url)
        .map_err(|e| Error::Usage(format!("the database URL does not parse: {e}")))?;
    parsed.set_path(&format!("/{database}"));
    Ok(parsed.to_string())
}

const DATABASE_EXISTS: &str = "SELECT 1 FROM pg_database WHERE datname = $1";
