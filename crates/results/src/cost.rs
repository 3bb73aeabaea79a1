//! Counted cost per request (`bookbench cost`): what a request costs a
//! target in instructions and system calls, counted by valgrind's callgrind
//! in windows of a fixed number of requests, and what it costs the database
//! in statements, rows and buffers (pg_stat_statements). Counts, not
//! times: a window's figures repeat to a fraction of a percent where timing
//! varies by tens, and are never presented as time.
//!
//! A point keeps every window. The windows before the counts settle
//! (consecutive windows agreeing within the run's tolerance) are its
//! warm-up; its figures are the medians of the settled windows, with their
//! spread.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a cost run counted: recorded once per run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CostRun {
    /// `valgrind --version`, e.g. `valgrind-3.19.0`.
    pub valgrind: String,
    /// Requests of one window, at the point's concurrency.
    pub requests_per_window: u64,
    /// Scenarios counted in windows of their own size (a deep offset
    /// page's, every request the same and slow in the database).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests_per_window_by_scenario: BTreeMap<String, u64>,
    /// Consecutive windows whose instructions per request differ by less
    /// than this fraction have settled (0.005: 0.5%).
    pub tolerance: f64,
    /// Windows a point may take, warm-up included, before it is reported
    /// as not settled.
    pub max_windows: u32,
    /// Settled windows a figure needs.
    pub settled_windows: u32,
    /// Seconds of the idle window that measures each target's cost per
    /// second with no request (timers, heartbeats), subtracted from every
    /// window in proportion to its length.
    pub idle_window_s: f64,
    /// What was fixed so that counts repeat: the environment and valgrind's
    /// options, as given to every target.
    pub determinism: Vec<String>,
    /// A cost ratio is judged costlier or cheaper only beyond this
    /// fraction (from an A/A calibration).
    pub threshold: f64,
    /// Where the database's work was read (`pg_stat_statements, planning
    /// included`), or why it was not.
    pub database_statistics: String,
    /// How the database's own instructions were counted, or why they were
    /// not (results before version 4: not counted).
    #[serde(default)]
    pub database_instructions: String,
    /// The load generator's seed: with the requests a window, which
    /// requests every window sent (not recorded before 2026-12-06).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Each target was started this many times, in as many memory layouts
    /// (its environment larger by another amount each time), and compared
    /// across them (1: once, compared by windows; not recorded before
    /// 2026-12-06).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub layouts: u32,
}

impl CostRun {
    /// Requests a window at `scenario`.
    pub fn requests_at(&self, scenario: &str) -> u64 {
        self.requests_per_window_by_scenario
            .get(scenario)
            .copied()
            .unwrap_or(self.requests_per_window)
    }

    /// `50 requests a window (author-offset-500k: 10)`.
    pub fn windows(&self) -> String {
        let own: Vec<String> = self
            .requests_per_window_by_scenario
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        if own.is_empty() {
            format!("{} requests a window", self.requests_per_window)
        } else {
            format!(
                "{} requests a window ({})",
                self.requests_per_window,
                own.join(", ")
            )
        }
    }
}

/// The database's work over a window, from pg_stat_statements over the
/// target's database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DatabaseWork {
    pub statements: u64,
    pub rows: u64,
    pub shared_blocks_hit: u64,
    pub shared_blocks_read: u64,
}

/// One window: `requests` sent at the point's concurrency, the target's
/// processes' counters zeroed before and dumped after.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CostWindow {
    pub requests: u64,
    /// Answered as the scenario expects.
    pub ok: u64,
    pub duration_s: f64,
    /// Instructions of every process of the target (every worker, the
    /// master, all threads), before the idle cost is subtracted.
    pub instructions: u64,
    /// The idle cost of the window's length subtracted from
    /// `instructions` in the figures.
    pub idle_instructions: u64,
    pub system_calls: u64,
    /// Processes counted (a master and its workers).
    pub processes: u32,
    /// Bytes of the responses, as the load generator read them.
    pub bytes_received: u64,
    /// `None` where the database's statistics could not be read.
    pub database: Option<DatabaseWork>,
    /// CPython's type-cache misses, included in `instructions`; zero for
    /// another runtime, `None` where they could not be told apart (an
    /// interpreter with its search inlined, or results older than them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_cache: Option<TypeCacheMisses>,
    /// Connections the load generator opened during the window: none where
    /// the target keeps them open between windows, one a request where it
    /// closes each, more where it closed kept ones between windows; their
    /// setting up is in `instructions`. `None` in results from before
    /// windows kept their connections (each window then opened one a
    /// connection of the point's concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connects: Option<u64>,
}

/// CPython looks attributes up on types through a cache indexed by the
/// address of the attribute's name; on a miss it searches the class
/// hierarchy. Which lookups miss follows from where the process laid out
/// its memory, so this is the part of a CPython count that moves from one
/// start to the next (docs/method.md, "Where a program is placed").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TypeCacheMisses {
    /// Searches after a miss.
    pub misses: u64,
    /// The instructions of those searches.
    pub instructions: u64,
}

impl CostWindow {
    /// Instructions per request with the idle cost taken out; `None`
    /// without a request.
    pub fn instructions_per_request(&self) -> Option<f64> {
        (self.requests > 0).then(|| {
            self.instructions.saturating_sub(self.idle_instructions) as f64 / self.requests as f64
        })
    }

    /// Instructions per request with the idle cost and CPython's type-cache
    /// misses taken out: what does not move with the process's layout.
    /// `None` without a request or where the misses were not told apart.
    pub fn instructions_less_misses_per_request(&self) -> Option<f64> {
        let misses = self.type_cache?.instructions as f64 / self.requests.max(1) as f64;
        self.instructions_per_request()
            .map(|all| (all - misses).max(0.0))
    }

    /// The database's shared buffers (hit and read) per request; 0 where
    /// they were not read.
    pub fn buffers_per_request(&self) -> f64 {
        self.database.map_or(0.0, |d| {
            d.shared_blocks_hit.saturating_add(d.shared_blocks_read) as f64
                / self.requests.max(1) as f64
        })
    }

    /// Consecutive windows as one: their counts summed (the database's
    /// only where every window has them).
    pub fn merged(windows: &[CostWindow]) -> Option<CostWindow> {
        let (first, rest) = windows.split_first()?;
        Some(rest.iter().fold(first.clone(), |mut all, w| {
            all.requests += w.requests;
            all.ok += w.ok;
            all.duration_s += w.duration_s;
            all.instructions = all.instructions.saturating_add(w.instructions);
            all.idle_instructions = all.idle_instructions.saturating_add(w.idle_instructions);
            all.system_calls = all.system_calls.saturating_add(w.system_calls);
            all.processes = all.processes.max(w.processes);
            all.bytes_received = all.bytes_received.saturating_add(w.bytes_received);
            all.database = all.database.zip(w.database).map(|(a, b)| DatabaseWork {
                statements: a.statements.saturating_add(b.statements),
                rows: a.rows.saturating_add(b.rows),
                shared_blocks_hit: a.shared_blocks_hit.saturating_add(b.shared_blocks_hit),
                shared_blocks_read: a.shared_blocks_read.saturating_add(b.shared_blocks_read),
            });
            all.type_cache = all
                .type_cache
                .zip(w.type_cache)
                .map(|(a, b)| TypeCacheMisses {
                    misses: a.misses.saturating_add(b.misses),
                    instructions: a.instructions.saturating_add(b.instructions),
                });
            all
        }))
    }
}

/// What a request costs, per request: medians of the settled windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PerRequest {
    pub instructions: f64,
    pub system_calls: f64,
    pub bytes_received: f64,
    pub db_statements: Option<f64>,
    pub db_rows: Option<f64>,
    pub db_shared_blocks_hit: Option<f64>,
    pub db_shared_blocks_read: Option<f64>,
    /// CPython's type-cache misses (`TypeCacheMisses`) per request, where
    /// told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_cache_misses: Option<f64>,
    /// Their instructions per request, included in `instructions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_cache_instructions: Option<f64>,
}

/// A share of the target's instructions that ran in one object (the
/// interpreter, a C extension, libc, JIT code in anonymous memory, the
/// Rust binary), over the settled windows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ObjectShare {
    /// The object's file name (`libpython3.11.so.1.0`); `JIT or unknown`
    /// for code outside any file.
    pub object: String,
    /// Of the instructions counted in the objects (0.42: 42%).
    pub share: f64,
}

/// How a point's counting ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CostStatus {
    /// Consecutive windows agreed within the tolerance.
    Settled,
    /// The windows ran out first: the figures are of the last windows,
    /// flagged.
    NotSettled,
    /// Counting failed; `reason` says why.
    Failed,
}

impl CostStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Settled => "settled",
            Self::NotSettled => "not settled",
            Self::Failed => "failed",
        }
    }
}

/// A target's cost against its reference's at one point: the ratio of
/// instructions per request, and the range of the ratios of any settled
/// window of one to any of the other; across layouts, the ratio of the
/// layouts' geometric means with its 95% interval.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CostComparison {
    pub reference: String,
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
    pub verdict: CostVerdict,
    #[serde(default, skip_serializing_if = "Basis::is_windows")]
    pub basis: Basis,
}

/// What a cost ratio's bounds are drawn from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The settled windows of one start each: the range of any window's
    /// ratio to any other's. Blind to where each process laid out its
    /// memory, which the threshold must cover.
    #[default]
    Windows,
    /// Several starts each, in other memory layouts: a 95% Welch interval
    /// on the ratio of the geometric means of the layouts' medians, which
    /// holds the layouts' bias.
    Layouts,
    /// The settled windows of one start each, as `Windows`, of the
    /// instructions less CPython's type-cache misses: the part of the count
    /// that does not move with the layout. The misses are set beside it.
    WindowsLessMisses,
}

impl Basis {
    pub fn is_windows(&self) -> bool {
        *self == Self::Windows
    }
}

/// A cost ratio judged against the run's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CostVerdict {
    Costlier,
    Cheaper,
    NoSignificantDifference,
}

impl CostVerdict {
    /// Costlier or cheaper only when the whole range lies beyond the
    /// threshold.
    pub fn judge(low: f64, high: f64, threshold: f64) -> Self {
        if low > 1.0 + threshold {
            Self::Costlier
        } else if high < 1.0 - threshold {
            Self::Cheaper
        } else {
            Self::NoSignificantDifference
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Costlier => "costlier",
            Self::Cheaper => "cheaper",
            Self::NoSignificantDifference => "no significant difference",
        }
    }
}

/// The least threshold at which whole counts of one start are judged: the
/// same CPython app moves by up to 6% between starts, mostly in its
/// type-cache misses (docs/method.md), and a count whose misses could not be
/// told apart keeps that movement; no A/A has set a smaller one for the
/// database's instructions.
pub const ONE_START_WHOLE_COUNT_THRESHOLD: f64 = 0.05;

/// The threshold whole counts of one start are judged beyond, in a run
/// whose threshold is `threshold`.
pub fn whole_count_threshold(threshold: f64) -> f64 {
    threshold.max(ONE_START_WHOLE_COUNT_THRESHOLD)
}

/// A target's counted cost at one scenario and concurrency.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CostPoint {
    pub target: String,
    pub scenario: String,
    pub concurrency: u32,
    pub status: CostStatus,
    /// Why counting failed, or what else a reader must know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Windows before the settled ones.
    pub warmup_windows: u32,
    /// The settled windows were judged, and are summed, in consecutive
    /// groups of this many (1: each alone). A cost that recurs less often
    /// than once a window (a collector's older generation) makes single
    /// windows alternate around a steady mean; groups that each hold it
    /// about once agree, as longer windows would.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub merged: u32,
    /// The target's instructions per second with no request, measured once
    /// per target before its first point.
    pub idle_instructions_per_s: f64,
    pub windows: Vec<CostWindow>,
    /// `None` when no window counted.
    pub per_request: Option<PerRequest>,
    /// (largest − smallest) / median of the settled windows' instructions
    /// per request.
    pub spread: Option<f64>,
    /// The largest shares of the instructions, by object, largest first.
    #[serde(default)]
    pub objects: Vec<ObjectShare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<CostComparison>,
    /// The database's own instructions at this point, counted in a pass of
    /// their own; `None` where the run did not count them (the run's
    /// `database_instructions` says why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_instructions: Option<DatabaseInstructions>,
    /// How many bytes larger than as configured the target's environment
    /// was in this start (0: as configured).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub padding_bytes: u32,
    /// The same point counted in the target's other layouts, each in a
    /// start of its own (`bookbench cost --layouts`). Where two or more
    /// settled, this point's `per_request.instructions` is the geometric
    /// mean of their medians (this start's included) and its `spread` their
    /// (largest − smallest) / mean; its windows stay this start's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layouts: Vec<CostPoint>,
}

/// The database's own instructions at a point: those of the backends that
/// serve the target, the cluster run under callgrind, counted in a pass of
/// their own in which the target runs natively (the statements it sends do
/// not depend on how fast it runs). Each window ends by making every such
/// backend dump its counts from inside (`pg_log_backend_memory_contexts`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DatabaseInstructions {
    pub status: DatabaseCountStatus,
    /// Why it failed or was not counted, or what else a reader must know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Windows before the settled ones.
    pub warmup_windows: u32,
    /// What one dump costs one backend (handling the interrupt that asks
    /// for it), measured with no request; taken out of every window once
    /// per backend.
    pub trigger_instructions: u64,
    pub windows: Vec<DatabaseWindow>,
    /// Median of the settled windows' instructions per request.
    pub per_request: Option<f64>,
    /// (largest − smallest) / median of the settled windows.
    pub spread: Option<f64>,
    /// Against the reference's database instructions at the same point,
    /// when both settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<CostComparison>,
}

impl DatabaseInstructions {
    /// Instructions per request of the settled windows that counted.
    pub fn instructions_per_request(&self) -> Vec<f64> {
        let from = (self.warmup_windows as usize).min(self.windows.len());
        self.windows
            .get(from..)
            .unwrap_or_default()
            .iter()
            .filter_map(DatabaseWindow::instructions_per_request)
            .collect()
    }
}

/// How counting the database's instructions at a point ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseCountStatus {
    /// Consecutive windows agreed within the run's tolerance.
    Settled,
    /// The windows ran out first: the figure is of the last windows.
    NotSettled,
    /// Counting failed; `reason` says why.
    Failed,
    /// Its windows would take longer under callgrind than the run allows
    /// a point; `reason` gives the estimate.
    OverBudget,
}

impl DatabaseCountStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Settled => "settled",
            Self::NotSettled => "not settled",
            Self::Failed => "failed",
            Self::OverBudget => "over budget",
        }
    }
}

/// One window of the database's count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DatabaseWindow {
    pub requests: u64,
    /// Answered as the scenario expects.
    pub ok: u64,
    pub duration_s: f64,
    /// Backends of the target's database at the window's end.
    pub backends: u32,
    /// Their instructions, the triggers' cost taken out; `None` for a
    /// window in which a connection opened or closed: a new backend's
    /// first dump holds what it inherited from the postmaster.
    pub instructions: Option<u64>,
}

impl DatabaseWindow {
    pub fn instructions_per_request(&self) -> Option<f64> {
        let n = self.instructions?;
        (self.requests > 0).then(|| n as f64 / self.requests as f64)
    }
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl CostPoint {
    /// The windows the figures come from: the settled ones (the last
    /// windows of a point that did not settle), in whole groups of
    /// `merged`.
    pub fn settled(&self) -> &[CostWindow] {
        self.windows.get(self.settled_range()).unwrap_or_default()
    }

    /// Where the settled windows lie in `windows` (and in anything kept
    /// per window beside them).
    pub fn settled_range(&self) -> std::ops::Range<usize> {
        let from = (self.warmup_windows as usize).min(self.windows.len());
        let rest = self.windows.len() - from;
        from..from + rest - rest % (self.merged as usize).max(1)
    }

    /// The settled windows as the figures take them: merged in groups of
    /// `merged`.
    pub fn groups(&self) -> Vec<CostWindow> {
        self.settled()
            .chunks((self.merged as usize).max(1))
            .filter_map(CostWindow::merged)
            .collect()
    }

    /// Instructions per request of the settled windows, where the point
    /// settled: what a comparison takes.
    pub fn settled_instructions(&self) -> Option<Vec<f64>> {
        (self.status == CostStatus::Settled).then(|| self.instructions_per_request())
    }

    /// Instructions per request less CPython's type-cache misses, of the
    /// settled windows (their groups), where the point settled and every
    /// window told its misses apart.
    pub fn settled_instructions_less_misses(&self) -> Option<Vec<f64>> {
        if self.status != CostStatus::Settled {
            return None;
        }
        self.groups()
            .iter()
            .map(CostWindow::instructions_less_misses_per_request)
            .collect()
    }

    /// The database's instructions per request of its settled windows,
    /// where they settled.
    pub fn settled_database_instructions(&self) -> Option<Vec<f64>> {
        self.database_instructions
            .as_ref()
            .filter(|d| d.status == DatabaseCountStatus::Settled)
            .map(DatabaseInstructions::instructions_per_request)
    }

    /// The median instructions per request of each layout that settled,
    /// this start's first; `None` where the point was counted in one
    /// layout only, or fewer than two settled.
    pub fn layout_medians(&self) -> Option<Vec<f64>> {
        if self.layouts.is_empty() {
            return None;
        }
        let medians: Vec<f64> = std::iter::once(self)
            .chain(&self.layouts)
            .filter_map(CostPoint::settled_instructions)
            .filter_map(|v| median_and_spread(&v).map(|(m, _)| m))
            .collect();
        (medians.len() >= 2).then_some(medians)
    }

    /// This point's instructions against `reference`'s at the same point:
    /// across their layouts where both have two or more settled; else by
    /// their settled windows less CPython's type-cache misses, where both
    /// told them apart; else by their settled windows' whole counts, judged
    /// beyond `ONE_START_WHOLE_COUNT_THRESHOLD` at least. `None` where
    /// either has none of these.
    pub fn compare_instructions(
        &self,
        reference: &CostPoint,
        threshold: f64,
    ) -> Option<CostComparison> {
        let name = &reference.target;
        if let (Some(mine), Some(theirs)) = (self.layout_medians(), reference.layout_medians()) {
            return compare_layouts(&mine, &theirs, name, threshold);
        }
        if let (Some(mine), Some(theirs)) = (
            self.settled_instructions_less_misses(),
            reference.settled_instructions_less_misses(),
        ) {
            return compare(&mine, &theirs, name, threshold).map(|c| CostComparison {
                basis: Basis::WindowsLessMisses,
                ..c
            });
        }
        compare(
            &self.settled_instructions()?,
            &reference.settled_instructions()?,
            name,
            whole_count_threshold(threshold),
        )
    }

    /// With its layouts counted: its instructions a request and their
    /// spread become those across the layouts (see `layouts`).
    pub fn summarise_layouts(&mut self) {
        let Some(medians) = self.layout_medians() else {
            return;
        };
        let mean = geometric_mean(&medians);
        let (lo, hi) = bounds(&medians);
        if let Some(per) = self.per_request.as_mut() {
            per.instructions = mean;
        }
        self.spread = (mean > 0.0).then(|| (hi - lo) / mean);
    }

    /// Instructions per request of the settled windows (of their groups).
    pub fn instructions_per_request(&self) -> Vec<f64> {
        self.groups()
            .iter()
            .filter_map(CostWindow::instructions_per_request)
            .collect()
    }
}

/// Where a point's windows settled: the first settled window, and the
/// size of the groups that agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settling {
    pub from: usize,
    pub merged: u32,
}

/// Where `windows` settle: single windows when `settled` consecutive ones
/// agree within `tolerance` in instructions and in the database's buffers
/// per request, else consecutive groups of two, up to `max_merged`,
/// starting at any window. `None` while none agree.
pub fn settle(
    windows: &[CostWindow],
    settled: usize,
    tolerance: f64,
    max_merged: usize,
) -> Option<Settling> {
    (1..=max_merged.max(1)).find_map(|group| {
        (0..group)
            .filter_map(|offset| {
                let merged: Vec<CostWindow> = windows
                    .get(offset..)
                    .unwrap_or_default()
                    .chunks_exact(group)
                    .filter_map(CostWindow::merged)
                    .collect();
                let per: Vec<f64> = merged
                    .iter()
                    .map(|w| w.instructions_per_request().unwrap_or(0.0))
                    .collect();
                let buffers: Vec<f64> =
                    merged.iter().map(CostWindow::buffers_per_request).collect();
                settled_from(&[&per, &buffers], settled, tolerance).map(|g| offset + g * group)
            })
            .min()
            .map(|from| Settling {
                from,
                merged: u32::try_from(group).unwrap_or(1),
            })
    })
}

/// The first window of the run of `settled` consecutive windows in which
/// every series agrees within `tolerance` (each value differs from the
/// run's median by at most `tolerance`, as a fraction; a run of zeros
/// agrees): `None` while there is none. The series are per-request figures
/// of the same windows (instructions, the database's buffers).
pub fn settled_from(series: &[&[f64]], settled: usize, tolerance: f64) -> Option<usize> {
    let settled = settled.max(2);
    let windows = series.iter().map(|s| s.len()).min()?;
    (0..=windows.checked_sub(settled)?).find(|&start| {
        series.iter().all(|s| {
            let run = s.get(start..start + settled).unwrap_or_default();
            let m = crate::stats::median(run);
            if m == 0.0 {
                run.iter().all(|x| *x == 0.0)
            } else {
                m > 0.0 && run.iter().all(|x| ((x - m) / m).abs() <= tolerance)
            }
        })
    })
}

/// The median of `values`, and their (largest − smallest) / median.
pub fn median_and_spread(values: &[f64]) -> Option<(f64, f64)> {
    let m = crate::stats::median(values);
    let (lo, hi) = bounds(values);
    (!values.is_empty() && m > 0.0).then(|| (m, (hi - lo) / m))
}

/// `mine` against `theirs` (instructions per request of settled windows):
/// the ratio of medians, and the range of any window's ratio to any other's.
pub fn compare(
    mine: &[f64],
    theirs: &[f64],
    reference: &str,
    threshold: f64,
) -> Option<CostComparison> {
    let (a, _) = median_and_spread(mine)?;
    let (b, _) = median_and_spread(theirs)?;
    let (a_lo, a_hi) = bounds(mine);
    let (b_lo, b_hi) = bounds(theirs);
    let (low, high) = (a_lo / b_hi, a_hi / b_lo);
    Some(CostComparison {
        reference: reference.to_string(),
        ratio: a / b,
        low,
        high,
        verdict: CostVerdict::judge(low, high, threshold),
        basis: Basis::Windows,
    })
}

/// `mine` against `theirs`, each the median instructions per request of
/// one layout: the ratio of their geometric means with a 95% Welch
/// interval, which is judged.
pub fn compare_layouts(
    mine: &[f64],
    theirs: &[f64],
    reference: &str,
    threshold: f64,
) -> Option<CostComparison> {
    let interval = crate::stats::unpaired_ratio(mine, theirs)?;
    Some(CostComparison {
        reference: reference.to_string(),
        ratio: interval.estimate,
        low: interval.low,
        high: interval.high,
        verdict: CostVerdict::judge(interval.low, interval.high, threshold),
        basis: Basis::Layouts,
    })
}

fn geometric_mean(values: &[f64]) -> f64 {
    let logs: Vec<f64> = values
        .iter()
        .filter(|v| **v > 0.0)
        .map(|v| v.ln())
        .collect();
    if logs.is_empty() {
        return 0.0;
    }
    (logs.iter().sum::<f64>() / logs.len() as f64).exp()
}

/// The smallest and the largest of `values`.
fn bounds(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_settle_once_consecutive_ones_agree_within_the_tolerance() {
        // A JIT warming: 20% then 3% off, then within 0.2%.
        let w = [12.0, 10.3, 10.01, 10.0, 10.02, 9.99];
        assert_eq!(settled_from(&[&w], 3, 0.005), Some(2));
        assert_eq!(settled_from(&[&w[..3]], 3, 0.005), None);
        assert_eq!(settled_from(&[&[5.0, 5.0]], 3, 0.005), None);
        assert_eq!(settled_from(&[&[0.0, 0.0, 0.0]], 3, 0.005), Some(0));
        assert_eq!(settled_from(&[&[0.0, 1.0, 1.0]], 3, 0.005), None);
    }

    #[test]
    fn windows_settle_only_once_the_database_settles_too() {
        let instructions = [10.0, 10.0, 10.0, 10.0, 10.0];
        // Prepared statements planned anew on their first runs: buffers.
        let buffers = [15.7, 15.3, 15.26, 15.26, 15.26];
        assert_eq!(settled_from(&[&instructions, &buffers], 3, 0.005), Some(1));
        assert_eq!(settled_from(&[&instructions], 3, 0.005), Some(0));
    }

    #[test]
    fn a_cost_ratio_is_judged_only_beyond_the_threshold_on_its_whole_range() {
        let c = compare(&[105.0, 105.2, 104.9], &[100.0, 100.1, 99.9], "a", 0.01)
            .expect("a comparison");
        assert!((c.ratio - 1.05).abs() < 1e-9, "{c:?}");
        assert_eq!(c.verdict, CostVerdict::Costlier);
        let same = compare(&[100.2, 99.9], &[100.0, 100.1], "a", 0.01).expect("a comparison");
        assert_eq!(same.verdict, CostVerdict::NoSignificantDifference);
        let cheaper = compare(&[50.0, 50.1], &[100.0, 100.1], "a", 0.01).expect("a comparison");
        assert_eq!(cheaper.verdict, CostVerdict::Cheaper);
        assert!(compare(&[], &[1.0], "a", 0.01).is_none());
    }

    #[test]
    fn the_figures_of_a_point_come_from_its_settled_windows() {
        let window = |instructions: u64| CostWindow {
            requests: 100,
            ok: 100,
            duration_s: 1.0,
            instructions,
            idle_instructions: 1000,
            system_calls: 0,
            processes: 1,
            bytes_received: 0,
            database: None,
            type_cache: None,
            connects: None,
        };
        let p = CostPoint {
            target: "t".into(),
            scenario: "s".into(),
            concurrency: 1,
            status: CostStatus::Settled,
            reason: None,
            warmup_windows: 1,
            merged: 1,
            idle_instructions_per_s: 1000.0,
            windows: vec![window(900_000), window(101_000), window(101_000)],
            per_request: None,
            spread: None,
            objects: Vec::new(),
            comparison: None,
            database_instructions: None,
            padding_bytes: 0,
            layouts: Vec::new(),
        };
        assert_eq!(p.instructions_per_request(), [1000.0, 1000.0]);
        let pairs = CostPoint {
            merged: 2,
            windows: vec![
                window(900_000),
                window(101_000),
                window(103_000),
                window(101_000),
                window(103_000),
                window(101_000),
            ],
            ..p
        };
        // The last window makes no whole pair: left out.
        assert_eq!(pairs.settled().len(), 4);
        assert_eq!(pairs.instructions_per_request(), [1010.0, 1010.0]);
    }

    /// A settled point of three windows around `per_request` instructions
    /// (window noise of ±0.05%), in a start padded by `padding_bytes`.
    fn started(target: &str, per_request: f64, padding_bytes: u32) -> CostPoint {
        let w = |x: f64| window((x * 50.0).round() as u64);
        CostPoint {
            target: target.into(),
            scenario: "s".into(),
            concurrency: 1,
            status: CostStatus::Settled,
            reason: None,
            warmup_windows: 0,
            merged: 1,
            idle_instructions_per_s: 0.0,
            windows: vec![
                w(per_request * 0.9995),
                w(per_request),
                w(per_request * 1.0005),
            ],
            per_request: Some(PerRequest {
                instructions: per_request,
                system_calls: 0.0,
                bytes_received: 0.0,
                db_statements: None,
                db_rows: None,
                db_shared_blocks_hit: None,
                db_shared_blocks_read: None,
                type_cache_misses: None,
                type_cache_instructions: None,
            }),
            spread: Some(0.001),
            objects: Vec::new(),
            comparison: None,
            database_instructions: None,
            padding_bytes,
            layouts: Vec::new(),
        }
    }

    /// `target` counted in layouts whose medians are `medians`.
    fn in_layouts(target: &str, medians: &[f64]) -> CostPoint {
        let mut first = started(target, medians[0], 0);
        first.layouts = medians[1..]
            .iter()
            .zip([23, 97, 211])
            .map(|(&m, pad)| started(target, m, pad))
            .collect();
        first.summarise_layouts();
        first
    }

    #[test]
    fn a_point_counted_in_layouts_is_compared_across_them_with_an_interval() {
        // The same program in four layouts, each a bias of a few percent that
        // one start's windows cannot see (Flask's author detail, seen).
        let a = in_layouts("a", &[15.58e6, 15.83e6, 15.97e6, 15.80e6]);
        let twin = in_layouts("twin", &[15.81e6, 15.60e6, 15.75e6, 15.95e6]);
        let medians = a.layout_medians().expect("four layouts settled");
        assert_eq!(medians.len(), 4);
        let mean = a.per_request.as_ref().expect("figures").instructions;
        assert!((mean / 15.794e6 - 1.0).abs() < 0.001, "{mean}");
        assert!((a.spread.expect("spread") - 0.39 / 15.794).abs() < 1e-3);
        // By its first start alone, the twin's layout would read as 1.5%
        // costlier; across layouts, no difference, the interval wider.
        let windows = compare(
            &twin.settled_instructions().expect("settled"),
            &a.settled_instructions().expect("settled"),
            "a",
            0.01,
        )
        .expect("compared");
        assert_eq!(windows.verdict, CostVerdict::Costlier);
        let c = twin.compare_instructions(&a, 0.01).expect("compared");
        assert_eq!(c.basis, Basis::Layouts);
        assert_eq!(c.verdict, CostVerdict::NoSignificantDifference, "{c:?}");
        assert!(c.low < 1.0 && c.high > 1.0, "{c:?}");
        // Work added in every layout is found through the layouts' bias.
        let costlier = in_layouts("b", &[16.36e6, 16.62e6, 16.77e6, 16.59e6]);
        let c = costlier.compare_instructions(&a, 0.01).expect("compared");
        assert_eq!(c.verdict, CostVerdict::Costlier, "{c:?}");
        assert!((c.ratio - 1.05).abs() < 0.001, "{c:?}");
        // One layout settled is no basis: the windows are compared.
        let mut lone = in_layouts("lone", &[15.58e6, 15.83e6]);
        lone.layouts[0].status = CostStatus::NotSettled;
        assert!(lone.layout_medians().is_none());
        let c = lone.compare_instructions(&a, 0.01).expect("compared");
        assert_eq!(c.basis, Basis::Windows);
    }

    /// One start of `target`: `rest` instructions a request that do not
    /// move with the layout, and `misses` type-cache misses of 950 each.
    fn with_misses(target: &str, rest: f64, misses: u64) -> CostPoint {
        let mut p = started(target, rest + misses as f64 * 950.0, 0);
        for w in &mut p.windows {
            w.type_cache = Some(TypeCacheMisses {
                misses: misses * w.requests,
                instructions: misses * 950 * w.requests,
            });
        }
        p
    }

    #[test]
    fn one_start_each_is_compared_less_its_type_cache_misses() {
        // Flask's author detail in two layouts (seen): 1,122 and 940 misses a
        // request, 1.5% apart in all, the rest the same within 0.05%.
        let a = with_misses("a", 10.96e6, 1122);
        let twin = with_misses("twin", 10.965e6, 940);
        let whole = compare(
            &twin.settled_instructions().expect("settled"),
            &a.settled_instructions().expect("settled"),
            "a",
            0.01,
        )
        .expect("compared");
        assert_eq!(whole.verdict, CostVerdict::Cheaper, "{whole:?}");
        let c = twin.compare_instructions(&a, 0.01).expect("compared");
        assert_eq!(c.basis, Basis::WindowsLessMisses);
        assert_eq!(c.verdict, CostVerdict::NoSignificantDifference, "{c:?}");
        // 2% more work outside the misses is found, whatever the misses.
        let costlier = with_misses("b", 10.96e6 * 1.02, 900);
        let c = costlier.compare_instructions(&a, 0.01).expect("compared");
        assert_eq!(c.verdict, CostVerdict::Costlier, "{c:?}");
        assert!((c.ratio - 1.02).abs() < 0.001, "{c:?}");
        // A count whose misses were not told apart is judged whole, beyond
        // one start's threshold for whole counts.
        let mut unknown = twin.clone();
        unknown.windows[1].type_cache = None;
        assert!(unknown.settled_instructions_less_misses().is_none());
        let c = unknown.compare_instructions(&a, 0.01).expect("compared");
        assert_eq!(c.basis, Basis::Windows);
        assert_eq!(c.verdict, CostVerdict::NoSignificantDifference, "{c:?}");
    }

    fn window(instructions: u64) -> CostWindow {
        CostWindow {
            requests: 50,
            ok: 50,
            duration_s: 1.0,
            instructions,
            idle_instructions: 0,
            system_calls: 0,
            processes: 1,
            bytes_received: 0,
            database: Some(DatabaseWork {
                statements: 50,
                rows: 50,
                shared_blocks_hit: 150,
                shared_blocks_read: 0,
            }),
            type_cache: None,
            connects: None,
        }
    }

    #[test]
    fn windows_that_alternate_settle_in_pairs_and_steady_ones_alone() {
        // Flask's hello world in windows of 50: 845 and 852 thousand
        // instructions a request in turn, after a warm-up.
        let alternating: Vec<CostWindow> = [900, 845, 852, 845, 852, 845, 852]
            .iter()
            .map(|k| window(k * 50_000))
            .collect();
        assert_eq!(settle(&alternating, 3, 0.005, 1), None);
        assert_eq!(settle(&alternating[..6], 3, 0.005, 3), None);
        assert_eq!(
            settle(&alternating, 3, 0.005, 3),
            Some(Settling { from: 1, merged: 2 })
        );
        let steady: Vec<CostWindow> = [900, 845, 846, 845]
            .iter()
            .map(|k| window(k * 50_000))
            .collect();
        assert_eq!(
            settle(&steady, 3, 0.005, 3),
            Some(Settling { from: 1, merged: 1 })
        );
        // Still falling, as a JIT warms: no grouping hides a trend.
        let falling: Vec<CostWindow> = [900, 880, 860, 840, 820, 800, 780, 760, 740]
            .iter()
            .map(|k| window(k * 50_000))
            .collect();
        assert_eq!(settle(&falling, 3, 0.005, 3), None);
    }
}
