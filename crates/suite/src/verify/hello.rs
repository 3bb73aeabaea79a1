//! `/`: the greeting, the smallest request a target answers.

use reqwest::Method;
use serde_json::json;

use super::harness::{Ctx, Outcome, ensure};

pub(super) async fn hello_get(ctx: &Ctx) -> Outcome {
    let r = ctx.get("/").await?;
    r.expect(200, "GET /")?;
    ensure(r.content_type.starts_with("text/plain"), || {
        format!(
            "GET /: content type {:?}, expected text/plain",
            r.content_type
        )
    })?;
    ensure(r.body == "Hello, World!", || {
        format!("GET /: body {:?}", r.body)
    })
}

pub(super) async fn hello_post(ctx: &Ctx) -> Outcome {
    let r = ctx.post_json("/", &json!({"id": "abc-123"})).await?;
    r.expect(200, "POST / {id: \"abc-123\"}")?;
    ensure(r.body == "Hello, abc-123", || {
        format!("POST /: body {:?}", r.body)
    })?;
    // The body is JSON whatever its content type says.
    let r = ctx
        .send(
            Method::POST,
            "/",
            Some(("text/plain", br#"{"id": 42}"#.to_vec())),
        )
        .await?;
    r.expect(200, "POST / as text/plain")?;
    ensure(r.body == "Hello, 42", || {
        format!("POST / {{id: 42}}: body {:?}", r.body)
    })
}

pub(super) async fn hello_post_errors(ctx: &Ctx) -> Outcome {
    let r = ctx.post_json("/", &json!({"name": "x"})).await?;
    r.expect(400, "POST / without id")?;
    ensure(r.body.contains("Missing required parameter 'id'"), || {
        format!("POST / without id: body {:?}", r.body)
    })?;
    for body in ["[1, 2]", "\"id\"", "not json"] {
        let r = ctx
            .send(
                Method::POST,
                "/",
                Some(("application/json", body.as_bytes().to_vec())),
            )
            .await?;
        r.expect(400, &format!("POST / with body {body}"))?;
    }
    Ok(())
}
