//! The chart each scenario leads with: one bar per target at its best
//! concurrency, fastest first, coloured by family, with the median's 95%
//! interval as a whisker and the verdict against the baseline at its end.

use std::fmt::Write as _;

use super::family::{Family, family};
use super::svg::{self, Axis};
use super::{best, escape, target_names};
use bookbench_results::stats::{Interval, Verdict};
use bookbench_results::{Point, Results};

/// Beyond this ratio of the fastest bar to the slowest a linear axis
/// leaves the slow ones as slivers: the axis turns logarithmic.
const LOG_ABOVE: f64 = 20.0;
/// The chart's width, unless long names need more (the page then scales
/// it down to fit).
const WIDTH: f64 = 1000.0;
/// The least room the bars get.
const PLOT_MIN: f64 = 420.0;
const ROW: f64 = 22.0;
const BAR: f64 = 14.0;
/// A longer name is cut (its tooltip has it whole); the concurrency after
/// it is always shown.
const NAME_MAX_CHARS: usize = 44;

/// One target's bar.
struct Bar<'a> {
    point: &'a Point,
    label: String,
    baseline: bool,
    /// The median's interval, when it is one a whisker can show.
    interval: Option<Interval>,
}

/// The targets' bars of a scenario, fastest first (equal ones in the
/// order of the targets).
fn bars<'a>(r: &'a Results, scenario: &str) -> Vec<Bar<'a>> {
    let mut bars: Vec<Bar> = target_names(r)
        .iter()
        .filter_map(|t| best(r, t, scenario))
        .map(|p| Bar {
            point: p,
            label: format!(
                "{} (c={}{})",
                svg::truncate(&p.target, NAME_MAX_CHARS),
                p.concurrency,
                p.at().db_note()
            ),
            baseline: r.config.baseline.as_deref() == Some(p.target.as_str()),
            interval: p.rps_interval.filter(|i| {
                i.low.is_finite() && i.high.is_finite() && i.low > 0.0 && i.low <= i.high
            }),
        })
        .collect();
    bars.sort_by(|a, b| b.point.rps.total_cmp(&a.point.rps));
    bars
}

/// `32% faster`, `8.3× slower`, `≈`: the verdict at a bar's end; `vs
/// NAME` when the target was compared with another than the baseline.
fn verdict_text(p: &Point, baseline: Option<&str>) -> Option<String> {
    let c = p.comparison.as_ref()?;
    let text = match c.verdict {
        Verdict::NoSignificantDifference => "≈".to_string(),
        v => super::verdict_phrase(c.ratio.estimate, v),
    };
    Some(if baseline == Some(c.reference.as_str()) {
        text
    } else {
        format!("{text} vs {}", c.reference)
    })
}

/// What a bar's tooltip says: the figures behind it, in full.
fn tooltip(bar: &Bar) -> String {
    let p = bar.point;
    let mut t = format!(
        "{} at c={}{}: {} requests/s",
        p.target,
        p.concurrency,
        p.at().db_note(),
        svg::rate(p.rps)
    );
    if let Some(i) = bar.interval {
        let _ = write!(
            t,
            " (95% interval {}–{})",
            svg::rate(i.low),
            svg::rate(i.high)
        );
    }
    let _ = write!(t, ", {} windows", p.windows.len());
    if let Some(c) = &p.comparison {
        let _ = write!(
            t,
            "; {:.3} times {}'s requests/s{}, {} in {} rounds",
            c.ratio.estimate,
            c.reference,
            if c.ratio.high.is_finite() {
                format!(" (95% interval {:.3}–{:.3})", c.ratio.low, c.ratio.high)
            } else {
                String::new()
            },
            super::verdict_phrase(c.ratio.estimate, c.verdict),
            c.rounds
        );
    } else if bar.baseline {
        t.push_str("; the baseline");
    }
    t
}

/// A legend's entry: what its swatch shows, then its words.
enum Swatch {
    Fill(&'static str),
    Baseline,
    Whisker,
}

/// Lays the legend's entries out in rows from `x0`, wrapping before
/// `x_max`; returns the SVG and the number of rows.
fn legend(entries: &[(Swatch, &str)], x0: f64, x_max: f64, y0: f64) -> (String, usize) {
    let mut out = String::new();
    let (mut x, mut row) = (x0, 0usize);
    for (swatch, words) in entries {
        let width = 18.0 + svg::text_width(words, 12.0) + 18.0;
        if x + width > x_max && x > x0 {
            x = x0;
            row += 1;
        }
        let y = y0 + row as f64 * 18.0;
        match swatch {
            Swatch::Fill(color) => {
                let _ = write!(
                    out,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{color}\"/>",
                    y - 10.0
                );
            }
            Swatch::Baseline => {
                let _ = write!(
                    out,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"#ffffff\" stroke=\"#222222\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/>",
                    y - 10.0
                );
            }
            Swatch::Whisker => {
                let _ = write!(
                    out,
                    "<path d=\"M{x:.1} {m:.1}h12M{x:.1} {a:.1}v8M{b:.1} {a:.1}v8\" stroke=\"#222222\" stroke-width=\"1.3\" fill=\"none\"/>",
                    m = y - 4.0,
                    a = y - 8.0,
                    b = x + 12.0,
                );
            }
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{y:.1}\">{}</text>",
            x + 18.0,
            escape(words)
        );
        x += width;
    }
    (out, row + 1)
}

/// Each target's requests per second at its best concurrency, one bar
/// each, fastest first.
pub fn bars_chart(r: &Results, scenario: &str) -> String {
    let bars = bars(r, scenario);
    let baseline = r.config.baseline.as_deref();
    let title = format!("{scenario}: requests/s at each target's best concurrency");
    let mut out = String::new();
    if bars.is_empty() {
        svg::open(&mut out, WIDTH, 60.0, &title);
        let _ = write!(
            out,
            "<text x=\"12\" y=\"36\">{}: nothing measured</text></svg>",
            escape(scenario)
        );
        return out;
    }

    let ends: Vec<(String, Option<String>)> = bars
        .iter()
        .map(|b| {
            let value = format!("{}{}", svg::rate(b.point.rps), super::pm(b.point));
            let verdict = if b.baseline {
                Some("baseline".to_string())
            } else {
                verdict_text(b.point, baseline)
            };
            (value, verdict)
        })
        .collect();
    // Bold is wider: the labels are measured as if all were the baseline's.
    let left = bars
        .iter()
        .map(|b| svg::text_width(&b.label, 12.0) * 1.1)
        .fold(0.0, f64::max)
        .max(100.0)
        + 20.0;
    let right = ends
        .iter()
        .map(|(v, verdict)| {
            svg::text_width(v, 12.0)
                + verdict
                    .as_deref()
                    .map_or(0.0, |t| svg::text_width(t, 12.0) + 14.0)
        })
        .fold(0.0, f64::max)
        .clamp(60.0, 320.0)
        + 20.0;
    let width = WIDTH.max(left + PLOT_MIN + right);
    let plot_right = width - right;

    let mut families: Vec<Family> = bars.iter().map(|b| family(&b.point.target)).collect();
    families.sort_unstable();
    families.dedup();
    let mut entries: Vec<(Swatch, &str)> = families
        .iter()
        .map(|f| (Swatch::Fill(f.color()), f.name()))
        .collect();
    if bars.iter().any(|b| b.baseline) {
        entries.push((Swatch::Baseline, "baseline"));
    }
    if bars.iter().any(|b| b.interval.is_some()) {
        entries.push((Swatch::Whisker, "95% interval of the median"));
    }
    let (legend_svg, legend_rows) = legend(&entries, 12.0, width - 12.0, 44.0);
    let top = 44.0 + legend_rows as f64 * 18.0 + 4.0;
    let height = top + bars.len() as f64 * ROW + 46.0;

    let positive = |x: f64| x.is_finite() && x > 0.0;
    let rps = || bars.iter().map(|b| b.point.rps).filter(|x| positive(*x));
    let (min_bar, max_bar) = (
        rps().fold(f64::INFINITY, f64::min),
        rps().fold(0.0, f64::max),
    );
    // The whiskers too must fit on the axis.
    let max = bars
        .iter()
        .flat_map(|b| [b.point.rps, b.interval.map_or(0.0, |i| i.high)])
        .filter(|x| positive(*x))
        .fold(0.0, f64::max);
    let log = min_bar.is_finite() && max_bar / min_bar > LOG_ABOVE;
    let axis = if log {
        let (low, high) = svg::log_range(
            bars.iter()
                .flat_map(|b| [b.point.rps, b.interval.map_or(f64::INFINITY, |i| i.low)])
                .filter(|x| positive(*x))
                .fold(f64::INFINITY, f64::min),
            max,
        );
        Axis::new(round_down(low), high, true, left, plot_right)
    } else {
        Axis::new(
            0.0,
            if max > 0.0 { max * 1.04 } else { 1.0 },
            false,
            left,
            plot_right,
        )
    };

    svg::open(&mut out, width, height, &title);
    let _ = write!(
        out,
        "<text x=\"12\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>{legend_svg}",
        escape(&title)
    );
    let bottom = top + bars.len() as f64 * ROW;
    for t in axis.ticks() {
        let x = axis.px(t);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#e3e3e3\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444444\">{}</text>",
            bottom + 16.0,
            svg::short(t)
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444444\">requests/s{}</text>",
        (left + plot_right) / 2.0,
        bottom + 36.0,
        if axis.is_log() { " (log scale)" } else { "" }
    );

    for (i, (bar, (value, verdict))) in bars.iter().zip(&ends).enumerate() {
        let p = bar.point;
        let y = top + i as f64 * ROW + (ROW - BAR) / 2.0;
        let mid = y + BAR / 2.0;
        let x_end = axis.px(p.rps);
        let _ = write!(
            out,
            "<g class=\"bar\" data-target=\"{}\"><title>{}</title><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\"{}>{}</text><rect x=\"{left:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR}\" fill=\"{}\"/>",
            escape(&p.target),
            escape(&tooltip(bar)),
            left - 8.0,
            mid + 4.0,
            if bar.baseline {
                " font-weight=\"bold\""
            } else {
                ""
            },
            escape(&bar.label),
            (x_end - left).max(0.0),
            family(&p.target).color(),
        );
        if bar.baseline {
            // Around the bar rather than on its edge: a dashed line on a
            // dark fill does not show.
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#222222\" stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/>",
                left + 1.0,
                y - 2.5,
                (x_end - left + 1.5).max(0.0),
                BAR + 5.0
            );
        }
        let mut text_x = x_end;
        if let Some(interval) = bar.interval {
            let (a, b) = (axis.px(interval.low), axis.px(interval.high));
            let _ = write!(
                out,
                "<path d=\"M{a:.1} {mid:.1}H{b:.1}M{a:.1} {:.1}v8M{b:.1} {:.1}v8\" stroke=\"#222222\" stroke-width=\"1.3\" fill=\"none\"/>",
                mid - 4.0,
                mid - 4.0
            );
            text_x = text_x.max(b);
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#333333\">{}",
            text_x + 6.0,
            mid + 4.0,
            escape(value)
        );
        if let Some(v) = verdict {
            let (color, style) = match (bar.baseline, p.comparison.as_ref().map(|c| c.verdict)) {
                (true, _) => ("#333333", " font-style=\"italic\""),
                (false, Some(Verdict::Faster)) => ("#1a7f37", " font-weight=\"bold\""),
                (false, Some(Verdict::Slower)) => ("#b42318", " font-weight=\"bold\""),
                (false, _) => ("#555555", ""),
            };
            let _ = write!(
                out,
                "<tspan dx=\"10\" fill=\"{color}\"{style}>{}</tspan>",
                escape(v)
            );
        }
        out.push_str("</text></g>");
    }
    let _ = write!(
        out,
        "<line x1=\"{left:.1}\" y1=\"{top:.1}\" x2=\"{left:.1}\" y2=\"{bottom:.1}\" stroke=\"#444444\"/></svg>"
    );
    out
}

/// The nearest 1, 2 or 5 times a power of ten at or below `x`: bars start
/// at a round value, which the axis labels.
fn round_down(x: f64) -> f64 {
    let magnitude = 10f64.powf(x.log10().floor());
    [5.0, 2.0, 1.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|v| *v <= x)
        .unwrap_or(magnitude)
}

#[cfg(test)]
mod tests {
    use super::{bars, bars_chart};
    use crate::tests::{compare, fixture};
    use bookbench_results::stats::Verdict;

    #[test]
    fn bars_are_sorted_fastest_first_each_at_its_best_concurrency() {
        let r = fixture(&[
            ("flask-dev", 300.0),
            ("rust", 90_000.0),
            ("fastapi", 2_000.0),
        ]);
        let order: Vec<String> = bars(&r, "hello-get")
            .iter()
            .map(|b| b.label.clone())
            .collect();
        assert_eq!(
            order,
            ["rust (c=50)", "fastapi (c=50)", "flask-dev (c=50)"],
            "the fixture's best concurrency is 50"
        );
        let svg = bars_chart(&r, "hello-get");
        let at = |name: &str| svg.find(&format!(">{name} (c=50)<")).expect(name);
        assert!(at("rust") < at("fastapi") && at("fastapi") < at("flask-dev"));
        assert!(svg.contains("(log scale)"), "300 to 90 000 is over 20×");
    }

    #[test]
    fn close_bars_are_on_a_linear_axis() {
        let r = fixture(&[("rust", 1000.0), ("rust~aa", 1500.0)]);
        assert!(!bars_chart(&r, "hello-get").contains("log scale"));
    }

    #[test]
    fn the_baseline_is_marked_and_a_compared_target_carries_its_verdict() {
        let mut r = fixture(&[("rust", 1000.0), ("fastapi", 2_000.0), ("sanic", 1010.0)]);
        r.config.baseline = Some("rust".to_string());
        compare(&mut r, "fastapi", 2.0, Verdict::Faster);
        compare(&mut r, "sanic", 1.01, Verdict::NoSignificantDifference);
        let svg = bars_chart(&r, "hello-get");
        assert!(
            svg.contains("font-weight=\"bold\">rust (c=50)</text>"),
            "{svg}"
        );
        assert!(svg.contains("stroke-dasharray=\"4 2\""), "{svg}");
        assert!(svg.contains(">baseline</tspan>"), "{svg}");
        assert!(svg.contains(">2.0× faster</tspan>"), "{svg}");
        assert!(svg.contains(">≈</tspan>"), "{svg}");
    }

    #[test]
    fn the_whisker_is_drawn_only_for_a_finite_interval() {
        let mut r = fixture(&[("rust", 1000.0), ("fastapi", 900.0)]);
        for p in &mut r.runs {
            if p.target == "fastapi" {
                p.rps_interval = p.rps_interval.map(|mut i| {
                    i.high = f64::INFINITY;
                    i
                });
            }
        }
        let b = bars(&r, "hello-get");
        assert!(b.first().and_then(|b| b.interval).is_some());
        assert!(b.get(1).and_then(|b| b.interval).is_none());
    }

    #[test]
    fn a_long_name_is_cut_but_keeps_its_concurrency_and_widens_the_chart() {
        let long = "pypy-flask-gunicorn-eventlet-pg8000~q90-and-then-some-more";
        let r = fixture(&[(long, 10.0), ("rust", 20.0)]);
        let b = bars(&r, "hello-get");
        let label = b.get(1).map(|b| b.label.as_str()).unwrap_or_default();
        assert!(label.ends_with("… (c=50)"), "{label}");
        assert!(label.chars().count() <= 44 + " (c=50)".len());
        let svg = bars_chart(&r, "hello-get");
        assert!(
            svg.contains(&format!("<title>{long} at c=50")),
            "the tooltip has it whole"
        );
    }

    #[test]
    fn names_are_escaped() {
        let r = fixture(&[("a<b>&c", 10.0)]);
        let svg = bars_chart(&r, "hello-get");
        assert!(svg.contains("a&lt;b&gt;&amp;c (c=50)"));
        assert!(!svg.contains("a<b>"));
    }
}
