//! `bookbench load`: the load generator.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use bookbench_load::{BodyCheck, IdSpace, LoadConfig, RequestSpec, parse_duration};

use crate::db::{self, DatabaseArgs};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Templates in the URL's path and in --body:
  {author_id} {book_id}   a random existing id (from --seed/--authors/--books or the database)
  {int:A..B} {int:A..=B}  a random integer (B excluded / included)
  {uuid}                  a fresh random UUID
  {seq}                   a counter, distinct for every request

Examples:
  bookbench load http://127.0.0.1:8080/ -c 100 -d 30s
  bookbench load http://127.0.0.1:8080 --scenario mixed --rate 2000 --json run.json
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
    #[arg(short = 'm', long, default_value = "GET", conflicts_with = "scenario")]
    method: String,
    /// The request body, a template; @FILE reads it from a file. Sent as
    /// application/json unless a Content-Type header is given.
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "scenario")]
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
    #[arg(long, value_name = "NAME")]
    scenario: Option<String>,
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
    let json_to_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let say = |text: &str| {
        if json_to_stdout {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    };
    let live = !args.quiet && std::io::stderr().is_terminal();
    let report = bookbench_load::run_with(&config, |tick| {
        if tick.elapsed.is_zero() {
            if !args.quiet {
                let what = config.scenario.as_deref().unwrap_or("requests");
                say(&format!(
                    "bookbench load: {what} @ {} for {:?}, {} connections, {} thread{}{}\n",
                    args.url,
                    config.duration,
                    config.connections,
                    config.threads,
                    if config.threads == 1 { "" } else { "s" },
                    config
                        .rate
                        .map(|r| format!(", {r} requests/s"))
                        .unwrap_or_default()
                ));
            }
        } else if live {
            eprintln!("{}", tick.line());
        }
    })?;
    say(&report.summary());
    if let Some(path) = &args.json {
        let json = report.to_json();
        if json_to_stdout {
            println!("{json}");
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

fn config(args: &Args) -> Result<LoadConfig> {
    let positive = |value: i64, what: &str| -> Result<u32> {
        if value < 1 {
            bail!("{what} must be at least 1, not {value}");
        }
        u32::try_from(value).with_context(|| format!("{what}: {value} is too many"))
    };
    let (base, path) = split_url(&args.url)?;
    let mut config = match &args.scenario {
        Some(name) => LoadConfig::scenario(&args.url, name)?,
        None => {
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
