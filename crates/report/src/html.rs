//! `report.html`: one self-contained page.

use std::fmt::Write as _;

use super::{
    agents_line, bars_chart, comparison_cell, escape, pm, precision, rounds_line, rps_chart,
    scale_line,
};
use bookbench_results::{Results, flag_list};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 12px;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}.bar{display:inline-block;height:10px}\
.wide{overflow-x:auto}.wide td{white-space:nowrap}.wide td:nth-child(2),.wide th:nth-child(2){text-align:left}figure{margin:0 0 1.5em}figure svg{max-width:100%;height:auto}\
figcaption{font-size:.9em;color:#444}figcaption button{margin-right:.8em}\
.legend-entry{cursor:pointer}.legend-entry.off{opacity:.3}.flag{color:#b00}td small{color:#555}\
table.attribution{font-size:.85em}table.attribution td,table.attribution th{padding:3px 5px}\
table.attribution th.group{text-align:left;background:#f4f4f4}";

/// Hides and shows a line when its name in the legend is clicked. It only
/// hides what it showed: with scripts off every line stays drawn. The
/// caption that says so, and its "hide all" button, are made by the script
/// itself, so that a page without scripts promises no click that does
/// nothing.
const SCRIPT: &str = "(function(){\
function show(e,on){e.classList.toggle('off',!on);var t=e.getAttribute('data-target');\
e.closest('svg').querySelectorAll('.series').forEach(function(s){\
if(s.getAttribute('data-target')===t){s.style.display=on?'':'none';}});}\
document.querySelectorAll('figure.lines').forEach(function(f){\
var entries=f.querySelectorAll('.legend-entry');\
entries.forEach(function(e){e.addEventListener('click',function(){show(e,e.classList.contains('off'));});});\
var b=document.createElement('button');b.type='button';b.textContent='hide all';\
b.addEventListener('click',function(){var on=b.textContent!=='hide all';\
entries.forEach(function(e){show(e,on);});b.textContent=on?'hide all':'show all';});\
var c=document.createElement('figcaption');c.appendChild(b);\
c.appendChild(document.createTextNode('A click on a name in the legend hides or shows its line.'));\
f.appendChild(c);});\
})();";

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
        // The line is Markdown; its code spans are plain names here.
        escape(&rounds_line(r).replace('`', "")),
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
    if let Some(agents) = agents_line(r) {
        let _ = write!(h, "<p>{}</p>", escape(&agents));
    }
    let whiskers = if r.runs.iter().any(|p| p.rps_interval.is_some()) {
        ", the whisker the 95% interval of the median"
    } else {
        ""
    };
    let verdicts = if r.runs.iter().any(|p| p.comparison.is_some()) {
        format!(
            ", and at the bar's end its verdict against {} at the bar's concurrency (≈: no significant difference)",
            r.config
                .baseline
                .as_deref()
                .map_or("its reference".to_string(), |b| format!(
                    "the baseline <code>{}</code>",
                    escape(b)
                ))
        )
    } else {
        String::new()
    };
    if !r.runs.is_empty() {
        let _ = write!(
            h,
            "<h2>Requests per second</h2><p>For each scenario: first every target at its best concurrency, fastest first, coloured by the kind of server{whiskers}{verdicts}; then requests/s against concurrency, one line per target.</p>",
        );
    }
    for s in &r.config.scenarios {
        if r.runs.iter().any(|p| &p.scenario == s) {
            let _ = write!(
                h,
                "<section id=\"{}\"><h3>{}</h3><figure class=\"bars\">{}</figure><figure class=\"lines\">{}</figure></section>",
                escape(&format!("scenario-{s}")),
                escape(s),
                bars_chart(r, s),
                rps_chart(r, s)
            );
        }
    }

    if !r.runs.is_empty() {
        attribution(&mut h, r);
        precision_section(&mut h, r);
    }
    crate::cost::html(&mut h, r);

    h.push_str("<h2>Targets</h2><ul>");
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
    let _ = writeln!(h, "</ul><script>{SCRIPT}</script></body></html>");
    h
}

/// Escapes `md` and sets its `**bold**` in bold: the verdicts of
/// [`comparison_cell`] are written for Markdown.
fn emphasis(md: &str) -> String {
    let escaped = escape(md);
    let mut out = String::new();
    for (i, part) in escaped.split("**").enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<b>{part}</b>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Every point: its median with the interval, against the baseline, and
/// its latency and CPU. A scenario's points under its own heading row, and
/// the figures that belong together in one cell, so that the table fits
/// the page at the blog study's 19 targets rather than scroll sideways.
fn attribution(h: &mut String, r: &Results) {
    let compared = r.runs.iter().any(|p| p.comparison.is_some());
    let relayed = !r.config.db_round_trips_us.is_empty();
    let columns = if relayed { 11 } else { 10 };
    let _ = write!(
        h,
        "<h2>Latency and CPU attribution</h2><p>Requests/s: the median of the undisturbed windows, ± the half-width of its 95% interval, and the interval. × baseline: the geometric mean of the per-round ratios with its 95% interval, and the verdict. Latency in milliseconds over all windows: p50 / p90 / p99 / max. CPU in percent of one core (server / database / client{}).</p><table class=\"attribution\"><tr><th>target</th><th>c</th><th>requests/s</th><th>× baseline</th><th>windows</th><th>latency ms</th><th>CPU server</th><th>CPU db</th><th>CPU client</th>{}<th>statements / request</th><th>errors, flags</th></tr>",
        if relayed {
            " / the latency relay between server and database"
        } else {
            ""
        },
        if relayed { "<th>CPU relay</th>" } else { "" }
    );
    let mut scenario = None;
    for p in &r.runs {
        if scenario != Some(p.scenario.as_str()) {
            scenario = Some(p.scenario.as_str());
            let _ = write!(
                h,
                "<tr><th colspan=\"{}\" class=\"group\">{}</th></tr>",
                columns + 1,
                escape(&p.scenario)
            );
        }
        let errors: u64 = p.errors.values().sum();
        let bar = |pct: f64, color: &str| {
            format!(
                "{pct:.0}%<br><span class=\"bar\" style=\"width:{:.0}px;background:{color}\"></span>",
                pct.clamp(0.0, 400.0) / 8.0
            )
        };
        let interval = p
            .rps_interval
            .filter(|i| i.low.is_finite() && i.high.is_finite())
            .map_or(String::new(), |i| {
                format!("<br><small>{:.0}–{:.0}</small>", i.low, i.high)
            });
        let against = if compared {
            let (ratio, ratio_interval, verdict, _rounds) = comparison_cell(p);
            if p.comparison.is_some() {
                format!(
                    "{} <small>({})</small><br>{}",
                    escape(&ratio),
                    escape(&ratio_interval),
                    emphasis(&verdict)
                )
            } else {
                escape(&ratio)
            }
        } else {
            "-".to_string()
        };
        let disturbed = p.windows.iter().filter(|w| w.disturbed()).count();
        let windows = if disturbed > 0 {
            format!(
                "{}<br><small>({disturbed} disturbed)</small>",
                p.windows.len()
            )
        } else {
            p.windows.len().to_string()
        };
        let ms = |us: u64| format!("{:.2}", us as f64 / 1000.0);
        let flags = flag_list(&p.flags);
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{:.0}{}{interval}</td><td>{against}</td><td>{windows}</td><td>{} / {} / {} / {}</td><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td><td>{}{}</td></tr>",
            breakable(&p.target),
            escape(&format!("{}{}", p.concurrency, p.at().db_note())),
            p.rps,
            escape(&pm(p)),
            ms(p.latency_us.p50),
            ms(p.latency_us.p90),
            ms(p.latency_us.p99),
            ms(p.latency_us.max),
            bar(p.cpu.server, "#1f77b4"),
            bar(p.cpu.database, "#2ca02c"),
            bar(p.cpu.client, "#ff7f0e"),
            if relayed {
                format!("<td>{}</td>", bar(p.cpu.relay, "#9467bd"))
            } else {
                String::new()
            },
            p.db_statements_per_request
                .map_or("-".to_string(), |x| format!("{x:.2}")),
            errors,
            if flags.is_empty() {
                String::new()
            } else {
                format!("<br><span class=\"flag\">{}</span>", escape(&flags))
            },
        );
    }
    h.push_str("</table>");
}

/// A target's name, escaped, that may break after each hyphen: the long
/// names of the PyPy variants would otherwise set the table's width.
pub(crate) fn breakable(name: &str) -> String {
    escape(name).replace('-', "-<wbr>")
}

/// How precise the run was, and which windows were disturbed: the
/// summary's section of the same name.
fn precision_section(h: &mut String, r: &Results) {
    let p = precision(r);
    h.push_str("<h2>Precision</h2>");
    if !r.config.interleaved {
        h.push_str("<p>This run measured each target on its own (a results file of version 1): its ratios are not paired, and carry no interval.</p>");
        return;
    }
    let _ = write!(h, "<p>{}</p>", escape(&p.sentence(r)));
    let _ = write!(
        h,
        "<p>{} of {} windows were disturbed (steal above {:.0}% of a CPU, another target busy, or the target or database still busy when the window began). They are kept here and in results.json but left out of the figures, and their rounds were made up for where the point's rounds and time allowed.</p>",
        p.flagged.len(),
        p.windows,
        r.config.steal_threshold
    );
    if p.flagged.is_empty() {
        return;
    }
    h.push_str("<div class=\"wide\"><table><tr><th>target</th><th>scenario</th><th>c</th><th>round</th><th>requests/s</th><th>flags</th><th>steal % (per CPU)</th><th>busiest other target %</th></tr>");
    for (point, w) in &p.flagged {
        let steal: Vec<String> = w.steal_pct.iter().map(|s| format!("{s:.0}")).collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td class=\"flag\">{}</td><td>{}</td><td>{:.0}</td></tr>",
            escape(&point.target),
            escape(&point.scenario),
            escape(&format!("{}{}", point.concurrency, point.at().db_note())),
            w.round,
            w.rps,
            escape(&flag_list(&w.flags)),
            steal.join(" / "),
            w.others_cpu
        );
    }
    h.push_str("</table></div>");
}

#[cfg(test)]
mod tests {
    use super::{SCRIPT, emphasis, html};
    use crate::tests::{compare, fixture};
    use bookbench_results::Flag;
    use bookbench_results::stats::Verdict;

    #[test]
    fn the_page_has_the_toggle_script_and_every_line_without_it() {
        let r = fixture(&[
            ("rust", 90_000.0),
            ("flask-dev", 300.0),
            ("fastapi", 2_000.0),
        ]);
        let page = html(&r);
        assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
        let lines_start = page.find("<figure class=\"lines\">").expect("a line chart");
        let lines = page.get(lines_start..).unwrap_or_default();
        for t in ["rust", "flask-dev", "fastapi"] {
            assert!(
                lines.contains(&format!("<g class=\"series\" data-target=\"{t}\">")),
                "{t}"
            );
        }
        let without_script = page.replace(SCRIPT, "");
        assert!(
            !without_script.contains("display:none") && !without_script.contains("hidden"),
            "something starts hidden"
        );
        // Self-contained: the only address is the SVG namespace, a name.
        let addresses = page.replace("http://www.w3.org/2000/svg", "");
        assert!(!addresses.contains("http://") && !addresses.contains("https://"));
        assert!(!page.contains(" src=") && !page.contains(" href="));
    }

    #[test]
    fn the_attribution_table_has_the_interval_the_ratio_the_verdict_and_the_windows() {
        let mut r = fixture(&[("rust", 1000.0), ("fastapi", 2_000.0)]);
        r.config.baseline = Some("rust".to_string());
        compare(&mut r, "fastapi", 2.0, Verdict::Faster);
        let page = html(&r);
        assert!(!page.contains("<th>spread</th>"));
        assert!(
            page.contains("<td>2000 ± 3%<br><small>1940–2060</small></td>"),
            "{page}"
        );
        assert!(
            page.contains(
                "<td>2.000 <small>(1.960–2.040)</small><br><b>2.0× faster</b></td><td>5</td>"
            ),
            "{page}"
        );
        assert!(page.contains("<td>reference</td><td>5</td>"), "{page}");
        assert!(
            page.contains("<th colspan=\"11\" class=\"group\">hello-get</th>"),
            "{page}"
        );
    }

    #[test]
    fn the_precision_section_lists_the_disturbed_windows() {
        let mut r = fixture(&[("rust", 1000.0), ("fast<api>", 2_000.0)]);
        if let Some(w) = r
            .runs
            .iter_mut()
            .find(|p| p.target == "fast<api>")
            .and_then(|p| p.windows.first_mut())
        {
            w.flags.push(Flag::Steal);
        }
        let page = html(&r);
        assert!(page.contains("<h2>Precision</h2>"));
        assert!(page.contains("1 of 20 windows were disturbed"), "{page}");
        assert!(
            page.contains("<td>fast&lt;api&gt;</td><td>hello-get</td><td>10</td><td>0</td>"),
            "{page}"
        );
        assert!(page.contains("5<br><small>(1 disturbed)</small>"));
        assert!(!page.contains("fast<api>"));
    }

    #[test]
    fn markdown_bold_becomes_html_bold_and_the_rest_is_escaped() {
        assert_eq!(emphasis("**faster** (+3%)"), "<b>faster</b> (+3%)");
        assert_eq!(emphasis("a<b"), "a&lt;b");
    }
}
