//! The app under test: a real server on 127.0.0.1 (a free port) against a
//! fresh, migrated PostgreSQL database of its own.

use std::net::SocketAddr;
use std::time::Duration;

use bookbench_server::{Application, Config};
use bookbench_testdb::TestDb;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_postgres::Client;
use uuid::Uuid;

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub db: TestDb,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub location: Option<String>,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    /// The messages for `field` in a 422 body.
    pub fn field_errors(&self, field: &str) -> Vec<String> {
        self.json()["errors"][field]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The names of the fields in a 422 body, sorted.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Asserts the contract's error shape: a JSON object with an `error`
    /// string.
    pub fn assert_error(&self, status: u16) {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert!(
            self.content_type.starts_with("application/json"),
            "content type {:?}",
            self.content_type
        );
        assert!(self.json()["error"].is_string(), "body: {}", self.text);
    }

    /// Asserts a 422 whose `errors` name exactly `fields`.
    pub fn assert_invalid(&self, fields: &[&str]) {
        self.assert_error(422);
        let mut expected: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        expected.sort();
        assert_eq!(self.error_fields(), expected, "body: {}", self.text);
    }
}

impl TestApp {
    /// A server on a fresh database.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server on a fresh database, with a changed configuration.
    pub async fn spawn_with(change: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_on_with(TestDb::new().await, change).await
    }

    /// A server on `db`, a database of the test's own making.
    pub async fn spawn_on(db: TestDb) -> Self {
        Self::spawn_on_with(db, |_| {}).await
    }

    async fn spawn_on_with(db: TestDb, change: impl FnOnce(&mut Config)) -> Self {
        let addr = spawn_server(db.url(), change).await;
        Self {
            addr,
            http: http_client(),
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> Reply {
        reply(self.http.get(self.url(path)).send().await).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        reply(self.http.post(self.url(path)).json(body).send().await).await
    }

    /// A POST with a body and content type as given (none when `None`).
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
        let mut req = self.http.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        reply(req.send().await).await
    }

    /// Sends raw bytes as a request, returns the status code of the answer
    /// and its text (for requests that an HTTP client refuses to send).
    pub async fn raw(&self, request: &[u8]) -> (u16, String) {
        raw_request(self.addr, request).await
    }

    pub async fn sql(&self) -> Client {
        self.db.client().await
    }

    /// Creates an author through the API; returns its id.
    pub async fn create_author(&self, body: &Value) -> Uuid {
        let r = self.post_json("/author", body).await;
        assert_eq!(r.status, 201, "body: {}", r.text);
        id_of(&r)
    }

    /// Creates a book through the API; returns its id.
    pub async fn create_book(&self, body: &Value) -> Uuid {
        let r = self.post_json("/book", body).await;
        assert_eq!(r.status, 201, "body: {}", r.text);
        id_of(&r)
    }
}

pub fn id_of(r: &Reply) -> Uuid {
    r.json()["id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("no id in {}", r.text))
}

/// Builds and starts a server on `database_url`; returns where it listens.
pub async fn spawn_server(database_url: &str, change: impl FnOnce(&mut Config)) -> SocketAddr {
    let mut config = Config::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url.to_string(),
    );
    config.pool_size = 4;
    change(&mut config);
    let app = Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("server: {e}"));
    let addr = app.local_addr().unwrap_or_else(|e| panic!("server: {e}"));
    tokio::spawn(app.run_until(std::future::pending()));
    addr
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("http client: {e}"))
}

pub async fn reply(sent: reqwest::Result<reqwest::Response>) -> Reply {
    let r = sent.unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = r.status().as_u16();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let text = r
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading the body: {e}"));
    Reply {
        status,
        content_type,
        location,
        text,
    }
}

pub async fn raw_request(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    stream
        .write_all(request)
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

/// A valid author body; `name` makes it distinguishable.
pub fn author_body(name: &str) -> Value {
    json!({
        "name": name,
        "country_code": "GB",
        "email": "ada@example.com",
        "phone": "+44 (20) 7946-0000",
        "contact_address": "1 Example Street, London",
    })
}

/// A valid ISBN-13.
pub const ISBN: &str = "978-0-306-40615-7";

/// A valid book body for `author`.
pub fn book_body(author: Uuid, title: &str) -> Value {
    json!({
        "author_id": author,
        "title": title,
        "isbn": ISBN,
        "genres": ["Fantasy", "Adventure"],
    })
}

/// `body` with `field` set to `value` (removed when `value` is `None`).
pub fn with(mut body: Value, field: &str, value: Option<Value>) -> Value {
    if let Some(obj) = body.as_object_mut() {
        match value {
            Some(v) => {
                obj.insert(field.to_string(), v);
            }
            None => {
                obj.remove(field);
            }
        }
    }
    body
}

/// Inserts `n` authors straight into the database; returns their ids in
/// id order.
pub async fn insert_authors(client: &Client, n: usize) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    for (i, id) in ids.iter().enumerate() {
        client
            .execute(
                "INSERT INTO author (id, name, country_code, email, phone, contact_address)
                 VALUES ($1, $2, 'FR', 'a@example.com', '123', 'Paris')",
                &[id, &format!("Author {i}")],
            )
            .await
            .unwrap_or_else(|e| panic!("insert author: {e}"));
    }
    ids.sort();
    ids
}

/// Every id in a JSON array of objects.
pub fn ids(list: &Value) -> Vec<Uuid> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|o| {
            o["id"]
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .unwrap_or_else(|| panic!("no id in {o}"))
        })
        .collect()
}

/// The number of rows in `table`.
pub async fn count(client: &Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .and_then(|r| r.try_get(0))
        .unwrap_or_else(|e| panic!("count {table}: {e}"))
}
