//! The report's charts, as SVG.

use std::collections::BTreeSet;

use plotters::prelude::*;

use super::{escape, target_names};
use crate::results::{Point, Results};

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
