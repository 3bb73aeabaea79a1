//! The generator against a real PostgreSQL.

use bookbench_datagen::{NoProgress, Phase, Plan, Progress, Scale, ids, isbn13_check_digit, seed};
use bookbench_schema::Dataset;
use bookbench_testdb::TestDb;
use tokio_postgres::Client;

/// Every row of the generated tables, folded into one hash.
const CHECKSUM: &str = "SELECT \
    (SELECT md5(string_agg(a::text, '|' ORDER BY id)) FROM author a), \
    (SELECT md5(string_agg(b::text, '|' ORDER BY id)) FROM book b), \
    (SELECT md5(string_agg(g::text, '|' ORDER BY book_id, genre_id)) FROM book_genre g)";

async fn checksum(client: &Client) -> (String, String, String) {
    let row = client.query_one(CHECKSUM, &[]).await.expect("checksum");
    (row.get(0), row.get(1), row.get(2))
}

async fn seeded(plan: &Plan) -> (TestDb, Client, Dataset) {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let dataset = seed(&mut client, plan, false, &NoProgress)
        .await
        .expect("seed");
    (db, client, dataset)
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test]
async fn the_same_seed_gives_the_same_rows_and_another_seed_other_rows() {
    let plan = Plan::from_scale(Scale::Tiny, 7);
    let (_a, a, _) = seeded(&plan).await;
    let (_b, b, _) = seeded(&plan).await;
    let (_c, c, _) = seeded(&Plan::from_scale(Scale::Tiny, 8)).await;
    let (sa, sb, sc) = (checksum(&a).await, checksum(&b).await, checksum(&c).await);
    assert_eq!(sa, sb);
    assert_ne!(sa.0, sc.0);
    assert_ne!(sa.1, sc.1);
}

#[tokio::test]
async fn the_record_matches_the_rows_and_the_planned_counts() {
    let plan = Plan {
        seed: 11,
        authors: 1_500,
        scale: None,
    };
    let (_db, client, written) = seeded(&plan).await;
    let stored = Dataset::read(&client)
        .await
        .expect("read")
        .expect("a record");
    assert_eq!(stored.seed, 11);
    assert_eq!(stored.authors, written.authors);
    let counts = plan.counts();
    assert_eq!(
        count(&client, "SELECT count(*) FROM author").await as u64,
        counts.authors
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM book").await as u64,
        counts.books
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM book_genre").await as u64,
        counts.book_genres
    );
    assert_eq!(
        (stored.books, stored.book_genres),
        (counts.books, counts.book_genres)
    );
}

#[tokio::test]
async fn every_id_derived_from_seed_and_index_exists() {
    let plan = Plan::from_scale(Scale::Tiny, 3);
    let (_db, client, d) = seeded(&plan).await;
    let authors: Vec<uuid::Uuid> = (0..d.authors).map(|i| ids::author_id(3, i)).collect();
    let books: Vec<uuid::Uuid> = (0..d.books).map(|i| ids::book_id(3, i)).collect();
    let found: i64 = client
        .query_one(
            "SELECT count(*) FROM author WHERE id = ANY($1)",
            &[&authors],
        )
        .await
        .expect("authors")
        .get(0);
    assert_eq!(found as u64, d.authors);
    let found: i64 = client
        .query_one("SELECT count(*) FROM book WHERE id = ANY($1)", &[&books])
        .await
        .expect("books")
        .get(0);
    assert_eq!(found as u64, d.books);
}

#[tokio::test]
async fn values_are_valid_and_distributed_like_a_real_shop() {
    let (_db, client, d) = seeded(&Plan::from_scale(Scale::Small, 5)).await;

    let books_per_author = d.books as f64 / d.authors as f64;
    assert!(
        (9.0..11.0).contains(&books_per_author),
        "{books_per_author}"
    );
    let without_books = count(
        &client,
        "SELECT count(*) FROM author a WHERE NOT EXISTS (SELECT 1 FROM book b WHERE b.author_id = a.id)",
    )
    .await;
    assert!(without_books > 0, "every author has a book");
    let most = count(
        &client,
        "SELECT max(n) FROM (SELECT count(*) n FROM book GROUP BY author_id) t",
    )
    .await;
    assert!(most >= 100, "no prolific author: at most {most} books");
    let genre_range = client
        .query_one(
            "SELECT min(n), max(n) FROM (SELECT count(*) n FROM book_genre GROUP BY book_id) t",
            &[],
        )
        .await
        .expect("genres per book");
    assert_eq!(
        (genre_range.get::<_, i64>(0), genre_range.get::<_, i64>(1)),
        (1, 3)
    );
    let books_without_genre = count(
        &client,
        "SELECT count(*) FROM book b WHERE NOT EXISTS (SELECT 1 FROM book_genre g WHERE g.book_id = b.id)",
    )
    .await;
    assert_eq!(books_without_genre, 0);

    for row in client
        .query("SELECT name, email, phone, contact_address, contract_started, contract_finished, contract_value FROM author", &[])
        .await
        .expect("authors")
    {
        let (name, email, phone, address): (&str, &str, &str, &str) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        assert!((1..=200).contains(&name.chars().count()), "{name}");
        let (local, domain) = email.split_once('@').expect("an @ in the email");
        assert!(!local.is_empty() && domain.contains('.') && email.len() <= 254, "{email}");
        assert!(email.is_ascii() && !email.contains(' '), "{email}");
        assert!(
            (1..=32).contains(&phone.len())
                && phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)),
            "{phone}"
        );
        assert!((1..=500).contains(&address.chars().count()), "{address}");
        let started: Option<chrono::DateTime<chrono::Utc>> = row.get(4);
        let finished: Option<chrono::DateTime<chrono::Utc>> = row.get(5);
        let value: Option<i32> = row.get(6);
        if let (Some(s), Some(f)) = (started, finished) {
            assert!(f >= s);
        }
        assert!(finished.is_none() || started.is_some());
        assert!(value.is_none_or(|v| v >= 0));
    }

    let mut nulls = [0u64; 3];
    let rows = client
        .query("SELECT isbn, published, pages, price, title FROM book", &[])
        .await
        .expect("books");
    for row in &rows {
        let isbn: &str = row.get(0);
        let digits: Vec<u8> = isbn.bytes().map(|b| b - b'0').collect();
        assert_eq!(digits.len(), 13, "{isbn}");
        assert!(isbn.starts_with("978") || isbn.starts_with("979"), "{isbn}");
        assert_eq!(isbn13_check_digit(&digits[..12]), digits[12], "{isbn}");
        let title: &str = row.get(4);
        assert!((1..=300).contains(&title.chars().count()));
        let published: Option<chrono::NaiveDate> = row.get(1);
        let pages: Option<i32> = row.get(2);
        let price: Option<i32> = row.get(3);
        nulls[0] += u64::from(published.is_none());
        nulls[1] += u64::from(pages.is_none());
        nulls[2] += u64::from(price.is_none());
        assert!(pages.is_none_or(|p| (1..=100_000).contains(&p)));
        assert!(price.is_none_or(|p| p >= 0));
    }
    // Some values are missing, as in real data, but most are there.
    for n in nulls {
        assert!(
            n > 0 && n < rows.len() as u64 / 5,
            "{nulls:?} of {}",
            rows.len()
        );
    }
    let countries = count(&client, "SELECT count(DISTINCT country_code) FROM author").await;
    assert!(
        countries > 200,
        "authors come from only {countries} countries"
    );
}

#[tokio::test]
async fn a_database_with_data_is_refused_unless_forced() {
    let (_db, mut client, _) = seeded(&Plan::from_scale(Scale::Tiny, 1)).await;
    let before = checksum(&client).await;
    let err = seed(
        &mut client,
        &Plan::from_scale(Scale::Tiny, 2),
        false,
        &NoProgress,
    )
    .await
    .expect_err("a second seed without force");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(checksum(&client).await, before);

    let d = seed(
        &mut client,
        &Plan::from_scale(Scale::Tiny, 2),
        true,
        &NoProgress,
    )
    .await
    .expect("forced seed");
    assert_eq!(d.seed, 2);
    assert_ne!(checksum(&client).await, before);
    assert_eq!(
        Dataset::read(&client).await.expect("read").map(|d| d.seed),
        Some(2)
    );
}

/// Keys, indexes and constraints as text, to compare two databases.
const SCHEMA_SHAPE: &str = "SELECT string_agg(d, E'\\n' ORDER BY d) FROM ( \
    SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) d \
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
    UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public') t";

#[tokio::test]
async fn after_a_seed_the_schema_has_exactly_the_keys_and_indexes_of_the_migration() {
    let fresh = TestDb::new().await.client().await;
    let expected: String = fresh
        .query_one(SCHEMA_SHAPE, &[])
        .await
        .expect("shape")
        .get(0);
    let (_db, client, _) = seeded(&Plan::from_scale(Scale::Tiny, 1)).await;
    let actual: String = client
        .query_one(SCHEMA_SHAPE, &[])
        .await
        .expect("shape")
        .get(0);
    assert_eq!(actual, expected);
    assert!(expected.contains("book_author_id_idx"));
}

#[tokio::test]
async fn seeded_tables_are_all_visible_so_index_only_scans_need_no_heap() {
    let (_db, client, _) = seeded(&Plan::from_scale(Scale::Small, 1)).await;
    for table in ["author", "book", "book_genre"] {
        let row = client
            .query_one(
                "SELECT relpages, relallvisible FROM pg_class WHERE oid = $1::text::regclass",
                &[&table],
            )
            .await
            .expect("pg_class");
        let (pages, visible): (i32, i32) = (row.get(0), row.get(1));
        assert!(
            pages > 0 && visible == pages,
            "{table}: {visible} of {pages} pages all-visible"
        );
    }
}

/// Sends a signal when the seed reaches a phase.
struct StopAt(
    Phase,
    std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
);

impl Progress for StopAt {
    fn phase(&self, phase: Phase, _: u64) {
        if phase == self.0
            && let Some(tx) = self.1.lock().expect("lock").take()
        {
            let _ = tx.send(());
        }
    }
    fn rows(&self, _: u64) {}
}

#[tokio::test]
async fn an_interrupted_seed_leaves_the_database_as_it_was() {
    let db = TestDb::new().await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let url = db.url().to_string();
    let task = tokio::spawn(async move {
        let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        let conn = tokio::spawn(conn);
        let stop = StopAt(Phase::BookGenres, std::sync::Mutex::new(Some(tx)));
        let _ = seed(
            &mut client,
            &Plan::from_scale(Scale::Small, 1),
            false,
            &stop,
        )
        .await;
        conn.abort();
    });
    rx.await.expect("the seed reached book_genre");
    // Dropping the task drops the connection mid-COPY, as a killed process would.
    task.abort();
    let _ = task.await;

    let client = db.client().await;
    // The server notices the closed connection and rolls back.
    let mut rows = -1;
    for _ in 0..50 {
        rows = count(
            &client,
            "SELECT (SELECT count(*) FROM author) + (SELECT count(*) FROM book)",
        )
        .await;
        if rows == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(rows, 0);
    assert_eq!(Dataset::read(&client).await.expect("read"), None);
    let shape: String = client
        .query_one(SCHEMA_SHAPE, &[])
        .await
        .expect("shape")
        .get(0);
    assert!(shape.contains("author_pkey") && shape.contains("book_genre_book_id_fkey"));
}
