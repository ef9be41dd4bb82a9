//! What a transient run's force history says: mean drag and lift after the start-up, the
//! lift's RMS, and the vortex-shedding frequency and Strouhal number (St = f · lRef / |U|).
//!
//! The frequency is counted from the lift's upward crossings of its mean (with hysteresis,
//! so noise around the mean does not add crossings) and checked against the peak of a
//! periodogram of the same window, resampled to a uniform step because the adjustable time
//! step is not uniform. When the two disagree by more than [`AGREEMENT`], the lift is not
//! a clean periodic signal and no Strouhal number is reported, with the reason.

use super::log::ForceCoeffSample;
use serde::Serialize;
use serde_json::json;

/// Largest relative difference between the zero-crossing and the periodogram frequency
/// for the frequency to be reported, on top of half the periodogram's resolution
/// (1 / window) relative to the frequency.
pub const AGREEMENT: f64 = 0.05;

/// The analysis of a force history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shedding {
    /// Force samples (time steps) in the whole history.
    pub time_steps: usize,
    /// Smallest and largest step between samples, s.
    pub dt_min: Option<f64>,
    /// Largest step between samples, s.
    pub dt_max: Option<f64>,
    /// Mean drag coefficient from `average_from` on.
    pub cd_mean: Option<f64>,
    /// Mean lift coefficient from `average_from` on.
    pub cl_mean: Option<f64>,
    /// RMS of the lift coefficient about its mean.
    pub cl_rms: Option<f64>,
    /// The shedding frequency, Hz.
    pub frequency_hz: Option<f64>,
    /// The periodogram's peak, Hz (the check on `frequency_hz`).
    pub periodogram_hz: Option<f64>,
    /// f · lRef / |U|.
    pub strouhal: Option<f64>,
    /// Why there is no Strouhal number, when there is none.
    pub reason: Option<String>,
}

/// Analyses `history` (time, coefficients) from `average_from` on, for reference length
/// `lref` and free-stream speed `speed`.
pub fn analyse(history: &[(f64, ForceCoeffSample)], average_from: f64, lref: f64, speed: f64) -> Shedding {
    let steps: Vec<f64> = history.windows(2).map(|p| p[1].0 - p[0].0).filter(|d| *d > 0.0).collect();
    let mut out = Shedding {
        time_steps: history.len(),
        dt_min: steps.iter().cloned().reduce(f64::min),
        dt_max: steps.iter().cloned().reduce(f64::max),
        cd_mean: None,
        cl_mean: None,
        cl_rms: None,
        frequency_hz: None,
        periodogram_hz: None,
        strouhal: None,
        reason: None,
    };
    let window: Vec<&(f64, ForceCoeffSample)> = history.iter().filter(|(t, _)| *t >= average_from).collect();
    let mean = |xs: &[f64]| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    let cd: Vec<f64> = window.iter().filter_map(|(_, s)| s.cd).collect();
    out.cd_mean = mean(&cd);
    let lift: Vec<(f64, f64)> = window.iter().filter_map(|(t, s)| s.cl.map(|c| (*t, c))).collect();
    let cls: Vec<f64> = lift.iter().map(|p| p.1).collect();
    out.cl_mean = mean(&cls);
    let Some(m) = out.cl_mean else {
        out.reason = Some(format!("no lift samples after average_from = {average_from} s; raise end_time"));
        return out;
    };
    let rms = (cls.iter().map(|c| (c - m).powi(2)).sum::<f64>() / cls.len() as f64).sqrt();
    out.cl_rms = Some(rms);
    if lift.len() < 16 {
        out.reason = Some(format!("only {} lift samples after average_from = {average_from} s", lift.len()));
        return out;
    }
    if rms < 1e-6 * m.abs().max(1.0) {
        out.reason = Some("the lift does not oscillate (steady wake)".into());
        return out;
    }
    let x: Vec<(f64, f64)> = lift.iter().map(|(t, c)| (*t, c - m)).collect();
    let crossings = up_crossings(&x, 0.25 * rms);
    let periodogram = periodogram_peak(&x);
    out.periodogram_hz = periodogram;
    if crossings.len() < 3 {
        out.reason = Some(format!(
            "fewer than two shedding periods after average_from = {average_from} s ({} upward crossings of the mean lift); raise end_time",
            crossings.len()
        ));
        return out;
    }
    let f_zc = (crossings.len() - 1) as f64 / (crossings[crossings.len() - 1] - crossings[0]);
    match periodogram {
        Some(fp) if ((f_zc - fp) / fp).abs() <= AGREEMENT + 0.5 / (fp * (x[x.len() - 1].0 - x[0].0)) => {
            out.frequency_hz = Some(f_zc);
            out.strouhal = Some(f_zc * lref / speed);
        }
        Some(fp) => {
            out.reason = Some(format!(
                "the lift is not periodic: its mean crossings give {f_zc:.4} Hz, its periodogram peaks at {fp:.4} Hz"
            ))
        }
        None => out.reason = Some("the lift history is too short for a periodogram".into()),
    }
    out
}

/// Times at which `x` crosses 0 upwards, counting a crossing only after `x` went below
/// `-h` since the previous one (hysteresis); linear interpolation between samples.
fn up_crossings(x: &[(f64, f64)], h: f64) -> Vec<f64> {
    let mut armed = false;
    let mut out = Vec::new();
    for p in x.windows(2) {
        let ((t0, a), (t1, b)) = (p[0], p[1]);
        if a < -h {
            armed = true;
        }
        if armed && a < 0.0 && b >= 0.0 {
            out.push(t0 + (t1 - t0) * (-a) / (b - a));
            armed = false;
        }
    }
    out
}

/// The frequency of the largest peak of the periodogram of `x`, resampled to a uniform
/// step (at most 4096 points), searched between two periods per window and the Nyquist
/// frequency, refined by a parabola through the peak and its neighbours.
fn periodogram_peak(x: &[(f64, f64)]) -> Option<f64> {
    let (t0, t1) = (x.first()?.0, x.last()?.0);
    let span = t1 - t0;
    let n = x.len().min(4096);
    if span <= 0.0 || n < 16 {
        return None;
    }
    let dt = span / (n - 1) as f64;
    let mut u = Vec::with_capacity(n);
    let mut j = 0;
    for i in 0..n {
        let t = t0 + i as f64 * dt;
        while j + 2 < x.len() && x[j + 1].0 < t {
            j += 1;
        }
        let ((ta, a), (tb, b)) = (x[j], x[j + 1]);
        u.push(if tb > ta { a + (b - a) * ((t - ta) / (tb - ta)).clamp(0.0, 1.0) } else { a });
    }
    let um = u.iter().sum::<f64>() / n as f64;
    let power = |f: f64| {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, v) in u.iter().enumerate() {
            let ph = std::f64::consts::TAU * f * i as f64 * dt;
            re += (v - um) * ph.cos();
            im -= (v - um) * ph.sin();
        }
        re * re + im * im
    };
    // Four grid points per Rayleigh resolution 1/span.
    let df = 0.25 / span;
    let (f_lo, f_hi) = (1.0 / span, 0.5 / dt);
    let k = ((f_hi - f_lo) / df).floor() as usize;
    let grid: Vec<(f64, f64)> = (0..=k).map(|i| f_lo + i as f64 * df).map(|f| (f, power(f))).collect();
    let best = (0..grid.len()).max_by(|&a, &b| grid[a].1.total_cmp(&grid[b].1))?;
    if best == 0 || best + 1 >= grid.len() {
        return Some(grid[best].0);
    }
    let (a, b, c) = (grid[best - 1].1, grid[best].1, grid[best + 1].1);
    let denom = a - 2.0 * b + c;
    let shift = if denom.abs() > 0.0 { 0.5 * (a - c) / denom } else { 0.0 };
    Some(grid[best].0 + shift.clamp(-0.5, 0.5) * df)
}

/// What a transient run adds to `summary.json`: `strouhal` (null with `strouhal_reason`
/// when the lift gives none), `transient` and the force history (at most 2000 points).
pub fn add_to_summary(
    out: &mut serde_json::Value,
    t: &super::transient::TimeControls,
    history: &[(f64, ForceCoeffSample)],
    lref: f64,
    speed: f64,
) {
    let s = analyse(history, t.average_from, lref, speed);
    let r = |x: Option<f64>| x.map(round_sig6);
    out["strouhal"] = json!(s.strouhal.map(round4));
    out["strouhal_reason"] = json!(s.reason);
    out["transient"] = json!({
        "end_time": t.end_time, "time_steps": s.time_steps, "dt_min": r(s.dt_min), "dt_max": r(s.dt_max),
        "max_co": t.max_co, "average_from": t.average_from, "Cd_mean": s.cd_mean.map(round4),
        "Cl_mean": s.cl_mean.map(round4), "Cl_rms": s.cl_rms.map(round4), "frequency_hz": r(s.frequency_hz),
    });
    let stride = history.len().div_ceil(2000).max(1);
    let kept: Vec<&(f64, ForceCoeffSample)> = history.iter().step_by(stride).collect();
    out["force_history"] = json!({
        "time": kept.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        "Cd": kept.iter().map(|(_, s)| s.cd).collect::<Vec<_>>(),
        "Cl": kept.iter().map(|(_, s)| s.cl).collect::<Vec<_>>(),
    });
}

/// Six significant digits (times and frequencies).
fn round_sig6(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(5 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(cd: f64, cl: f64) -> ForceCoeffSample {
        ForceCoeffSample { cd: Some(cd), cl: Some(cl), ..Default::default() }
    }

    /// A deterministic pseudo-random sequence in [-1, 1] (no rand dependency in tests).
    fn noise(i: usize) -> f64 {
        let x = (i as u64).wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((x >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
    }

    #[test]
    fn a_noisy_sine_with_a_varying_step_gives_its_frequency() {
        // Cylinder-like: D = 0.1 m, U = 1 m/s, St 0.165 → f = 1.65 Hz; 0.3 lift amplitude,
        // 10 % noise, a time step that varies by ±30 %, and a start-up to skip.
        let f = 1.65;
        let mut t = 0.0;
        let mut h = Vec::new();
        let mut i = 0;
        while t < 12.0 {
            let startup = if t < 4.0 { 3.0 * (1.0 - t / 4.0) } else { 0.0 };
            let cl = 0.02 + 0.3 * (std::f64::consts::TAU * f * t).sin() + 0.03 * noise(i) + startup;
            h.push((t, sample(1.33 + 0.01 * (2.0 * std::f64::consts::TAU * f * t).cos(), cl)));
            t += 0.01 * (1.0 + 0.3 * noise(i + 7));
            i += 1;
        }
        let s = analyse(&h, 4.0, 0.1, 1.0);
        let fz = s.frequency_hz.expect("a frequency");
        assert!((fz - f).abs() < 0.01 * f, "{s:?}");
        assert!((s.periodogram_hz.unwrap() - f).abs() < 0.02 * f, "{s:?}");
        assert!((s.strouhal.unwrap() - 0.165).abs() < 0.002, "{s:?}");
        assert!((s.cd_mean.unwrap() - 1.33).abs() < 0.002);
        assert!((s.cl_mean.unwrap() - 0.02).abs() < 0.01);
        // RMS of a 0.3 sine is 0.212; the noise adds a little.
        assert!((s.cl_rms.unwrap() - 0.212).abs() < 0.01, "{s:?}");
        assert!(s.dt_min.unwrap() >= 0.007 && s.dt_max.unwrap() <= 0.0131);
        assert_eq!(s.time_steps, h.len());
        assert!(s.reason.is_none());
    }

    #[test]
    fn a_steady_lift_has_no_strouhal_number_and_says_why() {
        let h: Vec<_> = (0..200).map(|i| (i as f64 * 0.01, sample(1.0, 0.1))).collect();
        let s = analyse(&h, 0.5, 1.0, 1.0);
        assert_eq!(s.strouhal, None);
        assert!(s.reason.as_deref().unwrap().contains("does not oscillate"), "{s:?}");
        assert!((s.cl_mean.unwrap() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn too_few_periods_are_refused() {
        let h: Vec<_> = (0..300).map(|i| i as f64 * 0.01).map(|t| (t, sample(1.0, (t * 2.0).sin()))).collect();
        let s = analyse(&h, 0.0, 1.0, 1.0);
        assert_eq!(s.strouhal, None);
        assert!(s.reason.as_deref().unwrap().contains("fewer than two"), "{s:?}");
    }

    #[test]
    fn two_unrelated_tones_are_not_called_periodic() {
        // Equal amplitudes at 1 and 2.7 Hz: crossings and periodogram disagree.
        let h: Vec<_> = (0..4000)
            .map(|i| i as f64 * 0.005)
            .map(|t| {
                let tau = std::f64::consts::TAU;
                (t, sample(1.0, (tau * t).sin() + 1.2 * (tau * 2.7 * t + 0.3).sin()))
            })
            .collect();
        let s = analyse(&h, 0.0, 1.0, 1.0);
        if s.strouhal.is_none() {
            assert!(s.reason.as_deref().unwrap().contains("not periodic"), "{s:?}");
        } else {
            // If they happen to agree, the answer must be one of the tones.
            let f = s.frequency_hz.unwrap();
            assert!((f - 2.7).abs() < 0.1 || (f - 1.0).abs() < 0.05, "{s:?}");
        }
    }
}
