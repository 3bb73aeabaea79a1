//! Request templates: a path or a body with variables, parsed once before the
//! run, so that making a request is a few small writes into a reused buffer.
//!
//! Variables:
//! - `{author_id}`, `{book_id}`: the id of a uniformly random existing row,
//!   derived from the data set's seed and counts (see bookbench-datagen's id
//!   scheme);
//! - `{int:A..B}` (B excluded) and `{int:A..=B}` (B included): a random
//!   integer;
//! - `{uuid}`: a fresh random version-4 UUID;
//! - `{seq}`: a counter, distinct for every request of a run;
//! - `{NAME}`: a value drawn at random from the workload's named list `NAME`
//!   (a list or a CSV column in its scenario file, or what a setup request
//!   captured), inserted as it is.
//!
//! A `{` starts a variable only when a lowercase name follows it, so JSON
//! bodies need no escaping; `{{` stands for a literal `{` (write `{{seq}` for
//! the text `{seq}`).

use std::collections::BTreeMap;
use std::sync::Arc;

use fastrand::Rng;
use uuid::Uuid;

use crate::LoadError;

/// The data set that `{author_id}` and `{book_id}` draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdSpace {
    pub seed: u64,
    pub authors: u64,
    pub books: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Vec<u8>),
    AuthorId,
    BookId,
    /// A random integer in `low..=high`.
    Int {
        low: i64,
        high: i64,
    },
    Uuid,
    Seq,
    /// One of these, at random.
    Value(Arc<[Box<[u8]>]>),
}

/// A workload's named values: what `{NAME}` draws from. Never empty lists:
/// [`Values::insert`] refuses them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(BTreeMap<String, Arc<[Box<[u8]>]>>);

impl Values {
    /// Adds the list `name`; an empty list, a name that is taken or that a
    /// built-in variable has, or one that a template could not name, is an
    /// error that says so.
    pub fn insert(&mut self, name: &str, list: Vec<String>) -> Result<(), LoadError> {
        check_value_name(name)?;
        if list.is_empty() {
            return Err(LoadError::Template(format!("{{{name}}} has no values")));
        }
        if self.0.contains_key(name) {
            return Err(LoadError::Template(format!("{{{name}}} is defined twice")));
        }
        let list: Arc<[Box<[u8]>]> = list
            .into_iter()
            .map(|v| v.into_bytes().into_boxed_slice())
            .collect();
        self.0.insert(name.to_string(), list);
        Ok(())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// How many values `name` has.
    pub fn len_of(&self, name: &str) -> Option<usize> {
        self.0.get(name).map(|l| l.len())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    fn get(&self, name: &str) -> Option<&Arc<[Box<[u8]>]>> {
        self.0.get(name)
    }
}

/// The names of the built-in variables, which no value may take.
const BUILT_IN: [&str; 5] = ["author_id", "book_id", "int", "uuid", "seq"];

/// A name a template can write as `{name}`: a lowercase letter, then
/// lowercase letters, digits and `_`; not a built-in variable's.
pub fn check_value_name(name: &str) -> Result<(), LoadError> {
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(LoadError::Template(format!(
            "'{name}' cannot name a value: use a lowercase letter, then lowercase letters, digits or '_'"
        )));
    }
    if BUILT_IN.contains(&name) {
        return Err(LoadError::Template(format!(
            "'{name}' is a built-in variable's name; call the value something else"
        )));
    }
    Ok(())
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What expansion needs besides the template: per worker thread.
#[derive(Debug)]
pub struct Expander {
    rng: Rng,
    ids: Option<IdSpace>,
    /// The next `{seq}` value; steps by `seq_step` so that workers never
    /// share a value.
    seq: u64,
    seq_step: u64,
}

impl Expander {
    /// `worker` of `workers` sets the `{seq}` values this expander hands
    /// out: `worker`, `worker + workers`, ...
    pub fn new(ids: Option<IdSpace>, seed: u64, worker: u64, workers: u64) -> Self {
        Self {
            rng: Rng::with_seed(seed),
            ids,
            seq: worker,
            seq_step: workers.max(1),
        }
    }

    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
}

impl Template {
    /// Parses `text`, with no named values; an unknown variable or a
    /// malformed argument is an error that names it.
    pub fn parse(text: &str) -> Result<Self, LoadError> {
        Self::parse_with(text, &Values::default())
    }

    /// Parses `text`, whose `{NAME}`s draw from `values`.
    pub fn parse_with(text: &str, values: &Values) -> Result<Self, LoadError> {
        let bytes = text.as_bytes();
        let mut parts = Vec::new();
        let mut literal = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'{' && bytes.get(i + 1) == Some(&b'{') {
                literal.push(b'{');
                i += 2;
                continue;
            }
            if b == b'{' && bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase) {
                let end = text[i..].find('}').map(|e| i + e).ok_or_else(|| {
                    LoadError::Template(format!(
                        "'{}' opens a variable that is never closed with '}}'",
                        &text[i..]
                    ))
                })?;
                let part = parse_variable(&text[i + 1..end], values)?;
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(part);
                i = end + 1;
                continue;
            }
            literal.push(b);
            i += 1;
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self { parts })
    }

    /// The template's text when it has no variables.
    pub fn as_literal(&self) -> Option<&[u8]> {
        match self.parts.as_slice() {
            [] => Some(&[]),
            [Part::Literal(l)] => Some(l),
            _ => None,
        }
    }

    /// Whether expansion needs the data set's seed and counts.
    pub fn needs_ids(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::AuthorId | Part::BookId))
    }

    /// Appends one expansion to `out`.
    ///
    /// # Panics
    /// Never for a template checked with [`Template::needs_ids`] against the
    /// expander's id space: the run refuses to start without one.
    pub fn expand_into(&self, ex: &mut Expander, out: &mut Vec<u8>) {
        for part in &self.parts {
            match part {
                Part::Literal(l) => out.extend_from_slice(l),
                Part::AuthorId => {
                    let ids = ex.ids.unwrap_or(EMPTY_IDS);
                    let index = ex.rng.u64(..ids.authors.max(1));
                    push_uuid(out, bookbench_datagen::ids::author_id(ids.seed, index));
                }
                Part::BookId => {
                    let ids = ex.ids.unwrap_or(EMPTY_IDS);
                    let index = ex.rng.u64(..ids.books.max(1));
                    push_uuid(out, bookbench_datagen::ids::book_id(ids.seed, index));
                }
                Part::Int { low, high } => {
                    let v = ex.rng.i64(*low..=*high);
                    push_int(out, v);
                }
                Part::Uuid => {
                    let bytes = ex.rng.u128(..).to_be_bytes();
                    push_uuid(out, uuid::Builder::from_random_bytes(bytes).into_uuid());
                }
                Part::Seq => {
                    let v = ex.seq;
                    ex.seq += ex.seq_step;
                    push_int(out, i64::try_from(v).unwrap_or(i64::MAX));
                }
                Part::Value(list) => push_value(out, list, &mut ex.rng),
            }
        }
    }

    /// One expansion as a string (for tests and messages).
    pub fn expand(&self, ex: &mut Expander) -> String {
        let mut out = Vec::new();
        self.expand_into(ex, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

const EMPTY_IDS: IdSpace = IdSpace {
    seed: 0,
    authors: 1,
    books: 1,
};

const VARIABLES: &str = "author_id, book_id, int:A..B, int:A..=B, uuid, seq";

fn parse_variable(inner: &str, values: &Values) -> Result<Part, LoadError> {
    if let Some(list) = values.get(inner) {
        return Ok(Part::Value(Arc::clone(list)));
    }
    let (name, arg) = match inner.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (inner, None),
    };
    let bad = |why: &str| LoadError::Template(format!("{{{inner}}}: {why}"));
    match (name, arg) {
        ("author_id", None) => Ok(Part::AuthorId),
        ("book_id", None) => Ok(Part::BookId),
        ("uuid", None) => Ok(Part::Uuid),
        ("seq", None) => Ok(Part::Seq),
        ("int", Some(range)) => {
            let (low, high, inclusive) = if let Some((a, b)) = range.split_once("..=") {
                (a, b, true)
            } else if let Some((a, b)) = range.split_once("..") {
                (a, b, false)
            } else {
                return Err(bad("expected a range A..B or A..=B"));
            };
            let parse = |s: &str| {
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| bad(&format!("'{s}' is not an integer")))
            };
            let (low, high) = (parse(low)?, parse(high)?);
            let high = if inclusive {
                high
            } else {
                high.checked_sub(1).ok_or_else(|| bad("empty range"))?
            };
            if low > high {
                return Err(bad("empty range"));
            }
            Ok(Part::Int { low, high })
        }
        ("author_id" | "book_id" | "uuid" | "seq", Some(_)) => {
            Err(bad(&format!("'{name}' takes no argument")))
        }
        ("int", None) => Err(bad("expected a range, as in {int:1..100}")),
        _ => {
            let named: Vec<&str> = values.names().collect();
            let named = if named.is_empty() {
                String::new()
            } else {
                format!("; this workload's values: {}", named.join(", "))
            };
            Err(LoadError::Template(format!(
                "unknown variable {{{name}}}; known variables: {VARIABLES}{named}"
            )))
        }
    }
}

/// Out of the expansion loop: inlined, it made every template's loop a few
/// instructions dearer (bench/scenario-counted.sh).
#[inline(never)]
fn push_value(out: &mut Vec<u8>, list: &[Box<[u8]>], rng: &mut Rng) {
    if let Some(v) = list.get(rng.usize(..list.len())) {
        out.extend_from_slice(v);
    }
}

fn push_uuid(out: &mut Vec<u8>, id: Uuid) {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ex() -> Expander {
        Expander::new(
            Some(IdSpace {
                seed: 7,
                authors: 10,
                books: 20,
            }),
            1,
            0,
            1,
        )
    }

    #[test]
    fn json_bodies_need_no_escaping() {
        let t = Template::parse(r#"{"id": "x", "n": {"a": 1}}"#).unwrap();
        assert_eq!(t.as_literal(), Some(&br#"{"id": "x", "n": {"a": 1}}"#[..]));
        let t = Template::parse("{{seq}").unwrap();
        assert_eq!(t.as_literal(), Some(&b"{seq}"[..]));
    }

    #[test]
    fn variables_expand() {
        let t = Template::parse("/a/{seq}/{seq}?x={int:-3..=-1}&u={uuid}").unwrap();
        let mut e = ex();
        let s = t.expand(&mut e);
        assert!(s.starts_with("/a/0/1?x=-"), "{s}");
        let u = s.rsplit("u=").next().unwrap();
        assert_eq!(Uuid::parse_str(u).unwrap().get_version_num(), 4);
        for _ in 0..100 {
            let v: i64 = Template::parse("{int:5..7}")
                .unwrap()
                .expand(&mut e)
                .parse()
                .unwrap();
            assert!((5..7).contains(&v));
        }
        let t = Template::parse("{author_id}").unwrap();
        assert!(t.needs_ids());
        let id = Uuid::parse_str(&t.expand(&mut e)).unwrap();
        assert!((0..10).any(|i| bookbench_datagen::ids::author_id(7, i) == id));
    }

    #[test]
    fn push_int_handles_extremes() {
        for v in [0, 9, 10, -1, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            push_int(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }

    #[test]
    fn named_values_are_drawn_from_their_list_and_checked() {
        let mut values = Values::default();
        values
            .insert("country", vec!["DE".into(), "FR".into()])
            .unwrap();
        let t = Template::parse_with("/c/{country}", &values).unwrap();
        let mut e = ex();
        let seen: std::collections::BTreeSet<String> = (0..64).map(|_| t.expand(&mut e)).collect();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["/c/DE", "/c/FR"]);
        let e = Template::parse_with("/c/{countri}", &values)
            .unwrap_err()
            .to_string();
        assert!(e.contains("this workload's values: country"), "{e}");
        for bad in ["seq", "Country", "1x", ""] {
            assert!(values.insert(bad, vec!["a".into()]).is_err(), "{bad}");
        }
        assert!(values.insert("country", vec!["a".into()]).is_err());
        assert!(values.insert("empty", Vec::new()).is_err());
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        let e = Template::parse("/x/{authorid}").unwrap_err().to_string();
        assert!(e.contains("unknown variable {authorid}"), "{e}");
        assert!(e.contains("author_id"), "{e}");
        for bad in ["{int:5..5}", "{int:a..b}", "{int}", "{uuid:3}", "{seq"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
