//! A `flowcfd run` case file as the case API takes it: the same spec as JSON, with the
//! uploaded geometry's id (`geometry_id`) in place of the file path (`geometry`). The keys
//! the user wrote are sent as written, so the server fills the defaults it runs with.
use anyhow::{anyhow, bail, Context};
use flowcfd::foam::spec::CaseSpec;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A case file read and checked as `flowcfd run` checks it.
pub struct CaseFile {
    table: toml::Table,
    /// The file's directory: `geometry` is relative to it.
    base: PathBuf,
    /// The parsed spec (every default filled in).
    pub spec: CaseSpec,
}

impl CaseFile {
    /// Reads `path`: TOML, or the API's JSON form of the spec (`.json`).
    pub fn read(path: &Path) -> anyhow::Result<CaseFile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("case file {}", path.display()))?;
        let name = path.display().to_string();
        let is_json = path.extension().is_some_and(|e| e == "json");
        let spec = if is_json { CaseSpec::from_json(&text) } else { CaseSpec::from_toml(&text, &name) }
            .map_err(|e| anyhow!("{e}"))?;
        let table: toml::Table = if is_json {
            serde_json::from_str(&text).with_context(|| format!("case file {name}"))?
        } else {
            toml::from_str(&text).with_context(|| format!("case file {name}"))?
        };
        Ok(CaseFile { table, base: path.parent().map(Path::to_path_buf).unwrap_or_default(), spec })
    }

    /// The geometry file the case names (`geometry = "body.stl"`), relative to the case file.
    pub fn geometry_path(&self) -> Option<PathBuf> {
        self.spec.geometry.as_ref().map(|g| self.base.join(g))
    }

    /// The cores the case file asks for (`solver.cores`), when it says.
    pub fn cores(&self) -> Option<u32> {
        self.table.get("solver")?.get("cores")?.as_integer().and_then(|n| u32::try_from(n).ok())
    }

    /// The body of `POST /api/projects/{id}/cases`: the file's keys, `geometry` replaced by
    /// `geometry_id`.
    pub fn api_body(&self, geometry_id: &str) -> anyhow::Result<Value> {
        let mut table = self.table.clone();
        table.remove("geometry");
        table.insert("geometry_id".into(), toml::Value::String(geometry_id.to_string()));
        let body = serde_json::to_value(&table).context("the case file as JSON")?;
        // The server reads it as CaseSpec::from_json: what it would refuse is refused here,
        // with the same words, before anything is uploaded or stored.
        if let Err(e) = CaseSpec::from_json(&body.to_string()) {
            bail!("the case file cannot go to the server as it is: {e}");
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn the_file_keys_go_to_the_api_with_the_geometry_id() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "c.toml",
            "geometry = \"cube.stl\"\n[flow]\ntype = \"external\"\nvelocity = [10.0, 0.0, 0.0]\n\
             [mesh]\ntarget_cells = 5000\n[solver]\niterations = 5\ncores = 2\n",
        );
        let c = CaseFile::read(&p).unwrap();
        assert_eq!(c.geometry_path().unwrap(), dir.path().join("cube.stl"));
        assert_eq!(c.cores(), Some(2));
        let body = c.api_body("g1").unwrap();
        assert_eq!(body["geometry_id"], "g1");
        assert!(body.get("geometry").is_none());
        assert_eq!(body["mesh"], serde_json::json!({"target_cells": 5000}));
        assert_eq!(body["solver"]["iterations"], 5);
        let spec = CaseSpec::from_json(&body.to_string()).unwrap();
        assert_eq!(spec.flow.velocity, [10.0, 0.0, 0.0]);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "c.toml", "[flow]\ntype = \"external\"\nvelocity = [1, 0, 0]\nspeed = 3\n");
        let e = CaseFile::read(&p).err().unwrap().to_string();
        assert!(e.contains("speed"), "{e}");
        let p = write(dir.path(), "d.toml", "[flow]\ntype = \"external\"\nvelocity = [1, 0, 0]\n");
        assert_eq!(CaseFile::read(&p).unwrap().cores(), None);
    }
}
