//! Terminal progress for the CLI: the step, the iteration, residuals and Cd.

use flowcfd::foam::case::Step;
use flowcfd::foam::log::{LogEvent, SolverProgress};
use flowcfd::runner::steps::Observer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// An indicatif bar: a spinner while meshing, an iteration bar while solving.
pub struct CliProgress {
    bar: ProgressBar,
    iterations: u32,
    last_draw: std::time::Instant,
    /// Copy the steps' output to stdout behind step markers (`--stream-log`).
    stream: bool,
    /// The last byte copied ended a line.
    at_line_start: bool,
}

impl CliProgress {
    /// A bar for a run of at most `iterations` solver iterations (hidden when stderr is not a terminal).
    pub fn new(iterations: u32) -> Self {
        let bar = ProgressBar::with_draw_target(Some(iterations as u64), ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(250));
        CliProgress { bar, iterations, last_draw: std::time::Instant::now(), stream: false, at_line_start: true }
    }
    /// With `on`, every step's output goes to stdout after its marker line
    /// (`runner::marker`), and the periodic status lines stay out of the log.
    pub fn stream_log(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }
    fn write_out(&mut self, bytes: &[u8]) {
        use std::io::Write;
        if bytes.is_empty() {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes).and_then(|_| out.flush());
        self.at_line_start = bytes.ends_with(b"\n");
    }
    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Initial residuals as `Ux 1.2e-3 p 4.0e-2` (`flowcfd run` and `flowcfd remote watch`).
pub fn fmt_residuals(r: &std::collections::BTreeMap<String, f64>) -> String {
    r.iter().map(|(k, v)| format!("{k} {v:.1e}")).collect::<Vec<_>>().join(" ")
}

impl Observer for CliProgress {
    fn step_started(&mut self, index: usize, total: usize, step: &Step) {
        let solving = step.is_solver();
        let style = if solving {
            ProgressStyle::with_template("[{elapsed_precise}] {prefix} [{bar:30}] {pos}/{len} {msg}")
        } else {
            ProgressStyle::with_template("[{elapsed_precise}] {spinner} {prefix} {msg}")
        }
        .expect("static template")
        .progress_chars("=> ");
        self.bar.set_style(style);
        self.bar.set_prefix(format!("{}/{} {}", index + 1, total, step.name()));
        self.bar.set_length(if solving { self.iterations as u64 } else { 0 });
        self.bar.set_position(0);
        self.bar.set_message("");
        if self.stream {
            let mut m = if self.at_line_start { String::new() } else { "\n".to_string() };
            m.push_str(&flowcfd::runner::marker::marker(index, total, step.name()));
            self.write_out(m.as_bytes());
            return;
        }
        if !self.bar.is_hidden() {
            return;
        }
        // Not a terminal (CI logs): one line per step instead of a bar.
        eprintln!("[{}/{}] {}", index + 1, total, step.name());
    }

    fn output(&mut self, _step: &Step, bytes: &[u8]) {
        if self.stream {
            self.write_out(bytes);
        }
    }

    fn event(&mut self, step: &Step, event: &LogEvent, progress: &SolverProgress) {
        match event {
            LogEvent::Time { .. } if step.is_solver() => {
                self.bar.set_position(progress.iteration);
                let cd =
                    progress.forces.last().and_then(|(_, s)| s.cd).map_or(String::new(), |cd| format!(" | Cd {cd:.4}"));
                self.bar.set_message(format!("{}{cd}", fmt_residuals(&progress.latest_residuals())));
                if self.bar.is_hidden() && !self.stream && self.last_draw.elapsed() > Duration::from_secs(30) {
                    self.last_draw = std::time::Instant::now();
                    eprintln!(
                        "    iteration {} {}{cd}",
                        progress.iteration,
                        fmt_residuals(&progress.latest_residuals())
                    );
                }
            }
            LogEvent::CheckMesh(c) => self.bar.set_message(format!(
                "{} cells, {}",
                c.cells,
                if c.ok { "mesh OK" } else { "mesh checks failed" }
            )),
            LogEvent::Converged { iterations } => self.bar.set_message(format!("converged in {iterations} iterations")),
            _ => {}
        }
    }

    fn step_finished(&mut self, step: &Step, seconds: f64) {
        self.bar.println(format!("  {} done in {seconds:.1} s", step.name()));
    }
    fn note(&mut self, text: &str) {
        self.bar.println(format!("  note: {text}"));
    }
}
