use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ISBN, TestApp, author_body, book_body, count, ids, with};

async fn app_with_author() -> (TestApp, Uuid) {
    let app = TestApp::spawn().await;
    let author = app.create_author(&author_body("Writer")).await;
    (app, author)
}

#[tokio::test]
async fn create_book_returns_201_with_location_and_stores_the_book_with_its_genres() {
    let (app, author) = app_with_author().await;
    let body = json!({
        "author_id": author,
        "title": "The Book",
        "isbn": "9780306406157",
        "genres": ["Science Fiction", "Adventure", "Children's"],
        "published": "2019-05-01",
        "pages": 321,
        "price": 1999,
    });
    let r = app.post_json("/book", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = crate::helpers::id_of(&r);
    assert_eq!(r.location.as_deref(), Some(format!("/book/{id}").as_str()));

    let r = app.get(&format!("/book/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({
            "id": id,
            "author_id": author,
            "title": "The Book",
            "isbn": "9780306406157",
            "published": "2019-05-01",
            "pages": 321,
            "price": 1999,
            "genres": ["Adventure", "Children's", "Science Fiction"],
            "author": {"id": author, "name": "Writer", "country_code": "GB"},
        })
    );
    assert_eq!(count(&app.sql().await, "book_genre").await, 3);
}

#[tokio::test]
async fn create_book_accepts_absent_or_null_optional_fields_and_a_hyphenated_isbn() {
    let (app, author) = app_with_author().await;
    let id = app.create_book(&book_body(author, "Minimal")).await;
    let body = with(book_body(author, "Nulls"), "pages", Some(Value::Null));
    app.create_book(&body).await;
    let book = app.get(&format!("/book/{id}")).await.json();
    assert_eq!(book["isbn"], ISBN);
    assert_eq!(book["published"], Value::Null);
    assert_eq!(book["pages"], Value::Null);
    assert_eq!(book["price"], Value::Null);
}

#[tokio::test]
async fn create_book_returns_422_on_author_id_when_the_author_does_not_exist() {
    let (app, _) = app_with_author().await;
    let r = app
        .post_json("/book", &book_body(Uuid::new_v4(), "Orphan"))
        .await;
    r.assert_invalid(&["author_id"]);
    let client = app.sql().await;
    assert_eq!(count(&client, "book").await, 0);
    assert_eq!(count(&client, "book_genre").await, 0);
}

#[tokio::test]
async fn create_book_returns_422_when_author_id_is_not_a_uuid() {
    let (app, _) = app_with_author().await;
    for id in [json!("42"), json!(42), json!("")] {
        let r = app
            .post_json(
                "/book",
                &with(book_body(Uuid::nil(), "T"), "author_id", Some(id)),
            )
            .await;
        r.assert_invalid(&["author_id"]);
    }
}

#[tokio::test]
async fn create_book_returns_422_when_genres_are_unknown_repeated_empty_or_too_many() {
    let (app, author) = app_with_author().await;
    let eleven: Vec<&str> = vec![
        "Art",
        "Biography",
        "Business",
        "Classics",
        "Comics",
        "Cookbooks",
        "Crime",
        "Drama",
        "Economics",
        "Education",
        "Essays",
    ];
    for genres in [
        json!(["Fantasy", "Cyberpunk"]),
        json!(["fantasy"]),
        json!(["Fantasy", "Fantasy"]),
        json!([]),
        json!(eleven),
        json!("Fantasy"),
        json!([1, 2]),
    ] {
        let r = app
            .post_json(
                "/book",
                &with(book_body(author, "T"), "genres", Some(genres.clone())),
            )
            .await;
        r.assert_invalid(&["genres"]);
    }
    let ten = json!(eleven[..10]);
    app.create_book(&with(book_body(author, "Ten"), "genres", Some(ten)))
        .await;
}

#[tokio::test]
async fn create_book_returns_422_when_isbn_is_not_a_valid_isbn_13() {
    let (app, author) = app_with_author().await;
    for isbn in [
        "9780306406158",
        "978-0-306-40615-8",
        "978030640615",
        "97803064061577",
        "978 0 306 40615 7",
        "-9780306406157",
        "978--0306406157",
        "0-306-40615-2",
        "",
    ] {
        let r = app
            .post_json(
                "/book",
                &with(book_body(author, "T"), "isbn", Some(json!(isbn))),
            )
            .await;
        r.assert_invalid(&["isbn"]);
    }
}

#[tokio::test]
async fn create_book_returns_422_when_title_is_empty_or_over_300_characters() {
    let (app, author) = app_with_author().await;
    for title in [String::new(), "t".repeat(301)] {
        let r = app
            .post_json(
                "/book",
                &with(book_body(author, "T"), "title", Some(json!(title))),
            )
            .await;
        r.assert_invalid(&["title"]);
    }
    app.create_book(&book_body(author, &"t".repeat(300))).await;
}

#[tokio::test]
async fn create_book_returns_422_when_pages_price_or_published_are_out_of_range() {
    let (app, author) = app_with_author().await;
    for (field, value) in [
        ("pages", json!(0)),
        ("pages", json!(100001)),
        ("pages", json!(1e10)),
        ("pages", json!("12")),
        ("price", json!(-1)),
        ("price", json!(1e30)),
        ("price", json!(9.99)),
        ("published", json!("2019-13-01")),
        ("published", json!("01/05/2019")),
        ("published", json!("2019-05-01T00:00:00Z")),
        ("published", json!(20190501)),
    ] {
        let r = app
            .post_json(
                "/book",
                &with(book_body(author, "T"), field, Some(value.clone())),
            )
            .await;
        r.assert_invalid(&[field]);
    }
    for (field, value) in [
        ("pages", json!(1)),
        ("pages", json!(100000)),
        ("price", json!(0)),
    ] {
        app.create_book(&with(book_body(author, "T"), field, Some(value)))
            .await;
    }
}

#[tokio::test]
async fn create_book_returns_422_naming_every_offending_field_at_once() {
    let (app, _) = app_with_author().await;
    let body = json!({
        "title": "",
        "isbn": "123",
        "genres": ["Nope"],
        "pages": -1,
        "price": "free",
        "edition": 2,
    });
    let r = app.post_json("/book", &body).await;
    r.assert_invalid(&[
        "author_id",
        "edition",
        "genres",
        "isbn",
        "pages",
        "price",
        "title",
    ]);
    assert_eq!(r.field_errors("edition"), ["unknown field"]);
    assert_eq!(r.field_errors("author_id"), ["is required"]);
}

#[tokio::test]
async fn create_book_returns_400_415_and_413_like_create_author() {
    let (app, author) = app_with_author().await;
    let r = app
        .post_raw("/book", Some("application/json"), b"{oops".to_vec())
        .await;
    r.assert_error(400);
    let body = serde_json::to_vec(&book_body(author, "T")).unwrap_or_default();
    let r = app.post_raw("/book", Some("text/plain"), body).await;
    r.assert_error(415);
    let big = with(
        book_body(author, "T"),
        "title",
        Some(json!("x".repeat(70_000))),
    );
    let r = app.post_json("/book", &big).await;
    r.assert_error(413);
    assert_eq!(count(&app.sql().await, "book").await, 0);
}

#[tokio::test]
async fn list_books_pages_by_id_with_sorted_genres() {
    let (app, author) = app_with_author().await;
    let mut all = Vec::new();
    for i in 0..25 {
        all.push(
            app.create_book(&book_body(author, &format!("Book {i}")))
                .await,
        );
    }
    all.sort();
    let r = app.get("/book").await;
    assert_eq!(r.status, 200);
    let list = r.json();
    assert_eq!(ids(&list), all[..20]);
    assert_eq!(list[0]["genres"], json!(["Adventure", "Fantasy"]));
    assert_eq!(list[0]["author_id"], json!(author));
    assert_eq!(list[0]["isbn"], ISBN);
    assert!(list[0].get("author").is_none());
    assert_eq!(
        ids(&app.get("/book?limit=3&offset=4").await.json()),
        all[4..7]
    );
    assert_eq!(
        ids(&app
            .get(&format!("/book?limit=3&after={}", all[20]))
            .await
            .json()),
        all[21..24]
    );
    assert_eq!(
        ids(&app.get("/book?offset=100").await.json()),
        Vec::<Uuid>::new()
    );
}

#[tokio::test]
async fn list_books_returns_422_for_bad_paging_parameters() {
    let app = TestApp::spawn().await;
    app.get("/book?limit=0").await.assert_invalid(&["limit"]);
    app.get("/book?limit=x").await.assert_invalid(&["limit"]);
    app.get("/book?offset=-1").await.assert_invalid(&["offset"]);
    app.get("/book?after=nope").await.assert_invalid(&["after"]);
    app.get(&format!("/book?after={}&offset=5", Uuid::nil()))
        .await
        .assert_invalid(&["after", "offset"]);
}

#[tokio::test]
async fn get_book_returns_404_for_an_unknown_or_malformed_id() {
    let app = TestApp::spawn().await;
    for path in [
        format!("/book/{}", Uuid::new_v4()),
        "/book/1".to_string(),
        "/book/'; DROP TABLE book; --".to_string(),
    ] {
        app.get(&path).await.assert_error(404);
    }
}
