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
        &mut |line| eprintln!("{line}"),
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
        eprintln!("{}: --setup {command}", app.name);
        matrix::run_setup(
            env,
            &app,
            (command, &config.placeholders.bookbench),
            &app_url,
            &config.out.join("logs").join("setup.log"),
        )?;
    }
    // A workload that draws the bookstore's ids draws them from the app's
    // database (the bookstore's own app, seeded by --setup).
    config.ids = db::block_on(async {
        let client = db::connect(&app_url).await?;
        let dataset = bookbench_schema::Dataset::read(&client)
            .await
            .ok()
            .flatten();
        anyhow::Ok(bookbench_suite::dataset::id_space(dataset.as_ref()))
    })?;
    config.placeholders.database_url = app_url;
    for t in &plan.targets {
        match &t.cannot_run {
            None => eprintln!("  {}", t.name),
            Some(why) => eprintln!("  {}: cannot run here: {why}", t.name),
        }
    }
    config.targets = plan.targets;
    config.targets.extend(with);
    config.baseline = plan.baseline;
    let cost = (!args.no_cost).then(|| {
        let mut plan = d.cost.clone().unwrap_or_else(crate::cost::defaults);
        plan.scenarios.clone_from(&config.scenarios);
        plan
    });
    measure_and_count(&config, cost)
}
