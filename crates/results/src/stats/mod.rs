//! The statistics behind comparing targets measured in rounds: paired
//! ratios, unpaired ratios, medians, verdicts and how many rounds a
//! precision asks for. Pure functions, no I/O.
//!
//! # Why log ratios, paired by round
//!
//! In a round every target gets one measurement window, in a shuffled
//! order, so the slow drift of a noisy shared machine (frequency scaling,
//! heat, neighbours) lifts or sinks all targets of that round alike. Within
//! a round, the ratio of a target to the baseline cancels that drift; across
//! rounds nothing does. So the rounds are pairs, and the unit of analysis is
//! the per-round log ratio ln(rps_target,r / rps_baseline,r): the interval is
//! as wide as the spread of those ratios, not as wide as the far larger
//! spread of raw rps from one round to the next.
//!
//! Logs, because throughput noise is multiplicative (a slow round is a few
//! percent slow for everyone), because log ratios are roughly symmetric where
//! plain ratios are skewed (0.5 and 2 are equally far from 1), and because the
//! mean of the log ratios maps back to the geometric mean of the ratios, which
//! is what a reader means by "1.3x": it does not depend on which target is
//! the numerator (swap them and the estimate and both bounds become
//! reciprocals), which the arithmetic mean of ratios does not offer.
//!
//! Student's t rather than the normal 1.96, because runs have few rounds:
//! with 10 rounds the t quantile is 2.262, and an interval built on 1.96
//! would claim 95% while covering noticeably less. The t-interval assumes the
//! log ratios are roughly normal and the rounds independent; the shuffled
//! order is what makes the second plausible, and a simulation in the tests
//! checks that about 5% of comparisons of identical targets exclude 1.
//!
//! # Unpaired
//!
//! Two separate runs have no rounds in common, so there is nothing to pair:
//! their windows are two independent samples, compared with Welch's interval
//! on the difference of the mean logs, which does not assume the two runs
//! were equally noisy. It is wider than a paired interval because the drift
//! between and within the runs stays in it; that width is honest.
//!
//! # Medians
//!
//! A single target's rps over rounds has no baseline to divide by, and its
//! windows can be skewed or carry outliers (a neighbour's burst). The median
//! with an interval from order statistics assumes nothing about the shape of
//! the distribution, only that windows are independent draws from one
//! distribution. The price is that with few values it cannot reach 95%: below
//! 6 values even min..max covers the median less often than that.
//!
//! # Verdicts and multiple comparisons
//!
//! A 95% interval excludes the true value one time in twenty. A report makes
//! dozens of comparisons (targets × scenarios × concurrencies), so comparing
//! identical code would still judge about 1 in 20 of them different by chance.
//! The level is not corrected for the number of comparisons (a Bonferroni
//! level would widen every interval by an amount that depends on how big the
//! report happens to be); instead a verdict also needs the whole interval
//! beyond a noise threshold of a few percent. That rules out the chance
//! exclusions, which sit just past 1, and also effects too small to matter
//! or too small to trust on a shared machine.

/// A ratio with its 95% confidence interval (all three as plain ratios, e.g. 1.08 [1.03, 1.13]).
///
/// [`median_interval`] uses it for a median of plain values, with the same
/// meaning: an estimate and the bounds of its 95% interval.
#[derive(
    Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    /// Infinite for a ratio of one round: JSON has no infinity, so it is
    /// written `null` and read back as infinite.
    #[serde(deserialize_with = "infinite_if_null")]
    #[schemars(with = "Option<f64>")]
    pub high: f64,
}

fn infinite_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v: Option<f64> = serde::Deserialize::deserialize(d)?;
    Ok(v.unwrap_or(f64::INFINITY))
}

impl Interval {
    /// Half the width in log space, as a fraction: exp((ln high - ln low)/2) - 1. 0.05 means ±5%.
    ///
    /// Infinite when `low` is 0, NaN when a bound is negative or NaN.
    pub fn relative_half_width(&self) -> f64 {
        // In log space the interval is symmetric about the estimate, so half
        // its width is the one number that says "±x%" for both sides.
        ((self.high.ln() - self.low.ln()) / 2.0).exp() - 1.0
    }

    /// Whether `x` lies within the interval, bounds included.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// Two-sided 95% quantiles of Student's t for df 1..=30, then 40, 60 and 120.
const T95_ANCHORS: [(f64, f64); 33] = [
    (1.0, 12.7062),
    (2.0, 4.3027),
    (3.0, 3.1824),
    (4.0, 2.7764),
    (5.0, 2.5706),
    (6.0, 2.4469),
    (7.0, 2.3646),
    (8.0, 2.3060),
    (9.0, 2.2622),
    (10.0, 2.2281),
    (11.0, 2.2010),
    (12.0, 2.1788),
    (13.0, 2.1604),
    (14.0, 2.1448),
    (15.0, 2.1314),
    (16.0, 2.1199),
    (17.0, 2.1098),
    (18.0, 2.1009),
    (19.0, 2.0930),
    (20.0, 2.0860),
    (21.0, 2.0796),
    (22.0, 2.0739),
    (23.0, 2.0687),
    (24.0, 2.0639),
    (25.0, 2.0595),
    (26.0, 2.0555),
    (27.0, 2.0518),
    (28.0, 2.0484),
    (29.0, 2.0452),
    (30.0, 2.0423),
    (40.0, 2.0211),
    (60.0, 2.0003),
    (120.0, 1.9799),
];

/// The normal quantile the t quantile tends to as df grows.
const Z975: f64 = 1.959964;

/// Student's t quantile for a two-sided 95% interval with `df` degrees of freedom (df >= 1):
/// a table for df 1..=30 and the normal 1.96 approached beyond (e.g. df 40 -> 2.021, 60 -> 2.000, 120 -> 1.980).
///
/// Between and beyond the tabled values it interpolates linearly in 1/df,
/// in which the quantile is nearly straight (df 50 -> 2.0086, 1000 -> 1.9623,
/// both within 0.0001 of the exact values). df 0 has no interval: infinity.
pub fn t95(df: usize) -> f64 {
    t95_real(df as f64)
}

/// [`t95`] for the fractional df of Welch's interval. Between small integer
/// df the interpolation runs a little high (df 1.5 gives 7.1 where the exact
/// value is 6.0), which widens the interval rather than narrowing it.
fn t95_real(df: f64) -> f64 {
    if df.is_nan() || df < 1.0 {
        return f64::INFINITY;
    }
    let between = |(d0, t0): (f64, f64), (d1, t1): (f64, f64)| {
        let w = (1.0 / df - 1.0 / d1) / (1.0 / d0 - 1.0 / d1);
        t1 + w * (t0 - t1)
    };
    for pair in T95_ANCHORS.windows(2) {
        if let &[lower, upper] = pair
            && df <= upper.0
        {
            return between(lower, upper);
        }
    }
    // Beyond the last anchor, towards the normal quantile at 1/df = 0.
    match T95_ANCHORS.last() {
        Some(&(d_last, t_last)) => Z975 + (t_last - Z975) * (d_last / df),
        None => Z975,
    }
}

/// Whether a measurement can enter a ratio: a log needs a finite, positive value.
fn usable(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// ln(a_i / b_i) over usable pairs. As ln a - ln b, so that no quotient can
/// overflow, and identical values still give exactly 0.
fn log_ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter(|&(&x, &y)| usable(x) && usable(y))
        .map(|(x, y)| x.ln() - y.ln())
        .collect()
}

fn logs(values: &[f64]) -> Vec<f64> {
    values
        .iter()
        .filter(|&&x| usable(x))
        .map(|x| x.ln())
        .collect()
}

/// Mean and sample variance (n - 1), None under 2 values. Two passes, so
/// that values all alike give a variance of exactly 0.
fn mean_var(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((mean, var))
}

/// An interval on a mean of logs, back in ratio space.
fn from_log(mean: f64, half: f64) -> Interval {
    Interval {
        estimate: mean.exp(),
        low: (mean - half).exp(),
        high: (mean + half).exp(),
    }
}

/// The geometric mean of paired ratios a_i / b_i with a 95% t-interval on the mean of ln(a_i/b_i).
/// Pairs where either side is not finite and > 0 are left out. None with fewer than 2 usable pairs.
///
/// `a` and `b` are paired by index (round); values past the end of the
/// shorter slice have no partner and are left out too.
pub fn paired_ratio(a: &[f64], b: &[f64]) -> Option<Interval> {
    let lr = log_ratios(a, b);
    let (mean, var) = mean_var(&lr)?;
    let n = lr.len();
    let half = t95(n - 1) * (var / n as f64).sqrt();
    Some(from_log(mean, half))
}

/// The geometric mean ratio mean(ln a)/mean(ln b) of two independent samples (two runs' windows, not paired),
/// with a 95% Welch interval on the difference of the means of the logs (Welch–Satterthwaite df). None with fewer than 2 usable values on either side.
///
/// Precisely, the estimate is exp(mean(ln a) - mean(ln b)), the ratio of
/// the two geometric means. Values that are not finite and > 0 are left out.
pub fn unpaired_ratio(a: &[f64], b: &[f64]) -> Option<Interval> {
    let (la, lb) = (logs(a), logs(b));
    let (mean_a, var_a) = mean_var(&la)?;
    let (mean_b, var_b) = mean_var(&lb)?;
    let (na, nb) = (la.len(), lb.len());
    let (va, vb) = (var_a / na as f64, var_b / nb as f64);
    let se = (va + vb).sqrt();
    // Both samples constant: no spread to scale, and Welch's df would be 0/0.
    let half = if se > 0.0 {
        t95_real(welch_df(va, na, vb, nb)) * se
    } else {
        0.0
    };
    Some(from_log(mean_a - mean_b, half))
}

/// Welch–Satterthwaite degrees of freedom, from the squared standard errors
/// `va` = s_a²/n_a and `vb` = s_b²/n_b. Lies between min(n_a, n_b) - 1 (one
/// sample's noise dominates) and n_a + n_b - 2 (equal noise and sizes).
fn welch_df(va: f64, na: usize, vb: f64, nb: usize) -> f64 {
    let part = |v: f64, n: usize| v * v / (n as f64 - 1.0);
    (va + vb).powi(2) / (part(va, na) + part(vb, nb))
}

/// The median of `values` (mean of the middle two for an even count) with a distribution-free 95% interval from order statistics (binomial).
///
/// The interval is [x_(k), x_(n+1-k)] (1-based order statistics) with the
/// largest k for which the chance that the median falls outside, 2·P(B <= k-1)
/// with B ~ Binomial(n, 1/2), is at most 5%. It is conservative: it covers
/// at least 95%, often more, since only a few coverages are possible.
///
/// When n is too small for 95% (n < 6) it gives the widest interval
/// available, min..max, which then covers less: 93.8% for n = 5, 87.5% for
/// 4, 75% for 3, 50% for 2, and nothing beyond the single value for n = 1.
/// For n 6 to 8 min..max is itself the 95% interval; it narrows from n = 9.
///
/// Values that are not finite are left out. None when none is left.
pub fn median_interval(values: &[f64]) -> Option<Interval> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let estimate = match (sorted.get((n.max(1) - 1) / 2), sorted.get(n / 2)) {
        (Some(lo), Some(hi)) => (lo + hi) / 2.0,
        _ => return None,
    };
    let k = median_rank(n);
    let low = *sorted.get(k - 1)?;
    let high = *sorted.get(n.checked_sub(k)?)?;
    Some(Interval {
        estimate,
        low,
        high,
    })
}

/// The 1-based rank k of the order statistics bounding the 95% interval of
/// the median of `n` values (n >= 1); 1 (min..max) when no k reaches 95%.
fn median_rank(n: usize) -> usize {
    // P(B = j) built up in logs, so that 0.5^n does not underflow for large n.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0; // ln C(n, j)
    let mut cdf = 0.0; // P(B <= j)
    let mut k = 1;
    for j in 0..n / 2 {
        if j > 0 {
            ln_choose += ((n - j + 1) as f64 / j as f64).ln();
        }
        cdf += (ln_choose + ln_half_n).exp();
        // The median lies below x_(j+1) when at most j values do, which may
        // happen at most 2.5% of the time (and as often above x_(n-j)).
        if cdf > 0.025 {
            break;
        }
        k = j + 1;
    }
    k
}

/// What a comparison says once noise is taken into account.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Faster,
    Slower,
    NoSignificantDifference,
}

impl Verdict {
    /// `faster` / `slower` only when the interval excludes 1 AND lies wholly beyond the noise threshold
    /// (low > 1 + threshold, or high < 1 / (1 + threshold)); otherwise no significant difference. `threshold` is a fraction (0.02 = 2%).
    ///
    /// A negative or NaN threshold counts as 0; an interval with a NaN bound
    /// is no significant difference.
    pub fn judge(ratio: &Interval, threshold: f64) -> Self {
        // The reciprocal for "slower" keeps the verdict symmetric: swapping
        // the two targets inverts the interval and swaps faster and slower.
        let beyond = 1.0 + threshold.max(0.0);
        if ratio.low > beyond {
            Verdict::Faster
        } else if ratio.high < 1.0 / beyond {
            Verdict::Slower
        } else {
            Verdict::NoSignificantDifference
        }
    }

    /// "faster", "slower", "no significant difference": as it reads in a sentence.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::NoSignificantDifference => "no significant difference",
        }
    }
}

/// Whether an interval is as narrow as asked: relative_half_width() <= precision (a fraction).
///
/// An interval whose width cannot be measured (a bound 0, negative or NaN)
/// is never precise enough.
pub fn precise_enough(ratio: &Interval, precision: f64) -> bool {
    ratio.relative_half_width() <= precision
}

/// Rounds needed for a half-width `precision` given the per-round standard deviation `sd` of the log ratio seen so far: n ≈ (t·sd/ln(1+precision))², at least 2; used to say how far a run was from its goal.
///
/// Exactly: the smallest n >= 2 with t95(n - 1)·sd/√n <= ln(1 + precision),
/// the half-width [`paired_ratio`] would give if the spread stayed at `sd`.
/// The t depends on n, which is why this is a search and not the formula.
/// `usize::MAX` when the goal cannot be reached: precision not > 0, or `sd`
/// not finite.
pub fn rounds_needed(sd: f64, precision: f64) -> usize {
    let goal = precision.ln_1p();
    let sd = sd.abs();
    if goal.is_nan() || goal <= 0.0 || !sd.is_finite() {
        return usize::MAX;
    }
    let need = |n: usize| (t95(n - 1) * sd / goal).powi(2);
    let enough = |n: usize| n as f64 >= need(n);
    if enough(2) {
        return 2;
    }
    // need(n) falls as n grows, so n = need(2) is enough: a bound to search
    // below. The float-to-int cast saturates, so a hopeless goal ends at MAX.
    let (mut lo, mut hi) = (2, need(2).ceil() as usize);
    if !enough(hi) {
        return usize::MAX;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if enough(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The median; of an even count, the mean of the two middle values.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match (v.get(n / 2), n.checked_sub(1).and_then(|i| v.get(i / 2))) {
        (Some(&upper), Some(&lower)) if n.is_multiple_of(2) => f64::midpoint(lower, upper),
        (Some(&middle), _) => middle,
        _ => 0.0,
    }
}

/// Sample standard deviation of ln(a_i/b_i) over usable pairs (None under 2).
pub fn log_ratio_sd(a: &[f64], b: &[f64]) -> Option<f64> {
    mean_var(&log_ratios(a, b)).map(|(_, var)| var.sqrt())
}

#[cfg(test)]
mod tests;
