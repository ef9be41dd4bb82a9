//! Folding [`LogEvent`]s into the state of a running solver, and reading `coefficient.dat`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ForceCoeffSample, LogEvent};

/// The largest force coefficient magnitude [`SolverProgress::divergence`] believes after the
/// warm-up. Bluff bodies give a few units against their frontal area, but the first
/// iterations from potential flow can be wild on a small part: OpenFOAM's flange (mesh AI
/// mesh, 40k cells) read Cd 1.4e7 at iteration 2 and 9e5 at iteration 23, and still settled
/// at 0.69 by iteration 200. Its rules mesh went to 3.6e15 by iteration 20 and to 1e39,
/// which never comes back.
pub const FORCE_COEFF_LIMIT: f64 = 1e10;

/// Thresholds for [`SolverProgress::divergence`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DivergenceOptions {
    /// Consecutive iterations in which the same field is `bounding` before the run is called
    /// diverging. A few bounding iterations at start-up are normal; hundreds are not.
    pub bounding_streak_limit: u64,
    /// An initial residual this many times the field's minimum so far is a blow-up ...
    pub blowup_factor: f64,
    /// ... provided it also exceeds this absolute value (a residual of 1 means "no progress").
    pub blowup_floor: f64,
    /// The blow-up rule is only applied after this many iterations, because residuals
    /// routinely rise by orders of magnitude while the initial transient washes out.
    pub warmup_iterations: u64,
}

impl Default for DivergenceOptions {
    fn default() -> Self {
        DivergenceOptions { bounding_streak_limit: 200, blowup_factor: 1e3, blowup_floor: 1.0, warmup_iterations: 20 }
    }
}

/// Running summary of a solver log, built by [`SolverProgress::apply`]-ing events in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SolverProgress {
    /// Number of `Time =` lines seen (the iteration count for steady solvers).
    pub iteration: u64,
    /// Latest `Time =` value.
    pub time: f64,
    /// Initial residual per field, one map per iteration. Only the first solve of a field in
    /// an iteration is recorded: later solves (non-orthogonal correctors, PISO correctors)
    /// start from a partly converged field and would make the history look better than it is.
    pub residuals: Vec<BTreeMap<String, f64>>,
    /// Force coefficients with the `Time` they were written at. A second write at the same
    /// time (v1912 writes again after "converged") replaces the first.
    pub forces: Vec<(f64, ForceCoeffSample)>,
    /// "solution converged" was seen.
    pub converged: bool,
    /// Longest current run of consecutive iterations in which one field was `bounding`.
    pub bounding_streak: u64,
    /// Latest `ExecutionTime` (CPU seconds).
    pub execution_s: f64,
    /// Latest `ClockTime` (wall seconds).
    pub clock_s: f64,
    /// The application printed `End`.
    pub ended: bool,
    /// Message of the first fatal error, if any.
    pub fatal_error: Option<String>,
    /// Line of the first floating point exception trap, if any.
    pub floating_point_exception: Option<String>,
    /// Transient solvers: the latest time step, s.
    pub delta_t: Option<f64>,
    /// Transient solvers: the largest cell Courant number seen.
    pub courant_max: Option<f64>,
    #[serde(skip)]
    opts: DivergenceOptions,
    /// Smallest finite first-solve initial residual seen per field.
    #[serde(skip)]
    min_residual: BTreeMap<String, f64>,
    /// Per field: (last iteration it was bounded in, current streak length).
    #[serde(skip)]
    bounding: BTreeMap<String, (u64, u64)>,
    /// First divergence reason; sticky, because a run that blew up once is not trusted again.
    #[serde(skip)]
    diverged: Option<String>,
}

impl Default for SolverProgress {
    fn default() -> Self {
        Self::new(DivergenceOptions::default())
    }
}

impl SolverProgress {
    /// Empty progress with the given divergence thresholds.
    pub fn new(opts: DivergenceOptions) -> Self {
        SolverProgress {
            iteration: 0,
            time: 0.0,
            residuals: Vec::new(),
            forces: Vec::new(),
            converged: false,
            bounding_streak: 0,
            execution_s: 0.0,
            clock_s: 0.0,
            ended: false,
            fatal_error: None,
            floating_point_exception: None,
            delta_t: None,
            courant_max: None,
            opts,
            min_residual: BTreeMap::new(),
            bounding: BTreeMap::new(),
            diverged: None,
        }
    }

    /// Folds one event in. Events must be applied in log order.
    pub fn apply(&mut self, ev: &LogEvent) {
        match ev {
            LogEvent::Time { time } => {
                self.iteration += 1;
                self.time = *time;
                self.residuals.push(BTreeMap::new());
                let it = self.iteration;
                for (last, streak) in self.bounding.values_mut() {
                    if *last + 1 < it {
                        *streak = 0;
                    }
                }
                self.update_bounding_streak();
            }
            LogEvent::Residual { field, initial, final_, .. } => self.residual(field, *initial, *final_),
            LogEvent::ForceCoeffs(sample) => {
                self.forces_sane(sample);
                match self.forces.last_mut() {
                    Some((t, s)) if *t == self.time => *s = sample.clone(),
                    _ => self.forces.push((self.time, sample.clone())),
                }
            }
            LogEvent::Bounding { field, .. } => self.bounded(field),
            LogEvent::ExecutionTime { execution_s, clock_s } => {
                self.execution_s = *execution_s;
                self.clock_s = *clock_s;
            }
            LogEvent::Converged { .. } => self.converged = true,
            LogEvent::End => self.ended = true,
            LogEvent::FatalError { message } => {
                self.fatal_error.get_or_insert_with(|| message.clone());
            }
            LogEvent::FloatingPointException { message } => {
                self.floating_point_exception.get_or_insert_with(|| message.clone());
                // A trapped FPE in a solver is the terminal stage of divergence.
                self.diverge(format!("floating point exception at iteration {}: {message}", self.iteration));
            }
            LogEvent::DeltaT { dt } => self.delta_t = Some(*dt),
            LogEvent::Courant { max, .. } => self.courant_max = Some(self.courant_max.map_or(*max, |m| m.max(*max))),
            LogEvent::CheckMesh(_) | LogEvent::Layers(_) => {}
        }
    }

    fn diverge(&mut self, reason: String) {
        self.diverged.get_or_insert(reason);
    }

    fn residual(&mut self, field: &str, initial: f64, final_: f64) {
        if !initial.is_finite() || !final_.is_finite() {
            let bad = if initial.is_finite() { final_ } else { initial };
            self.diverge(format!("residual of {field} is {bad} at iteration {}", self.iteration));
        }
        // Solves before the first `Time =` (e.g. initialisation) are not iterations.
        let Some(current) = self.residuals.last_mut() else { return };
        if current.contains_key(field) {
            return;
        }
        current.insert(field.to_string(), initial);
        if !initial.is_finite() {
            return;
        }
        if let Some(&min) = self.min_residual.get(field) {
            if self.iteration > self.opts.warmup_iterations
                && initial > self.opts.blowup_factor * min
                && initial > self.opts.blowup_floor
            {
                self.diverge(format!(
                    "initial residual of {field} rose to {initial:e} at iteration {} (minimum so far {min:e})",
                    self.iteration
                ));
            }
        }
        let m = self.min_residual.entry(field.to_string()).or_insert(initial);
        *m = m.min(initial);
    }

    /// A coefficient past [`FORCE_COEFF_LIMIT`] after the warm-up: a few cells blew up while
    /// the normalised residuals stayed moderate (the rules' flange mesh ran 200 iterations to
    /// Cd -1.2e34 with every residual below 1).
    fn forces_sane(&mut self, s: &ForceCoeffSample) {
        if self.iteration <= self.opts.warmup_iterations {
            return;
        }
        let named = [("Cd", s.cd), ("Cl", s.cl), ("Cs", s.cs), ("CmPitch", s.cm_pitch)];
        if let Some((name, x)) =
            named.iter().find_map(|(n, x)| x.filter(|x| !(x.abs() <= FORCE_COEFF_LIMIT)).map(|x| (n, x)))
        {
            self.diverge(format!(
                "{name} reached {x:.3e} at iteration {}: no flow past a body gives that, some cells blew up",
                self.iteration
            ));
        }
    }

    fn bounded(&mut self, field: &str) {
        let it = self.iteration;
        let (last, streak) = self.bounding.entry(field.to_string()).or_insert((it, 0));
        if *streak == 0 || *last + 1 < it {
            *streak = 1;
        } else if *last + 1 == it {
            *streak += 1;
        } // else: bounded again within the same iteration, streak unchanged.
        *last = it;
        let streak = *streak;
        self.update_bounding_streak();
        if streak >= self.opts.bounding_streak_limit {
            self.diverge(format!("{field} was bounded in {streak} consecutive iterations (up to iteration {it})"));
        }
    }

    fn update_bounding_streak(&mut self) {
        self.bounding_streak = self.bounding.values().map(|&(_, s)| s).max().unwrap_or(0);
    }

    /// Latest initial residual of every field seen (fields solved only in some iterations keep
    /// their last value).
    pub fn latest_residuals(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for map in &self.residuals {
            out.extend(map.iter().map(|(k, v)| (k.clone(), *v)));
        }
        out
    }

    /// First recorded initial residual of every field.
    pub fn first_residuals(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for map in &self.residuals {
            for (k, v) in map {
                out.entry(k.clone()).or_insert(*v);
            }
        }
        out
    }

    /// Orders of magnitude each field dropped from its maximum over its first 10 iterations to
    /// its latest value: `log10(max_first10 / latest)`. Residuals often rise for a few
    /// iterations after start-up, so the first value alone understates the drop.
    /// A latest residual of exactly 0 gives `f64::INFINITY`; fields without finite values are
    /// left out.
    pub fn orders_dropped(&self) -> BTreeMap<String, f64> {
        let mut history: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for map in &self.residuals {
            for (k, v) in map {
                history.entry(k.as_str()).or_default().push(*v);
            }
        }
        let mut out = BTreeMap::new();
        for (field, values) in history {
            let start = values.iter().take(10).copied().fold(f64::NAN, f64::max);
            let latest = *values.last().expect("history entries are non-empty");
            if !start.is_finite() || !latest.is_finite() || latest < 0.0 {
                continue;
            }
            let drop = if latest == 0.0 { f64::INFINITY } else { (start / latest).log10() };
            out.insert(field.to_string(), drop);
        }
        out
    }

    /// Mean of each coefficient over the last `fraction` (e.g. 0.1) of the force samples, and
    /// at least the last sample. `None` when there are no samples.
    pub fn mean_forces(&self, fraction: f64) -> Option<ForceCoeffSample> {
        let n = self.forces.len();
        if n == 0 {
            return None;
        }
        let fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
        mean_tail(&self.forces, ((n as f64 * fraction).ceil() as usize).clamp(1, n))
    }

    /// `Some(reason)` once the run is diverging: a NaN/inf residual; after
    /// `warmup_iterations`, a first-solve initial residual above `blowup_factor` × that
    /// field's minimum so far and above `blowup_floor`; the same field `bounding` in
    /// `bounding_streak_limit` consecutive iterations; or a trapped floating point exception.
    /// The first reason found is kept.
    pub fn divergence(&self) -> Option<String> {
        self.diverged.clone()
    }
}

/// Field-wise mean of the last `n` samples (at least one); `None` when there are none.
/// This is how `summary.json` and the benchmark report Cd and Cl.
pub fn mean_tail(samples: &[(f64, ForceCoeffSample)], n: usize) -> Option<ForceCoeffSample> {
    if samples.is_empty() {
        return None;
    }
    let n = n.clamp(1, samples.len());
    Some(mean_samples(samples[samples.len() - n..].iter().map(|(_, s)| s)))
}

/// Field-wise mean, ignoring samples where a coefficient is missing.
fn mean_samples<'a>(samples: impl Iterator<Item = &'a ForceCoeffSample>) -> ForceCoeffSample {
    let mut sum = [0.0f64; 12];
    let mut count = [0u32; 12];
    for s in samples {
        for (i, v) in s.fields().into_iter().enumerate() {
            if let Some(v) = v {
                sum[i] += v;
                count[i] += 1;
            }
        }
    }
    let mut out = [None; 12];
    for i in 0..12 {
        if count[i] > 0 {
            out[i] = Some(sum[i] / f64::from(count[i]));
        }
    }
    ForceCoeffSample::from_fields(out)
}

/// v1912's column order, used when a file has lost its header.
const V1912_COLUMNS: &[&str] =
    &["Time", "Cd", "Cs", "Cl", "CmRoll", "CmPitch", "CmYaw", "Cd(f)", "Cd(r)", "Cs(f)", "Cs(r)", "Cl(f)", "Cl(r)"];

/// Reads forceCoeffs' `coefficient.dat` (v1912: `# Time Cd Cs Cl CmRoll CmPitch CmYaw Cd(f)
/// Cd(r) Cs(f) Cs(r) Cl(f) Cl(r)`, tab separated) into `(time, sample)` rows.
///
/// Columns are matched by the names in the last `# Time ...` header line, so other releases'
/// orders work too; unknown columns are ignored and malformed rows skipped.
pub fn parse_coefficient_dat(text: &str) -> Vec<(f64, ForceCoeffSample)> {
    let mut columns: Vec<String> = V1912_COLUMNS.iter().map(|s| s.to_string()).collect();
    let mut out: Vec<(f64, ForceCoeffSample)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            let names: Vec<&str> = comment.split_whitespace().collect();
            if names.first() == Some(&"Time") {
                columns = names.iter().map(|s| s.to_string()).collect();
            }
            continue;
        }
        let mut time = None;
        let mut sample = ForceCoeffSample::default();
        let mut ok = true;
        for (name, cell) in columns.iter().zip(line.split_whitespace()) {
            let Ok(v) = cell.parse::<f64>() else {
                ok = false;
                break;
            };
            if name == "Time" {
                time = Some(v);
            } else {
                sample.set(name, v);
            }
        }
        if let (true, Some(t)) = (ok, time) {
            // v1912 writes the last time again after "converged": keep one row per time.
            match out.last_mut() {
                Some(last) if last.0 == t => *last = (t, sample),
                _ => out.push((t, sample)),
            }
        }
    }
    out
}
