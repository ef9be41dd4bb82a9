//! `flowcfd-bench solids`: an ASCII STL of N solids that all have the same name (issue 19,
//! item 8: 32,000 of them took 42 s when naming restarted its suffix search at `_2` for
//! each), read, healed and analysed as the server processes an upload. The baseline is a
//! file of one solid with the same triangles, so the ratio is the cost of the names.
use flowcfd::geometry::{analyse::analyse, heal::heal, heal::HealOptions, read_bytes, ReadOptions};
use std::time::Instant;

/// Options of the solids benchmark.
#[derive(clap::Args)]
pub struct SolidsArgs {
    /// Number of solids (one triangle each), all named `part`.
    #[arg(long, default_value_t = 100_000)]
    pub solids: usize,
    /// Fail when processing the named solids takes longer than this, seconds.
    #[arg(long, default_value_t = 3.0)]
    pub max_seconds: f64,
}

fn stl(solids: usize, named: bool) -> Vec<u8> {
    let mut out = String::with_capacity(solids * 200);
    if !named {
        out.push_str("solid part\n");
    }
    for i in 0..solids {
        let x = i as f64;
        if named {
            out.push_str("solid part\n");
        }
        out.push_str(&format!(
            "facet normal 0 0 1\nouter loop\nvertex {x} 0 0\nvertex {} 0 0\nvertex {x} 1 0\nendloop\nendfacet\n",
            x + 0.5
        ));
        if named {
            out.push_str("endsolid part\n");
        }
    }
    if !named {
        out.push_str("endsolid part\n");
    }
    out.into_bytes()
}

fn process(bytes: &[u8]) -> Result<(f64, usize), String> {
    let t = Instant::now();
    let raw = read_bytes("solids.stl", bytes, &ReadOptions::default()).map_err(|e| e.to_string())?;
    let (s, _) = heal(raw, &HealOptions::default());
    let a = analyse(&s, [1.0, 0.0, 0.0]);
    Ok((t.elapsed().as_secs_f64(), a.groups.len()))
}

/// Runs the benchmark and prints the times.
pub fn main(a: &SolidsArgs) -> Result<(), String> {
    let (base, one) = process(&stl(a.solids, false))?;
    let (named, groups) = process(&stl(a.solids, true))?;
    println!(
        "{} solids named alike: {named:.2} s ({groups} groups); one solid with the same triangles: {base:.2} s ({one} group); ratio {:.2}",
        a.solids,
        named / base.max(1e-9)
    );
    if groups != a.solids {
        return Err(format!("expected {} groups, got {groups}", a.solids));
    }
    if named > a.max_seconds {
        return Err(format!("{named:.2} s is over the {} s bound", a.max_seconds));
    }
    Ok(())
}
