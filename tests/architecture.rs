//! The rules of ARCHITECTURE.md, checked on the source: which rooms may import which, no
//! import cycle between top-level modules, no source file over 600 lines, and a doc comment
//! opening every Rust file. A broken rule fails with the file and line that break it.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, exts, out);
        } else if p.extension().and_then(|x| x.to_str()).is_some_and(|x| exts.contains(&x)) {
            out.push(p);
        }
    }
}

/// The library's top-level module a file under `src/` belongs to (`None` for the binaries
/// and `lib.rs`, which may import anything).
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    if rel.components().count() == 1 {
        let stem = first.strip_suffix(".rs")?.to_string();
        return (!matches!(stem.as_str(), "lib" | "main")).then_some(stem);
    }
    (!matches!(first.as_str(), "bin" | "cli")).then_some(first)
}

/// Every `crate::NAME` a line refers to, including `use crate::{a::b, c}` groups.
fn crate_refs(line: &str) -> Vec<String> {
    crate_refs_in(line).into_iter().map(|(_, name)| name).collect()
}

/// Every `crate::NAME` in a file's text with the line it is on (from 1), comments left
/// out; a `use crate::{…}` group may span lines.
fn crate_refs_in(text: &str) -> Vec<(usize, String)> {
    let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = code[from..].find("crate::") {
        let at = from + i;
        from = at + "crate::".len();
        let after = &code[from..];
        let line = line_of(at);
        if let Some(group) = after.strip_prefix('{') {
            // The segments at the group's own depth each start with a module of the crate.
            let (mut depth, mut segments, mut current) = (0usize, Vec::new(), String::new());
            for c in group.chars() {
                match c {
                    '}' if depth == 0 => break,
                    ',' if depth == 0 => segments.push(std::mem::take(&mut current)),
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 && c != ',' {
                    current.push(c);
                }
            }
            segments.push(current);
            for seg in segments {
                let name: String = seg.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.push((line, name));
                }
            }
        } else {
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.push((line, name));
            }
        }
    }
    out
}

/// (file, line number, line, importing module, imported module) for every cross-module
/// reference in the library.
fn edges() -> Vec<(String, usize, String, String, String)> {
    let src = root().join("src");
    let mut all = Vec::new();
    files(&src, &["rs"], &mut all);
    let mut out = Vec::new();
    for f in all {
        let rel = f.strip_prefix(&src).unwrap().to_path_buf();
        let Some(from) = module_of(&rel) else { continue };
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (n, to) in crate_refs_in(&text) {
            if to != from {
                let line = lines.get(n - 1).map_or("", |l| l.trim()).to_string();
                out.push((format!("src/{}", rel.display()), n, line, from.clone(), to));
            }
        }
    }
    out
}

#[test]
fn rooms_import_only_what_the_map_allows() {
    let server_side = ["api", "pages", "http", "server", "state", "service", "web", "metrics"];
    let mut rules: Vec<(&str, Vec<&str>, &str)> = Vec::new();
    let pure_forbidden: Vec<&str> =
        server_side.iter().copied().chain(["store", "jobs", "runner", "auth", "blob", "config", "pg_listen"]).collect();
    for pure in ["geometry", "foam", "meshai", "post", "report"] {
        rules.push((pure, pure_forbidden.clone(), "pure libraries import no server, store or job code"));
    }
    rules.push(("runner", server_side.iter().copied().chain(["store", "jobs"]).collect(), "the runner is below jobs"));
    rules.push(("jobs", server_side.to_vec(), "jobs imports no api, pages or http (the worker knows no HTTP)"));
    rules.push((
        "store",
        server_side.iter().copied().chain(["jobs", "runner", "billing"]).collect(),
        "store imports no api, jobs or billing",
    ));
    rules.push((
        "billing",
        server_side.iter().copied().chain(["jobs", "runner"]).collect(),
        "billing sits beside jobs, above store and config",
    ));
    rules.push((
        "pg_listen",
        server_side.iter().copied().chain(["store", "jobs", "runner"]).collect(),
        "pg_listen is infrastructure below store and jobs",
    ));
    rules.push((
        "validate",
        server_side.iter().copied().chain(["store", "jobs", "billing", "auth", "blob", "pg_listen"]).collect(),
        "validate drives the runner like the CLI does; it knows no server, store or jobs",
    ));
    rules.push(("pages", vec!["api"], "pages imports no api"));
    rules.push(("api", vec!["pages"], "api imports no pages"));
    rules.push(("http", vec!["api", "pages", "server"], "http plumbing sits below api and pages"));
    rules.push(("state", vec!["api", "pages", "service", "server", "http"], "state imports no api, pages or service"));
    rules.push(("service", vec!["api", "pages", "http", "server"], "services know no HTTP layer"));
    let mut broken = Vec::new();
    for (file, line, text, from, to) in edges() {
        for (room, forbidden, why) in &rules {
            if from == *room && forbidden.contains(&to.as_str()) {
                broken.push(format!("{file}:{line}: `{from}` imports `{to}` ({why}): {text}"));
            }
        }
    }
    assert!(broken.is_empty(), "import rules broken:\n{}", broken.join("\n"));
}

#[test]
fn no_top_level_module_imports_one_that_imports_it_back() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut witness: BTreeMap<(String, String), String> = BTreeMap::new();
    for (file, line, _, from, to) in edges() {
        graph.entry(from.clone()).or_default().insert(to.clone());
        witness.entry((from, to)).or_insert(format!("{file}:{line}"));
    }
    // A cycle exists when some module reaches itself.
    let mut cycles = Vec::new();
    for start in graph.keys() {
        let mut path = vec![start.clone()];
        let mut seen = BTreeSet::new();
        if let Some(c) = find_cycle(&graph, start, start, &mut path, &mut seen) {
            let steps: Vec<String> = c
                .windows(2)
                .map(|w| format!("{} -> {} ({})", w[0], w[1], witness[&(w[0].clone(), w[1].clone())]))
                .collect();
            cycles.push(steps.join("; "));
        }
    }
    assert!(cycles.is_empty(), "import cycles between top-level modules:\n{}", cycles.join("\n"));
}

fn find_cycle(
    g: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    at: &str,
    path: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    for next in g.get(at).into_iter().flatten() {
        if next == start {
            let mut c = path.clone();
            c.push(next.clone());
            return Some(c);
        }
        if seen.insert(next.clone()) {
            path.push(next.clone());
            if let Some(c) = find_cycle(g, start, next, path, seen) {
                return Some(c);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn no_source_file_exceeds_600_lines() {
    let mut all = Vec::new();
    files(&root().join("src"), &["rs"], &mut all);
    files(&root().join("web/src"), &["ts", "js"], &mut all);
    let mut long = Vec::new();
    for f in all {
        let n = std::fs::read_to_string(&f).unwrap().lines().count();
        if n > MAX_LINES {
            long.push(format!("{}:{}: {n} lines (at most {MAX_LINES}; split it by role)", f.display(), MAX_LINES + 1));
        }
    }
    assert!(long.is_empty(), "files too long:\n{}", long.join("\n"));
}

#[test]
fn every_rust_file_opens_with_a_doc_comment() {
    let mut all = Vec::new();
    files(&root().join("src"), &["rs"], &mut all);
    let missing: Vec<String> = all
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| format!("{}:1: no `//!` comment saying what the room is for", f.display()))
        .collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_checks_see_violations() {
    // The parser finds grouped and nested references, and ignores comments.
    assert_eq!(crate_refs("use crate::{api::x, store::{a, b}};"), vec!["api", "store"]);
    assert_eq!(crate_refs("let s = crate::jobs::worker::spawn(crate::state::x);"), vec!["jobs", "state"]);
    assert!(crate_refs("// see crate::api").is_empty());
    assert_eq!(
        crate_refs_in("use crate::{\n    jobs::x,\n    store,\n};"),
        vec![(1, "jobs".into()), (1, "store".into())]
    );
    assert_eq!(module_of(Path::new("jobs/worker.rs")).as_deref(), Some("jobs"));
    assert_eq!(module_of(Path::new("state.rs")).as_deref(), Some("state"));
    assert_eq!(module_of(Path::new("cli/case.rs")), None);
    assert_eq!(module_of(Path::new("main.rs")), None);
    let g: BTreeMap<String, BTreeSet<String>> =
        [("a".to_string(), BTreeSet::from(["b".to_string()])), ("b".to_string(), BTreeSet::from(["a".to_string()]))]
            .into();
    assert!(find_cycle(&g, "a", "a", &mut vec!["a".into()], &mut BTreeSet::new()).is_some());
}
