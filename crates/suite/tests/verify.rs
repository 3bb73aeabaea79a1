//! `verify` against deliberately broken servers: the failing check is named.

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use bookbench_results::CheckResult;
use bookbench_suite::verify::{check_names, verify};
use serde_json::{Value, json};

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn failure<'a>(results: &'a [CheckResult], name: &str) -> Option<&'a str> {
    results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .failure
        .as_deref()
}

/// The failure of check `name`, which must contain each of `words`.
fn fails_saying(results: &[CheckResult], name: &str, words: &[&str]) {
    let why = failure(results, name).unwrap_or_else(|| panic!("{name} passed"));
    for word in words {
        assert!(why.contains(word), "{name}: {why:?} does not say {word:?}");
    }
}

/// A GET route that always answers `body`.
fn answers(body: Value) -> axum::routing::MethodRouter {
    get(move || {
        let body = body.clone();
        async move { Json(body) }
    })
}

/// The API's paths, each answering a fixed body; `/` greets correctly.
fn stub(
    author: Value,
    author_detail: Value,
    genre: Value,
    book: Value,
    book_detail: Value,
) -> Router {
    Router::new()
        .route("/", get(|| async { "Hello, World!" }))
        .route("/author", answers(author))
        .route("/author/{id}", answers(author_detail))
        .route("/genre", answers(genre))
        .route("/country", answers(json!([])))
        .route("/book", answers(book))
        .route("/book/{id}", answers(book_detail))
}

/// Runs every check against `app`; a panic in any check fails the test.
async fn verify_stub(app: Router) -> Vec<CheckResult> {
    let url = serve(app).await;
    let results = verify(&url).await.expect("the stub answers");
    assert_eq!(
        results.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        check_names(),
        "every check ran, in order"
    );
    results
}

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn author_overview(n: u32) -> Value {
    json!({
        "id": uuid(n),
        "name": "A",
        "country_code": "NZ",
        "email": "a@example.com",
        "phone": "1",
        "contact_address": "x",
        "contract_started": null,
        "contract_finished": null,
        "contract_value": null
    })
}

#[tokio::test]
async fn verify_names_the_hello_check_when_the_greeting_is_wrong() {
    let url = serve(Router::new().route("/", get(|| async { "Hello World" }))).await;
    let results = verify(&url).await.expect("the server answers");
    let why = failure(&results, "hello-get").expect("hello-get fails");
    assert!(why.contains("Hello World"), "{why}");
}

#[tokio::test]
async fn verify_reports_a_5xx_as_a_failure_of_the_check_that_met_it() {
    let app = Router::new()
        .route("/", get(|| async { "Hello, World!" }))
        .route(
            "/genre",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        );
    let url = serve(app).await;
    let results = verify(&url).await.expect("the server answers");
    assert_eq!(failure(&results, "hello-get"), None);
    let why = failure(&results, "genre-list").expect("genre-list fails");
    assert!(why.contains("500"), "{why}");
    // Every check ran, and most failed against a server that has no API.
    assert_eq!(results.len(), check_names().len());
}

/// A server that serves a file for any path that climbs with `..` (as a
/// naive static file server would) and nothing else: the traversal check
/// must send `..` as it is to find it; a URL parser would have resolved it
/// to `/etc/passwd` first, which this server does not serve.
#[tokio::test]
async fn the_path_traversal_check_sends_dot_dot_as_it_is_and_fails_a_server_that_follows_it() {
    let app = Router::new()
        .route("/", get(|| async { "Hello, World!" }))
        .fallback(|uri: axum::http::Uri| async move {
            if uri.path().contains("..") {
                (StatusCode::OK, "root:x:0:0:root:/root:/bin/sh\n")
            } else {
                (StatusCode::NOT_FOUND, "not found")
            }
        });
    let url = serve(app).await;
    let results = verify(&url).await.expect("the server answers");
    fails_saying(
        &results,
        "garbage-never-5xx",
        &["/author/../../etc/passwd", "200"],
    );
}

#[tokio::test]
async fn verify_says_in_one_error_that_nothing_answers_when_nothing_listens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let err = verify(&base).await.expect_err("nothing listens");
    let why = err.to_string();
    assert!(why.contains("nothing answers"), "{why}");
    assert!(why.contains(&base), "{why}");
    assert!(!why.contains('\n'), "{why}");
}

#[tokio::test]
async fn verify_says_in_one_error_that_a_base_url_does_not_parse() {
    for base in [
        "not a url",
        "127.0.0.1:8000",
        "ftp://127.0.0.1:8000",
        "http://",
    ] {
        let err = verify(base).await.expect_err("not a base URL");
        let why = err.to_string();
        assert!(why.contains("not a base URL"), "{base}: {why}");
        assert!(!why.contains('\n'), "{base}: {why}");
    }
}

#[tokio::test]
async fn a_target_that_answers_empty_lists_fails_named_checks_and_never_panics() {
    let results = verify_stub(stub(json!([]), json!({}), json!([]), json!([]), json!({}))).await;
    fails_saying(&results, "author-list", &["0 authors"]);
    fails_saying(
        &results,
        "author-list-paging",
        &["GET /author?limit=10 gave 0 authors, expected 10"],
    );
    fails_saying(
        &results,
        "author-list-keyset",
        &["GET /author?limit=10", "0"],
    );
    fails_saying(&results, "author-detail", &["no author"]);
    fails_saying(&results, "book-list", &["0 books"]);
    fails_saying(&results, "book-list-paging", &["GET /book?limit=10", "0"]);
    fails_saying(&results, "book-detail", &["no books"]);
    fails_saying(&results, "book-create", &["no authors"]);
    fails_saying(&results, "book-create-invalid-fields", &["no authors"]);
}

#[tokio::test]
async fn a_target_that_answers_short_lists_fails_the_paging_checks_naming_the_short_list() {
    let three = json!([author_overview(1), author_overview(2), author_overview(3)]);
    let books = json!([{"id": uuid(1)}, {"id": uuid(2)}, {"id": uuid(3)}]);
    let results = verify_stub(stub(three, json!({}), json!([]), books, json!({}))).await;
    fails_saying(
        &results,
        "author-list-paging",
        &["GET /author?limit=10 gave 3 authors, expected 10"],
    );
    fails_saying(
        &results,
        "author-list-keyset",
        &["GET /author?limit=10 gave a list of 3"],
    );
    fails_saying(
        &results,
        "book-list-paging",
        &["GET /book?limit=10 gave a list of 3"],
    );
}

#[tokio::test]
async fn a_target_with_one_genre_fails_the_book_creation_checks_and_never_panics() {
    let results = verify_stub(stub(
        json!([author_overview(1)]),
        json!({}),
        json!([{"id": 1, "name": "A"}]),
        json!([]),
        json!({}),
    ))
    .await;
    fails_saying(&results, "genre-list", &["only 1 genres"]);
    fails_saying(&results, "book-create", &["GET /genre gave 1 genres"]);
    // With one genre it goes on to POST /book, which the stub does not take.
    fails_saying(&results, "book-create-invalid-fields", &["POST /book"]);
}

#[tokio::test]
async fn a_target_that_answers_the_wrong_types_fails_named_checks_and_never_panics() {
    let results = verify_stub(stub(
        json!({}),
        json!([]),
        json!("genres"),
        json!([1, "x", null]),
        json!(null),
    ))
    .await;
    for check in [
        "author-list",
        "author-list-paging",
        "author-list-keyset",
        "author-detail",
        "book-create",
    ] {
        fails_saying(&results, check, &["GET /author", "expected a JSON array"]);
    }
    fails_saying(
        &results,
        "genre-list",
        &["GET /genre", "expected a JSON array"],
    );
    fails_saying(&results, "book-list", &["3 books"]);
    fails_saying(
        &results,
        "book-list-paging",
        &["GET /book?limit=10: \"id\" missing or not a string in 1"],
    );
    fails_saying(
        &results,
        "book-detail",
        &["\"id\" missing or not a string in 1"],
    );
}

#[tokio::test]
async fn a_target_whose_details_have_the_wrong_shape_fails_named_checks_and_never_panics() {
    let ten: Vec<Value> = (1..=10).map(author_overview).collect();
    let book = json!({"id": uuid(1)});

    // Books that are not a list: no author qualifies.
    let results = verify_stub(stub(
        json!(ten),
        json!({"books": "not a list"}),
        json!([]),
        json!([book]),
        json!({"author": "nobody"}),
    ))
    .await;
    fails_saying(
        &results,
        "author-detail",
        &["no author with two or more books"],
    );
    fails_saying(&results, "book-detail", &["a book detail", "fields"]);

    // Every field there, but the books in it are not objects, and the
    // book's author is not one either.
    let mut detail = author_overview(1);
    detail["books"] = json!([1, "x"]);
    detail["genres"] = json!("none");
    let mut book_detail = json!({
        "id": uuid(1),
        "author_id": uuid(1),
        "title": "T",
        "isbn": "9780306406157",
        "published": null,
        "pages": null,
        "price": null,
        "genres": ["A"],
    });
    book_detail["author"] = json!([]);
    let results = verify_stub(stub(
        json!(ten),
        detail,
        json!([]),
        json!([book]),
        book_detail,
    ))
    .await;
    fails_saying(
        &results,
        "author-detail",
        &["a book in an author detail: not a JSON object: 1"],
    );
    fails_saying(
        &results,
        "book-detail",
        &["a book's author: not a JSON object"],
    );
}
