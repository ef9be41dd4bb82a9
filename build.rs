//! Builds the browser islands (`web/src/*.ts` → `web/dist/`) before the binary embeds
//! them: `npm ci` when `web/node_modules` is missing or older than the lock file, then
//! `node web/build.mjs` (esbuild). Set FLOWCFD_SKIP_WEB_BUILD=1 to use a `web/dist` built
//! by other means. The runner build (without the `server` feature) skips it.
//!
//! It also embeds the trained mesh model when `mesh-ai/model/` holds one (cfg
//! `flowcfd_model`, see `src/meshai/mod.rs`).
use std::path::Path;
use std::process::Command;

fn newest(dir: &Path) -> std::time::SystemTime {
    let mut t = std::time::UNIX_EPOCH;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            let m = if p.is_dir() { newest(&p) } else { e.metadata().and_then(|m| m.modified()).unwrap_or(t) };
            t = t.max(m);
        }
    }
    t
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn run(cmd: &mut Command, what: &str) {
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{what} failed ({s}); run it by hand in web/ to see why"),
        Err(e) => panic!("{what}: {e}. Install Node.js and npm (apt-get install nodejs npm) to build the web UI"),
    }
}

fn main() {
    for p in ["web/src", "web/build.mjs", "web/package.json", "web/package-lock.json"] {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-env-changed=FLOWCFD_SKIP_WEB_BUILD");
    // The trained mesh model (mesh-ai/model) is embedded when it is there: cfg flowcfd_model.
    println!("cargo::rustc-check-cfg=cfg(flowcfd_model)");
    for p in ["mesh-ai/model/mesh_ai.onnx", "mesh-ai/model/model.json"] {
        println!("cargo:rerun-if-changed={p}");
    }
    if Path::new("mesh-ai/model/mesh_ai.onnx").is_file() && Path::new("mesh-ai/model/model.json").is_file() {
        println!("cargo:rustc-cfg=flowcfd_model");
    }
    // The runner (no `server` feature) embeds no web UI.
    if std::env::var_os("CARGO_FEATURE_SERVER").is_none() {
        return;
    }
    let web = Path::new("web");
    let stamp = web.join("dist/.stamp");
    if std::env::var_os("FLOWCFD_SKIP_WEB_BUILD").is_some() {
        std::fs::create_dir_all(web.join("dist")).ok();
        return;
    }
    let lock = mtime(&web.join("package-lock.json"));
    let installed = mtime(&web.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < lock {
        let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
        run(
            Command::new(npm).args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(web),
            "npm ci (web/)",
        );
    }
    let sources = newest(&web.join("src")).max(mtime(&web.join("build.mjs")).unwrap_or(std::time::UNIX_EPOCH));
    let built = mtime(&stamp);
    let deps = mtime(&web.join("node_modules/.package-lock.json"));
    if built.is_none() || built < Some(sources) || built < deps {
        run(Command::new("node").arg("build.mjs").current_dir(web), "node web/build.mjs");
    }
}
