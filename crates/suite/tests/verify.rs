//! `verify` against deliberately broken servers: the failing check is named.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

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

fn failure<'a>(results: &'a [bookbench_suite::verify::CheckResult], name: &str) -> Option<&'a str> {
    results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .failure
        .as_deref()
}

#[tokio::test]
async fn verify_names_the_hello_check_when_the_greeting_is_wrong() {
    let url = serve(Router::new().route("/", get(|| async { "Hello World" }))).await;
    let results = bookbench_suite::verify::verify(&url).await;
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
    let results = bookbench_suite::verify::verify(&url).await;
    assert_eq!(failure(&results, "hello-get"), None);
    let why = failure(&results, "genre-list").expect("genre-list fails");
    assert!(why.contains("500"), "{why}");
    // Every check ran, and most failed against a server that has no API.
    assert_eq!(results.len(), bookbench_suite::verify::check_names().len());
}

#[tokio::test]
async fn verify_fails_every_check_when_nothing_listens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let results = bookbench_suite::verify::verify(&format!("http://127.0.0.1:{port}")).await;
    assert!(results.iter().all(|r| r.failure.is_some()));
}
