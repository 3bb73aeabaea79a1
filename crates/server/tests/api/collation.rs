//! The contract's order of text (by code point) on a database whose own
//! collation is language-aware, as a server given with `--database-url`
//! may be: the schema's columns carry the "C" collation, so that neither
//! this server nor any other implementation has to ask for it.

use bookbench_testdb::TestDb;
use serde_json::Value;

use crate::helpers::{TestApp, author_body, book_body};

/// Titles whose code-point order (capitals first, accents last) is not
/// their order in English.
const TITLES: [&str; 4] = ["apple", "Zed", "éclair", "Banana"];

fn code_point_sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

fn strings(values: &[Value], field: &str) -> Vec<String> {
    values
        .iter()
        .map(|v| v[field].as_str().expect("a string").to_string())
        .collect()
}

#[tokio::test]
async fn titles_and_genres_sort_by_code_point_on_a_database_whose_collation_is_language_aware() {
    let app = TestApp::spawn_on(TestDb::with_icu_collation("en-US").await).await;
    // The database itself sorts the English way: the test checks something.
    let english: Vec<String> = app
        .sql()
        .await
        .query_one(
            "SELECT array_agg(t ORDER BY t) FROM unnest($1::text[]) AS t",
            &[&TITLES.to_vec()],
        )
        .await
        .expect("a query")
        .get(0);
    assert_eq!(english, ["apple", "Banana", "éclair", "Zed"]);

    let author = app.create_author(&author_body("Sorted")).await;
    for title in TITLES {
        app.create_book(&book_body(author, title)).await;
    }
    let detail = app.get(&format!("/author/{author}")).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let books = detail.json()["books"].as_array().expect("books").clone();
    let titles = strings(&books, "title");
    assert_eq!(titles, ["Banana", "Zed", "apple", "éclair"]);

    let genres = app.get("/genre").await.json();
    let names = strings(genres.as_array().expect("genres"), "name");
    assert_eq!(names, code_point_sorted(names.clone()));
}
