//! A workload's setup: its `[[setup]]` requests sent once, in order, before
//! the load, each answer checked, and what their captures select from the
//! answers' JSON kept as named values for the load's templates.

use std::time::Duration;

use bytes::Bytes;
use http::header::HOST;
use http::{Method, Request};
use http_body_util::{BodyExt as _, Full, Limited};

use crate::kind::{Expect, Target, header, make_uri};
use crate::target::target;
use crate::template::{Expander, Template};
use crate::wire::Check;
use crate::workload::SetupStep;
use crate::{LoadConfig, LoadError};

/// The most of a setup answer's body that is read.
const BODY_LIMIT: usize = 64 << 20;

/// Setup's `{seq}` values start here, so that they never meet the load's.
const SETUP_SEQ_START: u64 = 1 << 40;

/// Sends the config's setup requests and adds their captures to its values;
/// the config then has no setup left. An answer with an unexpected status
/// or body, or a capture that selects nothing, is an error naming the
/// request's place in its file.
pub fn prepare(config: &mut LoadConfig) -> Result<(), LoadError> {
    if config.setup.is_empty() {
        return Ok(());
    }
    let target = target(&config.url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LoadError::Runtime)?;
    let mut ex = Expander::new(
        config.ids,
        config.rng_seed.unwrap_or_else(|| fastrand::u64(..)),
        SETUP_SEQ_START,
        1,
    );
    for step in std::mem::take(&mut config.setup) {
        let fail = |message: String| LoadError::Setup {
            at: step.at.clone(),
            message,
        };
        let request = &step.request;
        let path = Template::parse_with(&request.path, &config.values)?;
        let body = request
            .body
            .as_deref()
            .map(|b| Template::parse_with(b, &config.values))
            .transpose()?;
        if config.ids.is_none()
            && (path.needs_ids() || body.as_ref().is_some_and(Template::needs_ids))
        {
            return Err(LoadError::NeedIds);
        }
        let path = path.expand(&mut ex);
        let body = body.map(|b| b.expand(&mut ex)).unwrap_or_default();
        let shown = format!("{} {path}", request.method);
        let (status, answer) = runtime
            .block_on(send(&target, &step, &path, body, config.timeout))
            .map_err(|m| fail(format!("{shown}: {m}")))?;
        if !Expect::new(&request.expect_status).accepts(status) {
            let expected = if request.expect_status.is_empty() {
                "a 2xx".to_string()
            } else {
                join(&request.expect_status)
            };
            return Err(fail(format!(
                "{shown} answered {status}, not {expected}: {}",
                excerpt(&answer)
            )));
        }
        if request
            .expect_body
            .as_ref()
            .is_some_and(|c| !Check::from(c).passes(&answer))
        {
            return Err(fail(format!(
                "{shown}: the answer's body is not as expected: {}",
                excerpt(&answer)
            )));
        }
        if step.captures.is_empty() {
            continue;
        }
        let json: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| {
            fail(format!(
                "{shown}: a capture reads a JSON body, and this one is not JSON ({e}): {}",
                excerpt(&answer)
            ))
        })?;
        for capture in &step.captures {
            let found: Vec<String> = capture
                .path
                .query(&json)
                .all()
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            if found.is_empty() {
                return Err(LoadError::Setup {
                    at: capture.at.clone(),
                    message: format!(
                        "capture '{}' ({}) found nothing in the answer to {shown}: {}",
                        capture.name,
                        capture.expression,
                        excerpt(&answer)
                    ),
                });
            }
            config
                .values
                .insert(&capture.name, found)
                .map_err(|e| fail(e.to_string()))?;
        }
    }
    Ok(())
}

/// One request on a connection of its own; its status and body.
async fn send(
    target: &Target,
    step: &SetupStep,
    path: &str,
    body: String,
    timeout: Duration,
) -> Result<(u16, Bytes), String> {
    let spec = &step.request;
    let method = Method::from_bytes(spec.method.as_bytes())
        .map_err(|_| format!("'{}' is not an HTTP method", spec.method))?;
    let uri = make_uri(&target.base_path, path.as_bytes()).map_err(|e| e.to_string())?;
    let mut request = Request::new(Full::new(Bytes::from(body)));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(HOST, target.host.clone());
    for (name, value) in &spec.headers {
        let (n, v) = header(name, value).map_err(|e| e.to_string())?;
        headers.insert(n, v);
    }
    let exchange = async {
        let (mut sender, conn) = crate::engine::connect_hyper(target.addr, timeout)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", target.addr))?;
        let driver = tokio::spawn(conn);
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("no answer: {}", bookbench_errors::chain(&e)))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), BODY_LIMIT)
            .collect()
            .await
            .map_err(|e| format!("cannot read the answer's body: {e}"))?
            .to_bytes();
        driver.abort();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
}

fn join(statuses: &[u16]) -> String {
    statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The start of a body, on one line, for a message.
fn excerpt(body: &[u8]) -> String {
    const SHOWN: usize = 160;
    let text = String::from_utf8_lossy(&body[..body.len().min(SHOWN)]);
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.len() > SHOWN {
        line.push('…');
    }
    if line.trim().is_empty() {
        "(empty body)".to_string()
    } else {
        line
    }
}
