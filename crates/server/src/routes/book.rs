//! Books: the list (offset and keyset pages), the detail with its author,
//! and creation (the book and its genres in one statement).

use std::collections::HashSet;

use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
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
use crate::types::{Isbn13, date_in_range, no_nul};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_books, create_book))
        .routes(routes!(get_book))
}

/// The first page of books, each with its genre names sorted.
const LIST_FIRST: &str = "\
SELECT b.id, b.author_id, b.title, b.isbn, b.published, b.pages, b.price,
       ARRAY(SELECT g.name
             FROM book_genre AS bg JOIN genre AS g ON g.id = bg.genre_id
             WHERE bg.book_id = b.id
             ORDER BY g.name) AS genres
FROM book AS b
ORDER BY b.id
LIMIT $1";

/// A keyset page of books.
const LIST_AFTER: &str = "\
SELECT b.id, b.author_id, b.title, b.isbn, b.published, b.pages, b.price,
       ARRAY(SELECT g.name
             FROM book_genre AS bg JOIN genre AS g ON g.id = bg.genre_id
             WHERE bg.book_id = b.id
             ORDER BY g.name) AS genres
FROM book AS b
WHERE b.id > $2
ORDER BY b.id
LIMIT $1";

/// An offset page of books as a deferred join on `book_pkey` (see the
/// author list).
const LIST_OFFSET: &str = "\
SELECT b.id, b.author_id, b.title, b.isbn, b.published, b.pages, b.price,
       ARRAY(SELECT g.name
             FROM book_genre AS bg JOIN genre AS g ON g.id = bg.genre_id
             WHERE bg.book_id = b.id
             ORDER BY g.name) AS genres
FROM (SELECT id FROM book ORDER BY id LIMIT $1 OFFSET $2) AS page
JOIN book AS b ON b.id = page.id
ORDER BY b.id";

const LIST: PageSql = PageSql {
    first: LIST_FIRST,
    offset: LIST_OFFSET,
    after: LIST_AFTER,
};

/// One book with its genres and its author's name and country.
const DETAIL: &str = "\
SELECT b.id, b.author_id, b.title, b.isbn, b.published, b.pages, b.price,
       ARRAY(SELECT g.name
             FROM book_genre AS bg JOIN genre AS g ON g.id = bg.genre_id
             WHERE bg.book_id = b.id
             ORDER BY g.name) AS genres,
       a.name, a.country_code
FROM book AS b
JOIN author AS a ON a.id = b.author_id
WHERE b.id = $1";

/// The book and its genres in one statement, so in one transaction: both
/// rows are committed, or (a missing author, say) neither.
const INSERT: &str = "\
WITH new_book AS (
    INSERT INTO book (id, author_id, title, isbn, published, pages, price)
    VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6)
    RETURNING id
), new_genres AS (
    INSERT INTO book_genre (book_id, genre_id)
    SELECT new_book.id, genre_id FROM new_book, unnest($7::integer[]) AS genre_id
)
SELECT id FROM new_book";

// Text fields borrow from the row they were read from.
/// A book as the list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookOverview<'a> {
    pub id: Uuid,
    pub author_id: Uuid,
    pub title: &'a str,
    #[schema(example = "978-0-306-40615-7")]
    pub isbn: &'a str,
    #[schema(value_type = Option<String>, format = Date, example = "2019-05-01")]
    pub published: Option<NaiveDate>,
    pub pages: Option<i32>,
    /// In minor units (cents).
    pub price: Option<i32>,
    /// Its genre names, sorted.
    pub genres: Vec<&'a str>,
}

impl<'a> BookOverview<'a> {
    /// From the first eight columns of [`LIST_FIRST`] and [`DETAIL`].
    fn from_row(row: &'a Row) -> Result<Self, AppError> {
        Ok(Self {
            id: col(row, 0)?,
            author_id: col(row, 1)?,
            title: col(row, 2)?,
            isbn: col(row, 3)?,
            published: col(row, 4)?,
            pages: col(row, 5)?,
            price: col(row, 6)?,
            genres: col(row, 7)?,
        })
    }
}

/// The author of a book, in the book detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookAuthor<'a> {
    pub id: Uuid,
    pub name: &'a str,
    #[schema(example = "GB")]
    pub country_code: &'a str,
}

/// A book with its author.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookDetail<'a> {
    #[serde(flatten)]
    pub book: BookOverview<'a>,
    pub author: BookAuthor<'a>,
}

/// A new book.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[garde(context(RefData))]
pub struct NewBook {
    /// An existing author's id.
    #[garde(required)]
    #[schema(required, value_type = Uuid)]
    pub author_id: Option<Uuid>,
    /// 1 to 300 characters.
    #[garde(required, length(chars, min = 1, max = 300), custom(no_nul))]
    #[schema(required, value_type = String, min_length = 1, max_length = 300)]
    pub title: Option<String>,
    /// An ISBN-13 with a valid check digit: 13 digits, or hyphenated.
    #[garde(required)]
    #[schema(required, value_type = String, example = "978-0-306-40615-7")]
    pub isbn: Option<Isbn13>,
    /// 1 to 10 distinct existing genre names.
    #[garde(required, length(min = 1, max = 10), custom(known_distinct_genres))]
    #[schema(required, value_type = Vec<String>, min_items = 1, max_items = 10, example = json!(["Fantasy", "Humor"]))]
    pub genres: Option<Vec<String>>,
    /// `YYYY-MM-DD`.
    #[garde(custom(date_in_range))]
    #[schema(value_type = Option<String>, format = Date, example = "2019-05-01")]
    pub published: Option<NaiveDate>,
    /// 1 to 100000.
    #[garde(range(min = 1, max = 100_000))]
    #[schema(minimum = 1, maximum = 100000)]
    pub pages: Option<i32>,
    /// At least 0, in minor units (cents).
    #[garde(range(min = 0))]
    #[schema(minimum = 0)]
    pub price: Option<i32>,
}

fn known_distinct_genres(genres: &Option<Vec<String>>, refdata: &RefData) -> garde::Result {
    let Some(genres) = genres else {
        return Ok(());
    };
    let unknown: Vec<&str> = genres
        .iter()
        .filter(|g| refdata.genre_id(g).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let list = serde_json::to_string(&unknown).unwrap_or_default();
        return Err(garde::Error::new(format!("unknown genres: {list}")));
    }
    let distinct: HashSet<&String> = genres.iter().collect();
    if distinct.len() != genres.len() {
        return Err(garde::Error::new("must not repeat a genre"));
    }
    Ok(())
}

/// List books
///
/// A page of book overviews ordered by id: `limit` items after skipping
/// `offset`, or (a keyset page) the items whose id is greater than `after`.
/// Unknown query parameters are ignored.
#[utoipa::path(
    get,
    path = "/book",
    tag = "books",
    params(PageParams),
    responses(
        (status = 200, description = "A page of books", body = [BookOverview<'static>]),
        (status = 422, description = "Invalid paging parameters", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody)
    )
)]
pub async fn list_books(State(state): State<AppState>, page: Page) -> Result<Response, AppError> {
    let client = client(&state).await?;
    let rows = page_rows(&client, &page, &LIST).await?;
    let books = rows
        .iter()
        .map(BookOverview::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    json(&books, 64 + 300 * books.len())
}

/// Get a book
///
/// The book overview with its author's id, name and country.
#[utoipa::path(
    get,
    path = "/book/{id}",
    tag = "books",
    params(("id" = Uuid, Path, description = "The book's id")),
    responses(
        (status = 200, description = "The book", body = BookDetail<'static>),
        (status = 404, description = "No such book (or not an id)", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody)
    )
)]
pub async fn get_book(
    State(state): State<AppState>,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let client = client(&state).await?;
    let stmt = client.prepare_cached(DETAIL).await?;
    let row = client
        .query_opt(&stmt, &[&id])
        .await?
        .ok_or(AppError::NotFound)?;
    let book = BookOverview::from_row(&row)?;
    let author = BookAuthor {
        id: book.author_id,
        name: col(&row, 8)?,
        country_code: col(&row, 9)?,
    };
    json(&BookDetail { book, author }, 512)
}

/// Create a book
///
/// Validates every field (naming each offending one by its JSON name) and
/// stores the book with its genres in one transaction; the 201 comes after
/// the commit. An `author_id` that names no author is a 422 on that field.
#[utoipa::path(
    post,
    path = "/book",
    tag = "books",
    request_body = NewBook,
    responses(
        (status = 201, description = "Created; `Location` names the new book", body = super::Created,
            headers(("Location" = String, description = "/book/{id}"))),
        (status = 400, description = "Not a JSON object", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Not declared as JSON", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody)
    )
)]
pub async fn create_book(
    State(state): State<AppState>,
    ValidJson(new): ValidJson<NewBook>,
) -> Result<Response, AppError> {
    let (Some(author_id), Some(title), Some(isbn), Some(genres)) =
        (new.author_id, new.title, new.isbn, new.genres)
    else {
        return Err(AppError::internal(
            "a required field passed validation unset",
        ));
    };
    let genre_ids = genres
        .iter()
        .map(|g| state.refdata().genre_id(g))
        .collect::<Option<Vec<i32>>>()
        .ok_or_else(|| AppError::field("genres", "unknown genre"))?;
    let client = client(&state).await?;
    let stmt = client.prepare_cached(INSERT).await?;
    let row = client
        .query_one(
            &stmt,
            &[
                &author_id,
                &title,
                &isbn.as_str(),
                &new.published,
                &new.pages,
                &new.price,
                &genre_ids,
            ],
        )
        .await?;
    Ok(created("/book", col(&row, 0)?))
}
