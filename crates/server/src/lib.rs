//! The bookstore server: every endpoint, rule and error of the API contract,
//! on axum and PostgreSQL.
//!
//! [`Application::build`] connects, reads the reference data and binds;
//! [`Application::run_until_stopped`] serves until SIGINT or SIGTERM, then
//! drains the requests in flight. Each resource is a module with its own
//! `router()`, its SQL and the code that maps its rows.

pub mod allocator;
pub mod error;
pub mod extract;
pub mod refdata;
mod routes;
mod telemetry;
pub mod types;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::net::TcpListener;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use error::AppError;

use crate::refdata::RefData;
use crate::telemetry::{Metrics, Telemetry};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The PostgreSQL to serve from (a `postgres://` URL).
    pub database_url: String,
    /// The most connections the pool holds.
    pub pool_size: usize,
    /// The longest a request may take before it is answered with 503.
    pub request_timeout: Duration,
    /// Write one line per request to standard output.
    pub access_log: bool,
    /// Iterations of a busy loop run before every request: a known extra
    /// cost per request, for checking that `bookbench cost` finds one (0:
    /// none).
    pub extra_work: u64,
}

impl Config {
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> Self {
        Self {
            listen,
            database_url: database_url.into(),
            pool_size: 10,
            request_timeout: Duration::from_secs(10),
            access_log: false,
            extra_work: 0,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid database URL: {0}")]
    DatabaseUrl(String),
    #[error("cannot create the connection pool: {0}")]
    Pool(String),
    #[error("cannot set up the metrics: {0}")]
    Metrics(String),
    #[error("cannot read the reference data from the database: {0}")]
    Database(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    pool: Pool,
    refdata: RefData,
    metrics: Metrics,
}

impl AppState {
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    pub fn refdata(&self) -> &RefData {
        &self.inner.refdata
    }

    fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }
}

/// A server, bound and ready to run.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Creates the pool, reads the reference data (so the database must
    /// answer now) and binds the listener.
    pub async fn build(config: Config) -> Result<Self, BuildError> {
        let pool = pool(&config)?;
        let client = pool
            .get()
            .await
            .map_err(|e| BuildError::Database(bookbench_errors::chain(&e)))?;
        let refdata = RefData::load(&**client)
            .await
            .map_err(|e| BuildError::Database(bookbench_errors::chain(&e)))?;
        drop(client);
        let metrics = Metrics::new().map_err(|e| BuildError::Metrics(e.to_string()))?;
        let state = AppState {
            inner: Arc::new(Shared {
                pool,
                refdata,
                metrics: metrics.clone(),
            }),
        };
        let telemetry = Arc::new(
            Telemetry::new(metrics, config.request_timeout, config.access_log)
                .with_extra_work(config.extra_work),
        );
        let router = router(state, telemetry);
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| BuildError::Bind {
                    addr: config.listen,
                    source,
                })?;
        Ok(Self { listener, router })
    }

    /// The address it listens on (with the real port when 0 was asked).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGINT or SIGTERM, then stops accepting, lets the
    /// requests in flight finish and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then drains as above.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

fn pool(config: &Config) -> Result<Pool, BuildError> {
    let mut pg: tokio_postgres::Config = config
        .database_url
        .parse()
        .map_err(|e: tokio_postgres::Error| BuildError::DatabaseUrl(e.to_string()))?;
    pg.connect_timeout(Duration::from_secs(3));
    pg.application_name("bookbench-server");
    let manager = Manager::from_config(
        pg,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(config.pool_size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(config.request_timeout))
        .create_timeout(Some(Duration::from_secs(3)))
        .recycle_timeout(Some(Duration::from_secs(3)))
        .build()
        .map_err(|e| BuildError::Pool(e.to_string()))
}

/// The whole API, with its OpenAPI description and the middleware.
fn router(state: AppState, telemetry: Arc<Telemetry>) -> Router {
    let (api, openapi) = api_router().split_for_parts();
    let swagger = utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", openapi);
    api.merge(swagger)
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state)
        .layer(telemetry::InstrumentLayer(telemetry))
}

/// `iterations` of a loop the compiler cannot remove: the same
/// instructions every time.
pub(crate) fn busy(iterations: u64) {
    let mut x = 0_u64;
    for i in 0..iterations {
        x = std::hint::black_box(x.wrapping_add(i));
    }
    std::hint::black_box(x);
}

/// The OpenAPI description of the whole API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "bookbench bookstore API",
        description = "A publishing house's authors and books: the API contract of the bookbench benchmark.",
        license(name = "MIT OR Apache-2.0")
    ),
    tags(
        (name = "hello", description = "The hello-world baseline"),
        (name = "authors", description = "Authors and their books"),
        (name = "books", description = "Books"),
        (name = "reference", description = "Countries and genres"),
        (name = "operations", description = "Health and metrics")
    )
)]
struct ApiDoc;

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::hello::router())
        .merge(routes::author::router())
        .merge(routes::book::router())
        .merge(routes::reference::router())
        .merge(routes::ops::router())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining requests in flight");
}
