//! The Dockerfiles, checked without a container engine (CI has none): every `COPY`/`ADD`
//! source is in a clean checkout (tracked by git) and not excluded by `.dockerignore`; every
//! `COPY --from` names a stage defined earlier; the image's entrypoint binary is built by a
//! `cargo build` in one of the Dockerfile's own stages and copied from there; and the Rust
//! image is new enough for every locked dependency. The checker is itself tested on a
//! deliberately broken Dockerfile (tests/fixtures/packaging/).
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files a clean checkout has: `git ls-files`.
fn tracked() -> Vec<String> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root())
        .output()
        .expect("git ls-files: is git installed, and is this a git checkout?");
    assert!(out.status.success(), "git ls-files failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.split(|b| *b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

/// Every Dockerfile of the repository, but the checker's own broken fixtures.
fn dockerfiles(files: &[String]) -> Vec<String> {
    files
        .iter()
        .filter(|f| !f.starts_with("tests/fixtures/"))
        .filter(|f| {
            let name = f.rsplit('/').next().unwrap_or(f);
            name == "Dockerfile" || name.ends_with(".Dockerfile") || name.starts_with("Dockerfile.")
        })
        .cloned()
        .collect()
}

// ---- .dockerignore ----------------------------------------------------------------------

/// One segment of a path against one segment of a pattern (`*`, `?`, literal characters).
fn seg_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => seg_match(&p[1..], s) || (!s.is_empty() && seg_match(p, &s[1..])),
        (Some(b'?'), Some(_)) => seg_match(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => seg_match(&p[1..], &s[1..]),
        _ => false,
    }
}

/// A path against a pattern, segment by segment; `**` spans any number of segments.
fn glob(pat: &[&str], path: &[&str]) -> bool {
    match pat.first() {
        None => path.is_empty(),
        Some(&"**") => (0..=path.len()).any(|i| glob(&pat[1..], &path[i..])),
        Some(p) => !path.is_empty() && seg_match(p.as_bytes(), path[0].as_bytes()) && glob(&pat[1..], &path[1..]),
    }
}

/// `.dockerignore` rules, in order; the last one that matches a path (or a folder above
/// it) decides, and `!` re-includes.
struct Ignore(Vec<(bool, Vec<String>)>);

impl Ignore {
    fn parse(text: &str) -> Ignore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (neg, pat) = match l.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, l),
                };
                let pat = pat.trim_start_matches("./").trim_matches('/');
                (neg, pat.split('/').filter(|s| !s.is_empty() && *s != ".").map(String::from).collect())
            })
            .collect();
        Ignore(rules)
    }

    fn excludes(&self, path: &str) -> bool {
        let segs: Vec<&str> = path.split('/').collect();
        let mut out = false;
        for (neg, pat) in &self.0 {
            let pat: Vec<&str> = pat.iter().map(String::as_str).collect();
            if (1..=segs.len()).any(|n| glob(&pat, &segs[..n])) {
                out = !neg;
            }
        }
        out
    }
}

// ---- Dockerfile parsing -----------------------------------------------------------------

#[derive(Debug)]
struct Instr {
    line: usize,
    op: String,
    args: String,
}

/// Logical instructions: comments dropped, `\` continuations joined.
fn instructions(text: &str) -> Vec<Instr> {
    let mut out = Vec::new();
    let mut cur: Option<Instr> = None;
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.starts_with('#') || (t.is_empty() && cur.is_some()) {
            continue;
        }
        if t.is_empty() {
            continue;
        }
        let (body, more) = match t.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (t, false),
        };
        match cur.as_mut() {
            Some(c) => {
                c.args.push(' ');
                c.args.push_str(body);
            }
            None => {
                let (op, args) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                cur = Some(Instr { line: i + 1, op: op.to_ascii_uppercase(), args: args.trim().to_string() });
            }
        }
        if !more {
            out.extend(cur.take());
        }
    }
    out.extend(cur);
    out
}

/// An instruction's arguments: the JSON (exec) form, or words.
fn words(args: &str) -> Vec<String> {
    if args.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(args) {
            return v;
        }
    }
    args.split_whitespace().map(String::from).collect()
}

#[derive(Debug)]
struct Copy {
    line: usize,
    from: Option<String>,
    sources: Vec<String>,
    dest: String,
}

#[derive(Debug, Default)]
struct Stage {
    name: Option<String>,
    workdir: String,
    runs: Vec<String>,
    copies: Vec<Copy>,
    entrypoint: Option<(usize, Vec<String>)>,
    cmd: Option<(usize, Vec<String>)>,
    base: String,
}

fn stages(text: &str) -> Vec<Stage> {
    let mut out: Vec<Stage> = Vec::new();
    for ins in instructions(text) {
        if ins.op == "FROM" {
            let w: Vec<&str> = ins.args.split_whitespace().filter(|w| !w.starts_with("--")).collect();
            let name = (w.len() >= 3 && w[1].eq_ignore_ascii_case("as")).then(|| w[2].to_ascii_lowercase());
            out.push(Stage {
                name,
                workdir: "/".into(),
                base: w.first().unwrap_or(&"").to_string(),
                ..Stage::default()
            });
            continue;
        }
        let Some(st) = out.last_mut() else { continue };
        match ins.op.as_str() {
            "WORKDIR" => {
                st.workdir = if ins.args.starts_with('/') {
                    ins.args.clone()
                } else {
                    format!("{}/{}", st.workdir.trim_end_matches('/'), ins.args)
                }
            }
            "RUN" => st.runs.push(ins.args.clone()),
            "ENTRYPOINT" => st.entrypoint = Some((ins.line, words(&ins.args))),
            "CMD" => st.cmd = Some((ins.line, words(&ins.args))),
            "COPY" | "ADD" => {
                let mut from = None;
                let mut rest = ins.args.as_str();
                while let Some(r) = rest.strip_prefix("--") {
                    let (flag, tail) = r.split_once(char::is_whitespace).unwrap_or((r, ""));
                    if let Some(f) = flag.strip_prefix("from=") {
                        from = Some(f.to_ascii_lowercase());
                    }
                    rest = tail.trim_start();
                }
                let mut w = words(rest);
                let dest = w.pop().unwrap_or_default();
                st.copies.push(Copy { line: ins.line, from, sources: w, dest });
            }
            _ => {}
        }
    }
    out
}

// ---- The checks -------------------------------------------------------------------------

/// What `cargo build` commands in a stage produce: absolute paths of the binaries, or a
/// folder (ending in `/`) when every binary of the package is built.
fn cargo_outputs(st: &Stage) -> Vec<String> {
    let mut out = Vec::new();
    for run in &st.runs {
        for cmd in run.split("&&").flat_map(|c| c.split(';')) {
            let w: Vec<&str> = cmd.split_whitespace().collect();
            let Some(at) = w.windows(2).position(|p| p == ["cargo", "build"]) else { continue };
            let w = &w[at + 2..];
            let flag = |name: &str| w.iter().position(|x| *x == name).and_then(|i| w.get(i + 1)).copied();
            let profile = match flag("--profile") {
                Some("dev") => "debug",
                Some(p) => p,
                None if w.contains(&"--release") => "release",
                None => "debug",
            };
            let dir = match flag("--target") {
                Some(t) => format!("{}/target/{t}/{profile}", st.workdir.trim_end_matches('/')),
                None => format!("{}/target/{profile}", st.workdir.trim_end_matches('/')),
            };
            let bins: Vec<&str> = w.windows(2).filter(|p| p[0] == "--bin").map(|p| p[1]).collect();
            if bins.is_empty() {
                out.push(format!("{dir}/"));
            }
            out.extend(bins.iter().map(|b| format!("{dir}/{b}")));
        }
    }
    out
}

fn basename(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

/// Every rule broken by one Dockerfile, as `FILE:LINE: what`.
fn check(file: &str, text: &str, tracked: &[String], ignore: &Ignore) -> Vec<String> {
    let mut errs = Vec::new();
    let stages = stages(text);
    let context: Vec<&String> = tracked.iter().filter(|f| !ignore.excludes(f)).collect();
    for (i, st) in stages.iter().enumerate() {
        for c in &st.copies {
            match &c.from {
                Some(from) => {
                    let earlier = stages[..i].iter().enumerate().any(|(j, s)| {
                        s.name.as_deref() == Some(from.as_str()) || from.parse::<usize>().ok() == Some(j)
                    });
                    if !earlier {
                        errs.push(format!("{file}:{}: COPY --from={from} names no stage defined before it", c.line));
                    }
                }
                None => {
                    for src in &c.sources {
                        if src.contains("://") {
                            errs.push(format!("{file}:{}: {src}: the build downloads nothing by ADD", c.line));
                            continue;
                        }
                        let s = src.trim_start_matches("./").trim_end_matches('/');
                        let pat: Vec<&str> = s.split('/').filter(|x| !x.is_empty() && *x != ".").collect();
                        let found = context.iter().any(|f| {
                            let segs: Vec<&str> = f.split('/').collect();
                            (0..=segs.len()).any(|n| glob(&pat, &segs[..n]))
                        });
                        if !found {
                            let why = if tracked.iter().any(|f| f == s || f.starts_with(&format!("{s}/"))) {
                                "is excluded by .dockerignore"
                            } else {
                                "is not in a clean checkout (not tracked by git)"
                            };
                            errs.push(format!("{file}:{}: COPY source {src} {why}", c.line));
                        }
                    }
                }
            }
        }
    }
    let Some(last) = stages.last() else {
        errs.push(format!("{file}: no FROM"));
        return errs;
    };
    let Some((line, argv)) = last.entrypoint.clone().or_else(|| last.cmd.clone()) else {
        errs.push(format!("{file}: the image has neither ENTRYPOINT nor CMD"));
        return errs;
    };
    let mut args = argv.iter().map(String::as_str).peekable();
    let mut prog = args.next().unwrap_or("");
    while ["tini", "dumb-init", "env"].contains(&basename(prog)) {
        while args.peek().is_some_and(|a| a.starts_with('-')) {
            args.next();
        }
        prog = args.next().unwrap_or("");
    }
    let copy = last.copies.iter().rev().find(|c| {
        c.dest == prog
            || (!prog.starts_with('/') && basename(&c.dest) == prog)
            || (c.dest.ends_with('/') && c.sources.iter().any(|s| format!("{}{}", c.dest, basename(s)) == prog))
    });
    let Some(copy) = copy else {
        errs.push(format!("{file}:{line}: the entrypoint {prog:?} is not copied into the image from a build stage"));
        return errs;
    };
    let Some(stage) = copy.from.as_ref().and_then(|f| stages.iter().find(|s| s.name.as_deref() == Some(f.as_str())))
    else {
        errs.push(format!(
            "{file}:{}: the entrypoint {prog:?} comes from the build context, not from a stage of this Dockerfile",
            copy.line
        ));
        return errs;
    };
    let outputs = cargo_outputs(stage);
    for src in &copy.sources {
        let built = outputs
            .iter()
            .any(|o| o == src || (o.ends_with('/') && src.rsplit_once('/').map(|x| x.0) == o.strip_suffix('/')));
        if !built {
            errs.push(format!(
                "{file}:{}: the entrypoint's {src} is not built by a `cargo build` in stage {:?} (it builds {outputs:?})",
                copy.line,
                stage.name.as_deref().unwrap_or("?")
            ));
        }
    }
    errs
}

/// `1.92` → (1, 92).
fn version(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.split('-').next()?.parse().ok()?))
}

// ---- Tests ------------------------------------------------------------------------------

#[test]
fn every_dockerfile_builds_from_a_clean_checkout() {
    let files = tracked();
    let found = dockerfiles(&files);
    for want in ["packaging/Dockerfile", "solver-images/openfoam/Dockerfile"] {
        assert!(found.iter().any(|f| f == want), "{want} is not tracked (found {found:?})");
    }
    let ignore = Ignore::parse(&std::fs::read_to_string(root().join(".dockerignore")).unwrap_or_default());
    let mut errs = Vec::new();
    for f in &found {
        let text = std::fs::read_to_string(root().join(f)).unwrap();
        errs.extend(check(f, &text, &files, &ignore));
    }
    assert!(errs.is_empty(), "Dockerfile problems:\n{}", errs.join("\n"));
}

#[test]
fn the_checker_finds_every_fault_of_a_broken_dockerfile() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/packaging/broken.Dockerfile")).unwrap();
    let tracked: Vec<String> =
        ["Cargo.toml", "Cargo.lock", "src/main.rs", "web/package.json", "target/release/flowcfd"]
            .map(String::from)
            .into();
    let ignore = Ignore::parse("# build outputs\ntarget\n**/node_modules\n");
    let errs = check("broken.Dockerfile", &text, &tracked, &ignore);
    let expect = [
        "broken.Dockerfile:8: COPY source assets/missing.txt is not in a clean checkout",
        "broken.Dockerfile:9: COPY source target/release/flowcfd is excluded by .dockerignore",
        "broken.Dockerfile:13: COPY --from=later names no stage defined before it",
        "broken.Dockerfile:14: COPY --from=nosuch names no stage defined before it",
        "broken.Dockerfile:15: the entrypoint's /src/target/release/flowcfd is not built by a `cargo build` in stage \"build\"",
    ];
    for e in expect {
        assert!(errs.iter().any(|x| x.starts_with(e)), "expected {e:?} among:\n{}", errs.join("\n"));
    }
    assert_eq!(errs.len(), expect.len(), "unexpected reports:\n{}", errs.join("\n"));

    // The same file, repaired, passes: the checker is not merely noisy.
    let fixed = text
        .replace("COPY assets/missing.txt /x\n", "")
        .replace("COPY target/release/flowcfd /y\n", "")
        .replace("COPY --from=later /a /b\n", "")
        .replace("COPY --from=nosuch /a /b\n", "")
        .replace("cargo build --target x86_64-unknown-linux-musl", "cargo build --release");
    let errs = check("fixed.Dockerfile", &fixed, &tracked, &ignore);
    assert!(errs.is_empty(), "{}", errs.join("\n"));

    // An entrypoint copied from the build context, not built in the file.
    let context = "FROM debian:bookworm-slim\nCOPY src/main.rs /usr/bin/flowcfd\nENTRYPOINT [\"/usr/bin/flowcfd\"]\n";
    let errs = check("ctx.Dockerfile", context, &tracked, &ignore);
    assert!(errs.iter().any(|e| e.contains("comes from the build context")), "{errs:?}");
}

#[test]
fn dockerignore_rules_follow_docker() {
    let ig = Ignore::parse("target\n**/node_modules\n*.swp\nweb/dist\n!web/dist/keep.txt\n/out\n");
    for p in
        ["target/release/flowcfd", "web/node_modules/x/y.js", "node_modules/a", "a.swp", "web/dist/app.js", "out/x"]
    {
        assert!(ig.excludes(p), "{p} should be excluded");
    }
    for p in ["src/target.rs", "web/src/app.ts", "web/dist/keep.txt", "docs/out.md", "sub/a.swp"] {
        assert!(!ig.excludes(p), "{p} should be sent");
    }
}

#[test]
fn the_rust_images_are_new_enough_for_every_locked_dependency() {
    let out = Command::new(env!("CARGO"))
        // Only the Linux targets the images build for: on a machine whose registry cache
        // holds just what this platform's builds fetched, other platforms' crates
        // (android_system_properties, …) are absent, and --offline could not read them.
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", "x86_64-unknown-linux-gnu", "--filter-platform", "x86_64-unknown-linux-musl"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (need, who) = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| Some((version(p["rust_version"].as_str()?)?, p["name"].as_str()?.to_string())))
        .max()
        .unwrap();
    let files = tracked();
    let mut seen = BTreeSet::new();
    for f in dockerfiles(&files) {
        let text = std::fs::read_to_string(root().join(&f)).unwrap();
        for st in stages(&text) {
            let Some(tag) = st.base.strip_prefix("rust:") else { continue };
            let have = version(tag).unwrap_or_else(|| panic!("{f}: pin the rust image to a version, not {tag:?}"));
            assert!(have >= need, "{f}: rust:{tag} is older than {who}'s rust-version {}.{}", need.0, need.1);
            seen.insert(f.clone());
        }
    }
    assert!(seen.len() >= 2, "no rust build stage found in {seen:?}");
}

#[test]
fn parsing_joins_continuations_and_skips_comments() {
    let ins = instructions("FROM a AS b\n# c\nRUN x \\\n  # inner comment\n  && y\nCOPY [\"p q\", \"/d\"]\n");
    assert_eq!(ins.len(), 3);
    assert_eq!(ins[1].args, "x && y");
    assert_eq!(ins[2].line, 6);
    assert_eq!(words(&ins[2].args), ["p q", "/d"]);
}
