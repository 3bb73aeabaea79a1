//! The statistics' tests.

#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn an_unbounded_interval_survives_a_trip_through_results_json() {
    let one_round = Interval {
        estimate: 1.2,
        low: 0.0,
        high: f64::INFINITY,
    };
    let json = serde_json::to_string(&one_round).unwrap_or_default();
    assert_eq!(json, r#"{"estimate":1.2,"low":0.0,"high":null}"#);
    let back: Interval = serde_json::from_str(&json).expect("it reads back");
    assert_eq!(back, one_round);
}

/// xorshift64*: enough randomness for a simulation, reproducible by seed.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in (0, 1), never 0, so that its log is finite.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Lognormal noise around 1 with a log-sd of `sigma`.
    fn noise(&mut self, sigma: f64) -> f64 {
        (sigma * self.normal()).exp()
    }
}

fn close(x: f64, y: f64, tolerance: f64) -> bool {
    (x - y).abs() <= tolerance
}

fn interval(low: f64, high: f64) -> Interval {
    Interval {
        estimate: (low * high).sqrt(),
        low,
        high,
    }
}

#[test]
fn t95_matches_the_table() {
    for (df, t) in [
        (1, 12.706),
        (2, 4.303),
        (5, 2.571),
        (10, 2.228),
        (30, 2.042),
        (40, 2.021),
        (60, 2.000),
        (120, 1.980),
    ] {
        assert!(close(t95(df), t, 0.001), "df {df}: {} not {t}", t95(df));
    }
}

#[test]
fn t95_falls_steadily_towards_the_normal_quantile() {
    assert!(close(t95(50), 2.0086, 0.0002));
    assert!(close(t95(1000), 1.9623, 0.0002));
    assert!(close(t95(usize::MAX), 1.96, 0.0001));
    let ts: Vec<f64> = (1..500).map(t95).collect();
    assert!(ts.windows(2).all(|w| w[0] > w[1]));
    assert!(ts.iter().all(|&t| t > Z975));
    assert_eq!(t95(0), f64::INFINITY);
}

#[test]
fn fractional_df_lie_between_their_neighbours_and_err_wide() {
    let t = t95_real(2.5);
    assert!(t95(3) < t && t < t95(2));
    // Exact: 3.5747.
    assert!(t >= 3.5747);
    assert!(close(t95_real(10.0), 2.2281, 1e-12));
    assert_eq!(t95_real(0.5), f64::INFINITY);
    assert_eq!(t95_real(f64::NAN), f64::INFINITY);
}

#[test]
fn identical_vectors_give_exactly_one_with_zero_width() {
    let a = [1000.0, 1210.5, 987.25, 1500.0, 1333.3];
    let r = paired_ratio(&a, &a).unwrap();
    assert_eq!(r, interval(1.0, 1.0));
    assert_eq!(r.relative_half_width(), 0.0);
    assert_eq!(log_ratio_sd(&a, &a), Some(0.0));
}

#[test]
fn a_ten_percent_gain_under_small_noise_is_found_and_excludes_one() {
    let b = [1000.0, 1020.0, 980.0, 1010.0, 995.0, 1005.0, 990.0, 1015.0];
    let wobble = [1.01, 0.99, 1.005, 0.995, 1.0, 1.008, 0.992, 1.0];
    let a: Vec<f64> = b.iter().zip(wobble).map(|(b, w)| 1.1 * b * w).collect();
    let r = paired_ratio(&a, &b).unwrap();
    assert!(r.contains(1.1), "{r:?}");
    assert!(!r.contains(1.0), "{r:?}");
    assert!(r.relative_half_width() < 0.01, "{r:?}");
}

#[test]
fn pairs_with_a_zero_nan_or_infinity_are_left_out() {
    let b = [100.0, 100.0, 100.0, 100.0, 100.0];
    let a = [120.0, 0.0, 120.0, f64::NAN, 120.0];
    let r = paired_ratio(&a, &b).unwrap();
    assert!(close(r.estimate, 1.2, 1e-12) && close(r.relative_half_width(), 0.0, 1e-12));
    let b_bad = [100.0, 100.0, f64::INFINITY, -5.0, 100.0];
    let a_ok = [110.0, 110.0, 500.0, 500.0, 110.0];
    let r = paired_ratio(&a_ok, &b_bad).unwrap();
    assert!(close(r.estimate, 1.1, 1e-12));
}

#[test]
fn fewer_than_two_usable_pairs_give_nothing() {
    assert_eq!(paired_ratio(&[], &[]), None);
    assert_eq!(paired_ratio(&[1.0], &[2.0]), None);
    assert_eq!(paired_ratio(&[1.0, 0.0, 3.0], &[2.0, 2.0, f64::NAN]), None);
    assert_eq!(log_ratio_sd(&[1.0], &[1.0]), None);
    // The extra value of the longer side has no partner.
    assert_eq!(paired_ratio(&[1.0, 2.0], &[1.0]), None);
}

#[test]
fn pairing_cancels_drift_that_would_swamp_an_unpaired_comparison() {
    // The machine slows and speeds up by 1.7x over the rounds, the same
    // for both targets within a round; a is 5% faster throughout.
    let d: Vec<f64> = (0..10)
        .map(|r| 1000.0 * (1.0 + 0.7 * ((r as f64) * 0.9).sin().abs()))
        .collect();
    let (lo, hi) = d
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    assert!(hi / lo > 1.6);
    let a: Vec<f64> = d.iter().map(|x| 1.05 * x).collect();
    let paired = paired_ratio(&a, &d).unwrap();
    assert!(close(paired.estimate, 1.05, 1e-12), "{paired:?}");
    assert!(paired.relative_half_width() < 1e-9, "{paired:?}");
    let unpaired = unpaired_ratio(&a, &d).unwrap();
    assert!(close(unpaired.estimate, 1.05, 1e-12));
    assert!(unpaired.contains(1.0), "{unpaired:?}");
}

#[test]
fn two_samples_from_one_distribution_contain_one() {
    let a = [1000.0, 1030.0, 970.0, 1015.0, 990.0, 1005.0];
    let b = [1005.0, 970.0, 1015.0, 1030.0, 1000.0, 990.0];
    let r = unpaired_ratio(&a, &b).unwrap();
    assert!(close(r.estimate, 1.0, 1e-12) && r.contains(1.0), "{r:?}");

    let mut rng = Rng(0x5eed_0001);
    let a: Vec<f64> = (0..12).map(|_| 1000.0 * rng.noise(0.05)).collect();
    let b: Vec<f64> = (0..9).map(|_| 1000.0 * rng.noise(0.05)).collect();
    let r = unpaired_ratio(&a, &b).unwrap();
    assert!(r.contains(1.0), "{r:?}");
}

#[test]
fn a_clear_twenty_percent_shift_is_excluded_from_one() {
    let mut rng = Rng(0x5eed_0002);
    let a: Vec<f64> = (0..8).map(|_| 1200.0 * rng.noise(0.03)).collect();
    let b: Vec<f64> = (0..8).map(|_| 1000.0 * rng.noise(0.03)).collect();
    let r = unpaired_ratio(&a, &b).unwrap();
    assert!(r.contains(1.2) && r.low > 1.1, "{r:?}");
    assert_eq!(Verdict::judge(&r, 0.02), Verdict::Faster);
}

#[test]
fn unpaired_needs_two_usable_values_on_each_side() {
    assert_eq!(unpaired_ratio(&[1.0, 2.0, 3.0], &[1.0]), None);
    assert_eq!(unpaired_ratio(&[1.0, f64::NAN], &[1.0, 2.0]), None);
    let r = unpaired_ratio(&[3.0, 3.0], &[2.0, 2.0, 2.0]).unwrap();
    assert!(close(r.estimate, 1.5, 1e-12) && r.low == r.high && r.low == r.estimate);
}

#[test]
fn welch_df_runs_from_one_sample_alone_to_both_pooled() {
    // Equal noise and sizes: as many df as a pooled t-test.
    assert!(close(welch_df(0.3, 10, 0.3, 10), 18.0, 1e-9));
    // One side without noise: only the other side's df count.
    assert!(close(welch_df(0.3, 10, 0.0, 5), 9.0, 1e-9));
    assert!(close(welch_df(0.0, 10, 0.2, 5), 4.0, 1e-9));
    let mut rng = Rng(0x5eed_0003);
    for _ in 0..1000 {
        let (na, nb) = (
            2 + (rng.next_u64() % 20) as usize,
            2 + (rng.next_u64() % 20) as usize,
        );
        let (va, vb) = (rng.uniform(), rng.uniform());
        let df = welch_df(va, na, vb, nb);
        let floor = (na.min(nb) - 1) as f64;
        let ceiling = (na + nb - 2) as f64;
        assert!(df >= floor - 1e-9 && df <= ceiling + 1e-9, "{df} {na} {nb}");
    }
}

#[test]
fn medians_of_odd_and_even_counts() {
    assert_eq!(median_interval(&[3.0, 1.0, 2.0]).unwrap().estimate, 2.0);
    assert_eq!(
        median_interval(&[4.0, 1.0, 3.0, 2.0]).unwrap().estimate,
        2.5
    );
    assert_eq!(median_interval(&[7.0]).unwrap(), interval(7.0, 7.0));
    assert_eq!(median_interval(&[]), None);
    assert_eq!(median_interval(&[f64::NAN]), None);
    let with_nan = median_interval(&[f64::NAN, 1.0, 5.0, 3.0]).unwrap();
    assert_eq!(with_nan.estimate, 3.0);
}

#[test]
fn under_six_values_the_median_interval_is_min_to_max() {
    for n in 2..6 {
        let values: Vec<f64> = (0..n).rev().map(|i| 10.0 + i as f64).collect();
        let r = median_interval(&values).unwrap();
        assert_eq!((r.low, r.high), (10.0, 10.0 + (n - 1) as f64), "n {n}");
    }
    assert_eq!(median_rank(8), 1);
    assert_eq!(median_rank(9), 2);
}

#[test]
fn more_values_narrow_the_median_interval_inside_min_to_max() {
    let values: Vec<f64> = (1..=20).map(|i| (i * 7 % 20) as f64 + 1.0).collect();
    let r = median_interval(&values).unwrap();
    assert_eq!(r.estimate, 10.5);
    // n 20: the 6th and 15th values, 95.9% coverage.
    assert_eq!((r.low, r.high), (6.0, 15.0));
    assert!(r.contains(r.estimate));
    // Large n stays finite (no 0.5^n underflow) and tight: about ±1.96√n/2 ranks.
    let k = median_rank(10_000);
    assert!((4900..=4903).contains(&k), "{k}");
}

#[test]
fn verdicts_need_the_interval_beyond_the_noise_threshold() {
    let judge = |lo, hi| Verdict::judge(&interval(lo, hi), 0.02);
    assert_eq!(judge(1.03, 1.08), Verdict::Faster);
    assert_eq!(judge(1.01, 1.08), Verdict::NoSignificantDifference);
    assert_eq!(judge(0.90, 0.95), Verdict::Slower);
    assert_eq!(judge(0.97, 1.04), Verdict::NoSignificantDifference);
    // Symmetric: inverting the interval swaps faster and slower.
    assert_eq!(judge(1.0 / 1.08, 1.0 / 1.03), Verdict::Slower);
    assert_eq!(judge(f64::NAN, 2.0), Verdict::NoSignificantDifference);
    assert_eq!(
        Verdict::judge(&interval(1.001, 1.002), f64::NAN),
        Verdict::Faster
    );
}

#[test]
fn verdicts_read_and_serialise_as_words() {
    assert_eq!(
        Verdict::NoSignificantDifference.name(),
        "no significant difference"
    );
    assert_eq!(Verdict::Faster.name(), "faster");
    assert_eq!(Verdict::Slower.name(), "slower");
    let json = serde_json::to_string(&Verdict::NoSignificantDifference).unwrap();
    assert_eq!(json, "\"no-significant-difference\"");
    let back: Verdict = serde_json::from_str("\"slower\"").unwrap();
    assert_eq!(back, Verdict::Slower);
}

#[test]
fn half_width_and_precision_are_in_log_space() {
    let r = interval(1.0 / 1.05, 1.05);
    assert!(close(r.relative_half_width(), 0.05, 1e-12));
    assert!(precise_enough(&r, 0.05 + 1e-9));
    assert!(!precise_enough(&r, 0.04));
    assert!(r.contains(1.05) && r.contains(1.0) && !r.contains(1.06));
    assert!(!precise_enough(&interval(0.0, 2.0), 1.0));
    assert!(!precise_enough(&interval(f64::NAN, 2.0), 1.0));
}

#[test]
fn rounds_needed_is_the_fewest_that_reach_the_precision() {
    assert_eq!(rounds_needed(0.0, 0.02), 2);
    assert_eq!(rounds_needed(0.05, 0.0), usize::MAX);
    assert_eq!(rounds_needed(f64::NAN, 0.02), usize::MAX);
    for (sd, precision) in [(0.05, 0.02), (0.01, 0.02), (0.2, 0.01), (0.03, 0.05)] {
        let n = rounds_needed(sd, precision);
        let half = |n: usize| t95(n - 1) * sd / (n as f64).sqrt();
        assert!(
            half(n) <= (1.0f64 + precision).ln(),
            "{sd} {precision}: {n}"
        );
        assert!(
            n == 2 || half(n - 1) > (1.0f64 + precision).ln(),
            "{sd} {precision}: {n}"
        );
    }
    // Near the normal formula once n is large: (1.96·0.05/ln 1.02)² ≈ 24.5.
    assert!((25..=30).contains(&rounds_needed(0.05, 0.02)));
}

#[test]
fn identical_targets_are_judged_different_about_one_time_in_twenty() {
    // A/A: both sides the same server, each round drifting for both and
    // each window with its own multiplicative noise.
    let mut rng = Rng(0x0bad_5eed_1234_5678);
    let experiments = 2000;
    let mut excluded = 0;
    for _ in 0..experiments {
        let (a, b): (Vec<f64>, Vec<f64>) = (0..10)
            .map(|_| {
                let drift = 5000.0 * rng.noise(0.2);
                (drift * rng.noise(0.03), drift * rng.noise(0.03))
            })
            .unzip();
        if !paired_ratio(&a, &b).unwrap().contains(1.0) {
            excluded += 1;
        }
    }
    let fraction = excluded as f64 / experiments as f64;
    assert!((0.02..=0.08).contains(&fraction), "{fraction}");
}

#[test]
fn unpaired_and_median_intervals_also_cover_about_ninety_five_percent() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let experiments = 2000;
    let (mut welch_missed, mut median_missed) = (0, 0);
    for _ in 0..experiments {
        let a: Vec<f64> = (0..10).map(|_| 1000.0 * rng.noise(0.05)).collect();
        let b: Vec<f64> = (0..7).map(|_| 1000.0 * rng.noise(0.1)).collect();
        if !unpaired_ratio(&a, &b).unwrap().contains(1.0) {
            welch_missed += 1;
        }
        // The median of a lognormal around 1000 is 1000.
        let c: Vec<f64> = (0..20).map(|_| 1000.0 * rng.noise(0.3)).collect();
        if !median_interval(&c).unwrap().contains(1000.0) {
            median_missed += 1;
        }
    }
    for missed in [welch_missed, median_missed] {
        let fraction = missed as f64 / experiments as f64;
        assert!((0.02..=0.08).contains(&fraction), "{fraction}");
    }
}

#[test]
fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
    assert_eq!(median(&[100_229.0, 90_460.0]), 95_344.5);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[7.0]), 7.0);
    assert_eq!(median(&[]), 0.0);
}
