//! `summary.md` and `report.html` from the results: the blog post's tables
//! and charts. The HTML page is self-contained: inline CSS and SVG, no
//! script, nothing fetched.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use plotters::prelude::*;

use crate::results::{Point, Results, flag_list};

/// The point of (target, scenario) with the most requests per second.
fn best<'a>(r: &'a Results, target: &str, scenario: &str) -> Option<&'a Point> {
    r.runs
        .iter()
        .filter(|p| p.target == target && p.scenario == scenario)
        .max_by(|a, b| a.rps.total_cmp(&b.rps))
}

/// What limited a point: the busiest of server, database and client, each
/// against the cores it had.
pub fn bottleneck(r: &Results, p: &Point) -> String {
    let server_cores = r
        .targets
        .iter()
        .find(|t| t.name == p.target)
        .map_or(1, |t| t.cpus.len().max(1));
    let client_cores = r.env.client_cpus.len().max(1);
    let candidates = [
        ("server", p.cpu.server, server_cores),
        ("database", p.cpu.database, r.env.cores.max(1)),
        ("client", p.cpu.client, client_cores),
    ];
    let (name, pct, cores) = candidates
        .iter()
        .max_by(|a, b| (a.1 / a.2 as f64).total_cmp(&(b.1 / b.2 as f64)))
        .copied()
        .unwrap_or(("server", 0.0, 1));
    format!(
        "{name} ({pct:.0}% of {cores} core{})",
        if cores == 1 { "" } else { "s" }
    )
}

fn target_names(r: &Results) -> Vec<String> {
    let mut names: Vec<String> = r.targets.iter().map(|t| t.name.clone()).collect();
    for p in &r.runs {
        if !names.contains(&p.target) {
            names.push(p.target.clone());
        }
    }
    names
}

fn scale_line(r: &Results) -> String {
    let get = |k: &str| {
        r.env
            .scale
            .get(k)
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    format!(
        "{} authors, {} books (seed {}, scale {})",
        get("authors"),
        get("books"),
        get("seed"),
        get("scale").trim_matches('"')
    )
}

/// The Markdown summary.
pub fn summary_markdown(r: &Results) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# bookbench results{}\n",
        if r.partial { " (partial)" } else { "" }
    );
    let _ = writeln!(
        md,
        "Started {}; preset `{}`; {} s per point after {} s of warm-up, {} repeat(s), median reported; {}.\n",
        r.started_at,
        r.config.preset,
        r.config.duration_s,
        r.config.warmup_s,
        r.config.repeat,
        if let Some(rate) = r.config.rate {
            format!("open loop at {rate} requests/s")
        } else {
            "closed loop".to_string()
        }
    );
    let _ = writeln!(
        md,
        "Machine: {} ({} cores), kernel {}; {}; data: {}. Load generator on CPU(s) {:?}; PostgreSQL unpinned.\n",
        r.env.cpu_model,
        r.env.cores,
        r.env.kernel,
        r.env.postgres_version,
        scale_line(r),
        r.env.client_cpus
    );
    let names = target_names(r);
    let _ = writeln!(
        md,
        "## Requests per second\n\nThe best concurrency of each scenario; `-` not measured.\n"
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
                    let _ = write!(md, " {:.0} (c={}) |", p.rps, p.concurrency);
                }
                None => md.push_str(" - |"),
            }
        }
        md.push('\n');
    }
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
                    "| {t} | {s} | {:.0} | {:.1} | {:.0}% / {:.0}% / {:.0}% | {} | {} |",
                    p.rps,
                    p.latency_us.p99 as f64 / 1000.0,
                    p.cpu.server,
                    p.cpu.database,
                    p.cpu.client,
                    bottleneck(r, p),
                    flag_list(&p.flags)
                );
            }
        }
    }
    let _ = writeln!(md, "\n## Targets\n");
    for t in &r.targets {
        let _ = writeln!(
            md,
            "- **{}** ({}; {} worker(s) on CPU {:?}): {}{}",
            t.name,
            t.description,
            t.workers,
            t.cpus,
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

const COLORS: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
];

/// A marker's outline around (0, 0) in pixels: a dot, then a triangle, then
/// a square, so that targets that share a colour (past the tenth) can still
/// be told apart.
fn marker(target_index: usize) -> Vec<(i32, i32)> {
    match target_index / COLORS.len() % 3 {
        0 => vec![
            (-2, -4),
            (2, -4),
            (4, -2),
            (4, 2),
            (2, 4),
            (-2, 4),
            (-4, 2),
            (-4, -2),
        ],
        1 => vec![(0, -5), (5, 4), (-5, 4)],
        _ => vec![(-4, -4), (4, -4), (4, 4), (-4, 4)],
    }
}

/// Requests per second against concurrency, one line per target.
pub fn rps_chart(r: &Results, scenario: &str) -> String {
    let names = target_names(r);
    let points: Vec<&Point> = r.runs.iter().filter(|p| p.scenario == scenario).collect();
    let levels: BTreeSet<u32> = points.iter().map(|p| p.concurrency).collect();
    let levels: Vec<u32> = levels.into_iter().collect();
    // A log scale: the targets differ by two orders of magnitude, and a
    // linear axis would flatten every line but the fastest.
    let max_rps = points
        .iter()
        .map(|p| p.rps_max.max(p.rps))
        .fold(1.0, f64::max)
        * 1.5;
    let min_rps = points
        .iter()
        .map(|p| p.rps)
        .filter(|&x| x > 0.0)
        .fold(max_rps, f64::min)
        .max(1.0)
        / 1.5;
    // The legend sits right of the lines, clear of them: the canvas grows
    // with the number and the length of the targets' names.
    let longest = names.iter().map(String::len).max().unwrap_or(0);
    let legend_px = u32::try_from(longest).unwrap_or(40).min(40) * 8 + 48;
    let width = 720.max(460 + legend_px);
    let height = 360.max(100 + 20 * u32::try_from(names.len()).unwrap_or(0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let n = levels.len().max(1);
        // The share of the plotting area left of the legend, and an x range
        // that puts the last level's marker inside it.
        let free = 1.0 - f64::from(legend_px) / f64::from(width - 100);
        let x_max = (n as f64 - 0.2) / free - 0.5;
        let chart = ChartBuilder::on(&root)
            .caption(format!("{scenario}: requests/s"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(
                // Room on the right for the legend, clear of the lines.
                -0.5f64..x_max,
                (min_rps..max_rps).log_scale(),
            );
        let Ok(mut chart) = chart else {
            return svg_error(scenario);
        };
        let levels_for_labels = levels.clone();
        let _ = chart
            .configure_mesh()
            // Ticks every 0.2: the integers, where the levels are, are among
            // them; the formatter labels only those.
            .x_labels(5 * (n + 2))
            .disable_x_mesh()
            .y_labels(6)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 {
                    levels_for_labels
                        .get(i as usize)
                        .map(|c| format!("c={c}"))
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_desc("requests/s (log scale)")
            .light_line_style(WHITE)
            .draw();
        for (i, t) in names.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let series: Vec<(f64, f64)> = levels
                .iter()
                .enumerate()
                .filter_map(|(x, c)| {
                    points
                        .iter()
                        .find(|p| &p.target == t && p.concurrency == *c)
                        .map(|p| (x as f64, p.rps))
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            if let Ok(s) = chart.draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))
            {
                let shape = marker(i);
                s.label(t.clone()).legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new([(0, 0), (16, 0)], color.stroke_width(2))
                        + Polygon::new(
                            shape
                                .iter()
                                .map(|&(dx, dy)| (dx + 8, dy))
                                .collect::<Vec<_>>(),
                            color.filled(),
                        )
                });
            }
            let _ =
                chart.draw_series(series.iter().map(|&(x, y)| {
                    EmptyElement::at((x, y)) + Polygon::new(marker(i), color.filled())
                }));
        }
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw();
        let _ = root.present();
    }
    svg
}

fn svg_error(scenario: &str) -> String {
    format!("<p>No chart for {}.</p>", escape(scenario))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

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
        "<h1>bookbench results{}</h1><p>Started {} · preset <code>{}</code> · {} s per point, {} s warm-up, {} repeat(s), medians · {}</p><p>{} ({} cores), kernel {} · {} · data: {}</p>",
        if r.partial { " (partial)" } else { "" },
        escape(&r.started_at),
        escape(&r.config.preset),
        r.config.duration_s,
        r.config.warmup_s,
        r.config.repeat,
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

/// Writes `summary.md` and `report.html` (and `results.json` when
/// `with_json`) into `dir`; returns their paths.
pub fn write(
    dir: &std::path::Path,
    r: &Results,
    with_json: bool,
) -> Result<Vec<std::path::PathBuf>, crate::Error> {
    let json = with_json.then(|| ("results.json", r.to_json()));
    let mut written = Vec::new();
    for (name, body) in json.into_iter().chain([
        ("summary.md", summary_markdown(r)),
        ("report.html", html(r)),
    ]) {
        let path = dir.join(name);
        std::fs::write(&path, body)
            .map_err(|e| crate::Error::io(format!("cannot write {}", path.display()), e))?;
        written.push(path);
    }
    Ok(written)
}
