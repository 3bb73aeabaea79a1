//! `/book`: the list, the detail with its author, and creation with its
//! validation.

use serde_json::{Value, json};

use super::harness::{
    Ctx, Outcome, clip, ensure, has_keys, ids, is_increasing, is_sorted_strings, item, items,
    str_field, with_changes,
};

const BOOK_OVERVIEW: &[&str] = &[
    "id",
    "author_id",
    "title",
    "isbn",
    "published",
    "pages",
    "price",
    "genres",
];

fn check_book_overview(b: &Value, what: &str) -> Outcome {
    has_keys(b, BOOK_OVERVIEW, what)?;
    let genres = b["genres"]
        .as_array()
        .ok_or_else(|| format!("{what}: genres is not an array"))?;
    ensure(!genres.is_empty() && is_sorted_strings(genres), || {
        format!("{what}: genres {genres:?} are not 1 or more sorted distinct names")
    })?;
    match &b["published"] {
        Value::Null => Ok(()),
        Value::String(s) if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => Ok(()),
        other => Err(format!("{what}: published {other} is not YYYY-MM-DD")),
    }
}

pub(super) async fn book_list(ctx: &Ctx) -> Outcome {
    let books = ctx.get_array("/book").await?;
    ensure(books.len() == 20, || {
        format!("GET /book: {} books, expected 20", books.len())
    })?;
    for b in &books {
        check_book_overview(b, "a book overview")?;
    }
    ensure(is_increasing(&ids(&books)?), || {
        "GET /book: not ordered by id".to_string()
    })
}

pub(super) async fn book_list_paging(ctx: &Ctx) -> Outcome {
    let ten = ctx.get_ids("/book?limit=10").await?;
    let page = ctx.get_ids("/book?limit=5&offset=3").await?;
    let want = items(&ten, 3..8, "GET /book?limit=10")?;
    ensure(page == want, || {
        "GET /book?limit=5&offset=3 is not items 3 to 7".to_string()
    })?;
    let third = item(&ten, 2, "GET /book?limit=10")?;
    let page = ctx.get_ids(&format!("/book?limit=5&after={third}")).await?;
    ensure(page == want, || {
        "GET /book?after=<3rd id> is not items 3 to 7".to_string()
    })?;
    ctx.get("/book?limit=101")
        .await?
        .field_errors(&["limit"], "GET /book?limit=101")
}

pub(super) async fn book_detail(ctx: &Ctx) -> Outcome {
    let first = ctx.get_array("/book?limit=1").await?;
    let id = str_field(first.first().ok_or("no books")?, "id")?.to_string();
    let b = ctx.get_json(&format!("/book/{id}")).await?;
    let mut keys = BOOK_OVERVIEW.to_vec();
    keys.push("author");
    has_keys(&b, &keys, "a book detail")?;
    has_keys(
        &b["author"],
        &["id", "name", "country_code"],
        "a book's author",
    )?;
    ensure(b["author"]["id"] == b["author_id"], || {
        "author.id differs from author_id".to_string()
    })?;
    for path in ["/book/00000000-0000-4000-8000-000000000000", "/book/nope"] {
        let r = ctx.get(path).await?;
        r.expect(404, &format!("GET {path}"))?;
        r.error_shape(&format!("GET {path}"))?;
    }
    Ok(())
}

/// An author's id and the names of the first two genres (fewer if the
/// target lists fewer).
async fn some_author_and_genres(ctx: &Ctx) -> Result<(String, Vec<String>), String> {
    let author = ctx.get_array("/author?limit=1").await?;
    let author = str_field(author.first().ok_or("no authors")?, "id")?.to_string();
    let genres = ctx.get_array("/genre").await?;
    let names = genres
        .iter()
        .take(2)
        .map(|g| str_field(g, "name").map(str::to_string))
        .collect::<Result<_, _>>()?;
    Ok((author, names))
}

pub(super) async fn book_create(ctx: &Ctx) -> Outcome {
    let (author, genres) = some_author_and_genres(ctx).await?;
    let [first, second] = genres.as_slice() else {
        return Err(format!(
            "GET /genre gave {} genres, expected at least 2 to give a book",
            genres.len()
        ));
    };
    let body = json!({
        "author_id": author,
        "title": "Verified",
        "isbn": "978-0-306-40615-7",
        "genres": [second, first],
        "published": "2020-02-29",
        "pages": 321,
        "price": 1999
    });
    let r = ctx.post_json("/book", &body).await?;
    r.expect(201, "POST /book with a valid body")?;
    let id = str_field(&r.json()?, "id")?.to_string();
    ensure(
        r.location.as_deref() == Some(&format!("/book/{id}")),
        || format!("Location {:?}, expected /book/{id}", r.location),
    )?;
    let b = ctx.get_json(&format!("/book/{id}")).await?;
    let mut sorted = genres.clone();
    sorted.sort();
    ensure(b["genres"] == json!(sorted), || {
        format!("genres came back as {}", b["genres"])
    })?;
    ensure(
        b["author_id"] == author && b["published"] == "2020-02-29" && b["pages"] == 321,
        || format!("the book came back as {}", clip(&b.to_string())),
    )
}

pub(super) async fn book_create_invalid_fields(ctx: &Ctx) -> Outcome {
    let (author, genres) = some_author_and_genres(ctx).await?;
    let genre = genres
        .first()
        .ok_or("GET /genre gave no genres, expected one to give a book")?;
    let valid =
        json!({"author_id": author, "title": "T", "isbn": "9780306406157", "genres": [genre]});
    let with = |changes: Value| with_changes(&valid, changes);
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(json!({"isbn": "9780306406158"})),
            "isbn",
            "a wrong ISBN check digit",
        ),
        (with(json!({"isbn": "12345"})), "isbn", "a short ISBN"),
        (
            with(json!({"author_id": "00000000-0000-4000-8000-000000000000"})),
            "author_id",
            "an unknown author",
        ),
        (
            with(json!({"author_id": "nope"})),
            "author_id",
            "a malformed author id",
        ),
        (
            with(json!({"genres": ["No Such Genre"]})),
            "genres",
            "an unknown genre",
        ),
        (with(json!({"genres": []})), "genres", "no genres"),
        (
            with(json!({"genres": [genre, genre]})),
            "genres",
            "a repeated genre",
        ),
        (with(json!({"title": ""})), "title", "an empty title"),
        (with(json!({"pages": 0})), "pages", "zero pages"),
        (with(json!({"price": -5})), "price", "a negative price"),
        (
            with(json!({"published": "2020-13-01"})),
            "published",
            "a bad date",
        ),
    ];
    for (body, field, what) in cases {
        ctx.post_json("/book", &body)
            .await?
            .field_errors(&[field], &format!("POST /book with {what}"))?;
    }
    Ok(())
}
