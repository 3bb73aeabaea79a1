//! `bookbench matrix`: a WSGI or ASGI app of one's own, under every server
//! and interpreter it can run with, measured as `run` measures the peers.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use bookbench_apps::matrix::{self, Options};
use bookbench_apps::servers::Server;
use bookbench_apps::{App, Interface, Interpreter};
use bookbench_suite::preset::Preset;
use bookbench_suite::targets;

use crate::db;
use crate::run::{Measure, measure_and_count};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  bookbench matrix ./myshop --wsgi myshop.wsgi:application --scenario-file shop.toml
  bookbench matrix examples/notes --asgi app:app --setup 'python init_db.py'
docs/your-app.md goes from nothing to the table for your app.")]
pub struct Args {
    /// The app's directory: servers import the app from there.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// A WSGI app (Flask, Django, ...): MODULE:ATTR.
    #[arg(
        long,
        value_name = "MODULE:ATTR",
        required_unless_present = "asgi",
        conflicts_with = "asgi"
    )]
    wsgi: Option<String>,
    /// An ASGI app (FastAPI, Starlette, ...): MODULE:ATTR.
    #[arg(long, value_name = "MODULE:ATTR")]
    asgi: Option<String>,
    /// Its requirements [default: DIR/requirements.txt].
    #[arg(long, value_name = "FILE")]
    requirements: Option<PathBuf>,
    /// Its requirements under PyPy [default: DIR/requirements-pypy.txt if
    /// there, else --requirements].
    #[arg(long, value_name = "FILE")]
    pypy_requirements: Option<PathBuf>,
    /// What its targets are called [default: DIR's name].
    #[arg(long)]
    name: Option<String>,
    /// Run once, with sh, in the app's directory and CPython environment
    /// with DATABASE_URL set, before anything is measured (migrations,
    /// fixtures). $BOOKBENCH is this bookbench.
    #[arg(long, value_name = "CMD")]
    setup: Option<String>,
    /// Interpreters to run it under.
    #[arg(long, value_delimiter = ',', default_value = "cpython,pypy")]
    interpreters: Vec<String>,
    /// Servers to run it under [default: every one that serves its
    /// interface: dev, gunicorn-sync, gunicorn-gthread, gunicorn-gevent,
    /// gunicorn-eventlet, granian for WSGI; uvicorn, granian for ASGI].
    #[arg(long, value_delimiter = ',')]
    servers: Option<Vec<String>>,
    /// A path the app answers with 200 once it serves.
    #[arg(long, default_value = "/", value_name = "PATH")]
    ready: String,
    /// Built-in targets measured beside the app's, against its database
    /// (for the bookstore's own peers run through the matrix).
    #[arg(long = "with", value_delimiter = ',', value_name = "TARGETS")]
    with: Vec<String>,
    /// A variable the app is given, NAME=VALUE; repeatable (DATABASE_URL,
    /// HOST and PORT are bookbench's).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_var)]
    env: Vec<(String, String)>,
    /// Try again to set up environments whose failure is on record.
    #[arg(long)]
    retry: bool,
    /// Time only: no counted cost after the throughput.
    #[arg(long)]
    no_cost: bool,
    #[command(flatten)]
    measure: Measure,
}

pub fn run(mut args: Args) -> Result<()> {
    let (interface, entry) = match (&args.wsgi, &args.asgi) {
        (Some(e), None) => (Interface::Wsgi, e.clone()),
        (None, Some(e)) => (Interface::Asgi, e.clone()),
        _ => bail!("give the app as --wsgi MODULE:ATTR or --asgi MODULE:ATTR"),
    };
    let app = App::new(
        &args.dir,
        interface,
        &entry,
        args.requirements.as_deref(),
        args.pypy_requirements.as_deref(),
        args.name.as_deref(),
    )?;
    let options = Options {
        interpreters: args
            .interpreters
            .iter()
            .map(|i| Interpreter::parse(i.trim()))
            .collect::<Result<_, _>>()?,
        servers: match &args.servers {
            None => Server::ALL.to_vec(),
            Some(names) => names
                .iter()
                .map(|n| {
                    Server::parse(n.trim()).with_context(|| {
                        format!(
                            "unknown server '{n}'; servers: {}",
                            Server::ALL.map(Server::name).join(", ")
                        )
                    })
                })
                .collect::<Result<_>>()?,
        },
        ready: args.ready.clone(),
        retry: args.retry,
        env: args.env.iter().cloned().collect(),
    };
    if !args.ready.starts_with('/') {
        bail!("--ready '{}' must be a path starting with '/'", args.ready);
    }
    args.measure
        .default_scenario_files(&app.dir.join("scenarios"))?;
    let all = args.measure.targets()?;
    let with = targets::select(&all, &args.with)?;
    let d = Preset::Quick.defaults(&all);
    let mut config = args.measure.config_with(
        "matrix",
        &d,
        (Vec::new(), None, BTreeMap::new()),
        !with.is_empty(),
    )?;
    let app_url = db::block_on(matrix::ensure_database(
        &config.placeholders.database_url,
        &app,
    ))?;
    let plan = matrix::plan(
        &config.placeholders.home,
        &app,
        &options,
        &app_url,
        &mut |line| erroutln!("{line}"),
    )?;
    let environments = config.out.join("environments");
    std::fs::create_dir_all(&environments)
        .with_context(|| format!("cannot create {}", environments.display()))?;
    for outcome in &plan.envs {
        let name = format!("{}-{}", outcome.interpreter.name(), outcome.flavour.name());
        let text = match &outcome.env {
            Ok(env) => std::fs::read_to_string(env.dir.join(bookbench_apps::env::FREEZE))
                .unwrap_or_default(),
            Err(why) => format!("# did not set up: {why}\n"),
        };
        std::fs::write(environments.join(format!("{name}.txt")), text)
            .with_context(|| format!("cannot write {}", environments.display()))?;
    }
    if let Some(command) = &args.setup {
        let env = plan
            .envs
            .iter()
            .filter_map(|o| o.env.as_ref().ok())
            .min_by_key(|e| (e.interpreter, e.flavour))
            .context("--setup needs an environment, and none set up")?;
        erroutln!("{}: --setup {command}", app.name);
        matrix::run_setup(
            env,
            &app,
            (command, &config.placeholders.bookbench),
            (&app_url, &options.env),
            &config.out.join("logs").join("setup.log"),
        )?;
    }
    // A workload that draws the bookstore's ids draws them from the app's
    // database (the bookstore's own app, seeded by --setup).
    let dataset = db::block_on(async {
        let client = db::connect(&app_url).await?;
        anyhow::Ok(
            bookbench_schema::Dataset::read(&client)
                .await
                .ok()
                .flatten(),
        )
    })?;
    config.ids = bookbench_suite::dataset::id_space(dataset.as_ref());
    if let Some(d) = &dataset {
        bookbench_suite::env::record_dataset(&mut config.env, d);
    }
    config.placeholders.database_url = app_url;
    for t in &plan.targets {
        match &t.cannot_run {
            None => erroutln!("  {}", t.name),
            Some(why) => erroutln!("  {}: cannot run here: {why}", t.name),
        }
    }
    let names = |ts: &[targets::Target]| ts.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    config.references = counterparts(&names(&with), &names(&plan.targets), &app);
    config.targets = plan.targets;
    config.targets.extend(with);
    config.baseline = plan.baseline;
    // `bookbench cost`'s windows (100 requests), not the quick preset's
    // (20): an app's mix of requests needs the longer ones to settle.
    let cost = (!args.no_cost).then(|| {
        let mut plan = crate::cost::defaults();
        plan.scenarios.clone_from(&config.scenarios);
        plan
    });
    measure_and_count(&config, cost)
}

/// Each built-in target measured beside the app's, paired with the app's
/// configuration of its server and interpreter (`pypy-flask-gunicorn-sync`
/// with `pypy-APP-gunicorn-sync`) when there is one: the two are compared
/// with each other, not with the baseline.
fn counterparts(with: &[String], app_targets: &[String], app: &App) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    for t in with {
        let (interpreter, rest) = match t.strip_prefix("pypy-") {
            Some(rest) => (Interpreter::PyPy, rest),
            None => (Interpreter::CPython, t.as_str()),
        };
        let server = Server::ALL
            .into_iter()
            .filter(|s| rest.ends_with(&format!("-{}", s.name())))
            .max_by_key(|s| s.name().len());
        if let Some(server) = server {
            let mine = matrix::name(app, interpreter, server);
            if app_targets.contains(&mine) {
                pairs.insert(t.clone(), mine);
            }
        }
    }
    pairs
}

/// `NAME=VALUE`, NAME not one bookbench sets itself.
fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not NAME=VALUE"))?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("'{name}' is not a variable's name"));
    }
    if ["DATABASE_URL", "HOST", "PORT"].contains(&name) {
        return Err(format!("{name} is set by bookbench for every target"));
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_in_target_is_paired_with_the_apps_configuration_of_its_server_and_interpreter() {
        let dir = std::env::temp_dir().join(format!("bookbench-pairs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        std::fs::write(dir.join("requirements.txt"), "").expect("requirements");
        let app =
            App::new(&dir, Interface::Wsgi, "app:app", None, None, Some("mine")).expect("an app");
        let _ = std::fs::remove_dir_all(&dir);
        let own = |names: &[&str]| names.iter().map(|n| (*n).to_string()).collect::<Vec<_>>();
        let pairs = counterparts(
            &own(&[
                "flask-gunicorn-sync",
                "pypy-flask-gunicorn-gevent",
                "flask-dev-pg8000",
                "flask-granian",
                "rust",
            ]),
            &own(&[
                "mine-gunicorn-sync",
                "pypy-mine-gunicorn-gevent",
                "mine-dev",
            ]),
            &app,
        );
        let expected: BTreeMap<String, String> = [
            ("flask-gunicorn-sync", "mine-gunicorn-sync"),
            ("pypy-flask-gunicorn-gevent", "pypy-mine-gunicorn-gevent"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(
            pairs, expected,
            "flask-granian has no counterpart asked for"
        );
    }
}
