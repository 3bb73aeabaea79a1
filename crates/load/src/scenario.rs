//! The request specifications that every workload is made of, and the
//! benchmark's named scenarios (files of crates/load/scenarios, read by
//! [`Workload`]).

use serde::Serialize;

use crate::workload::Workload;

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
}

/// A built-in scenario, or `None` for an unknown name.
pub fn scenario(name: &str) -> Option<Workload> {
    Workload::built_in(name)
}
