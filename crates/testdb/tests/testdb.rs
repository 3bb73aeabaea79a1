use bookbench_testdb::TestDb;

#[tokio::test]
async fn each_test_database_is_migrated_and_separate() {
    let (a, b) = (TestDb::new().await, TestDb::new().await);
    assert_ne!(a.name(), b.name());
    let (ca, cb) = (a.client().await, b.client().await);
    let countries: i64 = ca
        .query_one("SELECT count(*) FROM country", &[])
        .await
        .expect("count countries")
        .get(0);
    assert_eq!(countries, 249);
    ca.execute("DELETE FROM book_genre", &[])
        .await
        .expect("delete");
    ca.execute(
        "INSERT INTO genre (id, name) VALUES (1000, 'Only in a')",
        &[],
    )
    .await
    .expect("insert");
    let in_b: i64 = cb
        .query_one("SELECT count(*) FROM genre WHERE id = 1000", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(
        in_b, 0,
        "a row written in one test's database shows in another's"
    );
}

#[tokio::test]
async fn the_test_cluster_listens_on_loopback_only() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let listen: String = client
        .query_one("SHOW listen_addresses", &[])
        .await
        .expect("show")
        .get(0);
    assert_eq!(listen, "127.0.0.1");
}
