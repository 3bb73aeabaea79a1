//! Hostile paths and bodies: a target may refuse them, never fail on them.

use reqwest::Method;

use super::harness::{Ctx, Outcome, ensure};

pub(super) async fn garbage_never_5xx(ctx: &Ctx) -> Outcome {
    // Each sent as these bytes (a client's URL parser would resolve `..`
    // and mend bad escapes first), answered below 500 and never 2xx.
    for path in [
        "/author?limit=20;DROP%20TABLE%20author",
        "/author?limit=1&limit=2&offset=0&offset=1",
        "/author?offset=%FF%FE",
        "/author/%27%20OR%201=1--",
        "/author/../../etc/passwd",
        "/book?after=%00",
        "/book/%E0%A4%A",
    ] {
        let status = ctx.raw_get(path).await?;
        ensure(
            !status.is_success() || path.contains("limit=1&limit=2"),
            || format!("GET {path} (sent as is) answered {status}"),
        )?;
    }
    let r = ctx
        .send(
            Method::POST,
            "/author",
            Some(("application/json", vec![0xff, 0xfe, 0x00])),
        )
        .await?;
    ensure(r.status.is_client_error(), || {
        format!("POST /author with invalid UTF-8 answered {}", r.status)
    })?;
    // Under the size limit, nested deeper than a recursive parser goes.
    for (what, body) in [
        ("nested arrays", "[".repeat(60_000)),
        ("nested objects", r#"{"a":"#.repeat(10_000)),
    ] {
        let r = ctx
            .send(
                Method::POST,
                "/author",
                Some(("application/json", body.into_bytes())),
            )
            .await?;
        ensure(r.status.is_client_error(), || {
            format!("POST /author with 60 KiB of {what} answered {}", r.status)
        })?;
    }
    Ok(())
}
