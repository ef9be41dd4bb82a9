//! The comparison maths of the validation cases: linear interpolation of a sampled profile,
//! deviations from reference points, the reattachment point (a zero crossing of cf), the
//! Blasius coefficient fit, and the Strouhal number and mean drag of a force history.

/// Linear interpolation of `(x, y)` points (sorted by x) at `x`; clamps outside the range.
/// `None` for an empty profile.
pub fn interp(points: &[(f64, f64)], x: f64) -> Option<f64> {
    let (first, last) = (points.first()?, points.last()?);
    if x <= first.0 {
        return Some(first.1);
    }
    if x >= last.0 {
        return Some(last.1);
    }
    let i = points.partition_point(|p| p.0 <= x);
    let (a, b) = (points[i - 1], points[i]);
    let t = if b.0 > a.0 { (x - a.0) / (b.0 - a.0) } else { 0.0 };
    Some(a.1 + t * (b.1 - a.1))
}

/// Deviations of a profile from reference points: (max |Δ|, RMS Δ, the x of the max).
pub fn deviation(profile: &[(f64, f64)], reference: &[(f64, f64)]) -> (f64, f64, f64) {
    let mut max = (0.0f64, f64::NAN);
    let mut sum = 0.0;
    for &(x, r) in reference {
        let d = (interp(profile, x).unwrap_or(f64::NAN) - r).abs();
        if !(d <= max.0) {
            max = (d, x);
        }
        sum += d * d;
    }
    (max.0, (sum / reference.len().max(1) as f64).sqrt(), max.1)
}

/// The first negative-to-positive crossing of `y(x)` at `x > after` (points sorted by x),
/// linearly interpolated: the reattachment point of a cf distribution.
pub fn zero_crossing_up(points: &[(f64, f64)], after: f64) -> Option<f64> {
    points.windows(2).find_map(|w| {
        let (a, b) = (w[0], w[1]);
        (a.0 > after && a.1 < 0.0 && b.1 >= 0.0).then(|| a.0 + (b.0 - a.0) * (-a.1) / (b.1 - a.1))
    })
}

/// The Blasius fit of cf(Re_x) samples: the least-squares C in cf = C/√Re_x (exact 0.664),
/// and the largest relative deviation from 0.664/√Re_x.
pub fn blasius_fit(samples: &[(f64, f64)]) -> (f64, f64) {
    let (mut num, mut den, mut worst) = (0.0, 0.0, 0.0f64);
    for &(re, cf) in samples {
        let g = 1.0 / re.sqrt();
        num += cf * g;
        den += g * g;
        worst = worst.max((cf / (0.664 * g) - 1.0).abs());
    }
    (num / den, worst)
}

/// A periodic signal's statistics: the frequency from its upward mean crossings, and the
/// mean over whole periods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Periodic {
    /// Frequency, 1/s.
    pub frequency: f64,
    /// Whole periods counted.
    pub periods: usize,
}

/// The frequency of `signal(t)` (sorted by t) from its upward crossings of its mean over
/// `t ≥ from`; needs at least two whole periods.
pub fn frequency(signal: &[(f64, f64)], from: f64) -> Option<Periodic> {
    let s: Vec<(f64, f64)> = signal.iter().copied().filter(|p| p.0 >= from).collect();
    if s.len() < 4 {
        return None;
    }
    let mean = s.iter().map(|p| p.1).sum::<f64>() / s.len() as f64;
    let ups: Vec<f64> = s
        .windows(2)
        .filter(|w| w[0].1 < mean && w[1].1 >= mean)
        .map(|w| w[0].0 + (w[1].0 - w[0].0) * (mean - w[0].1) / (w[1].1 - w[0].1))
        .collect();
    if ups.len() < 3 {
        return None;
    }
    let periods = ups.len() - 1;
    Some(Periodic { frequency: periods as f64 / (ups[periods] - ups[0]), periods })
}

/// Time-weighted mean of `signal(t)` over `[a, b]` (trapezoids).
pub fn time_mean(signal: &[(f64, f64)], a: f64, b: f64) -> Option<f64> {
    let s: Vec<&(f64, f64)> = signal.iter().filter(|p| p.0 >= a && p.0 <= b).collect();
    let (mut area, mut span) = (0.0, 0.0);
    for w in s.windows(2) {
        let dt = w[1].0 - w[0].0;
        area += 0.5 * (w[0].1 + w[1].1) * dt;
        span += dt;
    }
    (span > 0.0).then(|| area / span)
}

/// |measured / reference − 1|.
pub fn rel_err(measured: f64, reference: f64) -> f64 {
    (measured / reference - 1.0).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_linear_and_clamped() {
        let p = [(0.0, 0.0), (1.0, 2.0), (3.0, 0.0)];
        assert_eq!(interp(&p, 0.5), Some(1.0));
        assert_eq!(interp(&p, 2.0), Some(1.0));
        assert_eq!(interp(&p, -1.0), Some(0.0));
        assert_eq!(interp(&p, 9.0), Some(0.0));
        assert_eq!(interp(&[], 1.0), None);
    }

    #[test]
    fn deviation_finds_the_worst_point() {
        let profile = [(0.0, 0.0), (1.0, 1.0)];
        let (max, rms, at) = deviation(&profile, &[(0.25, 0.25), (0.5, 0.6), (0.75, 0.75)]);
        assert!((max - 0.1).abs() < 1e-12 && at == 0.5);
        assert!((rms - (0.01f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn reattachment_is_the_first_upward_crossing_after_the_corner_eddy() {
        // Corner eddy (cf > 0 up to 1.2), then separated, reattaching at 6.5.
        let cf: Vec<(f64, f64)> = (0..200)
            .map(|i| {
                let x = i as f64 * 0.1;
                (x, if x < 1.2 { 1e-4 } else { (x - 6.5) * 1e-3 })
            })
            .collect();
        let xr = zero_crossing_up(&cf, 2.0).unwrap();
        assert!((xr - 6.5).abs() < 1e-9, "{xr}");
        assert_eq!(zero_crossing_up(&cf, 7.0), None);
    }

    #[test]
    fn blasius_fit_recovers_the_coefficient() {
        let s: Vec<(f64, f64)> = (1..20).map(|i| i as f64 * 1e3).map(|re| (re, 0.7 / re.sqrt())).collect();
        let (c, worst) = blasius_fit(&s);
        assert!((c - 0.7).abs() < 1e-12);
        assert!((worst - (0.7 / 0.664 - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn strouhal_and_mean_of_a_sine() {
        let f = 2.5;
        let sig: Vec<(f64, f64)> =
            (0..4000).map(|i| i as f64 * 1e-3).map(|t| (t, 0.3 + (2.0 * std::f64::consts::PI * f * t).sin())).collect();
        let p = frequency(&sig, 0.5).unwrap();
        assert!((p.frequency - f).abs() < 1e-3, "{p:?}");
        assert!(p.periods >= 8);
        let m = time_mean(&sig, 0.4, 3.6).unwrap();
        assert!((m - 0.3).abs() < 1e-6, "{m}");
        assert!(frequency(&sig[..300], 0.0).is_none(), "under two periods");
        assert!((rel_err(1.1, 1.0) - 0.1).abs() < 1e-12);
    }
}
