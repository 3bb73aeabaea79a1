//! What the charts share: an axis (linear or log) with its ticks, numbers
//! as a reader says them, and an estimate of how wide a text is.
//!
//! The charts are written by hand rather than drawn with a plotting
//! library so that every target's elements can carry a `data-target`
//! (which the page's script shows and hides) and a `<title>` (which a
//! browser shows on hover), and so that names get the room they need.

use std::fmt::Write as _;

/// The charts' text, left to the browser: no font is embedded or fetched.
pub(super) const FONT: &str =
    "system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif";

/// Maps values to pixels along one axis.
#[derive(Debug, Clone, Copy)]
pub(super) struct Axis {
    low: f64,
    high: f64,
    log: bool,
    from_px: f64,
    to_px: f64,
}

impl Axis {
    /// `low..high` onto `from_px..to_px` (`to_px` may be the smaller, for a
    /// y axis that grows upwards). A log axis needs `low > 0`; a degenerate
    /// range is widened so that nothing divides by zero.
    pub(super) fn new(low: f64, high: f64, log: bool, from_px: f64, to_px: f64) -> Self {
        let low = if log { low.max(1e-9) } else { low };
        let high = if high > low {
            high
        } else if log {
            low * 10.0
        } else {
            low + 1.0
        };
        Self {
            low,
            high,
            log,
            from_px,
            to_px,
        }
    }

    pub(super) fn is_log(&self) -> bool {
        self.log
    }

    /// Where `v` goes, clamped to the axis (a value off the axis, or not a
    /// number, is drawn at its nearer end rather than off the chart).
    pub(super) fn px(&self, v: f64) -> f64 {
        let f = |x: f64| if self.log { x.max(1e-9).ln() } else { x };
        let t = (f(v) - f(self.low)) / (f(self.high) - f(self.low));
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        self.from_px + t * (self.to_px - self.from_px)
    }

    /// Round values within the axis: 1, 2, 5 times powers of ten on a log
    /// axis (only the powers when they are many), a step of 1, 2 or 5
    /// times a power of ten on a linear one.
    pub(super) fn ticks(&self) -> Vec<f64> {
        let decades = (self.high / self.low).log10();
        if !self.log || decades < 1.0 {
            // Within one decade a log axis is nearly straight, and the
            // powers of ten would leave it with a tick or none.
            return linear_ticks(self.low, self.high);
        }
        let first = self.low.log10().floor() as i32;
        let last = self.high.log10().ceil() as i32;
        let multiples: &[f64] = if decades < 1.5 {
            &[1.0, 2.0, 3.0, 5.0, 7.0]
        } else if decades < 3.5 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        (first..=last)
            .flat_map(|e| multiples.iter().map(move |m| m * 10f64.powi(e)))
            .filter(|v| *v >= self.low * 0.999 && *v <= self.high * 1.001)
            .collect()
    }
}

/// Steps of 1, 2 or 5 times a power of ten, four to eight of them.
fn linear_ticks(low: f64, high: f64) -> Vec<f64> {
    let raw = (high - low) / 8.0;
    if !(raw.is_finite() && raw > 0.0) {
        return Vec::new();
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(magnitude * 10.0);
    let first = (low / step).ceil() as i64;
    (first..)
        .map(|k| k as f64 * step)
        .take_while(|v| *v <= high * 1.000_001)
        .take(50)
        .collect()
}

/// A log axis's range around values from `min` to `max` (both positive):
/// a little room on either side, so that no marker sits on the frame.
pub(super) fn log_range(min: f64, max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let min = if min.is_finite() && min > 0.0 && min <= max {
        min
    } else {
        max
    };
    (min / 1.3, max * 1.2)
}

/// A tick's label: `500`, `2k`, `1.5M`.
pub(super) fn short(v: f64) -> String {
    let (x, unit) = if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let digits = if (x - x.round()).abs() < 1e-6 {
        0
    } else if (x * 10.0 - (x * 10.0).round()).abs() < 1e-6 {
        1
    } else {
        2
    };
    format!("{x:.digits$}{unit}")
}

/// A rate as a table says it, with its thousands apart: `12 345`, `98.7`.
pub(super) fn rate(x: f64) -> String {
    if !x.is_finite() {
        return "-".to_string();
    }
    if x.abs() < 100.0 {
        return format!("{x:.1}");
    }
    let digits = format!("{:.0}", x.abs());
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            // A narrow no-break space: a group separator that cannot be
            // taken for a decimal point in any language.
            grouped.push('\u{202f}');
        }
        grouped.push(c);
    }
    if x < 0.0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// How wide `s` is set in a sans-serif font of `size` pixels, generously:
/// a name must not run into what stands beside it in a font wider than
/// the usual.
pub(super) fn text_width(s: &str, size: f64) -> f64 {
    s.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' => 0.32,
            'f' | 't' | 'r' | '-' | '(' | ')' | '[' | ']' | '/' => 0.42,
            'm' | 'w' | 'M' | 'W' | '~' | '%' => 0.9,
            'A'..='Z' | '0'..='9' | '=' | '×' | '≈' | '±' => 0.66,
            _ => 0.58,
        })
        .sum::<f64>()
        * size
}

/// At most `max` characters, the rest replaced by an ellipsis.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let kept: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// The opening of a chart: its size, a white ground and the font.
pub(super) fn open(out: &mut String, width: f64, height: f64, label: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"{}\" font-family=\"{FONT}\" font-size=\"12\"><rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>",
        super::escape(label)
    );
}

#[cfg(test)]
mod tests {
    use super::{Axis, rate, short, truncate};

    #[test]
    fn a_log_axis_puts_each_decade_the_same_distance_apart() {
        let a = Axis::new(10.0, 10_000.0, true, 0.0, 300.0);
        assert!((a.px(10.0) - 0.0).abs() < 1e-9);
        assert!((a.px(100.0) - 100.0).abs() < 1e-9);
        assert!((a.px(10_000.0) - 300.0).abs() < 1e-9);
        assert_eq!(a.px(f64::NAN), 0.0, "not a number is drawn at the start");
        assert_eq!(
            a.ticks(),
            [10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 1e4]
        );
        let wide = Axis::new(1.0, 1e6, true, 0.0, 300.0);
        assert_eq!(wide.ticks(), [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]);
        let narrow = Axis::new(230.0, 440.0, true, 0.0, 300.0);
        assert_eq!(narrow.ticks(), [250.0, 300.0, 350.0, 400.0]);
    }

    #[test]
    fn a_linear_axis_ticks_at_round_steps() {
        let a = Axis::new(0.0, 1234.0, false, 0.0, 100.0);
        let ticks = a.ticks();
        assert_eq!(ticks.first(), Some(&0.0));
        assert!(
            ticks.iter().all(|t| (t / 200.0).fract() == 0.0),
            "{ticks:?}"
        );
    }

    #[test]
    fn numbers_read_as_a_person_writes_them() {
        assert_eq!(short(2000.0), "2k");
        assert_eq!(short(1500.0), "1.5k");
        assert_eq!(short(50.0), "50");
        assert_eq!(rate(1_234_567.4), "1\u{202f}234\u{202f}567");
        assert_eq!(rate(98.74), "98.7");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
