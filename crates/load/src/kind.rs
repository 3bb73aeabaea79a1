//! A request kind of a scenario, compiled for the engine: the bytes that
//! never change rendered once, the templates parsed once, and the check of
//! its response.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{HOST, HeaderName, HeaderValue};
use http::{Method, Uri};

use crate::LoadError;
use crate::scenario::{BodyCheck, RequestSpec};
use crate::stats::Verdict;
use crate::template::{Expander, IdSpace, Template, Values};
use crate::wire::{Check, RequestHead, Response};

/// Where requests go.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub addr: SocketAddr,
    pub host: HeaderValue,
    /// The URL's path without its trailing slash; request paths follow it.
    pub base_path: String,
}

/// One request kind, compiled: the bytes that never change rendered once,
/// the templates parsed once.
#[derive(Debug)]
pub(crate) struct Kind {
    head: RequestHead,
    path: Template,
    body: Option<Template>,
    /// The whole request when neither path nor body has a variable.
    fixed: Option<Vec<u8>>,
    pub(crate) head_request: bool,
    expect_status: Expect,
    pub(crate) check: Option<Check>,
    pub(crate) weight: u32,
}

/// The statuses that count as success, in the form checked fastest: most
/// kinds expect one.
#[derive(Debug)]
pub(crate) enum Expect {
    Any2xx,
    One(u16),
    Any(Vec<u16>),
}

impl Expect {
    /// From a specification's statuses: empty means any 2xx.
    pub(crate) fn new(statuses: &[u16]) -> Self {
        match statuses {
            [] => Self::Any2xx,
            [one] => Self::One(*one),
            many => Self::Any(many.to_vec()),
        }
    }

    pub(crate) fn accepts(&self, status: u16) -> bool {
        match self {
            Self::Any2xx => (200..300).contains(&status),
            Self::One(one) => status == *one,
            Self::Any(many) => many.contains(&status),
        }
    }
}

impl From<&BodyCheck> for Check {
    fn from(c: &BodyCheck) -> Self {
        match c {
            BodyCheck::StartsWith(s) => Self::StartsWith(s.as_bytes().to_vec()),
            BodyCheck::Contains(s) => Self::Contains(s.as_bytes().to_vec()),
        }
    }
}

/// A specification's header, checked.
pub(crate) fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), LoadError> {
    let n = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| LoadError::Config(format!("'{name}' is not a header name")))?;
    let v = HeaderValue::from_str(value.trim())
        .map_err(|_| LoadError::Config(format!("the value of header '{name}' is not valid")))?;
    Ok((n, v))
}

/// Headers the engine writes itself, from the request's body.
const FRAMING_HEADERS: [&str; 2] = ["content-length", "transfer-encoding"];

impl Kind {
    pub fn compile(
        spec: &RequestSpec,
        target: &Target,
        values: &Values,
    ) -> Result<Self, LoadError> {
        let method = Method::from_bytes(spec.method.as_bytes())
            .map_err(|_| LoadError::Config(format!("'{}' is not an HTTP method", spec.method)))?;
        let path = Template::parse_with(&spec.path, values)?;
        if !spec.path.starts_with('/') {
            return Err(LoadError::Config(format!(
                "the request path '{}' must start with '/'",
                spec.path
            )));
        }
        let body = spec
            .body
            .as_deref()
            .map(|b| Template::parse_with(b, values))
            .transpose()?;
        let mut headers = b" HTTP/1.1\r\n".to_vec();
        let mut own_host = false;
        for (name, value) in &spec.headers {
            let (n, v) = header(name, value)?;
            if FRAMING_HEADERS.contains(&n.as_str()) {
                return Err(LoadError::Config(format!(
                    "header '{name}' is set from the body; leave it out"
                )));
            }
            own_host |= n == HOST;
            header_line(&mut headers, n.as_str().as_bytes(), v.as_bytes());
        }
        if !own_host {
            header_line(&mut headers, b"host", target.host.as_bytes());
        }
        let mut start = method.as_str().as_bytes().to_vec();
        start.push(b' ');
        start.extend_from_slice(target.base_path.as_bytes());
        let head = RequestHead {
            start,
            headers,
            // A request that may carry a body says how long it is, even
            // when it is empty (RFC 9110, 8.6).
            sends_length: body.is_some()
                || matches!(method, Method::POST | Method::PUT | Method::PATCH),
        };
        let fixed = match (path.as_literal(), body.as_ref().map(Template::as_literal)) {
            (Some(p), None | Some(Some(_))) => {
                let b = body
                    .as_ref()
                    .and_then(Template::as_literal)
                    .unwrap_or_default();
                let mut out = Vec::new();
                head.render(p, b, &mut out);
                Some(out)
            }
            _ => None,
        };
        let check = spec.expect_body.as_ref().map(Check::from);
        // Expanded paths only ever differ by ids and digits: one that parses
        // as a URI means all do.
        let mut ex = Expander::new(Some(SAMPLE_IDS), 1, 0, 1);
        let mut sample = Vec::new();
        path.expand_into(&mut ex, &mut sample);
        make_uri(&target.base_path, &sample)?;
        Ok(Self {
            head,
            path,
            body,
            fixed,
            head_request: method == Method::HEAD,
            expect_status: Expect::new(&spec.expect_status),
            check,
            weight: spec.weight,
        })
    }

    pub fn needs_ids(&self) -> bool {
        self.path.needs_ids() || self.body.as_ref().is_some_and(Template::needs_ids)
    }

    /// The bytes of one request of this kind: the pre-rendered ones, or
    /// the templates expanded into `scratch`.
    pub(crate) fn render<'a>(&'a self, ex: &mut Expander, scratch: &'a mut Scratch) -> &'a [u8] {
        if let Some(fixed) = &self.fixed {
            return fixed;
        }
        scratch.path.clear();
        self.path.expand_into(ex, &mut scratch.path);
        scratch.body.clear();
        if let Some(body) = &self.body {
            body.expand_into(ex, &mut scratch.body);
        }
        self.head
            .render(&scratch.path, &scratch.body, &mut scratch.request);
        &scratch.request
    }

    pub(crate) fn verdict(&self, response: &Response) -> Verdict {
        if !self.expect_status.accepts(response.status) {
            Verdict::Status
        } else if self
            .check
            .as_ref()
            .is_some_and(|c| !c.passes(&response.seen))
        {
            Verdict::Body
        } else {
            Verdict::Ok
        }
    }
}

fn header_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// A user's buffers for expanding templates, reused from request to
/// request.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    path: Vec<u8>,
    body: Vec<u8>,
    request: Vec<u8>,
}

const SAMPLE_IDS: IdSpace = IdSpace {
    seed: 0,
    authors: 1,
    books: 1,
};

pub(crate) fn make_uri(base: &str, path: &[u8]) -> Result<Uri, LoadError> {
    let mut full = Vec::with_capacity(base.len() + path.len());
    full.extend_from_slice(base.as_bytes());
    full.extend_from_slice(path);
    Uri::from_maybe_shared(Bytes::from(full)).map_err(|e| {
        LoadError::Config(format!(
            "'{}{}' is not a valid request path: {e}",
            base,
            String::from_utf8_lossy(path)
        ))
    })
}
