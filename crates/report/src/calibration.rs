//! `bookbench calibrate`'s page: what the A/A and slowed copies were
//! judged, as Markdown; and counted cost's A/A and known-work copies.

use std::fmt::Write as _;

use bookbench_results::calibration::Calibration;
use bookbench_results::cost_calibration::CostCalibration;

/// The calibration as Markdown.
pub fn markdown(c: &Calibration) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Calibration\n");
    let _ = writeln!(
        md,
        "A/A: {} comparisons of a target with an identical copy. Interval half-widths: median ±{:.1}%, widest ±{:.1}%. {} excluded 1; {} judged different with the noise threshold of {:.1}%. The largest A/A deviation was {:.1}%.\n",
        c.aa.len(),
        c.median_aa_half_width * 100.0,
        c.widest_aa_half_width * 100.0,
        c.aa_excluding_one,
        c.aa_judged_different,
        c.noise_threshold * 100.0,
        c.largest_aa_deviation * 100.0
    );
    let _ = writeln!(
        md,
        "Known loss: {} comparisons of a target with its CPU cut by {:.0}%; {} judged slower.\n",
        c.slowed.len(),
        c.loss * 100.0,
        c.slowed_found
    );
    let _ = writeln!(
        md,
        "| comparison | scenario | c | ratio | 95% interval | ± | rounds | verdict |\n|---|---|---:|---:|---|---:|---:|---|"
    );
    for r in c.aa.iter().chain(&c.slowed) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.3} | {:.3}–{:.3} | {:.1}% | {} | {} |",
            r.target,
            r.scenario,
            r.concurrency,
            r.estimate,
            r.low,
            r.high,
            r.half_width * 100.0,
            r.rounds,
            r.verdict.name()
        );
    }
    md
}

/// Counted cost's calibration (`bookbench cost --calibrate`) as Markdown.
pub fn cost_markdown(c: &CostCalibration) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Counted cost: calibration\n");
    let _ = writeln!(
        md,
        "A/A: {} comparisons of a target with an identical copy, {} without one (a side that did not settle); {} judged different with the threshold of {:.1}%. The largest A/A deviation was {:.2}%, and the A/A ranges reach {:.2}% from 1: {}\n",
        c.aa.len(),
        c.aa_not_compared,
        c.aa_judged_different,
        c.threshold * 100.0,
        c.largest_aa_deviation * 100.0,
        c.largest_aa_reach * 100.0,
        match (c.largest_aa_reach <= c.threshold, c.layouts > 1) {
            (true, _) => "the threshold lies beyond every one.",
            // An interval is judged wholly beyond the threshold or not at
            // all: one reaching far is uncertain, not different.
            (false, true) => {
                "they are 95% intervals across layouts, and one that reaches past the threshold is judged different only if it lies wholly beyond it."
            }
            (false, false) => {
                "the threshold lies within them, so identical targets could be judged different where their ranges fall further out; a threshold beyond that reach leaves a margin."
            }
        }
    );
    let _ = writeln!(
        md,
        "The database's statistics: statements or rows a request differing from the original's at {} of {} A/A points; shared buffers hit a request at most {:.2}% apart.\n",
        c.aa_statements_or_rows_differing,
        c.aa.len(),
        c.largest_aa_buffers_deviation * 100.0
    );
    if c.database_aa.is_empty() {
        let _ = writeln!(
            md,
            "The database's instructions: not counted (the results' `cost_run.database_instructions` says why).\n"
        );
    } else {
        let _ = writeln!(
            md,
            "The database's instructions: {} comparisons of the backends serving a copy with those serving its original, {} without one (a side that did not settle or was over budget); {} judged different with the threshold of {:.1}%. The largest deviation was {:.2}%.\n",
            c.database_aa.len(),
            c.database_aa_not_compared,
            c.database_aa_judged_different,
            c.threshold * 100.0,
            c.largest_database_aa_deviation * 100.0
        );
    }
    match (&c.known_work, &c.known_missing) {
        (Some(k), _) => {
            let _ = writeln!(
                md,
                "Known work: {} against {}, {:.0}% of its instructions a request added at every point ({:.2} instructions an iteration of the added loop); {} of {} judged costlier, {} of them within ±{:.1}% of the ratio added.\n",
                k.target,
                k.original,
                k.extra * 100.0,
                k.instructions_per_iteration,
                c.known_found,
                c.known.len(),
                c.known_in_proportion,
                c.tolerance * 100.0
            );
        }
        (None, Some(why)) => {
            let _ = writeln!(md, "Known work: none added: {why}.\n");
        }
        (None, None) => {}
    }
    let bounds = if c.layouts > 1 {
        let _ = writeln!(
            md,
            "Each target was counted in {} layouts (a start each, its environment larger by another amount): its rows give the 95% interval across them; the database's rows, the range of windows.\n",
            c.layouts
        );
        "interval or range"
    } else {
        let _ = writeln!(
            md,
            "Each target was counted in one start: its rows compare instructions less CPython's type-cache misses (which move with where a process laid out its memory) by the range of windows{}.\n",
            if c.database_aa.is_empty() {
                ""
            } else {
                "; the database's rows, whole counts"
            }
        );
        "range of windows"
    };
    let _ = writeln!(
        md,
        "| comparison | scenario | c | ratio | {bounds} | added | verdict |\n|---|---|---:|---:|---|---:|---|"
    );
    let figure = |x: Option<f64>| x.map_or("–".to_string(), |x| format!("{x:.4}"));
    let rows =
        c.aa.iter()
            .map(|r| (r, ""))
            .chain(c.database_aa.iter().map(|r| (r, ", the database's")))
            .chain(c.known.iter().map(|r| (r, "")));
    for (r, whose) in rows {
        let _ = writeln!(
            md,
            "| {} against {}{whose} | {} | {} | {} | {}–{} | {} | {} |",
            r.target,
            r.reference,
            r.scenario,
            r.concurrency,
            figure(r.ratio),
            figure(r.low),
            figure(r.high),
            figure(r.expected),
            r.verdict.map_or("not compared", |v| v.name())
        );
    }
    md
}
