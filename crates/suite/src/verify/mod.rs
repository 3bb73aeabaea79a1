//! `bookbench verify URL`: checks a running target against every black-box
//! rule of the API contract, so that only implementations doing the same
//! work are measured. Each check is named; a failure says what was expected.
//!
//! Checks write a few rows (an author and a book), as the `author-create`
//! scenario does; they never delete anything.
//!
//! Whatever a target sends, a check fails with a message rather than
//! panicking: one broken target must not stop a run of many.

mod author;
mod book;
mod garbage;
mod harness;
mod hello;
mod reference;

use std::pin::Pin;
use std::time::Duration;

use bookbench_results::CheckResult;
use reqwest::{Client, Url};

use crate::Error;
use harness::{Ctx, Outcome};

/// A check: a name and what it does.
struct Check {
    name: &'static str,
    run: for<'a> fn(&'a Ctx) -> Pin<Box<dyn Future<Output = Outcome> + 'a>>,
}

macro_rules! checks {
    ($($name:literal => $f:path),* $(,)?) => {
        &[$(Check { name: $name, run: |ctx| Box::pin($f(ctx)) }),*]
    };
}

/// Every check, in the order they run.
const CHECKS: &[Check] = checks![
    "hello-get" => hello::hello_get,
    "hello-post" => hello::hello_post,
    "hello-post-errors" => hello::hello_post_errors,
    "genre-list" => reference::genre_list,
    "country-list" => reference::country_list,
    "author-list" => author::author_list,
    "author-list-paging" => author::author_list_paging,
    "author-list-keyset" => author::author_list_keyset,
    "author-list-bad-parameters" => author::author_list_bad_parameters,
    "author-detail" => author::author_detail,
    "author-detail-not-found" => author::author_detail_not_found,
    "author-create" => author::author_create,
    "author-create-invalid-fields" => author::author_create_invalid_fields,
    "author-create-bad-bodies" => author::author_create_bad_bodies,
    "book-list" => book::book_list,
    "book-list-paging" => book::book_list_paging,
    "book-detail" => book::book_detail,
    "book-create" => book::book_create,
    "book-create-invalid-fields" => book::book_create_invalid_fields,
    "garbage-never-5xx" => garbage::garbage_never_5xx,
];

/// The names of all checks.
pub fn check_names() -> Vec<&'static str> {
    CHECKS.iter().map(|c| c.name).collect()
}

/// Longer than any connection to a live target takes, short enough that a
/// firewalled address does not stall the command.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs every check against `base` (for example `http://127.0.0.1:8000`).
///
/// A base that is not an `http://` URL, or at which nothing accepts a
/// connection, is one error rather than twenty failed checks.
pub async fn verify(base: &str) -> Result<Vec<CheckResult>, Error> {
    let base = base.trim_end_matches('/');
    let (host, port, prefix) = host_and_port(base)?;
    reachable(base, &host, port).await?;
    let ctx = Ctx {
        base: base.to_string(),
        host,
        port,
        prefix,
        // A fresh connection per request: a server may close one after an
        // early answer (a 413 before the body was read), and a reused
        // connection would then fail the next check, not this one.
        http: Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Unavailable(format!("the HTTP client: {e}")))?,
    };
    let mut results = Vec::with_capacity(CHECKS.len());
    for check in CHECKS {
        let failure = (check.run)(&ctx).await.err();
        results.push(CheckResult {
            name: check.name.to_string(),
            failure,
        });
    }
    Ok(results)
}

/// The host, port and path of `base`.
fn host_and_port(base: &str) -> Result<(String, u16, String), Error> {
    let usage = |why: &str| {
        Error::Usage(format!(
            "{base:?} is not a base URL like http://127.0.0.1:8000: {why}"
        ))
    };
    let url = Url::parse(base).map_err(|e| usage(&e.to_string()))?;
    // The client is built without TLS, so only plain HTTP can be checked.
    if url.scheme() != "http" {
        return Err(usage(&format!(
            "the scheme is {:?}, not http",
            url.scheme()
        )));
    }
    let host = url.host_str().ok_or_else(|| usage("no host"))?;
    // `Url` keeps an IPv6 literal's brackets, which a socket address does not take.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url
        .port_or_known_default()
        .ok_or_else(|| usage("no port"))?;
    Ok((
        host.to_string(),
        port,
        url.path().trim_end_matches('/').to_string(),
    ))
}

async fn reachable(base: &str, host: &str, port: u16) -> Result<(), Error> {
    let cause = match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    {
        Ok(Ok(_)) => return Ok(()),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no connection within {} s", CONNECT_TIMEOUT.as_secs()),
    };
    Err(Error::Target(format!(
        "nothing answers at {base}: {cause}; is the target running?"
    )))
}
