//! Counted cost's calibration: each target counted as itself and as an
//! identical copy under another name, started with a slightly larger
//! environment (A/A: any difference found is noise, the kind that another
//! path or variable brings included),
//! then the Rust server against a copy doing a known extra share of work
//! per request at every point (`bookbench serve --extra-work`), which must
//! be judged costlier by the share added.
//!
//! The share is made exact per point: an iteration of the server's loop is
//! counted first, on two probes with many iterations (one with twice the
//! other's); each point's copy then adds the iterations that make `extra`
//! of the original's instructions there. The server adds the same loop to
//! every request, so each scenario gets a copy of its own.

use std::collections::BTreeMap;

use bookbench_results::Results;
use bookbench_results::calibration::COPY;
use bookbench_results::cost::CostStatus;
use bookbench_results::cost_calibration::{Iterations, KnownWork, extra_suffix};
use bookbench_suite::run::{Sink, SinkError};
use bookbench_suite::targets::Target;

use crate::Error;
use crate::measure::{CostConfig, Observer, measure};

/// The variable that makes an A/A copy's environment larger, and the
/// lengths of its value in the copies: uneven, so that they fall at
/// different alignments.
const PLACEMENT_VARIABLE: &str = "BOOKBENCH_AA_PLACEMENT";
const PLACEMENT_BYTES: [usize; 3] = [41, 200, 517];

/// `NAME~aa`, `NAME~aa2`, `NAME~aa3`: the first as before, so that one
/// copy's results read as they did.
fn copy_name(original: &str, index: usize) -> String {
    match index {
        0 => format!("{original}{COPY}"),
        i => format!("{original}{COPY}{}", i + 1),
    }
}

/// Iterations of the probe: enough that its added instructions dwarf the
/// spread of the request's own.
const PROBE_ITERATIONS: u64 = 100_000;

/// The calibration's outcome beside its results: the known work, or why
/// there was none.
#[derive(Debug)]
pub struct Calibrated {
    pub known_work: Option<KnownWork>,
    pub known_missing: Option<String>,
}

/// Counts `config`'s targets and their copies into `results`, then the
/// known extra work; `extra` is its share (0.05: 5%).
pub async fn calibrate(
    config: &CostConfig,
    extra: f64,
    results: &mut Results,
    observer: &mut dyn Observer,
    sink: &mut dyn Sink,
) -> Result<Calibrated, Error> {
    let mut references = config.references.clone();
    let mut targets = Vec::new();
    for t in &config.targets {
        targets.push(t.clone());
        // Each copy's environment is larger by one variable nobody reads,
        // by a different amount: another path or variable moves what a
        // process lays out in memory, and a CPython process's counts move
        // with it, by nothing or by 2% as the layout falls (docs/method.md,
        // "Where a program is placed"). Copies started alike would hide
        // that noise from the threshold the A/A sets.
        for (i, bytes) in PLACEMENT_BYTES.into_iter().enumerate() {
            let mut env = t.env.clone();
            env.insert(PLACEMENT_VARIABLE.to_string(), "x".repeat(bytes));
            let copy = Target {
                name: copy_name(&t.name, i),
                description: format!(
                    "{} (an identical copy, its environment {} bytes larger)",
                    t.description,
                    bytes + PLACEMENT_VARIABLE.len() + 2
                ),
                env,
                ..t.clone()
            };
            references.insert(copy.name.clone(), t.name.clone());
            targets.push(copy);
        }
    }
    // The baseline stays the run's in every part, whatever each part counts.
    let baseline = config.baseline_name().map(str::to_string);
    let aa = CostConfig {
        targets,
        baseline: baseline.clone(),
        references: references.clone(),
        ..config.clone()
    };
    measure(&aa, results, observer, sink).await?;
    // The A/A run's settings stand for the calibration: the parts after
    // it count the Rust server's own work only.
    let aa_run = results.cost_run.clone();
    let config = &CostConfig {
        database: Err(
            "counted for the A/A copies only: the known work is the server's own".to_string(),
        ),
        ..config.clone()
    };
    let calibrated = known_work(config, extra, references, baseline, results, observer, sink).await;
    results.cost_run = aa_run;
    calibrated
}

/// The Rust server against a copy doing `extra` more work a request at
/// each point where it settled, the work sized by two probes.
async fn known_work(
    config: &CostConfig,
    extra: f64,
    mut references: BTreeMap<String, String>,
    baseline: Option<String>,
    results: &mut Results,
    observer: &mut dyn Observer,
    sink: &mut dyn Sink,
) -> Result<Calibrated, Error> {
    let Some(original) = config.targets.iter().find(|t| adds_work(t)) else {
        return Ok(Calibrated {
            known_work: None,
            known_missing: Some(
                "only `bookbench serve` can add a known amount of work: add rust to --targets"
                    .to_string(),
            ),
        });
    };
    let settled: Vec<(String, u32, f64)> = results
        .cost
        .iter()
        .filter(|p| p.target == original.name && p.status == CostStatus::Settled)
        .filter_map(|p| {
            Some((
                p.scenario.clone(),
                p.concurrency,
                p.per_request.as_ref()?.instructions,
            ))
        })
        .collect();
    let Some((first_scenario, first_concurrency, _)) = settled.first().cloned() else {
        return Ok(Calibrated {
            known_work: None,
            known_missing: Some(format!(
                "{} settled at no point: nothing to add a known share to",
                original.name
            )),
        });
    };

    // Two probes, one with twice the other's iterations: the difference is
    // the loop's, the rest the step's own. They are counted into results of
    // their own: a means, not a finding.
    let at = (first_scenario.as_str(), first_concurrency);
    let once = probe(config, original, PROBE_ITERATIONS, at, results, observer).await?;
    let twice = probe(
        config,
        original,
        2 * PROBE_ITERATIONS,
        at,
        results,
        observer,
    )
    .await?;
    let instructions_per_iteration = (twice - once) / PROBE_ITERATIONS as f64;
    if instructions_per_iteration <= 0.0 {
        return Err(Error::Target(format!(
            "a probe of {} with twice the loop cost no more ({twice:.0} against {once:.0} instructions a request)",
            original.name
        )));
    }
    // The step around the loop is a call and a branch, a few instructions.
    // The probes' intercept is not it: their requests, thirty times longer,
    // let the runtime find more connections ready at each wake-up, and a
    // probe's hello world counted about 150 instructions fewer than the
    // original's besides its loop, which sized the known work 1% too large.
    let fixed_instructions = 0.0;

    let name = format!("{}{}", original.name, extra_suffix(extra));
    references.insert(name.clone(), original.name.clone());
    let mut iterations = Vec::new();
    for (scenario, concurrency, cost) in settled {
        // At least one iteration: with none the server adds no step at
        // all, and the step alone may cost more than `extra` of a cheap
        // request (the expected ratio then says how much more).
        let n = ((extra * cost - fixed_instructions) / instructions_per_iteration)
            .round()
            .max(1.0) as u64;
        let copy = with_extra_work(
            original,
            &name,
            n,
            &format!("{:.0}% more work a request", extra * 100.0),
        );
        let point = CostConfig {
            targets: vec![copy],
            scenarios: vec![scenario.clone()],
            concurrency: vec![concurrency],
            baseline: baseline.clone(),
            references: references.clone(),
            ..config.clone()
        };
        measure(&point, results, observer, sink).await?;
        iterations.push(Iterations {
            scenario,
            concurrency,
            iterations: n,
            original_instructions: cost,
        });
    }
    Ok(Calibrated {
        known_work: Some(KnownWork {
            target: name,
            original: original.name.clone(),
            extra,
            instructions_per_iteration,
            fixed_instructions,
            iterations,
        }),
        known_missing: None,
    })
}

/// The instructions a request costs `original` with `iterations` of added
/// loop, at one scenario and concurrency.
async fn probe(
    config: &CostConfig,
    original: &Target,
    iterations: u64,
    (scenario, concurrency): (&str, u32),
    results: &Results,
    observer: &mut dyn Observer,
) -> Result<f64, Error> {
    let name = format!("{}~probe{iterations}", original.name);
    let mut probe_results = Results {
        cost: Vec::new(),
        targets: Vec::new(),
        ..results.clone()
    };
    let probe = CostConfig {
        targets: vec![with_extra_work(original, &name, iterations, "a probe")],
        scenarios: vec![scenario.to_string()],
        concurrency: vec![concurrency],
        baseline: Some(name.clone()),
        references: BTreeMap::new(),
        // The loop's cost does not depend on the layout.
        layouts: 1,
        ..config.clone()
    };
    measure(&probe, &mut probe_results, observer, &mut Discard).await?;
    probe_results
        .cost
        .iter()
        .find(|p| p.status == CostStatus::Settled)
        .and_then(|p| p.per_request.as_ref())
        .map(|p| p.instructions)
        .ok_or_else(|| {
            Error::Target(format!(
                "the probe {name} did not settle at {scenario} c={concurrency}"
            ))
        })
}

/// Whether the target is `bookbench serve`, which takes `--extra-work`.
fn adds_work(t: &Target) -> bool {
    matches!(t.command.as_slice(), [program, verb, ..] if program == "{bookbench}" && verb == "serve")
}

fn with_extra_work(t: &Target, name: &str, iterations: u64, what: &str) -> Target {
    let mut command = t.command.clone();
    command.extend(["--extra-work".to_string(), iterations.to_string()]);
    Target {
        name: name.to_string(),
        description: format!(
            "{} ({what}: {iterations} iterations of a loop)",
            t.description
        ),
        command,
        ..t.clone()
    }
}

/// Keeps nothing: the probe's results are read, not saved.
struct Discard;

impl Sink for Discard {
    fn save(&mut self, _: &Results) -> Result<(), SinkError> {
        Ok(())
    }
}
