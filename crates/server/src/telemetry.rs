//! Per-request instrumentation, as one middleware: a tracing span, the
//! request timeout, Prometheus metrics (request count and latency by
//! method, matched route and status) and the optional access log.
//!
//! The metric handles of each (route, method, status) are looked up once
//! and kept: the hot path is a short map lookup, an atomic add and a
//! histogram record.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument as _;

use crate::error::AppError;

/// Latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's Prometheus recorder: installed once, shared by every
/// application in the process (tests build many).
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = match builder.set_buckets(BUCKETS) {
                Ok(b) => b,
                Err(_) => PrometheusBuilder::new(),
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only when another recorder is installed; then this
            // handle renders no request metrics, which /metrics shows.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

#[derive(Debug)]
pub struct Telemetry {
    timeout: Duration,
    access_log: bool,
    /// Iterations of a busy loop before every request (`serve
    /// --extra-work`): a known extra cost, for calibration. Run here, in
    /// the one layer every request passes, so that adding it adds no step
    /// of its own.
    extra_work: u64,
    handles: Mutex<HandleMap>,
}

/// Route, then (method, status), to the metric handles.
type HandleMap = HashMap<Box<str>, HashMap<(&'static str, u16), Handles>>;

#[derive(Debug, Clone)]
struct Handles {
    count: Counter,
    latency: Histogram,
}

impl Telemetry {
    pub fn new(timeout: Duration, access_log: bool) -> Self {
        Self {
            timeout,
            access_log,
            extra_work: 0,
            handles: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_extra_work(mut self, iterations: u64) -> Self {
        self.extra_work = iterations;
        self
    }

    fn record(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        let handles = {
            let mut map = match self.handles.lock() {
                Ok(map) => map,
                Err(poisoned) => poisoned.into_inner(),
            };
            let per_route = match map.get_mut(route) {
                Some(per_route) => per_route,
                None => map.entry(route.into()).or_default(),
            };
            per_route
                .entry((method, status))
                .or_insert_with(|| {
                    let labels = [
                        ("method", method.to_string()),
                        ("route", route.to_string()),
                        ("status", status.to_string()),
                    ];
                    Handles {
                        count: metrics::counter!("http_requests_total", &labels),
                        latency: metrics::histogram!("http_request_duration_seconds", &labels),
                    }
                })
                .clone()
        };
        handles.count.increment(1);
        handles.latency.record(seconds);
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The middleware, as a tower layer: wraps every request, matched or not.
/// (A hand-written service rather than `from_fn`: it costs one allocation
/// per request, and the hello-world baseline notices.)
#[derive(Debug, Clone)]
pub struct InstrumentLayer(pub Arc<Telemetry>);

impl<S> Layer<S> for InstrumentLayer {
    type Service = Instrument<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Instrument {
            inner,
            telemetry: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Instrument<S> {
    inner: S,
    telemetry: Arc<Telemetry>,
}

impl<S> Service<Request> for Instrument<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // One clock read at the start serves both the deadline and the
        // latency.
        let start = Instant::now();
        let t = self.telemetry.clone();
        if t.extra_work > 0 {
            crate::busy(t.extra_work);
        }
        let method = method_label(req.method());
        let route: Option<MatchedPath> = req.extensions().get::<MatchedPath>().cloned();
        let access = t
            .access_log
            .then(|| (req.method().clone(), req.uri().to_string()));
        let span = tracing::debug_span!("request", method, uri = %req.uri());
        let response = self.inner.call(req).instrument(span);
        Box::pin(async move {
            let deadline = tokio::time::Instant::from_std(start) + t.timeout;
            let response = match tokio::time::timeout_at(deadline, response).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => AppError::Timeout.into_response(),
            };
            let elapsed = start.elapsed();
            let status = response.status().as_u16();
            let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
            t.record(route, method, status, elapsed.as_secs_f64());
            if let Some((method, uri)) = access {
                let line = format!(
                    "{} {method} {uri} {status} {:.3}ms\n",
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                    elapsed.as_secs_f64() * 1e3
                );
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
            Ok(response)
        })
    }
}
