//! The server's own extractors: every rejection comes out as an
//! [`AppError`], in the contract's error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use garde::Validate;
use http_body_util::BodyExt as _;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::AppState;
use crate::error::{AppError, FieldErrors};
use crate::refdata::RefData;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// How much of a body the server reads, and drops, before it refuses it.
/// A server that answers before the body is in and then closes breaks the
/// client still sending it: nginx gets a broken pipe, answers 502 and marks
/// the upstream down. Reading the rest keeps the connection usable for the
/// next request. Go's net/http drains the same 256 KiB; past it the
/// connection is closed, as it has to be.
const DRAIN_LIMIT: usize = 256 * 1024;

/// Reads the whole body, up to [`BODY_LIMIT`]; one over it is read to its
/// end, up to [`DRAIN_LIMIT`], and refused.
async fn read_body(req: Request) -> Result<Bytes, AppError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        // hyper closes a connection whose request body was left unread.
        return Err(AppError::PayloadTooLarge);
    }
    let capacity = declared.map_or(0, |n| usize::try_from(n).unwrap_or(0).min(BODY_LIMIT));
    let mut kept = Vec::with_capacity(capacity);
    let mut seen = 0usize;
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|_| AppError::BadRequest("the request body could not be read".to_string()))?;
        // Trailers carry no body.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_LIMIT {
            return Err(AppError::PayloadTooLarge);
        }
        if seen <= BODY_LIMIT {
            kept.extend_from_slice(&data);
        }
    }
    if seen > BODY_LIMIT {
        return Err(AppError::PayloadTooLarge);
    }
    Ok(kept.into())
}

/// Parses a body as one JSON object.
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, AppError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AppError::BadRequest(
            "the request body must be a JSON object".to_string(),
        )),
        Err(_) => Err(AppError::BadRequest(
            "the request body is not valid JSON".to_string(),
        )),
    }
}

/// A JSON object body, whatever the content type says (the hello-world
/// endpoint takes any).
#[derive(Debug)]
pub struct AnyJsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for AnyJsonObject {
    type Rejection = AppError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let body = read_body(req).await?;
        parse_object(&body).map(Self)
    }
}

/// A JSON body of type `T`, declared as JSON, parsed and validated: the
/// handler gets a value that passed every rule.
///
/// Rejections, in this order: 415 when the content type is not JSON, 413
/// when the body is over 64 KiB, 400 when it is not a JSON object, 422 with
/// every offending field named (unknown fields, wrong types, missing
/// required fields and every garde rule) otherwise.
///
/// `T` has only optional fields (required ones carry garde's `required`
/// rule), so that a field-by-field pass can name each type error rather
/// than stopping at the first.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T> FromRequest<AppState> for ValidJson<T>
where
    T: DeserializeOwned + Validate<Context = RefData>,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            // Read for the connection's sake (see DRAIN_LIMIT), not used.
            let _ = read_body(req).await;
            return Err(AppError::UnsupportedMediaType);
        }
        let body = read_body(req).await?;
        let object = parse_object(&body)?;
        parse_valid(object, state.refdata()).map(Self)
    }
}

/// Deserializes and validates `T`. When deserializing fails, each field is
/// tried alone to name every field that fails, and the fields that are
/// well-typed are validated too, so that one response names every
/// offending field.
fn parse_valid<T>(object: Map<String, Value>, refdata: &RefData) -> Result<T, AppError>
where
    T: DeserializeOwned + Validate<Context = RefData>,
{
    let object = Value::Object(object);
    let first = match T::deserialize(&object) {
        Ok(value) => {
            return value
                .validate_with(refdata)
                .map(|()| value)
                .map_err(|report| {
                    let mut errors = FieldErrors::new();
                    add_report(&mut errors, &report);
                    AppError::Invalid(errors)
                });
        }
        Err(e) => e,
    };
    let Value::Object(object) = object else {
        return Err(AppError::internal("a JSON object stopped being one"));
    };
    let mut errors = FieldErrors::new();
    let mut well_typed = Map::new();
    for (key, value) in object {
        let single = Value::Object(Map::from_iter([(key.clone(), value)]));
        match T::deserialize(&single) {
            Ok(_) => {
                if let Value::Object(single) = single {
                    well_typed.extend(single);
                }
            }
            Err(e) => errors.add(key, describe(&e)),
        }
    }
    if errors.is_empty() {
        // Every field alone was fine, yet together they failed: report it
        // rather than guess.
        errors.add("body", describe(&first));
        return Err(AppError::Invalid(errors));
    }
    if let Ok(rest) = T::deserialize(&Value::Object(well_typed))
        && let Err(report) = rest.validate_with(refdata)
    {
        let mut more = FieldErrors::new();
        add_report(&mut more, &report);
        errors.merge_new(more);
    }
    Err(AppError::Invalid(errors))
}

fn add_report(errors: &mut FieldErrors, report: &garde::Report) {
    for (path, error) in report.iter() {
        let path = path.to_string();
        let field = path.split(['[', '.']).next().unwrap_or_default();
        let field = if field.is_empty() { "body" } else { field };
        let message = match error.message() {
            "not set" => "is required",
            m => m,
        };
        errors.add(field, message);
    }
}

/// serde's message, without the field list it adds to unknown fields.
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("unknown field") {
        "unknown field".to_string()
    } else {
        text
    }
}

fn is_json(req: &Request) -> bool {
    let Some(value) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || sub.len() > 5 && sub[sub.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// The `{id}` path segment as a UUID; anything else is a 404 (no resource
/// has that name).
#[derive(Debug, Clone, Copy)]
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::NotFound)?;
        // The hyphenated form only (either case), as the contract writes ids.
        if raw.len() != 36 {
            return Err(AppError::NotFound);
        }
        Uuid::try_parse(&raw)
            .map(Self)
            .map_err(|_| AppError::NotFound)
    }
}

/// Which page of a list: the first `limit` rows after skipping `offset`, or
/// after the id `after` (a keyset page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub start: PageStart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    Offset(i64),
    After(Uuid),
}

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Page::parse(parts.uri.query().unwrap_or_default())
    }
}

impl Page {
    /// Parses `limit`, `offset` and `after` from a raw query string; other
    /// parameters are ignored. Each error names its parameter.
    pub fn parse(query: &str) -> Result<Self, AppError> {
        let mut errors = FieldErrors::new();
        let (mut limit, mut offset, mut after) = (None, None, None);
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*key {
                "limit" => &mut limit,
                "offset" => &mut offset,
                "after" => &mut after,
                _ => continue,
            };
            if slot.is_some() {
                errors.add(key.into_owned(), "must be given at most once");
            } else {
                *slot = Some(value.into_owned());
            }
        }
        let limit = match limit.as_deref().map(|v| v.parse::<i64>()) {
            None => DEFAULT_LIMIT,
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                errors.add("limit", "must be an integer from 1 to 100");
                DEFAULT_LIMIT
            }
        };
        let offset = match offset.as_deref().map(|v| v.parse::<i64>()) {
            None => None,
            Some(Ok(n)) if n >= 0 => Some(n),
            Some(_) => {
                errors.add("offset", "must be an integer from 0 to 9223372036854775807");
                None
            }
        };
        let after = match after.as_deref() {
            None => None,
            Some(v) => match Uuid::try_parse(v) {
                Ok(id) if v.len() == 36 => Some(id),
                _ => {
                    errors.add("after", "must be an id (a hyphenated UUID)");
                    None
                }
            },
        };
        if after.is_some() && offset.is_some() {
            errors.add("after", "cannot be combined with offset");
            errors.add("offset", "cannot be combined with after");
        }
        errors.into_result()?;
        let start = match after {
            Some(id) => PageStart::After(id),
            None => PageStart::Offset(offset.unwrap_or(0)),
        };
        Ok(Self { limit, start })
    }
}
