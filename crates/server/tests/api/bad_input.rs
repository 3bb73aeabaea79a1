//! Hostile or broken input: always a 4xx, never a 5xx, never a change to
//! the data.

use serde_json::{Value, json};

use crate::helpers::{TestApp, author_body, book_body, count, insert_authors, with};

const SQL: &[&str] = &[
    "'; DROP TABLE author; --",
    "1 OR 1=1",
    "1; DELETE FROM book",
    "' UNION SELECT * FROM country --",
    "$1",
];

async fn row_counts(app: &TestApp) -> [i64; 3] {
    let c = app.sql().await;
    [
        count(&c, "author").await,
        count(&c, "book").await,
        count(&c, "book_genre").await,
    ]
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn sql_in_every_parameter_is_rejected_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let author = app.create_author(&author_body("Target")).await;
    app.create_book(&book_body(author, "Target book")).await;
    let before = row_counts(&app).await;
    for sql in SQL {
        let q = encode(sql);
        for path in [
            format!("/author?limit={q}"),
            format!("/author?offset={q}"),
            format!("/author?after={q}"),
            format!("/book?limit={q}"),
            format!("/book?offset={q}"),
            format!("/book?after={q}"),
        ] {
            app.get(&path).await.assert_error(422);
        }
        for path in [format!("/author/{q}"), format!("/book/{q}")] {
            app.get(&path).await.assert_error(404);
        }
        for field in [
            "name",
            "country_code",
            "email",
            "phone",
            "contact_address",
            "contract_started",
        ] {
            let r = app
                .post_json("/author", &with(author_body("A"), field, Some(json!(sql))))
                .await;
            assert!(
                matches!(r.status, 201 | 422),
                "{field}: {} {}",
                r.status,
                r.text
            );
        }
        for field in ["author_id", "title", "isbn", "published"] {
            let r = app
                .post_json(
                    "/book",
                    &with(book_body(author, "B"), field, Some(json!(sql))),
                )
                .await;
            assert!(
                matches!(r.status, 201 | 422),
                "{field}: {} {}",
                r.status,
                r.text
            );
        }
        let r = app
            .post_json(
                "/book",
                &with(book_body(author, "B"), "genres", Some(json!([sql]))),
            )
            .await;
        r.assert_invalid(&["genres"]);
    }
    // Only the names, addresses and titles that are plain text went in, as text.
    let after = row_counts(&app).await;
    assert_eq!(after[0] - before[0], 2 * SQL.len() as i64);
    assert_eq!(after[1] - before[1], SQL.len() as i64);
    let c = app.sql().await;
    let stored = c
        .query_one("SELECT count(*) FROM author WHERE name = $1", &[&SQL[0]])
        .await
        .map(|r| r.get::<_, i64>(0))
        .unwrap_or_default();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn huge_numbers_are_422_never_5xx() {
    let app = TestApp::spawn().await;
    let huge = "1".repeat(400);
    for path in [
        format!("/author?limit={huge}"),
        format!("/author?offset={huge}"),
        format!("/book?offset={huge}"),
    ] {
        app.get(&path).await.assert_error(422);
    }
    let body = r#"{"name": "A", "country_code": "GB", "email": "a@example.com", "phone": "1",
        "contact_address": "x", "contract_value": 1e400}"#;
    let r = app
        .post_raw(
            "/author",
            Some("application/json"),
            body.as_bytes().to_vec(),
        )
        .await;
    assert!(matches!(r.status, 400 | 422), "{} {}", r.status, r.text);
    let body = with(author_body("A"), "contract_value", Some(json!(u64::MAX)));
    app.post_json("/author", &body)
        .await
        .assert_invalid(&["contract_value"]);
    let body = with(
        author_body("A"),
        "contract_value",
        Some(json!(2_147_483_648_i64)),
    );
    app.post_json("/author", &body)
        .await
        .assert_invalid(&["contract_value"]);
    let body = with(
        author_body("A"),
        "contract_value",
        Some(json!(2_147_483_647_i64)),
    );
    app.create_author(&body).await;
}

#[tokio::test]
async fn extreme_dates_and_timestamps_are_422_never_5xx() {
    let app = TestApp::spawn().await;
    let author = app.create_author(&author_body("A")).await;
    for ts in ["0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"] {
        let r = app
            .post_json(
                "/author",
                &with(author_body("A"), "contract_started", Some(json!(ts))),
            )
            .await;
        r.assert_invalid(&["contract_started"]);
    }
    for date in ["0000-01-01", "+10000-01-01", "-0001-01-01", "262143-01-01"] {
        let r = app
            .post_json(
                "/book",
                &with(book_body(author, "B"), "published", Some(json!(date))),
            )
            .await;
        r.assert_invalid(&["published"]);
    }
}

#[tokio::test]
async fn nul_characters_in_text_are_422_never_5xx() {
    let app = TestApp::spawn().await;
    let author = app.create_author(&author_body("A")).await;
    for field in ["name", "contact_address", "email"] {
        let r = app
            .post_json(
                "/author",
                &with(author_body("A"), field, Some(json!("a\u{0}b"))),
            )
            .await;
        r.assert_invalid(&[field]);
    }
    let r = app
        .post_json(
            "/book",
            &with(book_body(author, "B"), "title", Some(json!("a\u{0}b"))),
        )
        .await;
    r.assert_invalid(&["title"]);
}

#[tokio::test]
async fn non_utf8_bytes_are_4xx_never_5xx() {
    let app = TestApp::spawn().await;
    insert_authors(&app.sql().await, 3).await;
    // Percent-encoded invalid UTF-8 in the query and the path.
    app.get("/author?limit=%FF%FE")
        .await
        .assert_invalid(&["limit"]);
    app.get("/author?after=%C3%28")
        .await
        .assert_invalid(&["after"]);
    app.get("/author?%FF=1&limit=2").await;
    app.get("/author/%FF%FE%FD").await.assert_error(404);
    app.get("/book/%C3%28").await.assert_error(404);
    // Raw invalid bytes in the request line.
    for target in [
        &b"/author?limit=\xff"[..],
        b"/author/\xff\xfe",
        b"/\xc3\x28",
    ] {
        let mut req = b"GET ".to_vec();
        req.extend_from_slice(target);
        req.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (status, text) = app.raw(&req).await;
        assert!((400..500).contains(&status), "{target:?}: {text}");
    }
    // Invalid UTF-8 in a JSON body.
    let mut body = br#"{"name": ""#.to_vec();
    body.extend_from_slice(b"\xff\xfe");
    body.extend_from_slice(br#"", "country_code": "GB"}"#);
    let r = app
        .post_raw("/author", Some("application/json"), body.clone())
        .await;
    r.assert_error(400);
    let r = app.post_raw("/", Some("application/json"), body).await;
    r.assert_error(400);
    assert_eq!(count(&app.sql().await, "author").await, 3);
}

#[tokio::test]
async fn path_traversal_is_404() {
    let app = TestApp::spawn().await;
    for target in [
        "/author/../../etc/passwd",
        "/author/..%2F..%2Fetc%2Fpasswd",
        "/book/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/docs/../../../../etc/passwd",
        "/docs/%2e%2e/%2e%2e/etc/passwd",
    ] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (status, text) = app.raw(req.as_bytes()).await;
        assert_eq!(status, 404, "{target}: {text}");
    }
}

#[tokio::test]
async fn repeated_parameters_are_422() {
    let app = TestApp::spawn().await;
    app.get("/author?offset=1&offset=2")
        .await
        .assert_invalid(&["offset"]);
    app.get(&format!("/book?after={0}&after={0}", uuid::Uuid::nil()))
        .await
        .assert_invalid(&["after"]);
    // A repeated JSON key is a body that is not what the endpoint takes.
    let body = br#"{"name": "A", "name": "B", "country_code": "GB", "email": "a@example.com",
        "phone": "1", "contact_address": "x"}"#;
    let r = app
        .post_raw("/author", Some("application/json"), body.to_vec())
        .await;
    assert!(
        matches!(r.status, 201 | 400 | 422),
        "{} {}",
        r.status,
        r.text
    );
}

#[tokio::test]
async fn deeply_nested_or_odd_json_is_4xx_never_5xx() {
    let app = TestApp::spawn().await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let body = format!(r#"{{"name": {deep}}}"#);
    let r = app
        .post_raw("/author", Some("application/json"), body.into_bytes())
        .await;
    assert!(matches!(r.status, 400 | 422), "{} {}", r.status, r.text);
    let r = app
        .post_raw("/", Some("application/json"), br#"{"id": null}"#.to_vec())
        .await;
    assert_eq!(r.status, 200);
    let r = app.post_json("/author", &Value::Null).await;
    r.assert_error(400);
}
