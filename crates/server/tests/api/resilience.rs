//! Load and failure: many writers at once, and the database going away
//! under the server and coming back.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bookbench_cluster::{Binaries, Cluster, ServiceUser, Settings, StopMode};
use futures_util::future::join_all;
use uuid::Uuid;

use crate::helpers::{TestApp, author_body, http_client, id_of, reply, spawn_server};

#[tokio::test]
async fn one_hundred_concurrent_author_creations_are_all_201_and_all_stored() {
    let app = TestApp::spawn().await;
    let requests = (0..100).map(|i| {
        let app = &app;
        async move {
            app.post_json("/author", &author_body(&format!("Writer {i}")))
                .await
        }
    });
    let replies = join_all(requests).await;
    let mut created = HashSet::new();
    for r in &replies {
        assert_eq!(r.status, 201, "{}", r.text);
        created.insert(id_of(r));
    }
    assert_eq!(created.len(), 100);
    let rows = app
        .sql()
        .await
        .query("SELECT id FROM author", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stored: HashSet<Uuid> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(stored, created);
}

/// A cluster of this test's own, so that stopping it disturbs no other test.
struct OwnCluster {
    cluster: Cluster,
    port: u16,
    url: String,
    _watchdog: bookbench_cluster::Watchdog,
}

impl OwnCluster {
    async fn start() -> Self {
        let password = bookbench_cluster::random_password();
        let (cluster, port, watchdog) = tokio::task::spawn_blocking({
            let password = password.clone();
            move || {
                let bins = Binaries::find()?;
                let user = ServiceUser::for_current_process()?;
                Cluster::start_throwaway(bins, user, "bookbench", &password, &Settings::throwaway())
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("throwaway cluster: {e}"));
        let url = format!("postgres://bookbench:{password}@127.0.0.1:{port}/postgres");
        let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let conn = tokio::spawn(conn);
        bookbench_schema::migrate(&mut client)
            .await
            .unwrap_or_else(|e| panic!("migrate: {e}"));
        drop(client);
        let _ = conn.await;
        Self {
            cluster,
            port,
            url,
            _watchdog: watchdog,
        }
    }

    async fn stop(&self) {
        let cluster = self.cluster.clone();
        tokio::task::spawn_blocking(move || cluster.stop(StopMode::Fast))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("stop: {e}"));
    }

    async fn restart(&self) {
        let cluster = self.cluster.clone();
        let port = self.port;
        tokio::task::spawn_blocking(move || cluster.start(port))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("start: {e}"));
    }
}

#[tokio::test]
async fn database_stopped_under_the_server_gives_503_and_recovers_without_a_restart() {
    let db = OwnCluster::start().await;
    let addr = spawn_server(&db.url, |c| c.pool_size = 4).await;
    let http = http_client();
    let get = |path: &str| {
        let url = format!("http://{addr}{path}");
        let http = http.clone();
        async move { reply(http.get(url).send().await).await }
    };
    assert_eq!(get("/healthz").await.status, 200);
    let r = reply(
        http.post(format!("http://{addr}/author"))
            .json(&author_body("Before"))
            .send()
            .await,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let author = id_of(&r);
    // Warm every pooled connection, so that the stop breaks live ones.
    join_all((0..8).map(|_| get("/author"))).await;

    db.stop().await;
    let r = get("/healthz").await;
    r.assert_error(503);
    for path in [
        "/author",
        &format!("/author/{author}"),
        "/book",
        "/genre",
        "/country",
    ] {
        let r = get(path).await;
        r.assert_error(503);
        assert_eq!(r.json()["error"], "database unavailable", "{path}");
    }
    let r = reply(
        http.post(format!("http://{addr}/author"))
            .json(&author_body("During"))
            .send()
            .await,
    )
    .await;
    r.assert_error(503);
    assert!(!r.text.contains("connect"), "leaks internals: {}", r.text);
    // The server itself still answers what needs no database.
    assert_eq!(get("/").await.status, 200);

    db.restart().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if get("/healthz").await.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = get(&format!("/author/{author}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for _ in 0..8 {
        assert_eq!(get("/author").await.status, 200);
    }
}
