//! The load generator behind `bookbench load`.
//!
//! One keep-alive HTTP/1.1 connection per virtual user, a current-thread
//! runtime per worker thread, requests made from templates parsed before the
//! run. Closed loop (each user sends its next request when the last one is
//! answered, as wrk does) or open loop (requests due on a fixed schedule,
//! latency measured from the due time so that a stalled server cannot hide
//! behind the requests it kept from being sent, as wrk2 does). Latencies go
//! into one HdrHistogram per worker, merged at the end and serialized in the
//! V2 format so that runs merge exactly.
//!
//! ```no_run
//! let config = bookbench_load::LoadConfig::scenario("http://127.0.0.1:8080", "hello-get")?;
//! let report = bookbench_load::run(&config)?;
//! println!("{}", report.summary());
//! # Ok::<(), bookbench_load::LoadError>(())
//! ```

mod config;
mod coordinator;
mod cpu;
mod engine;
mod error;
mod kind;
mod report;
mod scenario;
mod session;
mod setup;
mod stats;
mod summary;
mod target;
mod template;
mod wire;
mod workload;

pub use config::{
    LoadConfig, MAX_CONNECTIONS, MAX_DURATION, MAX_RATE, MAX_TIMEOUT, parse_duration,
};
pub use coordinator::{Tick, run, run_with};
pub use engine::LATE_AFTER;
pub use error::LoadError;
pub use report::{
    CLIENT_BOUND_BUSY, ClientCpu, Errors, Flag, Mode, REPORT_VERSION, Report, Schedule,
};
pub use scenario::{BodyCheck, RequestSpec, scenario};
pub use session::{Session, Window};
pub use setup::prepare;
pub use stats::{
    ENCODING, EncodedHistogram, ErrorKind, Percentiles, merge_histograms, new_histogram,
};
pub use template::{Expander, IdSpace, Template, Values};
pub use workload::{Capture, SCENARIOS, SetupStep, Workload, Workloads};
