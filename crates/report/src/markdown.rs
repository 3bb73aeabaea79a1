//! `summary.md`: the run's tables, for a terminal or a document.

use std::fmt::Write as _;

use super::{
    agents_line, best, bottleneck, comparison_cell, pm, precision, round_trips, rounds_line,
    scale_line, target_names,
};
use bookbench_results::{At, Results, flag_list, round_trip_label};

/// The Markdown summary.
pub fn summary_markdown(r: &Results) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# bookbench results{}\n",
        if r.partial { " (partial)" } else { "" }
    );
    if r.runs.is_empty() {
        let _ = writeln!(
            md,
            "Started {}; counted cost only (`bookbench cost`), no throughput measured.\n",
            r.started_at
        );
    } else {
        let _ = writeln!(
            md,
            "Started {}; preset `{}`; {}; {} s windows after at least {} s of warm-up, {}–{} rounds per point, medians reported; {}.\n",
            r.started_at,
            r.config.preset,
            rounds_line(r),
            r.config.duration_s,
            r.config.warmup_s,
            r.config.rounds.min,
            r.config.rounds.max,
            if let Some(rate) = r.config.rate {
                format!("open loop at {rate} requests/s")
            } else {
                "closed loop".to_string()
            }
        );
    }
    let _ = writeln!(
        md,
        "Machine: {} ({} cores), kernel {}; {}; data: {}. Load generator on CPU(s) {:?}; PostgreSQL unpinned{}.\n",
        r.env.cpu_model,
        r.env.cores,
        r.env.kernel,
        r.env.postgres_version,
        scale_line(r),
        r.env.client_cpus,
        r.env
            .database_address
            .as_ref()
            .map(|a| format!(", at {a}"))
            .unwrap_or_default()
    );
    if let Some(agents) = agents_line(r) {
        let _ = writeln!(md, "{agents}\n");
    }
    if !r.runs.is_empty() {
        throughput(&mut md, r);
    }
    crate::cost::markdown(&mut md, r);
    let _ = writeln!(md, "\n## Targets\n");
    if let Some(n) = r.env.database_connections {
        let _ = writeln!(
            md,
            "Every target stayed started for the whole run, idle while the others were measured; together they held {n} connections to the database.\n"
        );
    }
    for t in &r.targets {
        let _ = writeln!(
            md,
            "- **{}** ({}; {} worker(s) on CPU {:?}{}): {}{}",
            t.name,
            t.description,
            t.workers,
            t.cpus,
            t.rss_kib
                .map(|k| format!("; {:.0} MiB resident", k as f64 / 1024.0))
                .unwrap_or_default(),
            t.status,
            t.reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
        for n in &t.notes {
            let _ = writeln!(md, "  - {n}");
        }
    }
    md
}

/// The throughput run's sections: comparisons, requests/s, bottlenecks,
/// precision.
fn throughput(md: &mut String, r: &Results) {
    let names = target_names(r);
    comparisons(md, r);
    let _ = writeln!(
        md,
        "## Requests per second\n\nThe best concurrency of each scenario (median of the windows, ± the half-width of its 95% interval); `-` not measured.\n"
    );
    let _ = write!(md, "| target |");
    for s in &r.config.scenarios {
        let _ = write!(md, " {s} |");
    }
    let _ = write!(md, "\n|---|");
    for _ in &r.config.scenarios {
        let _ = write!(md, "---:|");
    }
    md.push('\n');
    for t in &names {
        let _ = write!(md, "| {t} |");
        for s in &r.config.scenarios {
            match best(r, t, s) {
                Some(p) => {
                    let _ = write!(
                        md,
                        " {}{} (c={}{}) |",
                        fmt_rps(p.rps),
                        pm(p),
                        p.concurrency,
                        p.at().db_note()
                    );
                }
                None => md.push_str(" - |"),
            }
        }
        md.push('\n');
    }
    round_trip_section(md, r, &names);
    let _ = writeln!(
        md,
        "\n## Bottleneck\n\nAt the best concurrency: the busiest party against the cores it had (CPU in % of one core: server / database / client).\n"
    );
    let _ = writeln!(
        md,
        "| target | scenario | requests/s | p99 (ms) | CPU server / db / client | bottleneck | flags |\n|---|---|---:|---:|---|---|---|"
    );
    for t in &names {
        for s in &r.config.scenarios {
            if let Some(p) = best(r, t, s) {
                let _ = writeln!(
                    md,
                    "| {t} | {s} | {:.0} | {:.1} | {:.0}% / {:.0}% / {:.0}%{} | {} | {} |",
                    p.rps,
                    p.latency_us.p99 as f64 / 1000.0,
                    p.cpu.server,
                    p.cpu.database,
                    p.cpu.client,
                    if p.cpu.relay > 0.0 {
                        format!(" (relay {:.0}%)", p.cpu.relay)
                    } else {
                        String::new()
                    },
                    bottleneck(r, p),
                    flag_list(&p.flags)
                );
            }
        }
    }
    precision_section(md, r);
}

fn fmt_rps(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Each point: every target against the baseline, with the interval and
/// the verdict, fastest first.
fn comparisons(md: &mut String, r: &Results) {
    if !r.runs.iter().any(|p| p.comparison.is_some()) {
        return;
    }
    let _ = writeln!(
        md,
        "## Against the baseline\n\nEach target's requests per second over its reference's ({}{}), round by round: the geometric mean of the per-round ratios with its 95% interval. `faster` and `slower` only where the whole interval lies beyond ±{:.1}% (the noise threshold); otherwise `no significant difference`.\n",
        r.config
            .baseline
            .as_deref()
            .map_or("the first target".to_string(), |b| format!("`{b}`")),
        own_references(r),
        r.config.noise_threshold * 100.0
    );
    // Counted cost beside the timed ratio, where the run counted.
    let counted = !r.cost.is_empty();
    if counted {
        let _ = writeln!(
            md,
            "The last column is counted, not timed: the target's instructions per request over the baseline's at the concurrency counted (\"Counted cost per request\", below).\n"
        );
    }
    let _ = writeln!(
        md,
        "| scenario | c | target | requests/s | × reference | 95% interval | verdict | rounds |{}\n|---|---:|---|---:|---:|---|---|---:|{}",
        if counted {
            " instructions, counted |"
        } else {
            ""
        },
        if counted { "---|" } else { "" }
    );
    for s in &r.config.scenarios {
        for &c in &r.config.concurrency {
            for db_round_trip_us in round_trips(r) {
                let at = At {
                    scenario: s,
                    concurrency: c,
                    db_round_trip_us,
                };
                let mut here: Vec<_> = r.runs.iter().filter(|p| p.at() == at).collect();
                here.sort_by(|a, b| b.rps.total_cmp(&a.rps));
                for p in here {
                    let (ratio, interval, verdict, rounds) = comparison_cell(p);
                    let cost = if counted {
                        format!(" {} |", crate::cost::beside(r, &p.target, s, c))
                    } else {
                        String::new()
                    };
                    let _ = writeln!(
                        md,
                        "| {s} | {c}{} | {} | {}{} | {ratio} | {interval} | {verdict} | {rounds} |{cost}",
                        at.db_note(),
                        p.target,
                        fmt_rps(p.rps),
                        pm(p)
                    );
                }
            }
        }
    }
    md.push('\n');
}

/// In a run that swept the database's round trip: each target's requests
/// per second at each round trip, and what is left of them at the longest
/// (a closed loop's throughput is connections over the time a response
/// takes, and every statement of a request pays the round trip).
/// The targets compared with another than the baseline, named with theirs:
/// a copy behind a proxy is compared with the target itself.
fn own_references(r: &Results) -> String {
    r.config
        .references
        .iter()
        .map(|(t, of)| format!("; `{t}`'s is `{of}`"))
        .collect()
}

fn round_trip_section(md: &mut String, r: &Results, names: &[String]) {
    let trips = round_trips(r);
    if trips.len() < 2 {
        return;
    }
    let _ = writeln!(
        md,
        "\n## Against the database's round trip\n\nRequests per second with the database's round trip added by the latency relay (median ± the half-width of its 95% interval); the last column is what is left at the longest round trip of the throughput at the shortest.\n"
    );
    for s in &r.config.scenarios {
        for &c in &r.config.concurrency {
            let at = |us| At {
                scenario: s,
                concurrency: c,
                db_round_trip_us: us,
            };
            if !r
                .runs
                .iter()
                .any(|p| p.scenario == *s && p.concurrency == c)
            {
                continue;
            }
            let _ = write!(md, "### {s}, c={c}\n\n| target |");
            for &us in &trips {
                let _ = write!(md, " {} |", round_trip_label(us));
            }
            let _ = write!(md, " left at the longest |\n|---|");
            for _ in &trips {
                md.push_str("---:|");
            }
            md.push_str("---:|\n");
            for t in names {
                let here = |us| r.runs.iter().find(|p| &p.target == t && p.at() == at(us));
                let _ = write!(md, "| {t} |");
                for &us in &trips {
                    match here(us) {
                        Some(p) => {
                            let _ = write!(md, " {}{} |", fmt_rps(p.rps), pm(p));
                        }
                        None => md.push_str(" - |"),
                    }
                }
                let first = trips.first().and_then(|&us| here(us)).map(|p| p.rps);
                let last = trips.last().and_then(|&us| here(us)).map(|p| p.rps);
                match (first, last) {
                    (Some(a), Some(b)) if a > 0.0 => {
                        let _ = writeln!(md, " {:.0}% |", b / a * 100.0);
                    }
                    _ => md.push_str(" - |\n"),
                }
            }
            md.push('\n');
        }
    }
}

/// How precise the run was, and which windows were disturbed.
fn precision_section(md: &mut String, r: &Results) {
    let p = precision(r);
    let _ = writeln!(md, "\n## Precision\n");
    if !r.config.interleaved {
        let _ = writeln!(
            md,
            "This run measured each target on its own (a results file of version 1): its ratios are not paired, and carry no interval.\n"
        );
        return;
    }
    let _ = writeln!(md, "{}\n", p.sentence(r));
    let _ = writeln!(
        md,
        "{} of {} windows were disturbed (steal above {:.0}% of a CPU, another target busy, or the target or database still busy when the window began). They are kept here and in results.json but left out of the figures, and their rounds were made up for where the point's rounds and time allowed.\n",
        p.flagged.len(),
        p.windows,
        r.config.steal_threshold
    );
    if !p.flagged.is_empty() {
        let _ = writeln!(
            md,
            "| target | scenario | c | round | requests/s | flags | steal % (per CPU) | busiest other target % |\n|---|---|---:|---:|---:|---|---|---:|"
        );
        for (point, w) in &p.flagged {
            let steal: Vec<String> = w.steal_pct.iter().map(|s| format!("{s:.0}")).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {}{} | {} | {} | {} | {} | {:.0} |",
                point.target,
                point.scenario,
                point.concurrency,
                point.at().db_note(),
                w.round,
                fmt_rps(w.rps),
                flag_list(&w.flags),
                steal.join(" / "),
                w.others_cpu
            );
        }
    }
}
