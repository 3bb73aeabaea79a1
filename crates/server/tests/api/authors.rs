use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, author_body, book_body, count, ids, insert_authors, with};

#[tokio::test]
async fn create_author_returns_201_with_location_and_stores_every_field() {
    let app = TestApp::spawn().await;
    let body = with(
        with(
            with(
                author_body("Ada"),
                "contract_started",
                Some(json!("2019-05-01T11:30:00.250+02:00")),
            ),
            "contract_finished",
            Some(json!("2021-01-01T00:00:00Z")),
        ),
        "contract_value",
        Some(json!(125000)),
    );
    let r = app.post_json("/author", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = crate::helpers::id_of(&r);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/author/{id}").as_str())
    );
    assert_eq!(r.json(), json!({"id": id}));

    let detail = app.get(&format!("/author/{id}")).await;
    assert_eq!(detail.status, 200);
    assert_eq!(
        detail.json(),
        json!({
            "id": id,
            "name": "Ada",
            "country_code": "GB",
            "email": "ada@example.com",
            "phone": "+44 (20) 7946-0000",
            "contact_address": "1 Example Street, London",
            "contract_started": "2019-05-01T09:30:00Z",
            "contract_finished": "2021-01-01T00:00:00Z",
            "contract_value": 125000,
            "books": [],
            "genres": [],
        })
    );
}

#[tokio::test]
async fn create_author_accepts_absent_or_null_optional_fields() {
    let app = TestApp::spawn().await;
    let id = app.create_author(&author_body("No contract")).await;
    let body = with(author_body("Nulls"), "contract_value", Some(Value::Null));
    let body = with(body, "contract_started", Some(Value::Null));
    app.create_author(&body).await;
    let detail = app.get(&format!("/author/{id}")).await.json();
    assert_eq!(detail["contract_started"], Value::Null);
    assert_eq!(detail["contract_finished"], Value::Null);
    assert_eq!(detail["contract_value"], Value::Null);
}

#[tokio::test]
async fn create_author_returns_422_when_email_is_invalid() {
    let app = TestApp::spawn().await;
    for email in ["not-an-email", "a@", "@b.com", ""] {
        let r = app
            .post_json(
                "/author",
                &with(author_body("A"), "email", Some(json!(email))),
            )
            .await;
        r.assert_invalid(&["email"]);
        assert_eq!(r.json()["error"], "invalid input");
    }
}

#[tokio::test]
async fn create_author_returns_422_when_email_is_longer_than_254_characters() {
    let app = TestApp::spawn().await;
    let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
    assert!(long.len() > 254);
    let r = app
        .post_json(
            "/author",
            &with(author_body("A"), "email", Some(json!(long))),
        )
        .await;
    r.assert_invalid(&["email"]);
}

#[tokio::test]
async fn create_author_returns_422_when_name_is_empty_or_over_200_characters() {
    let app = TestApp::spawn().await;
    for name in [String::new(), "é".repeat(201)] {
        let r = app
            .post_json(
                "/author",
                &with(author_body("A"), "name", Some(json!(name))),
            )
            .await;
        r.assert_invalid(&["name"]);
    }
    // 200 characters of two bytes each: the limit counts characters.
    app.create_author(&author_body(&"é".repeat(200))).await;
}

#[tokio::test]
async fn create_author_returns_422_when_country_code_is_unknown_or_malformed() {
    let app = TestApp::spawn().await;
    for code in ["XX", "gb", "GBR", "", "G"] {
        let r = app
            .post_json(
                "/author",
                &with(author_body("A"), "country_code", Some(json!(code))),
            )
            .await;
        r.assert_invalid(&["country_code"]);
    }
}

#[tokio::test]
async fn create_author_returns_422_when_phone_is_empty_too_long_or_has_other_characters() {
    let app = TestApp::spawn().await;
    for phone in ["", "123-abc", "+1 555 0100 ext. 9", &"1".repeat(33)] {
        let r = app
            .post_json(
                "/author",
                &with(author_body("A"), "phone", Some(json!(phone))),
            )
            .await;
        r.assert_invalid(&["phone"]);
    }
    let ok = with(author_body("A"), "phone", Some(json!("1".repeat(32))));
    app.create_author(&ok).await;
}

#[tokio::test]
async fn create_author_returns_422_when_contact_address_is_empty_or_over_500_characters() {
    let app = TestApp::spawn().await;
    for address in [String::new(), "x".repeat(501)] {
        let r = app
            .post_json(
                "/author",
                &with(author_body("A"), "contact_address", Some(json!(address))),
            )
            .await;
        r.assert_invalid(&["contact_address"]);
    }
}

#[tokio::test]
async fn create_author_returns_422_when_contract_finished_is_before_contract_started() {
    let app = TestApp::spawn().await;
    let body = with(
        with(
            author_body("A"),
            "contract_started",
            Some(json!("2020-01-02T00:00:00Z")),
        ),
        "contract_finished",
        Some(json!("2020-01-02T00:59:59+01:00")),
    );
    let r = app.post_json("/author", &body).await;
    r.assert_invalid(&["contract_finished"]);
    // Equal instants, in different offsets, are fine.
    let body = with(
        body,
        "contract_finished",
        Some(json!("2020-01-02T01:00:00+01:00")),
    );
    app.create_author(&body).await;
}

#[tokio::test]
async fn create_author_returns_422_when_a_timestamp_is_not_rfc_3339() {
    let app = TestApp::spawn().await;
    for ts in [
        json!("2020-01-02"),
        json!("yesterday"),
        json!(1577923200),
        json!("2020-01-02 00:00:00"),
    ] {
        let r = app
            .post_json(
                "/author",
                &with(author_body("A"), "contract_started", Some(ts)),
            )
            .await;
        r.assert_invalid(&["contract_started"]);
    }
}

#[tokio::test]
async fn create_author_returns_422_when_contract_value_is_negative_fractional_or_huge() {
    let app = TestApp::spawn().await;
    for v in [json!(-1), json!(1.5), json!(99999999999_i64), json!("100")] {
        let r = app
            .post_json(
                "/author",
                &with(author_body("A"), "contract_value", Some(v)),
            )
            .await;
        r.assert_invalid(&["contract_value"]);
    }
    let zero = with(author_body("A"), "contract_value", Some(json!(0)));
    app.create_author(&zero).await;
}

#[tokio::test]
async fn create_author_returns_422_when_a_required_field_is_missing_or_null() {
    let app = TestApp::spawn().await;
    for field in ["name", "country_code", "email", "phone", "contact_address"] {
        let r = app
            .post_json("/author", &with(author_body("A"), field, None))
            .await;
        r.assert_invalid(&[field]);
        let r = app
            .post_json("/author", &with(author_body("A"), field, Some(Value::Null)))
            .await;
        r.assert_invalid(&[field]);
    }
}

#[tokio::test]
async fn create_author_returns_422_naming_every_offending_field_at_once() {
    let app = TestApp::spawn().await;
    let body = json!({
        "name": 17,
        "country_code": "XX",
        "email": "nope",
        "contact_address": "",
        "contract_value": -5,
        "nickname": "Ace",
        "favourite_colour": "green",
    });
    let r = app.post_json("/author", &body).await;
    r.assert_invalid(&[
        "contact_address",
        "contract_value",
        "country_code",
        "email",
        "favourite_colour",
        "name",
        "nickname",
        "phone",
    ]);
    assert_eq!(r.field_errors("nickname"), ["unknown field"]);
    assert_eq!(r.field_errors("phone"), ["is required"]);
    assert_eq!(count(&app.sql().await, "author").await, 0);
}

#[tokio::test]
async fn create_author_returns_400_when_the_body_is_not_json() {
    let app = TestApp::spawn().await;
    for body in [&b"{\"name\": "[..], b"name=Ada", b"", b"[]", b"42"] {
        let r = app
            .post_raw("/author", Some("application/json"), body.to_vec())
            .await;
        r.assert_error(400);
    }
}

#[tokio::test]
async fn create_author_returns_415_when_the_content_type_is_not_json() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&author_body("A")).unwrap_or_default();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("json"),
    ] {
        let r = app.post_raw("/author", ct, body.clone()).await;
        r.assert_error(415);
    }
    // A charset parameter, or a +json type, is still JSON.
    for ct in [
        "application/json; charset=utf-8",
        "application/merge-patch+json",
        "Application/JSON",
    ] {
        let r = app.post_raw("/author", Some(ct), body.clone()).await;
        assert_eq!(r.status, 201, "{ct}: {}", r.text);
    }
}

#[tokio::test]
async fn create_author_returns_413_when_the_body_is_over_64_kib() {
    let app = TestApp::spawn().await;
    let body = with(
        author_body("A"),
        "contact_address",
        Some(json!("x".repeat(64 * 1024))),
    );
    let r = app.post_json("/author", &body).await;
    r.assert_error(413);
    assert_eq!(count(&app.sql().await, "author").await, 0);
}

#[tokio::test]
async fn a_refused_body_is_read_to_its_end_so_the_connection_answers_the_next_request() {
    use tokio::io::AsyncWriteExt as _;
    let app = TestApp::spawn().await;
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    // As nginx sends on a connection it keeps open: the head and the whole
    // body at once, then the next request on the same connection.
    for (content_type, size, status) in [
        ("application/json", 200 * 1024, 413),
        ("text/plain", 32 * 1024, 415),
        ("application/json", 70 * 1024, 413),
    ] {
        let mut request = format!(
            "POST /author HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {size}\r\n\r\n"
        )
        .into_bytes();
        request.resize(request.len() + size, b'x');
        stream
            .write_all(&request)
            .await
            .unwrap_or_else(|e| panic!("writing a {size}-byte {content_type} body: {e}"));
        assert_eq!(
            read_response(&mut stream).await,
            status,
            "{content_type}, {size} bytes"
        );
    }
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("writing the next request: {e}"));
    assert_eq!(read_response(&mut stream).await, 200);
}

/// Reads one response off a kept-alive connection; its status.
async fn read_response(stream: &mut tokio::net::TcpStream) -> u16 {
    use tokio::io::AsyncReadExt as _;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or_else(|| panic!("no content-length in {head:?}"));
                if got.len() >= end + 4 + length {
                    return head;
                }
            }
            match stream.read(&mut buf).await {
                Ok(0) => panic!("the server closed the connection after {got:?}"),
                Ok(n) => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(e) => panic!("reading the response: {e}"),
            }
        }
    };
    let head = tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .unwrap_or_else(|_| panic!("no whole response within 10 s"));
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}

#[tokio::test]
async fn list_authors_returns_the_first_20_ordered_by_id() {
    let app = TestApp::spawn().await;
    let all = insert_authors(&app.sql().await, 25).await;
    let r = app.get("/author").await;
    assert_eq!(r.status, 200);
    let list = r.json();
    assert_eq!(ids(&list), all[..20]);
    let first = &list[0];
    let keys: Vec<&str> = first
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut expected = vec![
        "contact_address",
        "contract_finished",
        "contract_started",
        "contract_value",
        "country_code",
        "email",
        "id",
        "name",
        "phone",
    ];
    expected.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
    assert_eq!(first["contract_value"], Value::Null);
}

#[tokio::test]
async fn list_authors_honours_limit_and_offset() {
    let app = TestApp::spawn().await;
    let all = insert_authors(&app.sql().await, 30).await;
    assert_eq!(ids(&app.get("/author?limit=5").await.json()), all[..5]);
    assert_eq!(
        ids(&app.get("/author?limit=5&offset=7").await.json()),
        all[7..12]
    );
    assert_eq!(ids(&app.get("/author?offset=25").await.json()), all[25..]);
    assert_eq!(ids(&app.get("/author?limit=1").await.json()), all[..1]);
    assert_eq!(ids(&app.get("/author?limit=100").await.json()), all);
    assert_eq!(
        ids(&app.get("/author?offset=30").await.json()),
        Vec::<Uuid>::new()
    );
    assert_eq!(
        ids(&app.get("/author?offset=9223372036854775807").await.json()),
        Vec::<Uuid>::new()
    );
}

#[tokio::test]
async fn list_authors_offset_page_has_the_same_rows_as_the_plain_offset_query() {
    let app = TestApp::spawn().await;
    let client = app.sql().await;
    insert_authors(&client, 60).await;
    for (limit, offset) in [(20_i64, 0_i64), (20, 13), (7, 50), (20, 59)] {
        let rows = client
            .query(
                "SELECT id FROM author ORDER BY id LIMIT $1 OFFSET $2",
                &[&limit, &offset],
            )
            .await
            .unwrap_or_default();
        let plain: Vec<Uuid> = rows.iter().map(|r| r.get(0)).collect();
        let served = ids(&app
            .get(&format!("/author?limit={limit}&offset={offset}"))
            .await
            .json());
        assert_eq!(served, plain, "limit {limit} offset {offset}");
    }
}

#[tokio::test]
async fn list_authors_after_returns_the_keyset_page() {
    let app = TestApp::spawn().await;
    let all = insert_authors(&app.sql().await, 30).await;
    let r = app.get(&format!("/author?after={}&limit=5", all[9])).await;
    assert_eq!(ids(&r.json()), all[10..15]);
    let r = app.get(&format!("/author?after={}", all[29])).await;
    assert_eq!(ids(&r.json()), Vec::<Uuid>::new());
    // An id that is not an author's still works as a bound.
    let r = app.get(&format!("/author?after={}", Uuid::nil())).await;
    assert_eq!(ids(&r.json()), all[..20]);
    let upper = all[3].to_string().to_uppercase();
    let r = app.get(&format!("/author?after={upper}&limit=2")).await;
    assert_eq!(ids(&r.json()), all[4..6]);
}

#[tokio::test]
async fn list_authors_returns_422_when_limit_is_out_of_range_or_not_a_number() {
    let app = TestApp::spawn().await;
    for limit in [
        "0",
        "101",
        "-1",
        "abc",
        "1.5",
        "",
        "99999999999999999999999",
        "1e3",
        "%20",
    ] {
        let r = app.get(&format!("/author?limit={limit}")).await;
        r.assert_invalid(&["limit"]);
    }
}

#[tokio::test]
async fn list_authors_returns_422_when_offset_is_negative_or_not_a_number() {
    let app = TestApp::spawn().await;
    for offset in ["-1", "x", "9223372036854775808", "0x10", ""] {
        let r = app.get(&format!("/author?offset={offset}")).await;
        r.assert_invalid(&["offset"]);
    }
}

#[tokio::test]
async fn list_authors_returns_422_when_after_is_not_a_uuid() {
    let app = TestApp::spawn().await;
    for after in ["1", "not-a-uuid", "00000000000000000000000000000000", ""] {
        let r = app.get(&format!("/author?after={after}")).await;
        r.assert_invalid(&["after"]);
    }
}

#[tokio::test]
async fn list_authors_returns_422_when_after_and_offset_are_combined() {
    let app = TestApp::spawn().await;
    let r = app
        .get(&format!("/author?after={}&offset=0", Uuid::nil()))
        .await;
    r.assert_invalid(&["after", "offset"]);
}

#[tokio::test]
async fn list_authors_names_every_bad_parameter() {
    let app = TestApp::spawn().await;
    let r = app.get("/author?limit=0&offset=-3").await;
    r.assert_invalid(&["limit", "offset"]);
}

#[tokio::test]
async fn list_authors_ignores_unknown_query_parameters() {
    let app = TestApp::spawn().await;
    let all = insert_authors(&app.sql().await, 3).await;
    let r = app
        .get("/author?sort=name&page=2&limit=2&utm_source=x&flag")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(ids(&r.json()), all[..2]);
}

#[tokio::test]
async fn list_authors_returns_422_when_a_parameter_is_repeated() {
    let app = TestApp::spawn().await;
    let r = app.get("/author?limit=5&limit=6").await;
    r.assert_invalid(&["limit"]);
}

#[tokio::test]
async fn get_author_returns_books_in_contract_order_with_sorted_genres() {
    let app = TestApp::spawn().await;
    let author = app.create_author(&author_body("Prolific")).await;
    let other = app.create_author(&author_body("Other")).await;
    let book = |title: &str, published: Option<&str>, genres: Value| {
        let mut b = book_body(author, title);
        b["genres"] = genres;
        if let Some(p) = published {
            b["published"] = json!(p);
        }
        b
    };
    let unpublished_b = app
        .create_book(&book("B draft", None, json!(["Poetry"])))
        .await;
    let unpublished_a = app
        .create_book(&book("A draft", None, json!(["Horror", "Art"])))
        .await;
    let late = app
        .create_book(&book(
            "Late",
            Some("2020-03-01"),
            json!(["Science", "Art", "Drama"]),
        ))
        .await;
    let early_z = app
        .create_book(&book("Zeta", Some("2001-01-01"), json!(["Travel"])))
        .await;
    let early_a = app
        .create_book(&book("Alpha", Some("2001-01-01"), json!(["Comics", "Art"])))
        .await;
    app.create_book(&book_body(other, "Not theirs")).await;

    let r = app.get(&format!("/author/{author}")).await;
    assert_eq!(r.status, 200);
    let detail = r.json();
    assert_eq!(detail["id"], json!(author));
    assert_eq!(detail["name"], "Prolific");
    let books = &detail["books"];
    assert_eq!(
        ids(books),
        [early_a, early_z, late, unpublished_a, unpublished_b]
    );
    assert_eq!(
        books[0],
        json!({"id": early_a, "title": "Alpha", "published": "2001-01-01", "genres": ["Art", "Comics"]})
    );
    assert_eq!(books[2]["genres"], json!(["Art", "Drama", "Science"]));
    assert_eq!(books[3]["published"], Value::Null);
    assert_eq!(
        detail["genres"],
        json!([
            "Art", "Comics", "Drama", "Horror", "Poetry", "Science", "Travel"
        ])
    );
}

#[tokio::test]
async fn get_author_returns_404_for_an_unknown_or_malformed_id() {
    let app = TestApp::spawn().await;
    for path in [
        format!("/author/{}", Uuid::new_v4()),
        "/author/42".to_string(),
        "/author/not-a-uuid".to_string(),
        format!("/author/{}", Uuid::new_v4().simple()),
        format!("/author/{}x", Uuid::new_v4()),
        "/author/%FF%FE".to_string(),
    ] {
        let r = app.get(&path).await;
        r.assert_error(404);
    }
}
