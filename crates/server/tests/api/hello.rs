use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn get_root_returns_hello_world_as_plain_text() {
    let app = TestApp::spawn().await;
    let r = app.get("/").await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/plain"));
    assert_eq!(r.text, "Hello, World!");
}

#[tokio::test]
async fn post_root_greets_the_id_of_a_json_object() {
    let app = TestApp::spawn().await;
    let r = app.post_json("/", &json!({"id": "abc-123"})).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/plain"));
    assert_eq!(r.text, "Hello, abc-123");
}

#[tokio::test]
async fn post_root_renders_a_numeric_id_as_text() {
    let app = TestApp::spawn().await;
    let r = app.post_json("/", &json!({"id": 42})).await;
    assert_eq!((r.status, r.text.as_str()), (200, "Hello, 42"));
}

#[tokio::test]
async fn post_root_parses_the_body_as_json_whatever_the_content_type() {
    let app = TestApp::spawn().await;
    let body = br#"{"id": "x"}"#.to_vec();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let r = app.post_raw("/", ct, body.clone()).await;
        assert_eq!((r.status, r.text.as_str()), (200, "Hello, x"), "{ct:?}");
    }
}

#[tokio::test]
async fn post_root_returns_400_when_id_is_missing() {
    let app = TestApp::spawn().await;
    let r = app.post_json("/", &json!({"name": "x"})).await;
    r.assert_error(400);
    assert_eq!(r.json()["error"], "Missing required parameter 'id'");
}

#[tokio::test]
async fn post_root_returns_400_when_the_body_is_not_a_json_object() {
    let app = TestApp::spawn().await;
    for body in [&b"[1, 2]"[..], b"\"id\"", b"{not json", b""] {
        let r = app
            .post_raw("/", Some("application/json"), body.to_vec())
            .await;
        r.assert_error(400);
    }
}

#[tokio::test]
async fn post_root_returns_413_when_the_body_is_over_64_kib() {
    let app = TestApp::spawn().await;
    let body = format!(r#"{{"id": "{}"}}"#, "x".repeat(70 * 1024));
    let r = app
        .post_raw("/", Some("application/json"), body.into_bytes())
        .await;
    r.assert_error(413);
}
