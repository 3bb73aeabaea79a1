//! Workloads read from scenario files: TOML with `[[request]]` tables, named
//! `[values]` (a list, or a column of a CSV file) and `[[setup]]` requests
//! sent once before the load, whose answers can be captured into values.
//! The built-in scenarios are such files, compiled in, so that there is one
//! way to define a workload. docs/load.md describes the format.
//!
//! Every mistake is reported as `FILE:LINE: what is wrong`, and found before
//! any request is sent: unknown fields, templates naming values that do not
//! exist, captures whose JSONPath does not parse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json_path::JsonPath;
use toml::Spanned;

use crate::LoadError;
use crate::scenario::{BodyCheck, RequestSpec};
use crate::template::{Template, Values};

/// The built-in scenarios, in the order of the benchmark's table, with
/// their files' text.
const BUILT_IN: &[(&str, &str)] = &[
    ("hello-get", include_str!("../scenarios/hello-get.toml")),
    ("hello-post", include_str!("../scenarios/hello-post.toml")),
    (
        "author-detail",
        include_str!("../scenarios/author-detail.toml"),
    ),
    ("author-list", include_str!("../scenarios/author-list.toml")),
    (
        "author-offset-50k",
        include_str!("../scenarios/author-offset-50k.toml"),
    ),
    (
        "author-offset-500k",
        include_str!("../scenarios/author-offset-500k.toml"),
    ),
    (
        "author-keyset",
        include_str!("../scenarios/author-keyset.toml"),
    ),
    (
        "author-create",
        include_str!("../scenarios/author-create.toml"),
    ),
    ("book-detail", include_str!("../scenarios/book-detail.toml")),
    ("mixed", include_str!("../scenarios/mixed.toml")),
];

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

/// A workload: what to send, what it draws from, and what to do first.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The scenario's name: the file's stem, or its `name`.
    pub name: String,
    pub description: Option<String>,
    /// The request kinds, chosen at random by weight.
    pub requests: Vec<RequestSpec>,
    /// The named values known before the setup runs.
    pub values: Values,
    /// Sent once, in order, before the load.
    pub setup: Vec<SetupStep>,
    /// Where it was read from: a path, or `built-in scenario NAME`.
    pub origin: String,
}

/// A request sent once before the load, and what to keep from its answer.
#[derive(Debug, Clone)]
pub struct SetupStep {
    pub request: RequestSpec,
    pub captures: Vec<Capture>,
    /// `FILE:LINE` of its table, for messages.
    pub at: String,
}

/// A named value taken from a setup answer's JSON body: every node that a
/// JSONPath (RFC 9535) selects is one value.
#[derive(Debug, Clone)]
pub struct Capture {
    pub name: String,
    pub expression: String,
    pub path: JsonPath,
    /// `FILE:LINE` of its expression, for messages.
    pub at: String,
}

impl Workload {
    /// A built-in scenario, or `None` for an unknown name.
    pub fn built_in(name: &str) -> Option<Self> {
        let (name, text) = BUILT_IN.iter().find(|(n, _)| *n == name)?;
        let origin = format!("built-in scenario {name}");
        // The built-in files are tested to parse; a failure here is a
        // defect of this crate, reported rather than hidden.
        Some(
            Self::parse(text, name, &origin, None).unwrap_or_else(|e| Self {
                name: (*name).to_string(),
                description: Some(format!("does not parse: {e}")),
                requests: Vec::new(),
                values: Values::default(),
                setup: Vec::new(),
                origin,
            }),
        )
    }

    /// Reads a scenario file; its name is the file's stem unless it sets
    /// `name`, and a CSV file it names is found beside it.
    pub fn from_file(path: &Path) -> Result<Self, LoadError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LoadError::Scenario {
            at: origin.clone(),
            message: format!("cannot be read: {e}"),
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::parse(&text, &stem, &origin, path.parent())
    }

    /// Parses a scenario file's text. `dir` is where relative CSV paths
    /// start; without one, CSV values are refused.
    pub fn parse(
        text: &str,
        name: &str,
        origin: &str,
        dir: Option<&Path>,
    ) -> Result<Self, LoadError> {
        let at = |offset: usize| format!("{origin}:{}", line_of(text, offset));
        let file: File = toml::from_str(text).map_err(|e| LoadError::Scenario {
            at: e.span().map_or_else(|| origin.to_string(), |s| at(s.start)),
            message: e.message().trim().to_string(),
        })?;
        let fail = |offset: usize, message: String| LoadError::Scenario {
            at: at(offset),
            message,
        };
        let name = match &file.name {
            Some(n) => n.get_ref().clone(),
            None => name.to_string(),
        };
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == ',') {
            return Err(LoadError::Scenario {
                at: file
                    .name
                    .as_ref()
                    .map_or_else(|| origin.to_string(), |n| at(n.span().start)),
                message: format!(
                    "'{name}' cannot name a scenario: it must be non-empty, with no spaces or commas"
                ),
            });
        }
        let mut values = Values::default();
        for (value_name, source) in &file.values {
            let list = value_list(source.get_ref(), dir)
                .map_err(|m| fail(source.span().start, format!("value '{value_name}': {m}")))?;
            values
                .insert(value_name, list)
                .map_err(|e| fail(source.span().start, e.to_string()))?;
        }
        // Templates are checked against every name known where they are
        // used: a setup step sees what earlier steps capture, and the load
        // sees all of it. Captured names stand in with a placeholder.
        let mut known = values.clone();
        let mut setup = Vec::new();
        for (i, table) in file.setup.iter().enumerate() {
            let step_at = at(table.span().start);
            let table = table.get_ref();
            if let Some(w) = &table.weight {
                return Err(fail(
                    w.span().start,
                    "a setup request has no weight: each is sent once, in order".to_string(),
                ));
            }
            let request = request_spec(table, &format!("{name}/setup-{}", i + 1), &known)
                .map_err(|(offset, m)| fail(offset, m))?;
            let mut captures = Vec::new();
            for (capture_name, expression) in &table.capture {
                let offset = expression.span().start;
                let path = JsonPath::parse(expression.get_ref()).map_err(|e| {
                    fail(
                        offset,
                        format!(
                            "capture '{capture_name}': '{}' is not a JSONPath: {e}",
                            expression.get_ref()
                        ),
                    )
                })?;
                known
                    .insert(capture_name, vec!["0".to_string()])
                    .map_err(|e| fail(offset, format!("capture: {e}")))?;
                captures.push(Capture {
                    name: capture_name.clone(),
                    expression: expression.get_ref().clone(),
                    path,
                    at: at(offset),
                });
            }
            setup.push(SetupStep {
                request,
                captures,
                at: step_at,
            });
        }
        if file.request.is_empty() {
            return Err(LoadError::Scenario {
                at: origin.to_string(),
                message: "no [[request]] table: a scenario needs at least one request".to_string(),
            });
        }
        let several = file.request.len() > 1;
        let mut requests = Vec::new();
        for (i, table) in file.request.iter().enumerate() {
            let inner = table.get_ref();
            if let Some((capture, _)) = inner.capture.iter().next() {
                return Err(fail(
                    table.span().start,
                    format!(
                        "capture '{capture}': only a [[setup]] request captures values; \
                         a [[request]] is sent many times"
                    ),
                ));
            }
            let kind = match &inner.name {
                Some(part) => format!("{name}/{part}"),
                None if several => format!("{name}/{}", i + 1),
                None => name.clone(),
            };
            let mut spec =
                request_spec(inner, &kind, &known).map_err(|(offset, m)| fail(offset, m))?;
            spec.weight = inner.weight.as_ref().map_or(1, |w| *w.get_ref());
            requests.push(spec);
        }
        if requests.iter().all(|r| r.weight == 0) {
            return Err(LoadError::Scenario {
                at: origin.to_string(),
                message: "every request has weight 0".to_string(),
            });
        }
        Ok(Self {
            name,
            description: file.description,
            requests,
            values,
            setup,
            origin: origin.to_string(),
        })
    }
}

/// The workloads a run can name: the built-in scenarios and those read from
/// scenario files.
#[derive(Debug, Clone, Default)]
pub struct Workloads {
    files: Vec<Workload>,
}

impl Workloads {
    /// Reads every file; two files of one name, or a file named as a
    /// built-in scenario, are refused.
    pub fn from_files(paths: &[PathBuf]) -> Result<Self, LoadError> {
        let mut files: Vec<Workload> = Vec::new();
        for path in paths {
            let w = Workload::from_file(path)?;
            let clash = if SCENARIOS.contains(&w.name.as_str()) {
                Some("a built-in scenario".to_string())
            } else {
                files
                    .iter()
                    .find(|f| f.name == w.name)
                    .map(|f| f.origin.clone())
            };
            if let Some(other) = clash {
                return Err(LoadError::Scenario {
                    at: w.origin,
                    message: format!(
                        "the scenario '{}' has the name of {other}; rename the file or set `name`",
                        w.name
                    ),
                });
            }
            files.push(w);
        }
        Ok(Self { files })
    }

    /// The names of the scenarios read from files, in their order.
    pub fn file_names(&self) -> Vec<String> {
        self.files.iter().map(|w| w.name.clone()).collect()
    }

    /// The scenario `name`: a file's, or a built-in one.
    pub fn get(&self, name: &str) -> Result<Workload, LoadError> {
        self.files
            .iter()
            .find(|w| w.name == name)
            .cloned()
            .or_else(|| Workload::built_in(name))
            .ok_or_else(|| {
                let mut known: Vec<String> = SCENARIOS.iter().map(|s| (*s).to_string()).collect();
                known.extend(self.file_names());
                LoadError::Config(format!(
                    "unknown scenario '{name}'; scenarios: {} (or a file given with --scenario-file)",
                    known.join(", ")
                ))
            })
    }

    /// Refuses a name that is neither built in nor read from a file.
    pub fn check(&self, names: &[String]) -> Result<(), LoadError> {
        names.iter().try_for_each(|n| self.get(n).map(|_| ()))
    }
}

/// The line (from 1) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// A scenario file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<Spanned<String>>,
    description: Option<String>,
    #[serde(default)]
    values: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    setup: Vec<Spanned<Table>>,
    #[serde(default)]
    request: Vec<Spanned<Table>>,
}

/// A `[[request]]` or `[[setup]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    /// A short name for the request kind, in a mix: `SCENARIO/NAME`.
    name: Option<String>,
    method: Option<String>,
    path: Spanned<String>,
    body: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    weight: Option<Spanned<u32>>,
    status: Option<Status>,
    body_starts_with: Option<String>,
    body_contains: Option<String>,
    #[serde(default)]
    capture: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a status code or a list of them, as in 200 or [200, 201]"
)]
enum Status {
    One(u16),
    Many(Vec<u16>),
}

/// A table as the load generator's request specification, its templates
/// checked against `known`; an error carries the offending offset.
fn request_spec(table: &Table, name: &str, known: &Values) -> Result<RequestSpec, (usize, String)> {
    let path = table.path.get_ref();
    let path_at = table.path.span().start;
    if !path.starts_with('/') {
        return Err((path_at, format!("the path '{path}' must start with '/'")));
    }
    Template::parse_with(path, known).map_err(|e| (path_at, format!("path: {e}")))?;
    if let Some(body) = &table.body {
        Template::parse_with(body.get_ref(), known)
            .map_err(|e| (body.span().start, format!("body: {e}")))?;
    }
    let method = table
        .method
        .as_deref()
        .unwrap_or("GET")
        .to_ascii_uppercase();
    if http::Method::from_bytes(method.as_bytes()).is_err() {
        return Err((path_at, format!("'{method}' is not an HTTP method")));
    }
    let expect_body = match (&table.body_starts_with, &table.body_contains) {
        (Some(_), Some(_)) => {
            return Err((
                path_at,
                "give body_starts_with or body_contains, not both".to_string(),
            ));
        }
        (Some(s), None) => Some(BodyCheck::StartsWith(s.clone())),
        (None, Some(s)) => Some(BodyCheck::Contains(s.clone())),
        (None, None) => None,
    };
    Ok(RequestSpec {
        name: name.to_string(),
        weight: 1,
        method,
        path: path.clone(),
        body: table.body.as_ref().map(|b| b.get_ref().clone()),
        headers: table
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect(),
        expect_status: match &table.status {
            None => Vec::new(),
            Some(Status::One(s)) => vec![*s],
            Some(Status::Many(s)) => s.clone(),
        },
        expect_body,
    })
}

/// A `[values]` entry's list: an array of scalars, or `{ csv = FILE,
/// column = NAME }` (the first column without `column`).
fn value_list(value: &toml::Value, dir: Option<&Path>) -> Result<Vec<String>, String> {
    match value {
        toml::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                toml::Value::Float(f) => Ok(f.to_string()),
                toml::Value::Boolean(b) => Ok(b.to_string()),
                other => Err(format!(
                    "a list holds strings or numbers, not {}",
                    other.type_str()
                )),
            })
            .collect(),
        toml::Value::Table(table) => {
            if let Some(key) = table
                .keys()
                .find(|k| !matches!(k.as_str(), "csv" | "column"))
            {
                return Err(format!(
                    "unknown key '{key}'; a CSV value is {{ csv = \"FILE\", column = \"NAME\" }}"
                ));
            }
            let Some(toml::Value::String(file)) = table.get("csv") else {
                return Err(
                    "a table of values needs csv = \"FILE\" (and optionally column = \"NAME\")"
                        .to_string(),
                );
            };
            let column = match table.get("column") {
                None => None,
                Some(toml::Value::String(c)) => Some(c.as_str()),
                Some(_) => return Err("column must be a string: the column's header".to_string()),
            };
            let Some(dir) = dir else {
                return Err("a built-in scenario cannot read a CSV file".to_string());
            };
            csv_column(&dir.join(file), column)
        }
        other => Err(format!(
            "expected a list, as in [\"DE\", \"FR\"], or {{ csv = \"FILE\", column = \"NAME\" }}, not {}",
            other.type_str()
        )),
    }
}

/// One column of a CSV file with a header row.
fn csv_column(path: &PathBuf, column: Option<&str>) -> Result<Vec<String>, String> {
    let shown = path.display();
    let mut reader = csv::Reader::from_path(path).map_err(|e| format!("{shown}: {e}"))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{shown}: {e}"))?
        .clone();
    let index = match column {
        None => 0,
        Some(c) => headers.iter().position(|h| h == c).ok_or_else(|| {
            format!(
                "{shown} has no column '{c}'; its columns: {}",
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })?,
    };
    let mut list = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("{shown}: {e}"))?;
        let cell = record
            .get(index)
            .ok_or_else(|| format!("{shown}: row {} has no column {}", i + 2, index + 1))?;
        list.push(cell.to_string());
    }
    if list.is_empty() {
        return Err(format!("{shown} has a header but no rows"));
    }
    Ok(list)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Workload, LoadError> {
        Workload::parse(text, "t", "t.toml", None)
    }

    #[test]
    fn every_built_in_scenario_parses_and_mixed_weighs_one_hundred() {
        assert_eq!(
            BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            SCENARIOS
        );
        for (name, text) in BUILT_IN {
            let w = Workload::parse(text, name, name, None).unwrap();
            assert!(w.description.is_some(), "{name}");
            if *name == "mixed" {
                assert_eq!(w.requests.iter().map(|s| s.weight).sum::<u32>(), 100);
                assert_eq!(w.requests[0].name, "mixed/author-detail");
            } else {
                assert_eq!(w.requests.len(), 1);
                assert_eq!(w.requests[0].name, *name);
            }
        }
        assert!(Workload::built_in("nope").is_none());
    }

    #[test]
    fn a_two_line_file_is_a_scenario() {
        let w = parse("[[request]]\npath = \"/\"\n").unwrap();
        assert_eq!(w.name, "t");
        let r = &w.requests[0];
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.weight),
            ("GET", "/", 1)
        );
        assert!(r.expect_status.is_empty());
    }

    #[test]
    fn mistakes_name_their_line() {
        let cases = [
            (
                "[[request]]\npath = \"/\"\nmethd = \"GET\"\n",
                "t.toml:3",
                "methd",
            ),
            (
                "[[request]]\npath = \"/\"\n\n[[request]]\npath = \"/{nope}\"\n",
                "t.toml:5",
                "unknown variable {nope}",
            ),
            (
                "[[request]]\npath = \"x\"\n",
                "t.toml:2",
                "must start with '/'",
            ),
            (
                "[[request]]\npath = \"/\"\nstatus = \"ok\"\n",
                "t.toml:3",
                "a status code",
            ),
            ("[[request\n", "t.toml:1", ""),
            (
                "[values]\nc = []\n[[request]]\npath = \"/{c}\"\n",
                "t.toml:2",
                "no values",
            ),
            (
                "[values]\nseq = [1]\n[[request]]\npath = \"/\"\n",
                "t.toml:2",
                "built-in",
            ),
            (
                "[[setup]]\npath = \"/\"\ncapture = { a = \"$[\" }\n[[request]]\npath = \"/{a}\"\n",
                "t.toml:3",
                "not a JSONPath",
            ),
            (
                "[[setup]]\npath = \"/{a}\"\ncapture = { a = \"$[*]\" }\n[[request]]\npath = \"/{a}\"\n",
                "t.toml:2",
                "unknown variable {a}",
            ),
            (
                "[[request]]\npath = \"/\"\ncapture = { a = \"$\" }\n",
                "t.toml:1",
                "only a [[setup]]",
            ),
            (
                "[[setup]]\npath = \"/\"\nweight = 3\n[[request]]\npath = \"/\"\n",
                "t.toml:3",
                "no weight",
            ),
            ("description = \"x\"\n", "t.toml", "no [[request]]"),
            (
                "[values]\nc = { csv = \"a.csv\" }\n[[request]]\npath = \"/\"\n",
                "t.toml:2",
                "built-in scenario cannot read",
            ),
        ];
        for (text, at, message) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{at}:")), "{text:?} gave {e}");
            assert!(e.contains(message), "{text:?} gave {e}");
            assert!(!e.contains('\n'), "{text:?} gave {e}");
        }
    }

    #[test]
    fn values_come_from_lists_csv_columns_and_setup_captures() {
        let dir = std::env::temp_dir().join(format!("bookbench-workload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("users.csv"), "name,email\nann,a@x\nbob,b@x\n").unwrap();
        let file = dir.join("shop.toml");
        std::fs::write(
            &file,
            r#"
[values]
country = ["DE", 49]
email = { csv = "users.csv", column = "email" }

[[setup]]
method = "post"
path = "/login"
body = '{"email": "{email}"}'
capture = { token = "$.token", ids = "$.items[*].id" }

[[request]]
path = "/c/{country}?e={email}&id={ids}"
headers = { authorization = "Bearer x" }
status = [200, 304]
"#,
        )
        .unwrap();
        let w = Workload::from_file(&file).unwrap();
        assert_eq!(w.name, "shop");
        assert_eq!(w.values.len_of("country"), Some(2));
        assert_eq!(w.values.len_of("email"), Some(2));
        assert!(
            !w.values.contains("token"),
            "captured only when the setup runs"
        );
        assert_eq!(w.setup.len(), 1);
        assert_eq!(w.setup[0].request.method, "POST");
        let names: Vec<&str> = w.setup[0]
            .captures
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["ids", "token"]);
        assert_eq!(w.requests[0].expect_status, [200, 304]);
        std::fs::write(
            dir.join("shop.toml"),
            "[values]\ne = { csv = \"users.csv\", column = \"mail\" }\n[[request]]\npath = \"/\"\n",
        )
        .unwrap();
        let e = Workload::from_file(&file).unwrap_err().to_string();
        assert!(
            e.contains("no column 'mail'; its columns: name, email"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
