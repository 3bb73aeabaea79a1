//! `report.html`: one self-contained page.

use std::fmt::Write as _;

use super::{escape, rounds_line, rps_chart, scale_line};
use crate::results::{Results, flag_list};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}.bar{display:inline-block;height:10px}\
.charts{display:flex;flex-wrap:wrap;gap:12px}.flag{color:#b00}";

/// The self-contained HTML report.
pub fn html(r: &Results) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>bookbench results</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        h,
        "<h1>bookbench results{}</h1><p>Started {} · preset <code>{}</code> · {} · {} s windows, at least {} s warm-up, {}–{} rounds per point, medians · {}</p><p>{} ({} cores), kernel {} · {} · data: {}</p>",
        if r.partial { " (partial)" } else { "" },
        escape(&r.started_at),
        escape(&r.config.preset),
        escape(&rounds_line(r)),
        r.config.duration_s,
        r.config.warmup_s,
        r.config.rounds.min,
        r.config.rounds.max,
        r.config.rate.map_or("closed loop".to_string(), |x| format!(
            "open loop at {x} requests/s"
        )),
        escape(&r.env.cpu_model),
        r.env.cores,
        escape(&r.env.kernel),
        escape(&r.env.postgres_version),
        escape(&scale_line(r)),
    );
    let _ = write!(
        h,
        "<h2>Requests per second against concurrency</h2><div class=\"charts\">"
    );
    for s in &r.config.scenarios {
        if r.runs.iter().any(|p| &p.scenario == s) {
            let _ = write!(h, "<figure>{}</figure>", rps_chart(r, s));
        }
    }
    h.push_str("</div>");

    let _ = write!(
        h,
        "<h2>Latency and CPU attribution</h2><p>Latency in milliseconds over all repeats; CPU in percent of one core (server / database / client).</p><table><tr><th>target</th><th>scenario</th><th>c</th><th>requests/s</th><th>spread</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>CPU server</th><th>CPU db</th><th>CPU client</th><th>statements/request</th><th>errors</th><th>flags</th></tr>"
    );
    for p in &r.runs {
        let errors: u64 = p.errors.values().sum();
        let bar = |pct: f64, color: &str| {
            format!(
                "{pct:.0}% <span class=\"bar\" style=\"width:{:.0}px;background:{color}\"></span>",
                pct.clamp(0.0, 400.0) / 4.0
            )
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.0}–{:.0}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"flag\">{}</td></tr>",
            escape(&p.target),
            escape(&p.scenario),
            p.concurrency,
            p.rps,
            p.rps_min,
            p.rps_max,
            p.latency_us.p50 as f64 / 1000.0,
            p.latency_us.p90 as f64 / 1000.0,
            p.latency_us.p99 as f64 / 1000.0,
            p.latency_us.max as f64 / 1000.0,
            bar(p.cpu.server, "#1f77b4"),
            bar(p.cpu.database, "#2ca02c"),
            bar(p.cpu.client, "#ff7f0e"),
            p.db_statements_per_request
                .map_or("-".to_string(), |x| format!("{x:.2}")),
            errors,
            escape(&flag_list(&p.flags)),
        );
    }
    h.push_str("</table><h2>Targets</h2><ul>");
    for t in &r.targets {
        let _ = write!(
            h,
            "<li><b>{}</b> ({}; {} worker(s) on CPU {:?}): {}{}",
            escape(&t.name),
            escape(&t.description),
            t.workers,
            t.cpus,
            t.status,
            t.reason
                .as_ref()
                .map(|x| format!(": {}", escape(x)))
                .unwrap_or_default()
        );
        for n in &t.notes {
            let _ = write!(h, "<br><small>{}</small>", escape(n));
        }
        h.push_str("</li>");
    }
    h.push_str("</ul></body></html>\n");
    h
}
