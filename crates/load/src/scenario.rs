//! The named scenarios of the benchmark, and the request specifications that
//! every workload is made of.

use serde::Serialize;

/// What a response must look like to count as a success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyCheck {
    /// The body begins with these bytes.
    StartsWith(String),
    /// The body contains these bytes somewhere.
    Contains(String),
}

/// One kind of request of a workload, before its templates are parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestSpec {
    /// A short name for reports (the scenario's name, or `custom`).
    pub name: String,
    /// Relative weight when a workload mixes several kinds.
    pub weight: u32,
    pub method: String,
    /// Path and query, a template; appended to the URL's own path.
    pub path: String,
    /// The body, a template.
    pub body: Option<String>,
    /// Extra headers (the `Host` header is always sent).
    pub headers: Vec<(String, String)>,
    /// The statuses that count as success; empty means any 2xx.
    pub expect_status: Vec<u16>,
    pub expect_body: Option<BodyCheck>,
}

impl RequestSpec {
    /// A GET of `path` expecting a 200.
    pub fn get(name: &str, path: &str) -> Self {
        Self {
            name: name.to_string(),
            weight: 1,
            method: "GET".to_string(),
            path: path.to_string(),
            body: None,
            headers: Vec::new(),
            expect_status: vec![200],
            expect_body: None,
        }
    }

    fn json_post(name: &str, path: &str, body: &str, status: u16) -> Self {
        Self {
            method: "POST".to_string(),
            body: Some(body.to_string()),
            headers: vec![("content-type".to_string(), "application/json".to_string())],
            expect_status: vec![status],
            ..Self::get(name, path)
        }
    }

    fn body_starts_with(mut self, prefix: &str) -> Self {
        self.expect_body = Some(BodyCheck::StartsWith(prefix.to_string()));
        self
    }

    fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }
}

/// The names accepted by `--scenario`, in the order of the benchmark's table.
pub const SCENARIOS: &[&str] = &[
    "hello-get",
    "hello-post",
    "author-detail",
    "author-list",
    "author-offset-50k",
    "author-offset-500k",
    "author-keyset",
    "author-create",
    "book-detail",
    "mixed",
];

/// A valid, fresh author: unique email, random contract value.
const AUTHOR_BODY: &str = r#"{"name": "Load Author {seq}", "country_code": "DE", "email": "load-{seq}-{int:0..1000000}@example.com", "phone": "+49 30 {int:1000000..9999999}", "contact_address": "Unter den Linden {int:1..=200}, Berlin", "contract_started": "2024-01-01T00:00:00Z", "contract_value": {int:0..=1000000}}"#;

/// The request kinds of a named scenario, or `None` for an unknown name.
pub fn scenario(name: &str) -> Option<Vec<RequestSpec>> {
    let author_detail = || RequestSpec::get(name, "/author/{author_id}").body_starts_with("{");
    let list = |path: &str| RequestSpec::get(name, path).body_starts_with("[");
    let keyset = || list("/author?limit=20&after={author_id}");
    let create = || RequestSpec::json_post(name, "/author", AUTHOR_BODY, 201).body_starts_with("{");
    let book_detail = || RequestSpec::get(name, "/book/{book_id}").body_starts_with("{");
    let one = |spec: RequestSpec| Some(vec![spec]);
    match name {
        "hello-get" => one(RequestSpec::get(name, "/").body_starts_with("Hello, World!")),
        "hello-post" => one(
            RequestSpec::json_post(name, "/", r#"{"id": "{uuid}"}"#, 200)
                .body_starts_with("Hello, "),
        ),
        "author-detail" => one(author_detail()),
        "author-list" => one(list("/author?limit=20")),
        "author-offset-50k" => one(list("/author?limit=20&offset=50000")),
        "author-offset-500k" => one(list("/author?limit=20&offset=500000")),
        "author-keyset" => one(keyset()),
        "author-create" => one(create()),
        "book-detail" => one(book_detail()),
        "mixed" => {
            let named = |mut spec: RequestSpec, part: &str, weight: u32| {
                spec.name = format!("mixed/{part}");
                spec.weight(weight)
            };
            Some(vec![
                named(author_detail(), "author-detail", 70),
                named(
                    list("/author?limit=20&offset={int:0..=1000}"),
                    "author-list",
                    10,
                ),
                named(keyset(), "author-keyset", 5),
                named(book_detail(), "book-detail", 10),
                named(create(), "author-create", 5),
            ])
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::template::Template;

    #[test]
    fn every_scenario_parses_and_mixed_weighs_one_hundred() {
        for name in SCENARIOS {
            let specs = scenario(name).unwrap();
            for s in &specs {
                Template::parse(&s.path).unwrap();
                if let Some(b) = &s.body {
                    Template::parse(b).unwrap();
                }
            }
            if *name == "mixed" {
                assert_eq!(specs.iter().map(|s| s.weight).sum::<u32>(), 100);
            }
        }
        assert!(scenario("nope").is_none());
    }
}
