//! `flowcfd-bench`: benchmarks that print a ratio against a baseline run in the same
//! invocation. It is a separate binary so that the product's library and its `flowcfd`
//! command carry none of the harness (nor its WebSocket client).
//!
//! - `motorbike`: OpenFOAM's motorBike tutorial against FlowCFD's pipeline;
//! - `queue`: the durable job queue, one worker against several;
//! - `events`: residual latency from a solver's log line to a WebSocket client;
//! - `post`: post-processing against ParaView's pvpython;
//! - `report`: a whole PDF report against pvpython's four result screenshots;
//! - `solids`: 100,000 solids with one name, read, healed and analysed;
//! - `meshai`: the mesh AI's answer for a geometry against the rules' plan.
use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod events;
mod meshai;
mod motorbike;
mod post;
// The terminal progress display of the `flowcfd` command, shared with this binary.
#[path = "../../cli/progress.rs"]
#[allow(dead_code)]
mod progress;
mod pv;
mod queue;
mod report;
mod solids;

#[derive(Parser)]
#[command(name = "flowcfd-bench", version, about = "FlowCFD benchmarks against a baseline run in the same invocation")]
struct Cli {
    #[command(subcommand)]
    which: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// OpenFOAM's motorBike tutorial (serial) against FlowCFD's pipeline on the same geometry.
    Motorbike(motorbike::MotorbikeArgs),
    /// Trivial jobs through the durable queue: one worker (baseline) against several.
    Queue(queue::QueueArgs),
    /// Residual latency from a solver's log line to a WebSocket client, against a bare
    /// poll of the same log.
    Events(events::EventsArgs),
    /// Post-processing (surface, slice, isosurface, 1,000 streamlines) against ParaView's
    /// pvpython on the same results.
    Post(post::PostArgs),
    /// A whole PDF report (reading, ~8 pictures, typesetting) against ParaView's pvpython
    /// saving four result screenshots, on the motorBike result and the 1M-cell case.
    Report(report::ReportArgs),
    /// 100,000 solids with the same name through reading, healing and analysis (bounded
    /// at 3 s), against one solid with the same triangles.
    Solids(solids::SolidsArgs),
    /// The mesh AI's answer for a geometry (grid, network, fit) against the rules' plan,
    /// bounded at 200 ms.
    Meshai(meshai::MeshAiArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    flowcfd::runner::steps::cancel_on_signals();
    let result = match cli.which {
        Bench::Motorbike(a) => motorbike::motorbike(&a).map_err(|e| e.to_string()),
        Bench::Queue(a) => queue::queue(&a),
        Bench::Events(a) => events::main(&a),
        Bench::Post(a) => post::main(&a),
        Bench::Report(a) => report::main(&a),
        Bench::Solids(a) => solids::main(&a),
        Bench::Meshai(a) => meshai::main(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
