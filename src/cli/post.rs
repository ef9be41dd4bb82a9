//! `flowcfd post`: post-processing without ParaView. Each verb writes VTK (.vtp) and
//! prints one JSON line of statistics.
use clap::{Args, Subcommand};
use flowcfd::post::parse_vec3;
use std::path::PathBuf;

/// Which result to read.
#[derive(Args)]
pub struct PostCase {
    /// The OpenFOAM case directory.
    #[arg(long)]
    case: PathBuf,
    /// The time to read (default: the latest).
    #[arg(long)]
    time: Option<String>,
    /// auto (reconstructed when present), reconstructed, or decomposed (processor*/).
    #[arg(long, default_value = "auto")]
    source: flowcfd::post::Source,
}

/// `flowcfd post` verbs.
#[derive(Subcommand)]
pub enum PostCmd {
    /// Boundary patches with a field (default: the wall patches).
    Surface {
        #[command(flatten)]
        c: PostCase,
        /// Patch names, globs (motorBike*) or groups, comma-separated.
        #[arg(long, value_delimiter = ',')]
        patches: Vec<String>,
        /// p, U:mag, U:x, wallShearStress:mag, yPlus, Q, ...
        #[arg(long)]
        field: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// A cut plane through the cells, coloured by a field.
    Slice {
        #[command(flatten)]
        c: PostCase,
        #[arg(long, value_parser = parse_vec3)]
        origin: [f64; 3],
        #[arg(long, value_parser = parse_vec3)]
        normal: [f64; 3],
        #[arg(long)]
        field: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// An isosurface of a scalar (Q for the Q-criterion), coloured by itself or another.
    Iso {
        #[command(flatten)]
        c: PostCase,
        #[arg(long)]
        field: String,
        #[arg(long, allow_negative_numbers = true)]
        value: f64,
        #[arg(long)]
        color_by: Option<String>,
        /// cells (each polyhedral cell cut whole, the default) or tets (marching tetrahedra
        /// over each cell's decomposition).
        #[arg(long)]
        method: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Streamlines of U (RK4) from seeds evenly along a line.
    Streamlines {
        #[command(flatten)]
        c: PostCase,
        /// X,Y,Z:X,Y,Z
        #[arg(long, allow_hyphen_values = true)]
        seed_line: String,
        #[arg(long)]
        count: usize,
        /// The vector field to follow.
        #[arg(long, default_value = "U")]
        field: String,
        #[arg(long)]
        color_by: Option<String>,
        /// Stop a streamline after this length in metres (default: the mesh's largest side).
        #[arg(long)]
        max_length: Option<f64>,
        /// forward, backward or both.
        #[arg(long, default_value = "both")]
        direction: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Field values at points (null outside the mesh), or along a segment (a line plot).
    Probe {
        #[command(flatten)]
        c: PostCase,
        #[arg(long)]
        field: String,
        /// X,Y,Z;X,Y,Z
        #[arg(long, allow_hyphen_values = true, required_unless_present = "line")]
        points: Option<String>,
        /// X,Y,Z:X,Y,Z, sampled at --samples evenly spaced points, ends included.
        #[arg(long, allow_hyphen_values = true, conflicts_with = "points")]
        line: Option<String>,
        #[arg(long, default_value_t = 100)]
        samples: usize,
    },
}

/// Runs a `post` verb.
pub fn post(cmd: PostCmd) -> anyhow::Result<()> {
    use flowcfd::post::{view::Seeds, view::View, Case, FieldSel};
    let open = |c: &PostCase| Case::open(&c.case, c.time.as_deref(), c.source).map_err(anyhow::Error::msg);
    let (c, view, out) = match cmd {
        PostCmd::Probe { c, field, points, line, samples } => {
            let sel = FieldSel::parse(&field)?;
            let pts: Vec<[f64; 3]> = match (points, line) {
                (Some(points), _) => points
                    .split(';')
                    .filter(|p| !p.trim().is_empty())
                    .map(parse_vec3)
                    .collect::<Result<_, _>>()
                    .map_err(anyhow::Error::msg)?,
                (None, Some(line)) => {
                    let (a, b) = line.split_once(':').ok_or("--line is X,Y,Z:X,Y,Z").map_err(anyhow::Error::msg)?;
                    if !(2..=100_000).contains(&samples) {
                        anyhow::bail!("--samples must be 2 to 100000");
                    }
                    flowcfd::post::stream::seeds_on_line(
                        parse_vec3(a).map_err(anyhow::Error::msg)?,
                        parse_vec3(b).map_err(anyhow::Error::msg)?,
                        samples,
                    )
                }
                (None, None) => anyhow::bail!("give --points or --line"),
            };
            if pts.is_empty() {
                anyhow::bail!("--points needs at least one X,Y,Z");
            }
            let case = open(&c)?;
            let vals = case.probe(&sel, &pts)?;
            let line = serde_json::json!({"field": sel.label(), "time": case.time, "points": pts, "values": vals});
            println!("{line}");
            return Ok(());
        }
        PostCmd::Surface { c, patches, field, out } => (c, View::Surface { patches, field: Some(field) }, out),
        PostCmd::Slice { c, origin, normal, field, out } => {
            (c, View::Slice { origin, normal, field: Some(field) }, out)
        }
        PostCmd::Iso { c, field, value, color_by, method, out } => {
            (c, View::Iso { field, value, color_by, method }, out)
        }
        PostCmd::Streamlines { c, seed_line, count, field, color_by, max_length, direction, out } => {
            let (a, b) = seed_line.split_once(':').ok_or("--seed-line is X,Y,Z:X,Y,Z").map_err(anyhow::Error::msg)?;
            let seeds = Seeds::Line {
                from: parse_vec3(a).map_err(anyhow::Error::msg)?,
                to: parse_vec3(b).map_err(anyhow::Error::msg)?,
            };
            (c, View::Streamlines { seeds, count, field, color_by, max_length, direction }, out)
        }
    };
    let case = open(&c)?;
    let pd = flowcfd::post::view::extract(&case, &view)?;
    let mut w =
        std::io::BufWriter::new(std::fs::File::create(&out).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?);
    flowcfd::post::vtp::write(&pd, &mut w)
        .and_then(|_| std::io::Write::flush(&mut w))
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    let mut stats = pd.stats();
    stats["time"] = case.time.clone().into();
    stats["out"] = out.display().to_string().into();
    println!("{stats}");
    Ok(())
}
