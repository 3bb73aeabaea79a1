//! The one error type of the server, and how each error becomes a response.
//!
//! # Error strategy
//!
//! Every handler returns `Result<_, AppError>`, and every failure, whoever
//! caused it, leaves the server as one JSON object with a human-readable
//! `error` string (the contract's error shape):
//!
//! - What the client sent is answered with a 4xx that says what was wrong:
//!   400 for a body that is not JSON (or not a JSON object), 404 for an
//!   unknown or malformed id or path, 413 for a body over the limit, 415 for
//!   a non-JSON content type, and 422 with `errors`, a map from each
//!   offending field's JSON name to its messages, for invalid fields and
//!   query parameters. Database errors that the client caused (a foreign
//!   key to a missing author, say) are mapped to the field that caused them
//!   ([`AppError::from_db`]), never passed on.
//! - What the server or its database failed at is answered with a 5xx whose
//!   body says only what kind of failure it was ("internal error",
//!   "database unavailable", "request timed out"); the cause is logged,
//!   never sent.
//!
//! Nothing else in the server builds an error response.

use std::collections::BTreeMap;
use std::fmt;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bookbench_errors::chain;
use serde::Serialize;
use utoipa::ToSchema;

/// Messages per field, keyed by the field's JSON name; sorted, so that the
/// same input always gives the same body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds the messages of `other` for the fields that have none yet.
    pub fn merge_new(&mut self, other: FieldErrors) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_insert(messages);
        }
    }

    /// `Ok(())` when empty, else the 422.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self))
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    #[schema(example = "invalid input")]
    pub error: String,
    /// Present on 422 only: the messages for each offending field, by its
    /// JSON name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!({"email": ["not a valid email address"]}))]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

/// A failed request. See the module documentation for the strategy.
#[derive(Debug)]
pub enum AppError {
    /// 400: the body is not JSON, or not the JSON the endpoint takes.
    BadRequest(String),
    /// 404: no such resource (or an id that cannot name one).
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 413: the body is over the limit.
    PayloadTooLarge,
    /// 415: the body is not declared as JSON.
    UnsupportedMediaType,
    /// 422: invalid fields or query parameters.
    Invalid(FieldErrors),
    /// 503: the database cannot be reached; the cause is logged.
    Unavailable(String),
    /// 503: the request took longer than the server allows.
    Timeout,
    /// 500: anything else; the cause is logged.
    Internal(String),
}

impl AppError {
    /// A 500 whose cause is logged, never sent.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// A 422 on one field.
    pub fn field(field: &str, message: &str) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        Self::Invalid(errors)
    }

    /// Maps a database error: integrity violations that the client caused
    /// become 422s on the field behind the constraint, lost connections
    /// 503s, the rest 500s.
    pub fn from_db(e: &tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        let Some(db) = e.as_db_error() else {
            // No server-side error: the connection failed or closed.
            return Self::Unavailable(chain(e));
        };
        let code = db.code();
        if (*code == SqlState::FOREIGN_KEY_VIOLATION || *code == SqlState::CHECK_VIOLATION)
            && let Some((field, message)) = db.constraint().and_then(constraint_field)
        {
            return Self::field(field, message);
        }
        // Class 08: connection exception; 53: insufficient resources; 57:
        // operator intervention (shutdown, cannot connect now).
        let class = &code.code()[..2];
        if matches!(class, "08" | "53" | "57") {
            return Self::Unavailable(chain(e));
        }
        Self::Internal(chain(e))
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) | Self::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The field (and message) behind each constraint that a valid-looking
/// request can still violate.
fn constraint_field(constraint: &str) -> Option<(&'static str, &'static str)> {
    Some(match constraint {
        "book_author_id_fkey" => ("author_id", "no author has this id"),
        "author_country_code_fkey" => ("country_code", "not a known country code"),
        "book_genre_genre_id_fkey" => ("genres", "not a known genre"),
        "author_contract_check" => ("contract_finished", "must not be before contract_started"),
        "author_contract_value_check" => ("contract_value", "must be at least 0"),
        "book_pages_check" => ("pages", "must be between 1 and 100000"),
        "book_price_check" => ("price", "must be at least 0"),
        _ => return None,
    })
}

impl From<tokio_postgres::Error> for AppError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::from_db(&e)
    }
}

impl From<deadpool_postgres::PoolError> for AppError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        match &e {
            PoolError::Backend(db) => Self::from_db(db),
            _ => Self::Unavailable(chain(&e)),
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadRequest(message) => message,
            Self::NotFound => "not found",
            Self::MethodNotAllowed => "method not allowed",
            Self::PayloadTooLarge => "request body too large (the limit is 64 KiB)",
            Self::UnsupportedMediaType => {
                "the request body must be JSON (Content-Type: application/json)"
            }
            Self::Invalid(_) => "invalid input",
            Self::Unavailable(_) => "database unavailable",
            Self::Timeout => "request timed out",
            Self::Internal(_) => "internal error",
        })
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            Self::Unavailable(cause) => tracing::warn!(cause = %cause, "database unavailable"),
            Self::Internal(cause) => tracing::error!(cause = %cause, "internal error"),
            _ => {}
        }
        let error = self.to_string();
        let status = self.status();
        let errors = match self {
            Self::Invalid(errors) => Some(errors.0),
            _ => None,
        };
        (status, Json(ErrorBody { error, errors })).into_response()
    }
}
