//! `bookbench load`: the load generator.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use bookbench_load::{BodyCheck, IdSpace, LoadConfig, RequestSpec, Workload, parse_duration};

use crate::db::{self, DatabaseArgs};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Templates in the URL's path and in --body:
  {author_id} {book_id}   a random existing id (from --seed/--authors/--books or the database)
  {int:A..B} {int:A..=B}  a random integer (B excluded / included)
  {uuid}                  a fresh random UUID
  {seq}                   a counter, distinct for every request
  {NAME}                  a value from a scenario file's [values] or captures

A scenario file (--scenario-file) is TOML; its simplest form:
  [[request]]
  path = \"/\"
docs/load.md describes the rest: bodies, headers, weights, expected answers,
values from lists and CSV files, and setup requests whose answers are captured.

Examples:
  bookbench load http://127.0.0.1:8080/ -c 100 -d 30s
  bookbench load http://127.0.0.1:8080 --scenario mixed --rate 2000 --json run.json
  bookbench load http://127.0.0.1:8000 --scenario-file shop.toml -c 20
  bookbench load 'http://127.0.0.1:8080/author/{author_id}' --seed 2019 --authors 10000 --books 100000")]
pub struct Args {
    /// The server, http://HOST[:PORT][/PATH]; with --scenario, the scenario's
    /// paths are appended to PATH.
    #[arg(value_name = "URL")]
    url: String,
    /// Connections, one per virtual user.
    #[arg(short = 'c', long, default_value_t = 10, allow_negative_numbers = true)]
    connections: i64,
    /// Worker threads.
    #[arg(short = 't', long, default_value_t = 1, allow_negative_numbers = true)]
    threads: i64,
    /// How long to run: 10s, 500ms, 2m.
    #[arg(short = 'd', long, default_value = "10s", allow_hyphen_values = true)]
    duration: String,
    /// Load before the measured duration, on the same connections: what
    /// ends in it is not counted (0s: none).
    #[arg(short = 'w', long, default_value = "0s", allow_hyphen_values = true)]
    warmup: String,
    /// Requests per second over all connections (an open-loop run, latency
    /// corrected for coordinated omission); without it, a closed loop.
    #[arg(long, value_name = "R", allow_negative_numbers = true)]
    rate: Option<f64>,
    /// Stop after this many requests (or at the end of the duration).
    #[arg(
        short = 'n',
        long = "requests",
        value_name = "N",
        allow_negative_numbers = true
    )]
    requests: Option<i64>,
    /// The request method.
    #[arg(short = 'm', long, default_value = "GET", conflicts_with_all = ["scenario", "scenario_file"])]
    method: String,
    /// The request body, a template; @FILE reads it from a file. Sent as
    /// application/json unless a Content-Type header is given.
    #[arg(long, value_name = "TEMPLATE", conflicts_with_all = ["scenario", "scenario_file"])]
    body: Option<String>,
    /// An extra header, 'Name: value'; repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Per request (and per connection attempt).
    #[arg(long, default_value = "10s", allow_hyphen_values = true)]
    timeout: String,
    /// The statuses that count as success (default: any 2xx, or the
    /// scenario's); comma-separated or repeated.
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    expect_status: Vec<u16>,
    /// A successful response's body must contain this text.
    #[arg(long, value_name = "TEXT")]
    expect_body: Option<String>,
    /// A named scenario of the benchmark: hello-get, hello-post,
    /// author-detail, author-list, author-offset-50k, author-offset-500k,
    /// author-keyset, author-create, book-detail, mixed.
    #[arg(long, value_name = "NAME", conflicts_with = "scenario_file")]
    scenario: Option<String>,
    /// A workload from a scenario file (TOML; see docs/load.md): its
    /// requests are appended to the URL's path.
    #[arg(long, value_name = "FILE")]
    scenario_file: Option<PathBuf>,
    /// The data set's seed, for {author_id} and {book_id} without a
    /// database (with --authors and --books).
    #[arg(long, requires_all = ["authors", "books"])]
    seed: Option<u64>,
    /// The data set's author count.
    #[arg(long, value_name = "N", requires_all = ["seed", "books"])]
    authors: Option<u64>,
    /// The data set's book count.
    #[arg(long, value_name = "N", requires_all = ["seed", "authors"])]
    books: Option<u64>,
    /// Start at this wall-clock instant, so that agents on several hosts
    /// start together: RFC 3339 (2026-12-02T13:00:00.250Z) or
    /// @UNIX_SECONDS (@1764680400.25); at most 10 minutes ahead.
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    start_at: Option<SystemTime>,
    /// Write the versioned JSON report here ('-' for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// No header line and no live progress.
    #[arg(short = 'q', long)]
    quiet: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub fn run(args: Args) -> Result<()> {
    let mut config = config(&args)?;
    if config.needs_ids()? {
        config.ids = Some(match (args.seed, args.authors, args.books) {
            (Some(seed), Some(authors), Some(books)) => IdSpace {
                seed,
                authors,
                books,
            },
            _ => ids_from_database(&args.database)?,
        });
    }
    // After the ids are looked up, which takes its own time.
    let late = args.start_at.map(wait_until).transpose()?;
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let say = |text: &str| {
        if json_to_stdout {
            errout!("{text}");
        } else {
            out!("{text}");
        }
    };
    let live = !args.quiet && std::io::stderr().is_terminal();
    let mut report = bookbench_load::run_with(&config, |tick| {
        if tick.elapsed.is_zero() {
            if !args.quiet {
                let what = config.scenario.as_deref().unwrap_or("requests");
                say(&format!(
                    "bookbench load: {what} @ {} for {:?}, {} connections, {} thread{}{}{}\n",
                    args.url,
                    config.duration,
                    config.connections,
                    config.threads,
                    if config.threads == 1 { "" } else { "s" },
                    config
                        .rate
                        .map(|r| format!(", {r} requests/s"))
                        .unwrap_or_default(),
                    late.map(|l| format!(", started {} us after --start-at", l.as_micros()))
                        .unwrap_or_default()
                ));
            }
        } else if live {
            erroutln!("{}", tick.line());
        }
    })?;
    report.start_late_us = late.map(|l| u64::try_from(l.as_micros()).unwrap_or(u64::MAX));
    say(&report.summary());
    if let Some(path) = &args.json {
        let json = report.to_json();
        if json_to_stdout {
            outln!("{json}");
        } else {
            std::fs::write(path, json + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    if report.ok == 0 {
        let e = &report.errors;
        bail!(
            "no request succeeded ({} errors: connect {}, timeout {}, read {}, status {}, body {})",
            e.total,
            e.connect,
            e.timeout,
            e.read,
            e.status,
            e.body
        );
    }
    Ok(())
}

/// How far ahead `--start-at` may be: a run stops by itself, and so does
/// its wait.
const MAX_AHEAD: Duration = Duration::from_secs(600);

/// `--start-at`: RFC 3339, or `@` and seconds since the Unix epoch.
fn parse_instant(s: &str) -> Result<SystemTime, String> {
    let bad = || format!("'{s}' is not an instant like 2026-12-02T13:00:00.250Z or @1764680400.25");
    if let Some(secs) = s.strip_prefix('@') {
        let secs: f64 = secs.parse().map_err(|_| bad())?;
        return Duration::try_from_secs_f64(secs)
            .ok()
            .and_then(|d| UNIX_EPOCH.checked_add(d))
            .ok_or_else(bad);
    }
    let at = chrono::DateTime::parse_from_rfc3339(s).map_err(|_| bad())?;
    Ok(SystemTime::from(at))
}

/// Waits until the wall clock reads `at`: sleeps to within a millisecond,
/// then watches the clock. Returns how late it woke.
fn wait_until(at: SystemTime) -> Result<Duration> {
    match at.duration_since(SystemTime::now()) {
        Err(past) => bail!(
            "--start-at: that instant passed {:.3} s ago; give one in the future",
            past.duration().as_secs_f64()
        ),
        Ok(ahead) if ahead > MAX_AHEAD => bail!(
            "--start-at: that instant is {:.0} s ahead, more than the {} s allowed",
            ahead.as_secs_f64(),
            MAX_AHEAD.as_secs()
        ),
        Ok(_) => {}
    }
    loop {
        match at.duration_since(SystemTime::now()) {
            Ok(left) if left > Duration::from_millis(2) => {
                std::thread::sleep(left - Duration::from_millis(1));
            }
            Ok(_) => std::hint::spin_loop(),
            Err(late) => return Ok(late.duration()),
        }
    }
}

fn config(args: &Args) -> Result<LoadConfig> {
    let positive = |value: i64, what: &str| -> Result<u32> {
        if value < 1 {
            bail!("{what} must be at least 1, not {value}");
        }
        u32::try_from(value).with_context(|| format!("{what}: {value} is too many"))
    };
    let (base, path) = split_url(&args.url)?;
    let mut config = match (&args.scenario, &args.scenario_file) {
        (Some(name), _) => LoadConfig::scenario(&args.url, name)?,
        (None, Some(file)) => LoadConfig::workload(&args.url, &Workload::from_file(file)?),
        (None, None) => {
            let body = match args.body.as_deref() {
                Some(b) => Some(match b.strip_prefix('@') {
                    Some(file) => std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read the body from {file}"))?,
                    None => b.to_string(),
                }),
                None => None,
            };
            let mut spec = RequestSpec::get("custom", path);
            spec.method = args.method.to_ascii_uppercase();
            spec.expect_status = Vec::new();
            let has_type = args
                .headers
                .iter()
                .any(|h| h.to_ascii_lowercase().starts_with("content-type:"));
            if body.is_some() && !has_type {
                spec.headers
                    .push(("content-type".to_string(), "application/json".to_string()));
            }
            spec.body = body;
            LoadConfig::new(base, vec![spec])
        }
    };
    for spec in &mut config.requests {
        for h in &args.headers {
            let (name, value) = h
                .split_once(':')
                .with_context(|| format!("header '{h}' is not of the form 'Name: value'"))?;
            spec.headers
                .push((name.trim().to_string(), value.trim().to_string()));
        }
        if !args.expect_status.is_empty() {
            spec.expect_status.clone_from(&args.expect_status);
        }
        if let Some(text) = &args.expect_body {
            spec.expect_body = Some(BodyCheck::Contains(text.clone()));
        }
    }
    config.connections = positive(args.connections, "--connections")?;
    config.threads = positive(args.threads, "--threads")?;
    config.duration = parse_duration(&args.duration).context("--duration")?;
    // parse_duration refuses 0, which here means no warm-up.
    config.warmup = if args.warmup.trim_end_matches(['s', 'm', 'h']) == "0" {
        Duration::ZERO
    } else {
        parse_duration(&args.warmup).context("--warmup")?
    };
    config.timeout = parse_duration(&args.timeout).context("--timeout")?;
    config.rate = args.rate;
    config.max_requests = match args.requests {
        Some(n) if n < 1 => bail!("--requests must be at least 1, not {n}"),
        Some(n) => Some(n.cast_unsigned()),
        None => None,
    };
    Ok(config)
}

/// Splits `http://host:port/path?query` into the server and the path and
/// query, keeping template braces as they are.
fn split_url(url: &str) -> Result<(&str, &str)> {
    let Some(scheme_end) = url.find("://") else {
        bail!("'{url}' is not a URL; expected http://HOST[:PORT][/PATH]");
    };
    let rest = &url[scheme_end + 3..];
    Ok(match rest.find('/') {
        Some(slash) => url.split_at(scheme_end + 3 + slash),
        None => (url, "/"),
    })
}

fn ids_from_database(database: &DatabaseArgs) -> Result<IdSpace> {
    let url = database.resolve()?;
    let dataset = db::block_on(async {
        let client = db::connect(&url).await?;
        anyhow::Ok(bookbench_schema::Dataset::read(&client).await?)
    })?;
    match dataset {
        Some(d) if d.authors > 0 && d.books > 0 => Ok(IdSpace {
            seed: d.seed,
            authors: d.authors,
            books: d.books,
        }),
        Some(_) => bail!("the database's data set has no authors or no books to draw ids from"),
        None => bail!(
            "the workload draws existing ids, but the database was never seeded: \
             run 'bookbench seed', or give --seed, --authors and --books"
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn start_instants_are_rfc_3339_or_unix_seconds() {
        let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        assert_eq!(
            unix(parse_instant("2026-12-02T13:00:00.250Z").unwrap()),
            1_796_216_400.25
        );
        assert_eq!(
            unix(parse_instant("2026-12-02T14:00:00.250+01:00").unwrap()),
            1_796_216_400.25
        );
        assert_eq!(
            unix(parse_instant("@1796216400.25").unwrap()),
            1_796_216_400.25
        );
        for bad in ["13:00", "@soon", "@-5", "2026-12-02"] {
            let e = parse_instant(bad).unwrap_err();
            assert!(e.contains(bad) && e.contains("like"), "{e}");
        }
    }

    #[test]
    fn a_start_in_the_past_or_too_far_ahead_is_refused() {
        let past = wait_until(SystemTime::now() - Duration::from_secs(2)).unwrap_err();
        assert!(past.to_string().contains("passed"), "{past}");
        let far = wait_until(SystemTime::now() + Duration::from_secs(3600)).unwrap_err();
        assert!(far.to_string().contains("more than the 600 s"), "{far}");
    }

    #[test]
    fn the_wait_ends_at_the_instant_not_before() {
        let at = SystemTime::now() + Duration::from_millis(300);
        let late = wait_until(at).unwrap();
        assert!(SystemTime::now() >= at);
        // How late is the machine's business; it woke, and says by how much.
        assert!(late < Duration::from_secs(5), "{late:?}");
    }

    #[test]
    fn urls_split_into_server_and_templated_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/author/{author_id}?x={int:1..5}").unwrap(),
            ("http://127.0.0.1:8080", "/author/{author_id}?x={int:1..5}")
        );
        assert_eq!(
            split_url("http://localhost").unwrap(),
            ("http://localhost", "/")
        );
        assert!(split_url("localhost:80").is_err());
    }
}
