//! Requests per second against concurrency (or against the database's
//! round trip, in a run that swept it), one line per target, coloured by
//! family; within a family each line has its own marker and dash.
//!
//! Every target's line and markers are one `<g class="series"
//! data-target=…>` and its legend entry a `<g class="legend-entry"
//! data-target=…>`, so that the page's script can hide a line when its name
//! is clicked. Nothing starts hidden: without the script every line shows.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::family::{Family, family};
use super::svg::{self, Axis};
use super::{escape, target_names};
use bookbench_results::{Point, Results, round_trip_label};

const WIDTH: f64 = 1000.0;
const LEGEND_ROW: f64 = 18.0;
const LEGEND_MAX_CHARS: usize = 44;

/// How a line is told apart from the others of its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Style {
    marker: Marker,
    /// An SVG `stroke-dasharray`, empty for a solid line.
    dash: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Circle,
    Triangle,
    Square,
    Diamond,
}

const MARKERS: [Marker; 4] = [
    Marker::Circle,
    Marker::Triangle,
    Marker::Square,
    Marker::Diamond,
];
const DASHES: [&str; 3] = ["", "7 4", "2 3"];
const PLAIN: Style = Style {
    marker: Marker::Circle,
    dash: "",
};

/// Every look a line can have, the solid ones first.
fn all_styles() -> impl Iterator<Item = Style> {
    DASHES
        .iter()
        .flat_map(|&dash| MARKERS.iter().map(move |&marker| Style { marker, dash }))
}

/// The target `name` is a variant of: the longest other name that it
/// extends by a suffix (`flask-dev-pg8000` of `flask-dev`, `rust~aa` of
/// `rust`).
fn original<'a>(name: &str, names: &'a [String]) -> Option<&'a String> {
    names
        .iter()
        .filter(|o| {
            o.len() < name.len()
                && name.starts_with(o.as_str())
                && matches!(name.as_bytes().get(o.len()), Some(b'-' | b'~'))
        })
        .max_by_key(|o| o.len())
}

/// Each target's style, unique within its family as far as the styles go:
/// the originals take the markers on solid lines, and a variant its
/// original's marker on a dashed line, so that a reader sees which lines
/// are one server with another driver or setting. Fixed by the order of
/// the run's targets, so a target looks the same in every scenario.
fn styles(names: &[String]) -> Vec<Style> {
    let mut taken: Vec<(Family, Style)> = Vec::new();
    // Originals first, so that each variant finds its original's marker.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&i| names.get(i).and_then(|n| original(n, names)).is_some());
    let mut by_index: Vec<Option<Style>> = vec![None; names.len()];
    for i in order {
        let Some(name) = names.get(i) else { continue };
        let f = family(name);
        let free = |s: &Style| !taken.contains(&(f, *s));
        let wanted = original(name, names)
            .and_then(|o| names.iter().position(|n| n == o))
            .and_then(|j| by_index.get(j).copied().flatten())
            .and_then(|o| {
                all_styles()
                    .filter(|s| s.marker == o.marker && s.dash != o.dash)
                    .find(|s| free(s))
            });
        // Past twelve targets in one family, looks repeat.
        let style = wanted
            .or_else(|| all_styles().find(|s| free(s)))
            .unwrap_or(PLAIN);
        taken.push((f, style));
        if let Some(slot) = by_index.get_mut(i) {
            *slot = Some(style);
        }
    }
    by_index.into_iter().map(|s| s.unwrap_or(PLAIN)).collect()
}

/// A target's line: its points, each with the index of its level.
struct Series<'a> {
    target: &'a String,
    style: Style,
    line: Vec<(usize, &'a Point)>,
}

/// A marker centred on (x, y), in `color`, with a white rim that keeps it
/// apart from the lines it sits on.
fn marker(out: &mut String, m: Marker, x: f64, y: f64, color: &str, title: Option<&str>) {
    let rim = "stroke=\"#ffffff\" stroke-width=\"1\"";
    let shape = match m {
        Marker::Circle => {
            format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{color}\" {rim}")
        }
        Marker::Triangle => format!(
            "<path d=\"M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z\" fill=\"{color}\" {rim}",
            y - 5.0,
            x + 5.0,
            y + 4.0,
            x - 5.0,
            y + 4.0
        ),
        Marker::Square => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\" fill=\"{color}\" {rim}",
            x - 4.0,
            y - 4.0
        ),
        Marker::Diamond => format!(
            "<path d=\"M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z\" fill=\"{color}\" {rim}",
            y - 5.5,
            x + 5.5,
            y + 5.5,
            x - 5.5
        ),
    };
    out.push_str(&shape);
    match title {
        Some(t) => {
            let tag = match m {
                Marker::Circle => "circle",
                Marker::Square => "rect",
                Marker::Triangle | Marker::Diamond => "path",
            };
            let _ = write!(out, "><title>{}</title></{tag}>", escape(t));
        }
        None => out.push_str("/>"),
    }
}

/// Requests per second against concurrency, one line per target; in a
/// run that swept the database's round trip, against the round trip.
pub fn rps_chart(r: &Results, scenario: &str) -> String {
    let names = target_names(r);
    let styles = styles(&names);
    let points: Vec<&Point> = r.runs.iter().filter(|p| p.scenario == scenario).collect();
    // The round trip first: a sweep of it at one concurrency reads as one
    // line per target falling as the database moves away.
    let levels: Vec<(Option<u64>, u32)> = points
        .iter()
        .map(|p| (p.db_round_trip_us, p.concurrency))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let round_trips: BTreeSet<Option<u64>> = levels.iter().map(|l| l.0).collect();
    let concurrencies: BTreeSet<u32> = levels.iter().map(|l| l.1).collect();
    let by_round_trip = round_trips.len() > 1;
    let label = |&(rt, c): &(Option<u64>, u32)| {
        let rt = round_trip_label(rt);
        match (by_round_trip, concurrencies.len() > 1) {
            (false, _) => format!("c={c}"),
            (true, false) => rt,
            (true, true) => format!("{rt} c={c}"),
        }
    };
    let (title, x_title) = if by_round_trip {
        let at = match concurrencies.iter().collect::<Vec<_>>().as_slice() {
            [c] => format!(" (c={c})"),
            _ => String::new(),
        };
        (
            format!("{scenario}: requests/s against the database's round trip{at}"),
            "round trip between app and database".to_string(),
        )
    } else {
        (
            format!("{scenario}: requests/s against concurrency"),
            "concurrency (connections)".to_string(),
        )
    };

    // Each drawn target with its points in the order of the levels.
    let series: Vec<Series> = names
        .iter()
        .zip(styles)
        .filter_map(|(t, s)| {
            let line: Vec<(usize, &Point)> = levels
                .iter()
                .enumerate()
                .filter_map(|(x, &(rt, c))| {
                    points
                        .iter()
                        .find(|p| &p.target == t && p.concurrency == c && p.db_round_trip_us == rt)
                        .map(|p| (x, *p))
                })
                .collect();
            (!line.is_empty()).then_some(Series {
                target: t,
                style: s,
                line,
            })
        })
        .collect();

    // The legend lists the lines in the order they end, top to bottom,
    // so that a name sits about level with its line's last marker.
    let mut legend_order: Vec<usize> = (0..series.len()).collect();
    let last = |i: usize| {
        series
            .get(i)
            .and_then(|s| s.line.last())
            .map_or(0.0, |(_, p)| p.rps)
    };
    legend_order.sort_by(|a, b| last(*b).total_cmp(&last(*a)));

    let legend_w = series
        .iter()
        .map(|s| svg::text_width(&svg::truncate(s.target, LEGEND_MAX_CHARS), 12.0))
        .fold(0.0, f64::max)
        .clamp(80.0, 330.0)
        + 48.0;
    let left = 78.0;
    let top = 40.0;
    let plot_right = WIDTH - legend_w - 24.0;
    let plot_h = (series.len() as f64 * LEGEND_ROW + 16.0).max(320.0);
    let bottom = top + plot_h;
    let height = bottom + 50.0;

    let mut out = String::new();
    svg::open(&mut out, WIDTH, height, &title);
    let _ = write!(
        out,
        "<text x=\"12\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        escape(&title)
    );
    if series.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{left}\" y=\"{:.1}\">nothing measured</text></svg>",
            top + 20.0
        );
        return out;
    }

    // A log scale: the targets differ by two orders of magnitude, and a
    // linear axis would flatten every line but the fastest.
    let rps = || points.iter().map(|p| p.rps).filter(|x| *x > 0.0);
    let (low, high) = svg::log_range(
        rps().fold(f64::INFINITY, f64::min),
        rps().fold(0.0, f64::max),
    );
    let y_axis = Axis::new(low, high, true, bottom, top);
    let step = (plot_right - left) / levels.len().max(1) as f64;
    let x_of = |i: usize| left + (i as f64 + 0.5) * step;

    let _ = write!(
        out,
        "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{plot_h:.1}\" fill=\"none\" stroke=\"#999999\"/>",
        plot_right - left
    );
    for t in y_axis.ticks() {
        let y = y_axis.px(t);
        let _ = write!(
            out,
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{plot_right:.1}\" y2=\"{y:.1}\" stroke=\"#e6e6e6\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#444444\">{}</text>",
            left - 6.0,
            y + 4.0,
            svg::short(t)
        );
    }
    for (i, level) in levels.iter().enumerate() {
        let x = x_of(i);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#444444\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444444\">{}</text>",
            bottom + 5.0,
            bottom + 18.0,
            escape(&label(level))
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444444\">{}</text><text transform=\"translate(18 {:.1}) rotate(-90)\" text-anchor=\"middle\" fill=\"#444444\">requests/s (log scale)</text>",
        (left + plot_right) / 2.0,
        bottom + 38.0,
        escape(&x_title),
        (top + bottom) / 2.0
    );

    for Series {
        target: t,
        style: s,
        line,
    } in &series
    {
        let color = family(t).color();
        let path: Vec<String> = line
            .iter()
            .map(|(x, p)| format!("{:.1},{:.1}", x_of(*x), y_axis.px(p.rps)))
            .collect();
        let _ = write!(
            out,
            "<g class=\"series\" data-target=\"{}\"><polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-linejoin=\"round\"{}/>",
            escape(t),
            path.join(" "),
            dash_attr(s.dash)
        );
        for (x, p) in line {
            let tip = format!(
                "{t} at {}: {} requests/s{}",
                p.at(),
                svg::rate(p.rps),
                super::pm(p)
            );
            marker(
                &mut out,
                s.marker,
                x_of(*x),
                y_axis.px(p.rps),
                color,
                Some(&tip),
            );
        }
        out.push_str("</g>");
    }

    let legend_x = plot_right + 18.0;
    for (row, i) in legend_order.iter().enumerate() {
        let Some(Series {
            target: t,
            style: s,
            ..
        }) = series.get(*i)
        else {
            continue;
        };
        let y = top + 10.0 + row as f64 * LEGEND_ROW;
        let color = family(t).color();
        // A transparent box under the whole entry: a click between the
        // sample and the name still counts.
        let _ = write!(
            out,
            "<g class=\"legend-entry\" data-target=\"{}\"><title>{} (click to hide or show)</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{LEGEND_ROW}\" fill=\"#ffffff\" fill-opacity=\"0\"/><line x1=\"{legend_x:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{color}\" stroke-width=\"2\"{}/>",
            escape(t),
            escape(t),
            legend_x - 4.0,
            y - LEGEND_ROW / 2.0,
            WIDTH - legend_x,
            legend_x + 32.0,
            dash_attr(s.dash)
        );
        marker(&mut out, s.marker, legend_x + 16.0, y, color, None);
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            legend_x + 40.0,
            y + 4.0,
            escape(&svg::truncate(t, LEGEND_MAX_CHARS))
        );
    }
    out.push_str("</svg>");
    out
}

fn dash_attr(dash: &str) -> String {
    if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::{rps_chart, styles};
    use crate::tests::fixture;

    #[test]
    fn every_target_has_a_line_and_a_legend_entry_that_name_it() {
        let r = fixture(&[
            ("rust", 90_000.0),
            ("flask-dev", 300.0),
            ("fastapi", 2_000.0),
        ]);
        let svg = rps_chart(&r, "hello-get");
        for t in ["rust", "flask-dev", "fastapi"] {
            assert!(
                svg.contains(&format!("<g class=\"series\" data-target=\"{t}\">")),
                "{t}: {svg}"
            );
            assert!(
                svg.contains(&format!("<g class=\"legend-entry\" data-target=\"{t}\">")),
                "{t}"
            );
        }
        assert!(!svg.contains("display"), "nothing starts hidden");
    }

    #[test]
    fn a_run_that_swept_the_database_round_trip_is_charted_against_it() {
        let mut r = fixture(&[("rust", 9_000.0), ("flask-gunicorn-sync", 300.0)]);
        r.config.db_round_trips_us = vec![0, 2_000];
        // The fixture's c=10 and c=50 become c=50 at 0 and at 2 ms.
        for p in &mut r.runs {
            p.db_round_trip_us = Some(if p.concurrency == 10 { 2_000 } else { 0 });
            p.concurrency = 50;
        }
        let svg = rps_chart(&r, "hello-get");
        assert!(
            svg.contains("hello-get: requests/s against the database&#39;s round trip (c=50)")
                || svg.contains("hello-get: requests/s against the database's round trip (c=50)"),
            "{svg}"
        );
        assert!(
            svg.contains(">0</text>") && svg.contains(">2ms</text>"),
            "{svg}"
        );
        assert!(svg.contains("round trip between app and database"));
        assert!(svg.contains("rust at hello-get c=50 db=2ms: "), "{svg}");
        let md = crate::summary_markdown(&r);
        assert!(md.contains("### hello-get, c=50"), "{md}");
        assert!(md.contains("| flask-gunicorn-sync | 300 "), "{md}");
        // 180 of 300 is what is left at 2 ms.
        assert!(md.contains(" 60% |"), "{md}");
    }

    #[test]
    fn the_legend_lists_the_lines_in_the_order_they_end() {
        let r = fixture(&[
            ("flask-dev", 300.0),
            ("rust", 90_000.0),
            ("fastapi", 2_000.0),
        ]);
        let svg = rps_chart(&r, "hello-get");
        let at = |t: &str| {
            svg.find(&format!("class=\"legend-entry\" data-target=\"{t}\""))
                .expect(t)
        };
        assert!(at("rust") < at("fastapi") && at("fastapi") < at("flask-dev"));
    }

    #[test]
    fn no_two_targets_of_a_family_look_alike() {
        let names = crate::tests::built_in_target_names();
        let styles = styles(&names);
        for (i, a) in names.iter().enumerate() {
            for (j, b) in names.iter().enumerate().skip(i + 1) {
                if super::family(a) == super::family(b) {
                    assert_ne!(styles.get(i), styles.get(j), "{a} and {b}");
                }
            }
        }
        let of = |n: &str| {
            names
                .iter()
                .position(|x| x == n)
                .and_then(|i| styles.get(i))
                .copied()
                .expect(n)
        };
        let (dev, pg8000) = (of("flask-dev"), of("flask-dev-pg8000"));
        assert_eq!(dev.dash, "", "an original is solid");
        assert_eq!(
            dev.marker, pg8000.marker,
            "a variant has its original's marker"
        );
        assert_ne!(pg8000.dash, "", "and a dashed line");
    }
}
