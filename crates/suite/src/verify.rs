//! `bookbench verify URL`: checks a running target against every black-box
//! rule of the API contract, so that only implementations doing the same
//! work are measured. Each check is named; a failure says what was expected.
//!
//! Checks write a few rows (an author and a book), as the `author-create`
//! scenario does; they never delete anything.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// The outcome of one check.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CheckResult {
    pub name: String,
    /// `None` when the check passed.
    pub failure: Option<String>,
}

type Outcome = Result<(), String>;

/// A check: a name and what it does.
struct Check {
    name: &'static str,
    run: for<'a> fn(&'a Ctx) -> std::pin::Pin<Box<dyn Future<Output = Outcome> + 'a>>,
}

macro_rules! checks {
    ($($name:literal => $f:ident),* $(,)?) => {
        &[$(Check { name: $name, run: |ctx| Box::pin($f(ctx)) }),*]
    };
}

/// Every check, in the order they run.
const CHECKS: &[Check] = checks![
    "hello-get" => hello_get,
    "hello-post" => hello_post,
    "hello-post-errors" => hello_post_errors,
    "genre-list" => genre_list,
    "country-list" => country_list,
    "author-list" => author_list,
    "author-list-paging" => author_list_paging,
    "author-list-keyset" => author_list_keyset,
    "author-list-bad-parameters" => author_list_bad_parameters,
    "author-detail" => author_detail,
    "author-detail-not-found" => author_detail_not_found,
    "author-create" => author_create,
    "author-create-invalid-fields" => author_create_invalid_fields,
    "author-create-bad-bodies" => author_create_bad_bodies,
    "book-list" => book_list,
    "book-list-paging" => book_list_paging,
    "book-detail" => book_detail,
    "book-create" => book_create,
    "book-create-invalid-fields" => book_create_invalid_fields,
    "garbage-never-5xx" => garbage_never_5xx,
];

/// The names of all checks.
pub fn check_names() -> Vec<&'static str> {
    CHECKS.iter().map(|c| c.name).collect()
}

struct Ctx {
    base: String,
    http: Client,
}

/// Runs every check against `base` (for example `http://127.0.0.1:8000`).
pub async fn verify(base: &str) -> Vec<CheckResult> {
    let ctx = Ctx {
        base: base.trim_end_matches('/').to_string(),
        // A fresh connection per request: a server may close one after an
        // early answer (a 413 before the body was read), and a reused
        // connection would then fail the next check, not this one.
        http: Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default(),
    };
    let mut results = Vec::with_capacity(CHECKS.len());
    for check in CHECKS {
        let failure = (check.run)(&ctx).await.err();
        results.push(CheckResult {
            name: check.name.to_string(),
            failure,
        });
    }
    results
}

/// A response, read whole.
struct Reply {
    status: StatusCode,
    content_type: String,
    location: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Result<Value, String> {
        serde_json::from_str(&self.body)
            .map_err(|e| format!("body is not JSON ({e}): {}", clip(&self.body)))
    }

    fn expect(&self, status: u16, what: &str) -> Outcome {
        if self.status.as_u16() == status {
            Ok(())
        } else {
            Err(format!(
                "{what}: expected {status}, got {}: {}",
                self.status,
                clip(&self.body)
            ))
        }
    }

    /// The contract's error shape: a JSON object with an `error` string.
    fn error_shape(&self, what: &str) -> Result<Value, String> {
        let v = self.json().map_err(|e| format!("{what}: {e}"))?;
        if v.get("error").and_then(Value::as_str).is_none() {
            return Err(format!(
                "{what}: error body has no \"error\" string: {}",
                clip(&self.body)
            ));
        }
        Ok(v)
    }

    /// A 422 naming each of `fields` in `errors`.
    fn field_errors(&self, fields: &[&str], what: &str) -> Outcome {
        self.expect(422, what)?;
        let v = self.error_shape(what)?;
        let errors = v
            .get("errors")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{what}: no \"errors\" map: {}", clip(&self.body)))?;
        for f in fields {
            let messages = errors.get(*f).and_then(Value::as_array);
            if !messages.is_some_and(|m| !m.is_empty() && m.iter().all(Value::is_string)) {
                return Err(format!(
                    "{what}: \"errors\" does not name {f:?} with a list of messages: {}",
                    clip(&self.body)
                ));
            }
        }
        Ok(())
    }
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(200).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out.replace('\n', " ")
}

impl Ctx {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Reply, String> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some((content_type, bytes)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: request failed: {e}"))?;
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let location = header("location");
        let body = resp
            .text()
            .await
            .map_err(|e| format!("{method} {path}: reading the body: {e}"))?;
        if status.is_server_error() {
            return Err(format!(
                "{method} {path}: answered {status}: {}",
                clip(&body)
            ));
        }
        Ok(Reply {
            status,
            content_type,
            location,
            body,
        })
    }

    async fn get(&self, path: &str) -> Result<Reply, String> {
        self.send(Method::GET, path, None).await
    }

    async fn post_json(&self, path: &str, body: &Value) -> Result<Reply, String> {
        self.send(
            Method::POST,
            path,
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    }

    /// GET that must answer 200 with JSON.
    async fn get_json(&self, path: &str) -> Result<Value, String> {
        let r = self.get(path).await?;
        r.expect(200, &format!("GET {path}"))?;
        r.json().map_err(|e| format!("GET {path}: {e}"))
    }

    async fn get_array(&self, path: &str) -> Result<Vec<Value>, String> {
        match self.get_json(path).await? {
            Value::Array(items) => Ok(items),
            other => Err(format!(
                "GET {path}: expected a JSON array, got {}",
                clip(&other.to_string())
            )),
        }
    }
}

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Outcome {
    if cond { Ok(()) } else { Err(msg()) }
}

fn str_field<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    v.get(field).and_then(Value::as_str).ok_or_else(|| {
        format!(
            "{field:?} missing or not a string in {}",
            clip(&v.to_string())
        )
    })
}

fn ids(items: &[Value]) -> Result<Vec<String>, String> {
    items
        .iter()
        .map(|i| str_field(i, "id").map(str::to_string))
        .collect()
}

/// Exactly these keys, no more, no fewer.
fn has_keys(v: &Value, keys: &[&str], what: &str) -> Outcome {
    let actual: BTreeSet<&str> = v
        .as_object()
        .ok_or_else(|| format!("{what}: not a JSON object"))?
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = keys.iter().copied().collect();
    ensure(actual == expected, || {
        format!("{what}: fields {actual:?}, expected {expected:?}")
    })
}

fn is_sorted_strings(values: &[Value]) -> bool {
    let names: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
    names.len() == values.len() && names.windows(2).all(|w| w[0] < w[1])
}

fn is_lower_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

/// RFC 3339, UTC, seconds precision: `2019-05-01T09:30:00Z`.
fn is_utc_seconds(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok() && s.len() == 20 && s.ends_with('Z')
}

const AUTHOR_OVERVIEW: &[&str] = &[
    "id",
    "name",
    "country_code",
    "email",
    "phone",
    "contact_address",
    "contract_started",
    "contract_finished",
    "contract_value",
];

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

fn check_author_overview(a: &Value, what: &str) -> Outcome {
    has_keys(a, AUTHOR_OVERVIEW, what)?;
    ensure(is_lower_uuid(str_field(a, "id")?), || {
        format!("{what}: id is not a lowercase UUID")
    })?;
    for field in ["contract_started", "contract_finished"] {
        match &a[field] {
            Value::Null => {}
            Value::String(s) if is_utc_seconds(s) => {}
            other => {
                return Err(format!(
                    "{what}: {field} {other} is not null or RFC 3339 UTC seconds (2019-05-01T09:30:00Z)"
                ));
            }
        }
    }
    Ok(())
}

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

async fn hello_get(ctx: &Ctx) -> Outcome {
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

async fn hello_post(ctx: &Ctx) -> Outcome {
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

async fn hello_post_errors(ctx: &Ctx) -> Outcome {
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

async fn genre_list(ctx: &Ctx) -> Outcome {
    let genres = ctx.get_array("/genre").await?;
    ensure(genres.len() >= 10, || {
        format!("GET /genre: only {} genres", genres.len())
    })?;
    for g in &genres {
        has_keys(g, &["id", "name"], "a genre")?;
    }
    let names: Vec<Value> = genres.iter().map(|g| g["name"].clone()).collect();
    ensure(is_sorted_strings(&names), || {
        "GET /genre: not ordered by name".to_string()
    })
}

async fn country_list(ctx: &Ctx) -> Outcome {
    let countries = ctx.get_array("/country").await?;
    ensure(countries.len() == 249, || {
        format!("GET /country: {} countries, expected 249", countries.len())
    })?;
    for c in &countries {
        has_keys(c, &["code", "name"], "a country")?;
    }
    let codes: Vec<Value> = countries.iter().map(|c| c["code"].clone()).collect();
    ensure(is_sorted_strings(&codes), || {
        "GET /country: not ordered by code".to_string()
    })?;
    ensure(codes.iter().any(|c| c == "NZ"), || {
        "GET /country: no NZ".to_string()
    })
}

async fn author_list(ctx: &Ctx) -> Outcome {
    let authors = ctx.get_array("/author").await?;
    ensure(authors.len() == 20, || {
        format!(
            "GET /author: {} authors, expected the default limit of 20",
            authors.len()
        )
    })?;
    for a in &authors {
        check_author_overview(a, "an author overview")?;
    }
    let ids = ids(&authors)?;
    ensure(ids.windows(2).all(|w| w[0] < w[1]), || {
        "GET /author: not ordered by id".to_string()
    })
}

async fn author_list_paging(ctx: &Ctx) -> Outcome {
    let ten = ids(&ctx.get_array("/author?limit=10").await?)?;
    let page = ids(&ctx.get_array("/author?limit=5&offset=3").await?)?;
    ensure(ten.len() == 10 && page == ten[3..8], || {
        "GET /author?limit=5&offset=3 is not items 3 to 7 of ?limit=10".to_string()
    })?;
    let hundred = ctx.get_array("/author?limit=100").await?;
    ensure(hundred.len() == 100, || {
        format!("?limit=100 gave {}", hundred.len())
    })?;
    let far = ctx.get_array("/author?limit=5&offset=100000000").await?;
    ensure(far.is_empty(), || {
        "an offset past the end is not an empty page".to_string()
    })
}

async fn author_list_keyset(ctx: &Ctx) -> Outcome {
    let ten = ids(&ctx.get_array("/author?limit=10").await?)?;
    let page = ids(&ctx
        .get_array(&format!("/author?limit=5&after={}", ten[2]))
        .await?)?;
    ensure(page == ten[3..8], || {
        "?after=<3rd id> is not items 3 to 7".to_string()
    })
}

async fn author_list_bad_parameters(ctx: &Ctx) -> Outcome {
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("after=not-a-uuid", "after"),
    ] {
        let r = ctx.get(&format!("/author?{query}")).await?;
        r.field_errors(&[field], &format!("GET /author?{query}"))?;
    }
    let r = ctx
        .get("/author?offset=3&after=00000000-0000-4000-8000-000000000000")
        .await?;
    r.expect(422, "GET /author with both offset and after")?;
    r.error_shape("GET /author with both offset and after")
        .map(drop)
}

async fn author_detail(ctx: &Ctx) -> Outcome {
    // An author with books: the first one on a page of a hundred that has some.
    let candidates = ids(&ctx.get_array("/author?limit=100").await?)?;
    let mut found = None;
    for id in candidates {
        let a = ctx.get_json(&format!("/author/{id}")).await?;
        if a["books"].as_array().is_some_and(|b| b.len() >= 2) {
            found = Some(a);
            break;
        }
    }
    let a = found.ok_or("no author with two or more books among the first hundred")?;
    let mut keys = AUTHOR_OVERVIEW.to_vec();
    keys.extend(["books", "genres"]);
    has_keys(&a, &keys, "an author detail")?;
    let books = a["books"].as_array().ok_or("books is not an array")?;
    let mut union = BTreeSet::new();
    for b in books {
        has_keys(
            b,
            &["id", "title", "published", "genres"],
            "a book in an author detail",
        )?;
        let g = b["genres"]
            .as_array()
            .ok_or("a book's genres is not an array")?;
        ensure(!g.is_empty() && is_sorted_strings(g), || {
            format!("a book's genres {g:?} are not sorted")
        })?;
        union.extend(g.iter().filter_map(Value::as_str).map(str::to_string));
    }
    let key = |b: &Value| {
        (
            b["published"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| "~".to_string()),
            b["title"].as_str().unwrap_or_default().to_string(),
        )
    };
    ensure(books.windows(2).all(|w| key(&w[0]) <= key(&w[1])), || {
        "books are not ordered by published (nulls last), then title".to_string()
    })?;
    let genres: Vec<String> = a["genres"]
        .as_array()
        .ok_or("genres is not an array")?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    ensure(genres == union.into_iter().collect::<Vec<_>>(), || {
        format!("genres {genres:?} are not the sorted, distinct genres of the author's books")
    })
}

async fn author_detail_not_found(ctx: &Ctx) -> Outcome {
    for path in [
        "/author/00000000-0000-4000-8000-000000000000",
        "/author/not-a-uuid",
        "/author/12345",
    ] {
        let r = ctx.get(path).await?;
        r.expect(404, &format!("GET {path}"))?;
        r.error_shape(&format!("GET {path}"))?;
    }
    Ok(())
}

fn valid_author() -> Value {
    json!({
        "name": "Verify Author",
        "country_code": "NZ",
        "email": "verify.author@example.com",
        "phone": "+64 (9) 123-4567",
        "contact_address": "1 Queen Street, Auckland",
        "contract_started": "2019-05-01T11:30:00+02:00",
        "contract_finished": "2021-05-01T09:30:00Z",
        "contract_value": 12000
    })
}

async fn author_create(ctx: &Ctx) -> Outcome {
    let r = ctx.post_json("/author", &valid_author()).await?;
    r.expect(201, "POST /author with a valid body")?;
    let id = str_field(&r.json()?, "id")?.to_string();
    ensure(is_lower_uuid(&id), || {
        format!("created id {id} is not a lowercase UUID")
    })?;
    ensure(
        r.location.as_deref() == Some(&format!("/author/{id}")),
        || format!("Location {:?}, expected /author/{id}", r.location),
    )?;
    let a = ctx.get_json(&format!("/author/{id}")).await?;
    ensure(a["contract_started"] == "2019-05-01T09:30:00Z", || {
        format!(
            "contract_started came back as {}, expected 2019-05-01T09:30:00Z",
            a["contract_started"]
        )
    })?;
    ensure(a["books"] == json!([]) && a["genres"] == json!([]), || {
        "a new author has books or genres".to_string()
    })?;
    for f in [
        "name",
        "country_code",
        "email",
        "phone",
        "contact_address",
        "contract_value",
    ] {
        ensure(a[f] == valid_author()[f], || {
            format!("{f} came back as {}", a[f])
        })?;
    }
    let mut minimal = valid_author();
    for f in ["contract_started", "contract_finished", "contract_value"] {
        minimal.as_object_mut().map(|o| o.remove(f));
    }
    ctx.post_json("/author", &minimal)
        .await?
        .expect(201, "POST /author without the optional fields")
}

async fn author_create_invalid_fields(ctx: &Ctx) -> Outcome {
    let with = |changes: Value| {
        let mut body = valid_author();
        if let (Some(b), Some(c)) = (body.as_object_mut(), changes.as_object()) {
            for (k, v) in c {
                b.insert(k.clone(), v.clone());
            }
        }
        body
    };
    let cases: Vec<(Value, Vec<&str>, &str)> = vec![
        (
            with(json!({"email": "not an email"})),
            vec!["email"],
            "an invalid email",
        ),
        (with(json!({"name": ""})), vec!["name"], "an empty name"),
        (
            with(json!({"name": "x".repeat(201)})),
            vec!["name"],
            "a name of 201 characters",
        ),
        (
            with(json!({"phone": "call me"})),
            vec!["phone"],
            "a phone with letters",
        ),
        (
            with(json!({"country_code": "XX"})),
            vec!["country_code"],
            "an unknown country",
        ),
        (
            with(json!({"contract_value": -1})),
            vec!["contract_value"],
            "a negative contract value",
        ),
        (
            with(json!({"contract_value": "lots"})),
            vec!["contract_value"],
            "a string contract value",
        ),
        (
            with(json!({"contract_started": "yesterday"})),
            vec!["contract_started"],
            "a bad timestamp",
        ),
        (
            with(
                json!({"contract_started": "2021-01-01T00:00:00Z", "contract_finished": "2020-01-01T00:00:00Z"}),
            ),
            vec!["contract_finished"],
            "a contract finished before it started",
        ),
        (
            with(json!({"nickname": "x"})),
            vec!["nickname"],
            "an unknown field",
        ),
        (
            json!({"name": "Only A Name"}),
            vec!["country_code", "email", "phone", "contact_address"],
            "missing required fields",
        ),
        (
            with(json!({"email": "bad", "phone": "bad", "name": ""})),
            vec!["email", "phone", "name"],
            "three invalid fields",
        ),
    ];
    for (body, fields, what) in cases {
        ctx.post_json("/author", &body)
            .await?
            .field_errors(&fields, &format!("POST /author with {what}"))?;
    }
    Ok(())
}

async fn author_create_bad_bodies(ctx: &Ctx) -> Outcome {
    let r = ctx
        .send(
            Method::POST,
            "/author",
            Some(("application/json", b"{not json".to_vec())),
        )
        .await?;
    r.expect(400, "POST /author with a body that is not JSON")?;
    r.error_shape("POST /author, not JSON")?;
    let r = ctx
        .send(
            Method::POST,
            "/author",
            Some(("text/plain", valid_author().to_string().into_bytes())),
        )
        .await?;
    r.expect(415, "POST /author as text/plain")?;
    r.error_shape("POST /author as text/plain")?;
    let mut big = valid_author();
    big["contact_address"] = Value::String("x".repeat(70 * 1024));
    let r = ctx.post_json("/author", &big).await?;
    r.expect(413, "POST /author with a 70 KiB body")?;
    r.error_shape("POST /author, 70 KiB").map(drop)
}

async fn book_list(ctx: &Ctx) -> Outcome {
    let books = ctx.get_array("/book").await?;
    ensure(books.len() == 20, || {
        format!("GET /book: {} books, expected 20", books.len())
    })?;
    for b in &books {
        check_book_overview(b, "a book overview")?;
    }
    let ids = ids(&books)?;
    ensure(ids.windows(2).all(|w| w[0] < w[1]), || {
        "GET /book: not ordered by id".to_string()
    })
}

async fn book_list_paging(ctx: &Ctx) -> Outcome {
    let ten = ids(&ctx.get_array("/book?limit=10").await?)?;
    let page = ids(&ctx.get_array("/book?limit=5&offset=3").await?)?;
    ensure(page == ten[3..8], || {
        "GET /book?limit=5&offset=3 is not items 3 to 7".to_string()
    })?;
    let page = ids(&ctx
        .get_array(&format!("/book?limit=5&after={}", ten[2]))
        .await?)?;
    ensure(page == ten[3..8], || {
        "GET /book?after=<3rd id> is not items 3 to 7".to_string()
    })?;
    ctx.get("/book?limit=101")
        .await?
        .field_errors(&["limit"], "GET /book?limit=101")
}

async fn book_detail(ctx: &Ctx) -> Outcome {
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

async fn book_create(ctx: &Ctx) -> Outcome {
    let (author, genres) = some_author_and_genres(ctx).await?;
    let body = json!({
        "author_id": author,
        "title": "Verified",
        "isbn": "978-0-306-40615-7",
        "genres": [genres[1], genres[0]],
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

async fn book_create_invalid_fields(ctx: &Ctx) -> Outcome {
    let (author, genres) = some_author_and_genres(ctx).await?;
    let valid =
        json!({"author_id": author, "title": "T", "isbn": "9780306406157", "genres": [genres[0]]});
    let with = |changes: Value| {
        let mut body = valid.clone();
        if let (Some(b), Some(c)) = (body.as_object_mut(), changes.as_object()) {
            for (k, v) in c {
                b.insert(k.clone(), v.clone());
            }
        }
        body
    };
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
            with(json!({"genres": [genres[0], genres[0]]})),
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

async fn garbage_never_5xx(ctx: &Ctx) -> Outcome {
    // Each answered below 500 (send() fails on any 5xx) and never 2xx.
    for path in [
        "/author?limit=20;DROP%20TABLE%20author",
        "/author?limit=1&limit=2&offset=0&offset=1",
        "/author?offset=%FF%FE",
        "/author/%27%20OR%201=1--",
        "/author/../../etc/passwd",
        "/book?after=%00",
        "/book/%E0%A4%A",
    ] {
        let r = ctx.get(path).await?;
        ensure(
            !r.status.is_success() || path.contains("limit=1&limit=2"),
            || format!("GET {path} answered {}", r.status),
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
    })
}
