//! ParaView's `pvpython`, the baseline of `post` and `report`: run offscreen when its build
//! renders without a display, else under `xvfb-run` (Debian's build needs an X display even
//! with `--force-offscreen-rendering`). Each script prints one JSON line last.
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A probe: one rendered sphere saved to a file.
const PROBE: &str = r#"
import sys
from paraview.simple import *
v = CreateView("RenderView"); v.ViewSize = [64, 64]
Show(Sphere(), v); Render(v)
SaveScreenshot(sys.argv[1], v, ImageResolution=[64, 64])
print('{"ok": true}')
"#;

/// How pvpython is started on this machine.
pub struct Pvpython {
    argv: Vec<String>,
    dir: PathBuf,
}

impl Pvpython {
    /// Finds a way to run `pv` that renders: offscreen first, then under `xvfb-run -a`.
    pub fn detect(pv: &Path) -> Result<Pvpython, String> {
        let dir = std::env::temp_dir().join(format!("flowcfd-bench-pv-{}", std::process::id()));
        let pv = pv.display().to_string();
        let offscreen = vec![pv.clone(), "--force-offscreen-rendering".into()];
        let xvfb = vec!["xvfb-run".into(), "-a".into(), pv.clone(), "--force-offscreen-rendering".into()];
        let mut tried = Vec::new();
        for argv in [offscreen, xvfb] {
            let p = Pvpython { argv, dir: dir.clone() };
            let png = dir.join("probe.png");
            let _ = std::fs::remove_file(&png);
            match p.run(PROBE, &[png.display().to_string()]) {
                Ok(_) if png.is_file() => return Ok(p),
                Ok(_) => tried.push(format!("{}: no picture written", p.argv.join(" "))),
                Err(e) => tried.push(format!("{}: {}", p.argv.join(" "), e.lines().next().unwrap_or(""))),
            }
        }
        Err(format!("pvpython cannot render here ({}); apt-get install paraview xvfb gives both", tried.join("; ")))
    }

    /// How it is started, for the record.
    pub fn how(&self) -> String {
        self.argv.join(" ")
    }

    /// Runs `script` with `args`; returns its last JSON line with `process_s` (the whole
    /// process, start-up included) added.
    pub fn run(&self, script: &str, args: &[String]) -> Result<Value, String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let path = self.dir.join("script.py");
        std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
        let t = Instant::now();
        let out = Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .arg(&path)
            .args(args)
            .output()
            .map_err(|e| format!("{}: {e} (apt-get install paraview gives pvpython)", self.argv[0]))?;
        let wall = t.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().rev().find(|l| l.trim_start().starts_with('{')).ok_or_else(|| {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(15).collect();
            format!("pvpython printed no result:\n{text}\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
        })?;
        let mut v: Value = serde_json::from_str(line).map_err(|e| format!("pvpython's line: {e}"))?;
        v["process_s"] = wall.into();
        Ok(v)
    }
}

impl Drop for Pvpython {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
