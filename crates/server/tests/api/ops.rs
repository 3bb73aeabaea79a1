use std::time::Duration;

use crate::helpers::{TestApp, author_body};

#[tokio::test]
async fn healthz_returns_200_when_the_database_answers() {
    let app = TestApp::spawn().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn metrics_reports_requests_by_route_and_status_and_pool_use() {
    let app = TestApp::spawn().await;
    app.get("/genre").await;
    app.get("/genre").await;
    app.get("/author?limit=0").await;
    app.post_json("/author", &author_body("M")).await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/plain"));
    let text = r.text;
    for needle in [
        // Each application counts its own requests.
        "http_requests_total{method=\"GET\",route=\"/genre\",status=\"200\"} 2\n",
        "http_requests_total{method=\"GET\",route=\"/author\",status=\"422\"}",
        "http_requests_total{method=\"POST\",route=\"/author\",status=\"201\"}",
        "http_request_duration_seconds_bucket{method=\"GET\",route=\"/genre\",status=\"200\",le=\"0.001\"}",
        "db_pool_max_connections",
        "db_pool_in_use_connections",
        "db_pool_idle_connections",
        "db_pool_waiting_requests",
    ] {
        assert!(text.contains(needle), "no {needle} in:\n{text}");
    }
}

#[tokio::test]
async fn unknown_paths_return_404_and_wrong_methods_405_both_as_json() {
    let app = TestApp::spawn().await;
    app.get("/nope").await.assert_error(404);
    app.get("/author/1/books").await.assert_error(404);
    let r = crate::helpers::reply(app.http.delete(app.url("/author")).send().await).await;
    r.assert_error(405);
    let r = crate::helpers::reply(app.http.put(app.url("/genre")).send().await).await;
    r.assert_error(405);
}

#[tokio::test]
async fn docs_serves_a_page_that_loads_openapi_json() {
    let app = TestApp::spawn().await;
    let r = app.get("/docs/").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type.starts_with("text/html"));
    assert!(r.text.contains("swagger"), "{}", r.text);
    let init = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/openapi.json"), "{}", init.text);
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = crate::helpers::reply(redirect.get(app.url("/docs")).send().await).await;
    assert!(
        matches!(r.status, 200 | 301 | 302 | 303 | 307 | 308),
        "{}",
        r.status
    );
}

#[tokio::test]
async fn a_request_over_the_timeout_gets_503_with_a_json_body() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = TestApp::spawn_with(|c| c.request_timeout = Duration::from_millis(200)).await;
    // A body that arrives too slowly: the handler is still reading it when
    // the time is up.
    let body = serde_json::to_string(&author_body("Slow")).unwrap_or_default();
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST /author HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    );
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "no answer within 5 s");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("application/json"), "{text}");
    assert!(text.ends_with(r#"{"error":"request timed out"}"#), "{text}");
    assert_eq!(crate::helpers::count(&app.sql().await, "author").await, 0);
}

#[tokio::test]
async fn the_server_stops_when_told_to_and_finishes_the_request_in_flight() {
    let db = bookbench_testdb::TestDb::new().await;
    let mut config = bookbench_server::Config::new(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        db.url().to_string(),
    );
    config.pool_size = 2;
    let app = bookbench_server::Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = app.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    // A slow request: the body arrives in two parts, with the stop between.
    let body = serde_json::to_string(&author_body("Last")).unwrap_or_default();
    let (head, tail) = body.split_at(10);
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let request = format!(
        "POST /author HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stop.send(());
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream
        .write_all(tail.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out).await;
    assert!(out.starts_with("HTTP/1.1 201"), "{out}");
    let finished = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(finished, Ok(Ok(Ok(())))), "{finished:?}");
    // And it no longer accepts connections.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
