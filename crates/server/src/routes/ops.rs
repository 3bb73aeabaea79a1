//! Operations: health and metrics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::client;
use crate::AppState;
use crate::error::{AppError, ErrorBody};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics))
}

const PING: &str = "SELECT 1";

/// Health
///
/// 200 when the database answers a query, 503 when it does not.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = String, content_type = "text/plain"),
        (status = 503, description = "Database unavailable", body = ErrorBody)
    )
)]
pub async fn healthz(State(state): State<AppState>) -> Result<&'static str, AppError> {
    let client = client(&state).await?;
    let stmt = client.prepare_cached(PING).await?;
    client.query_one(&stmt, &[]).await?;
    Ok("ok")
}

/// Metrics
///
/// Prometheus text: request counts and latency histograms by method, route
/// and status (`http_requests_total`, `http_request_duration_seconds`), and
/// the database pool's use (`db_pool_*`).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let text = state.metrics().render(&state.pool().status())?;
    Ok((
        StatusCode::OK,
        [(CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        text,
    ))
}
