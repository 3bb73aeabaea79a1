//! Per-request instrumentation, as one middleware: a tracing span, the
//! request timeout, Prometheus metrics (request count and latency by
//! method, matched route and status) and the optional access log.
//!
//! The metric handles of each (route, method, status) are looked up once
//! and kept: the hot path is a short map lookup, an atomic add and a
//! histogram observation. A histogram counts its sample into its bucket at
//! once, so no timer drains samples later: a request's whole cost is paid
//! while it is served, which `bookbench cost` counts.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument as _;

use crate::error::AppError;

/// Latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The labels of every request metric, in this order.
const LABELS: [&str; 3] = ["method", "route", "status"];

/// One application's metrics: its own registry, so that applications in
/// one process (tests build many) count apart.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: PoolGauges,
}

/// The database pool's use, set when the metrics are read.
#[derive(Debug, Clone)]
struct PoolGauges {
    max: IntGauge,
    connections: IntGauge,
    idle: IntGauge,
    in_use: IntGauge,
    waiting: IntGauge,
}

impl Metrics {
    /// Fails only when a metric's name, labels or buckets are invalid.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "Requests answered"),
            &LABELS,
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from a request's arrival to its answer",
            )
            .buckets(BUCKETS.to_vec()),
            &LABELS,
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let pool = PoolGauges {
            max: gauge(
                "db_pool_max_connections",
                "The most connections the pool holds",
            )?,
            connections: gauge("db_pool_connections", "Connections open")?,
            idle: gauge("db_pool_idle_connections", "Connections open and free")?,
            in_use: gauge(
                "db_pool_in_use_connections",
                "Connections serving a request",
            )?,
            waiting: gauge(
                "db_pool_waiting_requests",
                "Requests waiting for a connection",
            )?,
        };
        Ok(Self {
            registry,
            requests,
            latency,
            pool,
        })
    }

    /// Prometheus text (format 0.0.4), with the pool's use as of now.
    pub fn render(&self, pool: &deadpool_postgres::Status) -> Result<String, AppError> {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.pool.max.set(count(pool.max_size));
        self.pool.connections.set(count(pool.size));
        self.pool.idle.set(count(pool.available));
        self.pool
            .in_use
            .set(count(pool.size.saturating_sub(pool.available)));
        self.pool.waiting.set(count(pool.waiting));
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .map_err(|e| AppError::Internal(format!("cannot render the metrics: {e}")))?;
        String::from_utf8(text)
            .map_err(|e| AppError::Internal(format!("the metrics are not UTF-8: {e}")))
    }
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
    metrics: Metrics,
    handles: Mutex<HandleMap>,
}

/// Route, then (method, status), to the metric handles.
type HandleMap = HashMap<Box<str>, HashMap<(&'static str, u16), Handles>>;

#[derive(Debug, Clone)]
struct Handles {
    count: IntCounter,
    latency: Histogram,
}

impl Telemetry {
    pub fn new(metrics: Metrics, timeout: Duration, access_log: bool) -> Self {
        Self {
            timeout,
            access_log,
            extra_work: 0,
            metrics,
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
                    let status = status.to_string();
                    let labels = [method, route, status.as_str()];
                    Handles {
                        count: self.metrics.requests.with_label_values(&labels),
                        latency: self.metrics.latency.with_label_values(&labels),
                    }
                })
                .clone()
        };
        handles.count.inc();
        handles.latency.observe(seconds);
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
