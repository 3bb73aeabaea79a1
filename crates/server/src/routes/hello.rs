//! The blog post's hello-world baseline.

use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{AppError, ErrorBody};
use crate::extract::AnyJsonObject;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(hello, hello_post))
}

/// Hello, World!
///
/// The baseline of the blog post: no database, no JSON.
#[utoipa::path(
    get,
    path = "/",
    tag = "hello",
    responses((status = 200, description = "The greeting", body = String, content_type = "text/plain"))
)]
pub async fn hello() -> &'static str {
    "Hello, World!"
}

/// Hello, {id}
///
/// Greets the `id` of a JSON object body, rendered as text (a string as
/// itself, anything else as its JSON). The body is parsed as JSON whatever
/// its content type.
#[utoipa::path(
    post,
    path = "/",
    tag = "hello",
    request_body(content = Object, description = "A JSON object with an `id`", content_type = "application/json"),
    responses(
        (status = 200, description = "The greeting", body = String, content_type = "text/plain"),
        (status = 400, description = "Not a JSON object, or no `id`", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody)
    )
)]
pub async fn hello_post(AnyJsonObject(body): AnyJsonObject) -> Result<String, AppError> {
    match body.get("id") {
        None => Err(AppError::BadRequest(
            "Missing required parameter 'id'".to_string(),
        )),
        Some(Value::String(s)) => Ok(format!("Hello, {s}")),
        Some(other) => Ok(format!("Hello, {other}")),
    }
}
