//! Counting: one [`Stats`] per worker thread, merged at the end; latency in
//! HdrHistograms (microseconds, 3 significant figures) that serialize to the
//! V2 format so that runs on several machines merge exactly.

use std::collections::BTreeMap;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use crate::LoadError;

/// The largest latency a histogram holds: a day and an hour, in
/// microseconds (a run lasts at most a day, a timeout at most an hour).
const HIGHEST_US: u64 = 25 * 3_600 * 1_000_000;
const SIGFIG: u8 = 3;

/// How a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The TCP connection could not be made.
    Connect,
    /// No complete response within the timeout.
    Timeout,
    /// The connection failed while sending or reading: reset, closed
    /// mid-response, or an answer that is not HTTP.
    Read,
    /// A complete response with a status the workload does not expect.
    Status,
    /// A complete, expected status whose body fails the check.
    Body,
}

impl ErrorKind {
    pub const ALL: [Self; 5] = [
        Self::Connect,
        Self::Timeout,
        Self::Read,
        Self::Status,
        Self::Body,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Read => "read",
            Self::Status => "status",
            Self::Body => "body",
        }
    }
}

/// An empty latency histogram with the bounds every run uses.
pub fn new_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, HIGHEST_US, SIGFIG) {
        Ok(h) => h,
        // The bounds are constants that hdrhistogram accepts.
        Err(e) => unreachable!("histogram bounds: {e:?}"),
    }
}

/// What one worker thread counted.
#[derive(Debug)]
pub(crate) struct Stats {
    pub latency: Histogram<u64>,
    pub uncorrected: Option<Histogram<u64>>,
    pub sent: u64,
    /// Requests that ended: a complete response, a timeout or a failure.
    pub finished: u64,
    pub ok: u64,
    pub errors: [u64; 5],
    /// Indexed by status code (hyper's codes are 100..=999).
    pub status: Vec<u64>,
    pub late: u64,
    pub bytes: u64,
    pub connects: u64,
    pub samples: Option<Vec<u64>>,
}

impl Stats {
    pub fn new(open_loop: bool, record_samples: bool) -> Self {
        Self {
            latency: new_histogram(),
            uncorrected: open_loop.then(new_histogram),
            sent: 0,
            finished: 0,
            ok: 0,
            errors: [0; 5],
            status: vec![0; 1000],
            late: 0,
            bytes: 0,
            connects: 0,
            samples: record_samples.then(Vec::new),
        }
    }

    pub fn error(&mut self, kind: ErrorKind) {
        self.errors[kind as usize] += 1;
    }

    pub fn error_count(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// A complete response: its latency (corrected, and as sent), its
    /// status, and the verdict of the checks.
    pub fn response(
        &mut self,
        corrected_us: u64,
        uncorrected_us: u64,
        status: u16,
        verdict: Verdict,
    ) {
        self.finished += 1;
        self.latency.saturating_record(corrected_us);
        if let Some(h) = &mut self.uncorrected {
            h.saturating_record(uncorrected_us);
        }
        if let Some(s) = &mut self.samples {
            s.push(corrected_us);
        }
        if let Some(c) = self.status.get_mut(usize::from(status)) {
            *c += 1;
        }
        match verdict {
            Verdict::Ok => self.ok += 1,
            Verdict::Status => self.error(ErrorKind::Status),
            Verdict::Body => self.error(ErrorKind::Body),
        }
    }

    pub fn merge(&mut self, other: Self) -> Result<(), LoadError> {
        let add = |a: &mut Histogram<u64>, b: &Histogram<u64>| {
            a.add(b)
                .map_err(|e| LoadError::Histogram(format!("merging: {e:?}")))
        };
        add(&mut self.latency, &other.latency)?;
        if let (Some(a), Some(b)) = (&mut self.uncorrected, &other.uncorrected) {
            add(a, b)?;
        }
        self.sent += other.sent;
        self.finished += other.finished;
        self.ok += other.ok;
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        for (a, b) in self.status.iter_mut().zip(other.status) {
            *a += b;
        }
        self.late += other.late;
        self.bytes += other.bytes;
        self.connects += other.connects;
        if let (Some(a), Some(b)) = (&mut self.samples, other.samples) {
            a.extend(b);
        }
        Ok(())
    }
}

/// The outcome of the checks on a complete response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Ok,
    Status,
    Body,
}

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub p9999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        let q = |q: f64| h.value_at_quantile(q);
        Self {
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            p9999: q(0.9999),
            max: h.max(),
            mean: (h.mean() * 10.0).round() / 10.0,
        }
    }
}

/// A histogram as it travels in the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodedHistogram {
    /// `hdrhistogram-v2-deflate+base64`: the HdrHistogram V2 compressed
    /// format (any HdrHistogram library decodes it), in standard base64.
    pub encoding: String,
    pub unit: String,
    pub data: String,
}

pub const ENCODING: &str = "hdrhistogram-v2-deflate+base64";

impl EncodedHistogram {
    pub fn encode(h: &Histogram<u64>) -> Result<Self, LoadError> {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(h, &mut bytes)
            .map_err(|e| LoadError::Histogram(format!("serializing: {e:?}")))?;
        Ok(Self {
            encoding: ENCODING.to_string(),
            unit: "us".to_string(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }

    /// Decodes the V2 format, compressed or not.
    pub fn decode(&self) -> Result<Histogram<u64>, LoadError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.data.trim())
            .map_err(|e| LoadError::Histogram(format!("not base64: {e}")))?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| LoadError::Histogram(format!("not an HdrHistogram V2 histogram: {e:?}")))
    }
}

/// Merges histograms (from reports of several runs or machines) into one;
/// its percentiles are those of one run over all their requests.
pub fn merge_histograms<'a>(
    encoded: impl IntoIterator<Item = &'a EncodedHistogram>,
) -> Result<Histogram<u64>, LoadError> {
    let mut total = new_histogram();
    for e in encoded {
        let h = e.decode()?;
        total
            .add(&h)
            .map_err(|e| LoadError::Histogram(format!("merging: {e:?}")))?;
    }
    Ok(total)
}

/// The nonzero status counts by code.
pub(crate) fn status_map(status: &[u64]) -> BTreeMap<String, u64> {
    status
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(code, n)| (code.to_string(), *n))
        .collect()
}
