//! The `flowcfd` command line: parses the verb and hands it to its module in `cli/`.
//! Benchmarks are a separate binary, `flowcfd-bench`. Built without the `server` feature it is
//! the runner (`run`, `case`, `geometry`, `mesh-ai`, `post`), which clusters and pods run.

use clap::{Parser, Subcommand};
#[cfg(feature = "server")]
use cli::admin::AdminCmd;
use cli::case::CaseArgs;
use cli::mesh_ai::MeshAiCmd;
use cli::post::PostCmd;
#[cfg(feature = "server")]
use cli::serve::{ConfigCmd, ServerArgs};
use flowcfd::runner::steps::cancel_on_signals;
use std::path::PathBuf;
use std::process::ExitCode;

mod cli;

#[derive(Parser)]
#[command(name = "flowcfd", version, about = "CAD surface to converged OpenFOAM simulation")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Mesh and solve: `flowcfd run CASE.toml --out DIR` or `flowcfd run --geometry FILE --out DIR`.
    Run(CaseArgs),
    /// Write the OpenFOAM case only (run it later with ./Allrun).
    Case(CaseArgs),
    /// Read, heal and analyse a surface; print the report as JSON.
    Geometry {
        /// STL or OBJ file (optionally .gz).
        file: PathBuf,
        /// Unit scale (0.001 for millimetres).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Flow direction for the frontal area.
        #[arg(long, value_parser = flowcfd::post::parse_vec3, default_value = "1,0,0")]
        flow_dir: [f64; 3],
    },
    #[cfg(feature = "server")]
    /// Run the web appliance: API, pages, background processing.
    Serve(ServerArgs),
    #[cfg(feature = "server")]
    /// Run jobs from the shared database without serving HTTP (several may share one PostgreSQL).
    Worker(ServerArgs),
    #[cfg(feature = "server")]
    /// Run the database migrations and exit.
    Migrate(ServerArgs),
    #[cfg(feature = "server")]
    /// Administration from the command line.
    Admin {
        #[command(subcommand)]
        cmd: AdminCmd,
    },
    #[cfg(feature = "server")]
    /// Configuration.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Mesh parameters for a geometry (the mesh AI, or the rules), and its voxel grid.
    #[command(name = "mesh-ai")]
    MeshAi {
        #[command(subcommand)]
        cmd: MeshAiCmd,
    },
    /// Post-processing without ParaView: each verb writes VTK (.vtp) and prints one JSON line
    /// of statistics (triangles, area, field min/max; streamline count and total length).
    Post {
        #[command(subcommand)]
        cmd: PostCmd,
    },
    #[cfg(feature = "server")]
    /// The PDF report of a result: `flowcfd report --case DIR --out report.pdf`.
    Report(cli::report::ReportArgs),
    #[cfg(feature = "server")]
    /// Use a FlowCFD server from the terminal: sign in, upload, submit, watch, download
    /// (`flowcfd remote login URL`, then `flowcfd remote --help`).
    Remote {
        #[command(subcommand)]
        cmd: cli::remote::RemoteCmd,
    },
    #[cfg(feature = "server")]
    /// The validation suite: published cases run through FlowCFD and compared with
    /// reference data (`flowcfd validate --list` names them).
    Validate(cli::validate::ValidateArgs),
}

/// The printing commands end as Unix filters do when their reader goes away
/// (`flowcfd mesh-ai predict ... | head`), not with a panic: Rust ignores SIGPIPE, so
/// `println!` to a closed pipe would panic. Only for these commands; the server's sockets
/// and the pipeline's children keep Rust's handling.
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: restores the default disposition of one signal, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.cmd, Cmd::Run(_) | Cmd::Case(_)) {
        cancel_on_signals();
    }
    if matches!(cli.cmd, Cmd::Geometry { .. } | Cmd::MeshAi { .. } | Cmd::Post { .. }) {
        end_quietly_on_a_closed_pipe();
    }
    let result = match cli.cmd {
        #[cfg(feature = "server")]
        Cmd::Serve(a) => cli::serve::serve(&a),
        #[cfg(feature = "server")]
        Cmd::Worker(a) => cli::serve::worker(&a),
        #[cfg(feature = "server")]
        Cmd::Migrate(a) => cli::serve::migrate(&a),
        #[cfg(feature = "server")]
        Cmd::Admin { cmd } => cli::admin::run(cmd),
        #[cfg(feature = "server")]
        Cmd::Config { cmd } => cli::serve::config(&cmd),
        Cmd::Run(a) => cli::case::case(&a, true).map_err(anyhow::Error::from),
        Cmd::Case(a) => cli::case::case(&a, false).map_err(anyhow::Error::from),
        Cmd::Geometry { file, scale, flow_dir } => flowcfd::runner::pipeline::geometry_report(&file, scale, flow_dir)
            .map(|v| println!("{}", serde_json::to_string_pretty(&v).expect("JSON")))
            .map_err(anyhow::Error::from),
        Cmd::MeshAi { cmd } => cli::mesh_ai::mesh_ai(&cmd),
        Cmd::Post { cmd } => cli::post::post(cmd),
        #[cfg(feature = "server")]
        Cmd::Report(a) => cli::report::report(&a),
        #[cfg(feature = "server")]
        Cmd::Validate(a) => cli::validate::validate(&a),
        // Its own exit codes: a watched job's outcome (see `cli::remote::exit`).
        #[cfg(feature = "server")]
        Cmd::Remote { cmd } => return cli::remote::main(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// mimalloc: the store's driver threads allocate rows that the request threads free, and
/// glibc's arenas spent a tenth of a listing's time on that hand-over (bench/http.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
