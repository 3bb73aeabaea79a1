//! What every check uses: the target's client, whole replies, and helpers
//! that turn any shape the target sends into a failure message, never a
//! panic.

use std::collections::BTreeSet;
use std::ops::Range;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

pub(super) type Outcome = Result<(), String>;

/// The most of an answer read for its status line and headers.
const RAW_HEAD_LIMIT: usize = 64 * 1024;
/// The longest a raw request waits for its answer.
const RAW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub(super) struct Ctx {
    pub(super) base: String,
    pub(super) http: Client,
    /// Where `base` points, for requests sent as raw bytes.
    pub(super) host: String,
    pub(super) port: u16,
    /// `base`'s path, before each raw request's.
    pub(super) prefix: String,
}

/// A response, read whole.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) content_type: String,
    pub(super) location: Option<String>,
    pub(super) body: String,
}

impl Reply {
    pub(super) fn json(&self) -> Result<Value, String> {
        serde_json::from_str(&self.body)
            .map_err(|e| format!("body is not JSON ({e}): {}", clip(&self.body)))
    }

    pub(super) fn expect(&self, status: u16, what: &str) -> Outcome {
        if self.status.as_u16() == status {
            Ok(())
        } else {
            Err(format!(
                "{what}: expected {status}, got {}: {}",
                self.status,
                clip(&self.body)
            ))
        }
    }

    /// The contract's error shape: a JSON object with an `error` string.
    pub(super) fn error_shape(&self, what: &str) -> Result<Value, String> {
        let v = self.json().map_err(|e| format!("{what}: {e}"))?;
        if v.get("error").and_then(Value::as_str).is_none() {
            return Err(format!(
                "{what}: error body has no \"error\" string: {}",
                clip(&self.body)
            ));
        }
        Ok(v)
    }

    /// A 422 naming each of `fields` in `errors`.
    pub(super) fn field_errors(&self, fields: &[&str], what: &str) -> Outcome {
        self.expect(422, what)?;
        let v = self.error_shape(what)?;
        let errors = v
            .get("errors")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{what}: no \"errors\" map: {}", clip(&self.body)))?;
        for f in fields {
            let messages = errors.get(*f).and_then(Value::as_array);
            if !messages.is_some_and(|m| !m.is_empty() && m.iter().all(Value::is_string)) {
                return Err(format!(
                    "{what}: \"errors\" does not name {f:?} with a list of messages: {}",
                    clip(&self.body)
                ));
            }
        }
        Ok(())
    }
}

/// A target's text, short enough for one line of a report.
pub(super) fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(200).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out.replace('\n', " ")
}

impl Ctx {
    /// Fails on a 5xx, so that every check also checks the target never
    /// answers one.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Reply, String> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some((content_type, bytes)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: request failed: {e}"))?;
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let location = header("location");
        let body = resp
            .text()
            .await
            .map_err(|e| format!("{method} {path}: reading the body: {e}"))?;
        if status.is_server_error() {
            return Err(format!(
                "{method} {path}: answered {status}: {}",
                clip(&body)
            ));
        }
        Ok(Reply {
            status,
            content_type,
            location,
            body,
        })
    }

    /// `GET path` with the path sent exactly as given, byte for byte: an
    /// HTTP client's URL parser would resolve `..` and re-encode what it
    /// finds malformed before the target ever saw it. Only the status line
    /// is read; like [`Ctx::send`], a 5xx fails.
    pub(super) async fn raw_get(&self, path: &str) -> Result<StatusCode, String> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let fail = |why: String| format!("GET {path} (sent as is): {why}");
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| fail(format!("cannot connect: {e}")))?;
            let request = format!(
                "GET {}{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                self.prefix,
                std::net::SocketAddr::new(
                    self.host
                        .parse()
                        .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
                    self.port
                )
            );
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|e| fail(format!("cannot send: {e}")))?;
            let mut read = Vec::new();
            let mut chunk = [0_u8; 4096];
            loop {
                let n = stream
                    .read(&mut chunk)
                    .await
                    .map_err(|e| fail(format!("reading the answer: {e}")))?;
                read.extend_from_slice(chunk.get(..n).unwrap_or_default());
                let mut headers = [httparse::EMPTY_HEADER; 64];
                let mut response = httparse::Response::new(&mut headers);
                match response.parse(&read) {
                    Ok(httparse::Status::Complete(_)) => {
                        return response
                            .code
                            .and_then(|c| StatusCode::from_u16(c).ok())
                            .ok_or_else(|| fail("an answer without a status".to_string()));
                    }
                    Ok(httparse::Status::Partial) if n > 0 && read.len() < RAW_HEAD_LIMIT => {}
                    Ok(httparse::Status::Partial) => {
                        return Err(fail(format!(
                            "no whole status line and headers in {} bytes",
                            read.len()
                        )));
                    }
                    Err(e) => return Err(fail(format!("not an HTTP answer: {e}"))),
                }
            }
        };
        let status = tokio::time::timeout(RAW_TIMEOUT, exchange)
            .await
            .map_err(|_| fail(format!("no answer within {} s", RAW_TIMEOUT.as_secs())))??;
        if status.is_server_error() {
            return Err(fail(format!("answered {status}")));
        }
        Ok(status)
    }

    pub(super) async fn get(&self, path: &str) -> Result<Reply, String> {
        self.send(Method::GET, path, None).await
    }

    pub(super) async fn post_json(&self, path: &str, body: &Value) -> Result<Reply, String> {
        self.send(
            Method::POST,
            path,
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    }

    /// GET that must answer 200 with JSON.
    pub(super) async fn get_json(&self, path: &str) -> Result<Value, String> {
        let r = self.get(path).await?;
        r.expect(200, &format!("GET {path}"))?;
        r.json().map_err(|e| format!("GET {path}: {e}"))
    }

    pub(super) async fn get_array(&self, path: &str) -> Result<Vec<Value>, String> {
        match self.get_json(path).await? {
            Value::Array(items) => Ok(items),
            other => Err(format!(
                "GET {path}: expected a JSON array, got {}",
                clip(&other.to_string())
            )),
        }
    }

    /// The `id` of each item of a GET that must answer a JSON array.
    pub(super) async fn get_ids(&self, path: &str) -> Result<Vec<String>, String> {
        ids(&self.get_array(path).await?).map_err(|e| format!("GET {path}: {e}"))
    }
}

pub(super) fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Outcome {
    if cond { Ok(()) } else { Err(msg()) }
}

/// `list[range]`, or a failure saying how short the list from `what` was.
pub(super) fn items<'a, T>(
    list: &'a [T],
    range: Range<usize>,
    what: &str,
) -> Result<&'a [T], String> {
    let needed = range.end;
    list.get(range).ok_or_else(|| {
        format!(
            "{what} gave a list of {}, expected at least {needed}",
            list.len()
        )
    })
}

/// `list[index]`, or a failure saying how short the list from `what` was.
pub(super) fn item<'a, T>(list: &'a [T], index: usize, what: &str) -> Result<&'a T, String> {
    list.get(index).ok_or_else(|| {
        format!(
            "{what} gave a list of {}, expected at least {}",
            list.len(),
            index + 1
        )
    })
}

pub(super) fn str_field<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    v.get(field).and_then(Value::as_str).ok_or_else(|| {
        format!(
            "{field:?} missing or not a string in {}",
            clip(&v.to_string())
        )
    })
}

pub(super) fn ids(items: &[Value]) -> Result<Vec<String>, String> {
    items
        .iter()
        .map(|i| str_field(i, "id").map(str::to_string))
        .collect()
}

/// Exactly these keys, no more, no fewer.
pub(super) fn has_keys(v: &Value, keys: &[&str], what: &str) -> Outcome {
    let actual: BTreeSet<&str> = v
        .as_object()
        .ok_or_else(|| format!("{what}: not a JSON object: {}", clip(&v.to_string())))?
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = keys.iter().copied().collect();
    ensure(actual == expected, || {
        format!("{what}: fields {actual:?}, expected {expected:?}")
    })
}

/// Strictly increasing, so sorted and distinct.
pub(super) fn is_increasing<T: PartialOrd>(values: &[T]) -> bool {
    values.is_sorted_by(|a, b| a < b)
}

pub(super) fn is_sorted_strings(values: &[Value]) -> bool {
    let names: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
    names.len() == values.len() && is_increasing(&names)
}

pub(super) fn is_lower_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

/// RFC 3339, UTC, seconds precision: `2019-05-01T09:30:00Z`.
pub(super) fn is_utc_seconds(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok() && s.len() == 20 && s.ends_with('Z')
}

/// `base` with each field of `changes` set.
pub(super) fn with_changes(base: &Value, changes: Value) -> Value {
    let mut body = base.clone();
    if let (Some(b), Value::Object(c)) = (body.as_object_mut(), changes) {
        b.extend(c);
    }
    body
}
