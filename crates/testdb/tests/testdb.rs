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

const CHILD: &str = "BOOKBENCH_TESTDB_CHILD";

/// Run by the test below as a child process: holds a cluster, says where it
/// is, and waits to be killed.
#[tokio::test]
#[ignore = "a helper process for a_killed_test_run_leaves_no_postgres_behind"]
async fn child_holding_a_cluster() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let client = TestDb::new().await.client().await;
    let dir: String = client
        .query_one("SHOW data_directory", &[])
        .await
        .expect("data_directory")
        .get(0);
    println!("DATA_DIR {dir}");
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
}

#[test]
fn a_killed_test_run_leaves_no_postgres_behind() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_holding_a_cluster",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("child");
    let stdout = child.stdout.take().expect("stdout");
    let data_dir = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("DATA_DIR ").map(std::path::PathBuf::from))
        .expect("the child reports its cluster");
    let pid: u32 = std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .expect("postmaster.pid")
        .lines()
        .next()
        .and_then(|l| l.parse().ok())
        .expect("a pid");
    assert!(bookbench_cluster::is_running(pid));

    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while (bookbench_cluster::is_running(pid) || data_dir.exists())
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        !bookbench_cluster::is_running(pid),
        "postmaster {pid} outlived its test process"
    );
    assert!(!data_dir.exists(), "{} was left behind", data_dir.display());
}
