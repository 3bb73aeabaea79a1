//! Authors: the list (offset and keyset pages), the detail with the
//! author's books and genres, and creation.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use garde::Validate;
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{PageParams, PageSql, client, col, created, json, page_rows};
use crate::AppState;
use crate::error::{AppError, ErrorBody};
use crate::extract::{IdPath, Page, ValidJson};
use crate::refdata::RefData;
use crate::types::{CountryCode, InTimestamp, Phone, Timestamp, no_nul, timestamp_in_range};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_authors, create_author))
        .routes(routes!(get_author))
}

/// The first page: an index scan of `author_pkey` that stops after `$1`.
const LIST_FIRST: &str = "\
SELECT id, name, country_code, email, phone, contact_address,
       contract_started, contract_finished, contract_value
FROM author
ORDER BY id
LIMIT $1";

/// A keyset page: the same scan, started at `$2`.
const LIST_AFTER: &str = "\
SELECT id, name, country_code, email, phone, contact_address,
       contract_started, contract_finished, contract_value
FROM author
WHERE id > $2
ORDER BY id
LIMIT $1";

/// An offset page as a deferred join: the skipped ids come from an
/// index-only scan of `author_pkey` (no heap access while the visibility
/// map is current), and only the `$1` rows of the page are read from the
/// heap. Same rows as `ORDER BY id LIMIT $1 OFFSET $2`, without fetching
/// every skipped row in random heap order.
const LIST_OFFSET: &str = "\
SELECT a.id, a.name, a.country_code, a.email, a.phone, a.contact_address,
       a.contract_started, a.contract_finished, a.contract_value
FROM (SELECT id FROM author ORDER BY id LIMIT $1 OFFSET $2) AS page
JOIN author AS a ON a.id = page.id
ORDER BY a.id";

const LIST: PageSql = PageSql {
    first: LIST_FIRST,
    offset: LIST_OFFSET,
    after: LIST_AFTER,
};

/// The detail's author row (the same columns as the overview).
const DETAIL_AUTHOR: &str = "\
SELECT id, name, country_code, email, phone, contact_address,
       contract_started, contract_finished, contract_value
FROM author
WHERE id = $1";

/// The detail's books, each with its genre names sorted, in the order the
/// contract gives. Sent in the same round trip as [`DETAIL_AUTHOR`].
const DETAIL_BOOKS: &str = "\
SELECT b.id, b.title, b.published,
       ARRAY(SELECT g.name
             FROM book_genre AS bg JOIN genre AS g ON g.id = bg.genre_id
             WHERE bg.book_id = b.id
             ORDER BY g.name) AS genres
FROM book AS b
WHERE b.author_id = $1
ORDER BY b.published NULLS LAST, b.title, b.id";

const INSERT: &str = "\
INSERT INTO author (id, name, country_code, email, phone, contact_address,
                    contract_started, contract_finished, contract_value)
VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id";

// Text fields borrow from the row they were read from: a page is
// serialized without copying its strings.
/// An author as the list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorOverview<'a> {
    pub id: Uuid,
    pub name: &'a str,
    #[schema(example = "GB")]
    pub country_code: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub contact_address: &'a str,
    pub contract_started: Option<Timestamp>,
    pub contract_finished: Option<Timestamp>,
    pub contract_value: Option<i32>,
}

impl<'a> AuthorOverview<'a> {
    /// From the columns of [`LIST_FIRST`] (and the other author queries).
    fn from_row(row: &'a Row) -> Result<Self, AppError> {
        Ok(Self {
            id: col(row, 0)?,
            name: col(row, 1)?,
            country_code: col(row, 2)?,
            email: col(row, 3)?,
            phone: col(row, 4)?,
            contact_address: col(row, 5)?,
            contract_started: col::<Option<DateTime<Utc>>>(row, 6)?.map(Timestamp),
            contract_finished: col::<Option<DateTime<Utc>>>(row, 7)?.map(Timestamp),
            contract_value: col(row, 8)?,
        })
    }
}

/// One of the author's books, in the author detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookSummary<'a> {
    pub id: Uuid,
    pub title: &'a str,
    #[schema(value_type = Option<String>, format = Date, example = "2019-05-01")]
    pub published: Option<chrono::NaiveDate>,
    /// Its genre names, sorted.
    pub genres: Vec<&'a str>,
}

impl<'a> BookSummary<'a> {
    /// From the columns of [`DETAIL_BOOKS`].
    fn from_row(row: &'a Row) -> Result<Self, AppError> {
        Ok(Self {
            id: col(row, 0)?,
            title: col(row, 1)?,
            published: col(row, 2)?,
            genres: col(row, 3)?,
        })
    }
}

/// An author with their books and genres.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorDetail<'a> {
    #[serde(flatten)]
    pub author: AuthorOverview<'a>,
    /// The author's books, by publication date (unpublished last), then
    /// title.
    pub books: Vec<BookSummary<'a>>,
    /// The genres of all of the author's books: sorted, each once.
    pub genres: BTreeSet<&'a str>,
}

/// A new author.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[garde(context(RefData))]
pub struct NewAuthor {
    /// 1 to 200 characters.
    #[garde(required, length(chars, min = 1, max = 200), custom(no_nul))]
    #[schema(required, value_type = String, min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// An existing ISO 3166-1 alpha-2 code.
    #[garde(required, custom(known_country))]
    #[schema(required, value_type = String, example = "GB")]
    pub country_code: Option<CountryCode>,
    /// A valid address, at most 254 characters.
    #[garde(required, length(max = 254), email, custom(no_nul))]
    #[schema(required, value_type = String, format = Email, max_length = 254)]
    pub email: Option<String>,
    /// 1 to 32 characters: digits, spaces and `+ - ( )`.
    #[garde(required)]
    #[schema(required, value_type = String, example = "+44 20 7946 0000")]
    pub phone: Option<Phone>,
    /// 1 to 500 characters.
    #[garde(required, length(chars, min = 1, max = 500), custom(no_nul))]
    #[schema(required, value_type = String, min_length = 1, max_length = 500)]
    pub contact_address: Option<String>,
    /// RFC 3339, any offset.
    #[garde(custom(timestamp_in_range))]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub contract_started: Option<InTimestamp>,
    /// RFC 3339, any offset; not before `contract_started`.
    #[garde(custom(timestamp_in_range), custom(not_before(&self.contract_started)))]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub contract_finished: Option<InTimestamp>,
    /// At least 0.
    #[garde(range(min = 0))]
    #[schema(minimum = 0)]
    pub contract_value: Option<i32>,
}

fn known_country(code: &Option<CountryCode>, refdata: &RefData) -> garde::Result {
    match code {
        Some(code) if !refdata.has_country(code.as_str()) => {
            Err(garde::Error::new("not a known country code"))
        }
        _ => Ok(()),
    }
}

fn not_before(
    started: &Option<InTimestamp>,
) -> impl FnOnce(&Option<InTimestamp>, &RefData) -> garde::Result + '_ {
    move |finished, _| match (started, finished) {
        (Some(s), Some(f)) if f < s => {
            Err(garde::Error::new("must not be before contract_started"))
        }
        _ => Ok(()),
    }
}

/// List authors
///
/// A page of author overviews ordered by id: `limit` items after skipping
/// `offset`, or (a keyset page) the items whose id is greater than `after`.
/// Unknown query parameters are ignored.
#[utoipa::path(
    get,
    path = "/author",
    tag = "authors",
    params(PageParams),
    responses(
        (status = 200, description = "A page of authors", body = [AuthorOverview<'static>]),
        (status = 422, description = "Invalid paging parameters", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody)
    )
)]
pub async fn list_authors(State(state): State<AppState>, page: Page) -> Result<Response, AppError> {
    let client = client(&state).await?;
    let rows = page_rows(&client, &page, &LIST).await?;
    let authors = rows
        .iter()
        .map(AuthorOverview::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    json(&authors, 64 + 400 * authors.len())
}

/// Get an author
///
/// The author with their books (each with its genres) and the sorted,
/// de-duplicated genres across all of them. Both queries go to the
/// database in one round trip.
#[utoipa::path(
    get,
    path = "/author/{id}",
    tag = "authors",
    params(("id" = Uuid, Path, description = "The author's id")),
    responses(
        (status = 200, description = "The author", body = AuthorDetail<'static>),
        (status = 404, description = "No such author (or not an id)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody)
    )
)]
pub async fn get_author(
    State(state): State<AppState>,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let client = client(&state).await?;
    let (author_stmt, books_stmt) = tokio::try_join!(
        client.prepare_cached(DETAIL_AUTHOR),
        client.prepare_cached(DETAIL_BOOKS)
    )?;
    // Pipelined: both are sent before either answer is awaited.
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&id];
    let (author, books) = tokio::try_join!(
        client.query_opt(&author_stmt, &params),
        client.query(&books_stmt, &params)
    )?;
    let author = author.ok_or(AppError::NotFound)?;
    let author = AuthorOverview::from_row(&author)?;
    let books = books
        .iter()
        .map(BookSummary::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let genres = books
        .iter()
        .flat_map(|b| b.genres.iter().copied())
        .collect();
    let capacity = 600 + 150 * books.len();
    json(
        &AuthorDetail {
            author,
            books,
            genres,
        },
        capacity,
    )
}

/// Create an author
///
/// Validates every field (naming each offending one by its JSON name) and
/// stores the author; the 201 comes after the commit.
#[utoipa::path(
    post,
    path = "/author",
    tag = "authors",
    request_body = NewAuthor,
    responses(
        (status = 201, description = "Created; `Location` names the new author", body = super::Created,
            headers(("Location" = String, description = "/author/{id}"))),
        (status = 400, description = "Not a JSON object", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Not declared as JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody)
    )
)]
pub async fn create_author(
    State(state): State<AppState>,
    ValidJson(new): ValidJson<NewAuthor>,
) -> Result<Response, AppError> {
    let (Some(name), Some(country), Some(email), Some(phone), Some(address)) = (
        new.name,
        new.country_code,
        new.email,
        new.phone,
        new.contact_address,
    ) else {
        return Err(AppError::internal(
            "a required field passed validation unset",
        ));
    };
    let started = new.contract_started.map(|t| t.to_utc());
    let finished = new.contract_finished.map(|t| t.to_utc());
    let client = client(&state).await?;
    let stmt = client.prepare_cached(INSERT).await?;
    let row = client
        .query_one(
            &stmt,
            &[
                &name,
                &country.as_str(),
                &email,
                &phone.as_str(),
                &address,
                &started,
                &finished,
                &new.contract_value,
            ],
        )
        .await?;
    Ok(created("/author", col(&row, 0)?))
}
