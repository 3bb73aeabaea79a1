//! One module per resource, each with its `router()`.

pub mod author;
pub mod book;
pub mod hello;
pub mod ops;
pub mod reference;

use axum::http::HeaderValue;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::response::{IntoResponse, Response};
use axum::{Json, http::StatusCode};
use deadpool_postgres::Object;
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Page, PageStart};

/// Any path that is not an endpoint.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// A path that exists, with a method that it does not take.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

/// A connection from the pool.
pub async fn client(state: &AppState) -> Result<Object, AppError> {
    Ok(state.pool().get().await?)
}

/// The SQL of a list endpoint's three kinds of page. Each takes the limit
/// as `$1`; the offset page takes the offset and the keyset page the id
/// to start after as `$2`.
pub struct PageSql {
    pub first: &'static str,
    pub offset: &'static str,
    pub after: &'static str,
}

/// The rows of `page`, by the statement that fits it.
pub async fn page_rows(client: &Object, page: &Page, sql: &PageSql) -> Result<Vec<Row>, AppError> {
    let rows = match page.start {
        PageStart::Offset(0) => {
            let stmt = client.prepare_cached(sql.first).await?;
            client.query(&stmt, &[&page.limit]).await?
        }
        PageStart::Offset(offset) => {
            let stmt = client.prepare_cached(sql.offset).await?;
            client.query(&stmt, &[&page.limit, &offset]).await?
        }
        PageStart::After(after) => {
            let stmt = client.prepare_cached(sql.after).await?;
            client.query(&stmt, &[&page.limit, &after]).await?
        }
    };
    Ok(rows)
}

/// One column of a row; a type mismatch is the server's fault.
pub fn col<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, AppError> {
    row.try_get(idx).map_err(AppError::internal)
}

/// A 200 with `value` as JSON, written into a buffer of about the right
/// size (`capacity`): a growing buffer copies a list several times.
pub fn json<T: Serialize>(value: &T, capacity: usize) -> Result<Response, AppError> {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value).map_err(AppError::internal)?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response())
}

/// The body of a 201.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// The new resource's id.
    pub id: Uuid,
}

/// 201 with `Location: {collection}/{id}` and `{"id": ...}`.
pub fn created(collection: &str, id: Uuid) -> Response {
    let location = format!("{collection}/{id}");
    let mut response = (StatusCode::CREATED, Json(Created { id })).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// The paging parameters of the list endpoints, for the OpenAPI description
/// (parsing is [`crate::extract::Page`]).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    /// How many items, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<i64>,
    /// How many items to skip (default 0). Not with `after`.
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
    /// A keyset page: the items whose id is greater than this one. Not with
    /// `offset`.
    after: Option<Uuid>,
}
