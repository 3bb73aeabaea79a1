//! The OpenAPI description, compared with the committed snapshot. After an
//! intended change to the API, run the tests with `UPDATE_SNAPSHOTS=1` and
//! commit the new `snapshots/openapi.json`.

use std::path::PathBuf;

use serde_json::Value;

use crate::helpers::TestApp;

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/snapshots/openapi.json")
}

#[tokio::test]
async fn openapi_json_matches_the_committed_snapshot() {
    let app = TestApp::spawn().await;
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("application/json"));
    let served = r.json();
    let pretty = serde_json::to_string_pretty(&served).unwrap_or_default() + "\n";
    let path = snapshot_path();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v != "0") {
        std::fs::write(&path, &pretty).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_SNAPSHOTS=1 to create it)",
            path.display()
        )
    });
    let committed: Value = serde_json::from_str(&committed).unwrap_or(Value::Null);
    assert!(
        committed == served,
        "openapi.json differs from {}; if the change is intended, run the tests with UPDATE_SNAPSHOTS=1",
        path.display()
    );
}

#[tokio::test]
async fn openapi_json_describes_every_endpoint_with_its_doc_comment() {
    let app = TestApp::spawn().await;
    let doc = app.get("/openapi.json").await.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for (path, method) in [
        ("/", "get"),
        ("/", "post"),
        ("/author", "get"),
        ("/author", "post"),
        ("/author/{id}", "get"),
        ("/book", "get"),
        ("/book", "post"),
        ("/book/{id}", "get"),
        ("/genre", "get"),
        ("/country", "get"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "no {method} {path}");
        assert!(op["summary"].is_string(), "no summary for {method} {path}");
        assert!(
            op["description"].is_string(),
            "no description for {method} {path}"
        );
    }
    assert_eq!(
        doc,
        serde_json::to_value(bookbench_server::openapi()).unwrap_or_default()
    );
}
