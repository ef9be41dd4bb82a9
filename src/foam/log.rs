//! Incremental parsing of OpenFOAM (ESI v1912 and later, Foundation 11 and later) solver
//! and utility logs.
//!
//! [`LogParser`] turns a byte stream (a growing `log.simpleFoam`, a pipe from a child process)
//! into [`LogEvent`]s line by line, so a run can be monitored while it is still going.
//! [`SolverProgress`] folds those events into residual histories, force coefficients and a
//! divergence verdict. [`parse_coefficient_dat`] reads forceCoeffs' `coefficient.dat`.
//!
//! Formats were checked against real v1912 output kept in `tests/fixtures/logs/`; the
//! Foundation's forms (`Time = 12s`, forceCoeffs' `Cd    = 0.4` lines, `forceCoeffs.dat`) against
//! its sources only.

mod progress;
#[cfg(test)]
mod tests;
mod time_step;

pub use progress::{mean_tail, parse_coefficient_dat, DivergenceOptions, SolverProgress};

/// Where the case's forceCoeffs function object writes, relative to the case: ESI's
/// `coefficient.dat`, then the Foundation's `forceCoeffs.dat` (both read by
/// [`parse_coefficient_dat`], which takes the columns from the header).
pub const FORCE_COEFF_FILES: [&str; 2] =
    ["postProcessing/forceCoeffs1/0/coefficient.dat", "postProcessing/forceCoeffs1/0/forceCoeffs.dat"];

use serde::Serialize;

/// Force coefficients from one forceCoeffs write (log block or `coefficient.dat` row).
///
/// Every coefficient is optional because the set depends on the OpenFOAM version and on
/// what the log block or file actually contained.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ForceCoeffSample {
    /// Drag coefficient `Cd`.
    pub cd: Option<f64>,
    /// Lift coefficient `Cl`.
    pub cl: Option<f64>,
    /// Side-force coefficient `Cs`.
    pub cs: Option<f64>,
    /// Roll moment coefficient `CmRoll`.
    pub cm_roll: Option<f64>,
    /// Pitch moment coefficient `CmPitch` (older releases call it `Cm`).
    pub cm_pitch: Option<f64>,
    /// Yaw moment coefficient `CmYaw`.
    pub cm_yaw: Option<f64>,
    /// Front-axle drag share `Cd(f)`.
    pub cd_f: Option<f64>,
    /// Rear-axle drag share `Cd(r)`.
    pub cd_r: Option<f64>,
    /// Front side-force share `Cs(f)`.
    pub cs_f: Option<f64>,
    /// Rear side-force share `Cs(r)`.
    pub cs_r: Option<f64>,
    /// Front lift share `Cl(f)`.
    pub cl_f: Option<f64>,
    /// Rear lift share `Cl(r)`.
    pub cl_r: Option<f64>,
}

impl ForceCoeffSample {
    /// Stores `value` under an OpenFOAM coefficient name (`Cd`, `CmPitch`, `Cl(f)`, ...).
    /// Returns false for names that are not force coefficients.
    pub fn set(&mut self, name: &str, value: f64) -> bool {
        match self.slot_mut(name) {
            Some(slot) => {
                *slot = Some(value);
                true
            }
            None => false,
        }
    }

    fn slot_mut(&mut self, name: &str) -> Option<&mut Option<f64>> {
        Some(match name {
            "Cd" => &mut self.cd,
            "Cl" => &mut self.cl,
            "Cs" => &mut self.cs,
            "CmRoll" => &mut self.cm_roll,
            // Pre-v1906 logs and files have a single pitch moment called `Cm`.
            "CmPitch" | "Cm" => &mut self.cm_pitch,
            "CmYaw" => &mut self.cm_yaw,
            "Cd(f)" | "Cd_f" => &mut self.cd_f,
            "Cd(r)" | "Cd_r" => &mut self.cd_r,
            "Cs(f)" | "Cs_f" => &mut self.cs_f,
            "Cs(r)" | "Cs_r" => &mut self.cs_r,
            "Cl(f)" | "Cl_f" => &mut self.cl_f,
            "Cl(r)" | "Cl_r" => &mut self.cl_r,
            _ => return None,
        })
    }

    /// All coefficient slots, for field-wise arithmetic (averaging).
    pub(crate) fn fields(&self) -> [Option<f64>; 12] {
        [
            self.cd,
            self.cl,
            self.cs,
            self.cm_roll,
            self.cm_pitch,
            self.cm_yaw,
            self.cd_f,
            self.cd_r,
            self.cs_f,
            self.cs_r,
            self.cl_f,
            self.cl_r,
        ]
    }

    /// Inverse of [`ForceCoeffSample::fields`].
    pub(crate) fn from_fields(f: [Option<f64>; 12]) -> Self {
        let [cd, cl, cs, cm_roll, cm_pitch, cm_yaw, cd_f, cd_r, cs_f, cs_r, cl_f, cl_r] = f;
        ForceCoeffSample { cd, cl, cs, cm_roll, cm_pitch, cm_yaw, cd_f, cd_r, cs_f, cs_r, cl_f, cl_r }
    }

    fn is_empty(&self) -> bool {
        self.fields().iter().all(Option::is_none)
    }
}

/// Summary of one checkMesh run, emitted when its verdict line is seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckMeshReport {
    /// `cells:` from "Mesh stats".
    pub cells: u64,
    /// `faces:` (all faces, internal and boundary) from "Mesh stats".
    pub faces: u64,
    /// `points:` from "Mesh stats".
    pub points: u64,
    /// "Mesh non-orthogonality Max:" in degrees.
    pub max_non_orthogonality: f64,
    /// "Max skewness" (whether or not it failed).
    pub max_skewness: f64,
    /// "Max aspect ratio" (whether or not it failed).
    pub max_aspect_ratio: f64,
    /// Text of each failed-check line (the lines starting with `***`), without the stars.
    pub failed_checks: Vec<String>,
    /// True for "Mesh OK.", false for "Failed N mesh checks.".
    pub ok: bool,
}

/// One row of snappyHexMesh's final layer table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LayerPatch {
    /// Patch name.
    pub name: String,
    /// Number of faces on the patch.
    pub faces: u64,
    /// Average number of layers actually added (can be fractional).
    pub layers: f64,
    /// Average overall layer thickness in metres.
    pub thickness_m: f64,
    /// Overall thickness achieved as a percentage of the requested thickness.
    pub thickness_pct: f64,
}

/// snappyHexMesh's final layer table ("patch faces layers overall thickness [m] [%]").
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LayerReport {
    /// Table rows in log order.
    pub patches: Vec<LayerPatch>,
}

impl LayerReport {
    /// Face-weighted fraction of the listed patches' faces that received layers, estimated as
    /// `sum(faces * min(layers / target, 1)) / sum(faces)`.
    ///
    /// `patches: None` uses every row; names that are not in the table are ignored.
    /// Returns 1.0 when `target_layers` is 0 (nothing was asked for) and 0.0 when the
    /// selected patches have no faces.
    pub fn coverage(&self, target_layers: u32, patches: Option<&[String]>) -> f64 {
        if target_layers == 0 {
            return 1.0;
        }
        let target = f64::from(target_layers);
        let (mut covered, mut total) = (0.0, 0.0);
        for p in &self.patches {
            if let Some(names) = patches {
                if !names.iter().any(|n| n == &p.name) {
                    continue;
                }
            }
            let faces = p.faces as f64;
            // A NaN or negative entry (hand-edited table) counts as no layers.
            let frac = p.layers / target;
            covered += faces * if frac.is_nan() { 0.0 } else { frac.clamp(0.0, 1.0) };
            total += faces;
        }
        if total > 0.0 {
            covered / total
        } else {
            0.0
        }
    }
}

/// Something recognised in an OpenFOAM log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum LogEvent {
    /// `Time = 12` at line start (non-numeric times such as checkMesh's `constant` are skipped).
    Time {
        /// The time value; the iteration number for steady solvers.
        time: f64,
    },
    /// `<solver>:  Solving for <field>, Initial residual = a, Final residual = b, No Iterations n`.
    Residual {
        /// Field name (`Ux`, `p`, `omega`, ...).
        field: String,
        /// Initial residual (may be NaN or inf on a diverging run).
        initial: f64,
        /// Final residual.
        #[serde(rename = "final")]
        final_: f64,
        /// Linear-solver iterations.
        iterations: u32,
    },
    /// One forceCoeffs write block, emitted after its last coefficient line.
    ForceCoeffs(ForceCoeffSample),
    /// `bounding omega, min: -3.2 max: 1e5 average: 10`.
    Bounding {
        /// The bounded field.
        field: String,
        /// Minimum before bounding.
        min: f64,
        /// Maximum.
        max: f64,
    },
    /// `ExecutionTime = 2.32 s  ClockTime = 2 s`.
    ExecutionTime {
        /// CPU seconds.
        execution_s: f64,
        /// Wall-clock seconds.
        clock_s: f64,
    },
    /// `SIMPLE solution converged in 142 iterations` (or "reached convergence criteria").
    Converged {
        /// Iterations reported by the solver (or counted `Time =` lines when it reports none).
        iterations: u64,
    },
    /// A line that is exactly `End`: the application finished normally.
    End,
    /// `--> FOAM FATAL ERROR` / `--> FOAM FATAL IO ERROR` and the lines that explain it.
    FatalError {
        /// Non-empty lines after the header (up to 8), trimmed and joined with `\n`.
        message: String,
    },
    /// A floating point exception trap (`Foam::sigFpe::sigHandler` in the stack trace).
    FloatingPointException {
        /// The line that showed it.
        message: String,
    },
    /// checkMesh verdict with the statistics gathered before it.
    CheckMesh(CheckMeshReport),
    /// snappyHexMesh final layer table.
    Layers(LayerReport),
    /// `deltaT = 0.0012` (transient solvers with an adjustable step): the step about to run.
    DeltaT {
        /// The step, s.
        dt: f64,
    },
    /// `Courant Number mean: 0.01 max: 0.85` (transient solvers).
    Courant {
        /// Mean over the cells.
        mean: f64,
        /// Largest in any cell.
        max: f64,
    },
}

/// Longest line kept; a longer run of bytes without a newline is cut into pieces of this size.
/// Bounds memory on garbage input while staying independent of how the input was chunked.
const MAX_LINE: usize = 64 * 1024;
/// How many explanation lines a [`LogEvent::FatalError`] keeps.
const FATAL_LINES: usize = 8;

/// Multi-line constructs being assembled.
#[derive(Debug, Default)]
enum Block {
    #[default]
    None,
    /// Inside `forceCoeffs <name> execute:`; the block has no terminator in v1912, so it ends at
    /// the first line that is not an indented `name : value` line.
    Forces(ForceCoeffSample),
    /// After the fatal-error header.
    Fatal(Vec<String>),
    /// Layer table header seen, waiting for the `-----` rule.
    LayerHeader,
    /// Inside the layer table rows.
    LayerRows(Vec<LayerPatch>),
}

/// Incremental, line-oriented OpenFOAM log parser.
///
/// Bytes may arrive in arbitrary chunks: partial lines are buffered until their `\n`, `\r\n`
/// is accepted, invalid UTF-8 is replaced, and no input makes it panic. Feeding a log in any
/// chunking yields the same events as feeding it whole (after [`LogParser::finish`]).
#[derive(Debug, Default)]
pub struct LogParser {
    partial: Vec<u8>,
    block: Block,
    /// checkMesh statistics collected since "Mesh stats"; emitted on the verdict line.
    check_mesh: Option<CheckMeshReport>,
    /// `Time =` lines seen, for convergence messages that carry no count.
    times_seen: u64,
    /// A trap prints several matching lines; one event per log is enough.
    fpe_seen: bool,
}

impl LogParser {
    /// A parser at the start of a log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes the next bytes of the log and returns the events completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<LogEvent> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let room = MAX_LINE - self.partial.len();
            let window = &rest[..rest.len().min(room)];
            if let Some(nl) = window.iter().position(|&b| b == b'\n') {
                self.partial.extend_from_slice(&window[..nl]);
                rest = &rest[nl + 1..];
                self.flush_line(&mut out);
            } else {
                self.partial.extend_from_slice(window);
                rest = &rest[window.len()..];
                if self.partial.len() >= MAX_LINE {
                    self.flush_line(&mut out);
                }
            }
        }
        out
    }

    /// Processes a final line without newline and closes any open block (a forceCoeffs block
    /// at the end of the log, a fatal error cut short). Call once at end of input.
    pub fn finish(&mut self) -> Vec<LogEvent> {
        let mut out = Vec::new();
        if !self.partial.is_empty() {
            self.flush_line(&mut out);
        }
        self.close_block(&mut out);
        out
    }

    fn flush_line(&mut self, out: &mut Vec<LogEvent>) {
        let bytes = std::mem::take(&mut self.partial);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
        let line = String::from_utf8_lossy(bytes);
        self.line(&line, out);
    }

    /// Emits whatever the open block holds and returns to plain line mode.
    fn close_block(&mut self, out: &mut Vec<LogEvent>) {
        match std::mem::take(&mut self.block) {
            Block::None | Block::LayerHeader => {}
            Block::Forces(sample) => {
                // The setup block ("forceCoeffs forceCoeffs1:" + rho info) has no coefficients.
                if !sample.is_empty() {
                    out.push(LogEvent::ForceCoeffs(sample));
                }
            }
            Block::Fatal(lines) => out.push(LogEvent::FatalError { message: lines.join("\n") }),
            Block::LayerRows(patches) => out.push(LogEvent::Layers(LayerReport { patches })),
        }
    }

    fn line(&mut self, line: &str, out: &mut Vec<LogEvent>) {
        // Lines belonging to an open block are consumed here; a line that ends a block
        // falls through to the plain-line handling below.
        match &mut self.block {
            Block::None => {}
            Block::Forces(sample) => {
                if line.starts_with(char::is_whitespace) && !line.trim().is_empty() {
                    // ESI: `    Cd       : 0.1 (pressure: ...)`; Foundation: `    Cd    = 0.1`.
                    if let Some((name, value)) = line.split_once(':').or_else(|| line.split_once('=')) {
                        if let Some(v) = value.split_whitespace().next().and_then(parse_f64) {
                            sample.set(name.trim(), v);
                        }
                    }
                    return;
                }
                self.close_block(out);
            }
            Block::Fatal(lines) => {
                let t = line.trim();
                if t.starts_with("FOAM exiting") || t.starts_with("FOAM aborting") {
                    self.close_block(out);
                    return;
                }
                if !t.is_empty() {
                    lines.push(t.to_string());
                    if lines.len() >= FATAL_LINES {
                        self.close_block(out);
                    }
                }
                return;
            }
            Block::LayerHeader => {
                if line.trim_start().starts_with("---") {
                    self.block = Block::LayerRows(Vec::new());
                    return;
                }
                // The unit line ("[m] [%]") sits between header and rule.
                if line.trim_start().starts_with('[') {
                    return;
                }
                self.block = Block::None;
            }
            Block::LayerRows(rows) => {
                if let Some(row) = parse_layer_row(line) {
                    rows.push(row);
                    return;
                }
                self.close_block(out);
            }
        }
        self.plain_line(line, out);
    }

    fn plain_line(&mut self, line: &str, out: &mut Vec<LogEvent>) {
        let t = line.trim();
        if t.is_empty() {
            return;
        }
        if let Some(rest) = line.strip_prefix("Time = ") {
            // Foundation 11 and later print the time with its unit (`Time = 12s`).
            let token = rest.split_whitespace().next().unwrap_or_default();
            if let Some(time) = parse_f64(token.trim_end_matches(|c: char| c.is_ascii_alphabetic())) {
                self.times_seen += 1;
                out.push(LogEvent::Time { time });
            }
            return;
        }
        if let Some(ev) = time_step::parse(t) {
            out.push(ev);
            return;
        }
        if line.contains("Solving for ") {
            if let Some(ev) = parse_residual(line) {
                out.push(ev);
            }
            return;
        }
        if let Some(rest) = t.strip_prefix("bounding ") {
            if let Some(ev) = parse_bounding(rest) {
                out.push(ev);
            }
            return;
        }
        if let Some(rest) = line.strip_prefix("ExecutionTime = ") {
            let exec = rest.split_whitespace().next().and_then(parse_f64);
            let clock = number_after(rest, "ClockTime = ");
            if let (Some(execution_s), Some(clock_s)) = (exec, clock) {
                out.push(LogEvent::ExecutionTime { execution_s, clock_s });
            }
            return;
        }
        if let Some(pos) = line.find("solution converged in ") {
            let rest = &line[pos + "solution converged in ".len()..];
            if let Some(n) = rest.split_whitespace().next().and_then(|s| s.parse().ok()) {
                out.push(LogEvent::Converged { iterations: n });
            }
            return;
        }
        // Other forks phrase it this way and give no count. PIMPLE's per-time-step
        // "PIMPLE: converged in N iterations" is deliberately not a Converged event:
        // it means the outer loop of one time step converged, not the run.
        if line.contains("reached convergence criteria") {
            out.push(LogEvent::Converged { iterations: self.times_seen });
            return;
        }
        if t == "End" {
            out.push(LogEvent::End);
            return;
        }
        if let Some(pos) = line.find("FOAM FATAL ERROR").or_else(|| line.find("FOAM FATAL IO ERROR")) {
            // The header may carry the message itself after the colon.
            let after = line[pos..].split_once(':').map(|(_, r)| r.trim()).unwrap_or("");
            let mut lines = Vec::new();
            if !after.is_empty() {
                lines.push(after.to_string());
            }
            self.block = Block::Fatal(lines);
            return;
        }
        // The banner line "trapFpe: Floating point exception trapping enabled" is not a trap.
        if !t.starts_with("trapFpe") && (line.contains("sigFpe") || line.contains("Floating point exception")) {
            if !self.fpe_seen {
                self.fpe_seen = true;
                out.push(LogEvent::FloatingPointException { message: t.to_string() });
            }
            return;
        }
        // ESI: `forceCoeffs forceCoeffs1 execute:`; Foundation: `forceCoeffs forceCoeffs1 write:`.
        if t.starts_with("forceCoeffs ") && t.ends_with(':') {
            self.block = Block::Forces(ForceCoeffSample::default());
            return;
        }
        // Only the final table has "overall thickness"; the earlier target table
        // ("avg thickness[m]" / "near-wall overall") lists requested, not achieved, layers.
        if t.starts_with("patch") && t.contains("layers") && t.contains("overall thickness") {
            self.block = Block::LayerHeader;
            return;
        }
        self.check_mesh_line(t, out);
    }

    fn check_mesh_line(&mut self, t: &str, out: &mut Vec<LogEvent>) {
        if t == "Mesh stats" {
            self.check_mesh = Some(CheckMeshReport::default());
            return;
        }
        if t == "Mesh OK." || (t.starts_with("Failed ") && t.ends_with("mesh checks.")) {
            let mut report = self.check_mesh.take().unwrap_or_default();
            report.ok = t == "Mesh OK.";
            out.push(LogEvent::CheckMesh(report));
            return;
        }
        let Some(report) = self.check_mesh.as_mut() else { return };
        if let Some(s) = t.strip_prefix("***") {
            report.failed_checks.push(s.trim().to_string());
        }
        let count = |key: &str| t.strip_prefix(key).and_then(|r| r.trim().parse::<u64>().ok());
        if let Some(n) = count("points:") {
            report.points = n;
        } else if let Some(n) = count("faces:") {
            report.faces = n;
        } else if let Some(n) = count("cells:") {
            report.cells = n;
        } else if let Some(v) = number_after(t, "Mesh non-orthogonality Max:") {
            report.max_non_orthogonality = v;
        } else if let Some(v) = number_after(t, "Max skewness =") {
            // Both "Max skewness = 0.26 OK." and "***Max skewness = 8, 8 highly skew faces".
            report.max_skewness = v;
        } else if let Some(v) = number_after(t, "Max aspect ratio =").or_else(|| number_after(t, "Max aspect ratio:")) {
            // Passing: "Max aspect ratio = 8.14 OK."; failing: "..., Max aspect ratio: 6000, ...".
            report.max_aspect_ratio = v;
        }
    }
}

/// Parses a float the way OpenFOAM prints it, including `nan`, `-nan`, `inf`, and a trailing
/// comma or period from the surrounding prose.
fn parse_f64(s: &str) -> Option<f64> {
    let s = s.trim().trim_end_matches([',', ';']);
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['-', '+']);
    if unsigned.starts_with("nan") {
        return Some(f64::NAN);
    }
    if unsigned.starts_with("inf") {
        return Some(if lower.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    // "8.1407." style sentence end; only strip a dot that leaves a valid number.
    s.strip_suffix('.').and_then(|x| x.parse().ok())
}

/// The first whitespace-delimited number after `key` in `s`.
fn number_after(s: &str, key: &str) -> Option<f64> {
    let pos = s.find(key)?;
    s[pos + key.len()..].split_whitespace().next().and_then(parse_f64)
}

fn parse_residual(line: &str) -> Option<LogEvent> {
    let pos = line.find("Solving for ")?;
    let rest = &line[pos + "Solving for ".len()..];
    let (field, rest) = rest.split_once(',')?;
    let field = field.trim();
    if field.is_empty() {
        return None;
    }
    let initial = number_after(rest, "Initial residual =")?;
    let final_ = number_after(rest, "Final residual =")?;
    let iterations = {
        let p = rest.find("No Iterations")?;
        rest[p + "No Iterations".len()..].split_whitespace().next()?.parse().ok()?
    };
    Some(LogEvent::Residual { field: field.to_string(), initial, final_, iterations })
}

fn parse_bounding(rest: &str) -> Option<LogEvent> {
    let (field, rest) = rest.split_once(',')?;
    let min = number_after(rest, "min:")?;
    let max = number_after(rest, "max:")?;
    Some(LogEvent::Bounding { field: field.trim().to_string(), min, max })
}

/// `igloo   1276   1   0.124   99.1` → row; anything else ends the table.
fn parse_layer_row(line: &str) -> Option<LayerPatch> {
    let cols: Vec<&str> = line.split_whitespace().collect();
    let [name, faces, layers, thickness, pct] = cols[..] else { return None };
    Some(LayerPatch {
        name: name.to_string(),
        faces: faces.parse().ok()?,
        layers: parse_f64(layers)?,
        thickness_m: parse_f64(thickness)?,
        thickness_pct: parse_f64(pct)?,
    })
}
