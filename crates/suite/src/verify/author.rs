//! `/author`: the list with its two kinds of paging, the detail, and
//! creation with its validation.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{
    Ctx, Outcome, ensure, has_keys, ids, is_increasing, is_lower_uuid, is_sorted_strings,
    is_utc_seconds, item, items, str_field, with_changes,
};

pub(super) const AUTHOR_OVERVIEW: &[&str] = &[
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

pub(super) async fn author_list(ctx: &Ctx) -> Outcome {
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
    ensure(is_increasing(&ids(&authors)?), || {
        "GET /author: not ordered by id".to_string()
    })
}

pub(super) async fn author_list_paging(ctx: &Ctx) -> Outcome {
    let ten = ctx.get_ids("/author?limit=10").await?;
    let page = ctx.get_ids("/author?limit=5&offset=3").await?;
    ensure(ten.len() == 10, || {
        format!(
            "GET /author?limit=10 gave {} authors, expected 10",
            ten.len()
        )
    })?;
    ensure(page == items(&ten, 3..8, "GET /author?limit=10")?, || {
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

pub(super) async fn author_list_keyset(ctx: &Ctx) -> Outcome {
    let ten = ctx.get_ids("/author?limit=10").await?;
    let third = item(&ten, 2, "GET /author?limit=10")?;
    let page = ctx
        .get_ids(&format!("/author?limit=5&after={third}"))
        .await?;
    ensure(page == items(&ten, 3..8, "GET /author?limit=10")?, || {
        "?after=<3rd id> is not items 3 to 7".to_string()
    })
}

pub(super) async fn author_list_bad_parameters(ctx: &Ctx) -> Outcome {
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

pub(super) async fn author_detail(ctx: &Ctx) -> Outcome {
    // An author with books: the first one on a page of a hundred that has some.
    let candidates = ctx.get_ids("/author?limit=100").await?;
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
    ensure(books.is_sorted_by_key(key), || {
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

pub(super) async fn author_detail_not_found(ctx: &Ctx) -> Outcome {
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

pub(super) async fn author_create(ctx: &Ctx) -> Outcome {
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

pub(super) async fn author_create_invalid_fields(ctx: &Ctx) -> Outcome {
    let valid = valid_author();
    let with = |changes: Value| with_changes(&valid, changes);
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

pub(super) async fn author_create_bad_bodies(ctx: &Ctx) -> Outcome {
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
    let big = with_changes(
        &valid_author(),
        json!({"contact_address": "x".repeat(70 * 1024)}),
    );
    let r = ctx.post_json("/author", &big).await?;
    r.expect(413, "POST /author with a 70 KiB body")?;
    r.error_shape("POST /author, 70 KiB").map(drop)
}
