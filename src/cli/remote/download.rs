//! `remote download JOB --out DIR`: the summary, the case (unpacked into DIR/case) and the
//! PDF report, each streamed to a temporary file and renamed into place when whole.
use super::client::Client;
use super::exit;
use anyhow::{anyhow, Context};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `remote download`.
#[derive(Args)]
pub struct DownloadArgs {
    /// The job id.
    pub job: String,
    /// The case directory: the archive is unpacked into DIR/case (replacing one there).
    #[arg(long)]
    pub case: bool,
    /// The PDF report (made on the server on first request): DIR/report.pdf.
    #[arg(long)]
    pub report: bool,
    /// The run's summary.json: DIR/summary.json.
    #[arg(long)]
    pub summary: bool,
    /// The summary, the case and the report.
    #[arg(long, conflicts_with_all = ["case", "report", "summary"])]
    pub all: bool,
    /// Where to put them (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

pub async fn download(api: &Client, a: &DownloadArgs) -> anyhow::Result<u8> {
    let none = !(a.case || a.report || a.summary);
    let job = &a.job;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    if a.summary || a.all || none {
        let path = a.out.join("summary.json");
        fetch(api, &format!("/api/jobs/{job}/summary"), &path).await?;
        eprintln!("summary: {}", path.display());
    }
    if a.case || a.all {
        let archive = a.out.join(".case.tar.gz");
        fetch(api, &format!("/api/jobs/{job}/case.tar.gz"), &archive).await?;
        let out = a.out.clone();
        let unpacked = tokio::task::spawn_blocking(move || unpack(&archive, &out)).await?;
        let _ = std::fs::remove_file(a.out.join(".case.tar.gz"));
        unpacked?;
        eprintln!("case: {}", a.out.join("case").display());
    }
    if a.report || a.all {
        let path = a.out.join("report.pdf");
        eprintln!("report: the server makes it on first request; this may take a minute…");
        fetch(api, &format!("/api/jobs/{job}/report.pdf"), &path).await?;
        eprintln!("report: {}", path.display());
    }
    Ok(exit::COMPLETED)
}

/// Streams GET `path` into `to` (through `to` + `.part`).
async fn fetch(api: &Client, path: &str, to: &Path) -> anyhow::Result<()> {
    let url = api.url(path);
    let mut r = api.send(|h| Ok(h.get(&url))).await?;
    let part = PathBuf::from(format!("{}.part", to.display()));
    let mut f = std::fs::File::create(&part).with_context(|| format!("creating {}", part.display()))?;
    let written = async {
        while let Some(chunk) = r.chunk().await.map_err(|e| anyhow!("downloading {path}: {e}"))? {
            f.write_all(&chunk)?;
        }
        f.sync_all()?;
        std::fs::rename(&part, to)?;
        anyhow::Ok(())
    }
    .await;
    if written.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    written.with_context(|| format!("writing {}", to.display()))
}

/// Unpacks the job's archive (one top-level `case/`) into `out`, replacing `out/case`.
fn unpack(archive: &Path, out: &Path) -> anyhow::Result<()> {
    let tmp = out.join(format!(".case.unpacking-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp)?;
    let result = (|| {
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(archive)?));
        ar.set_preserve_permissions(false);
        // unpack() refuses entries that would escape the directory.
        ar.unpack(&tmp)?;
        let target = out.join("case");
        if target.exists() {
            std::fs::remove_dir_all(&target)?;
        }
        std::fs::rename(tmp.join("case"), &target)
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result.context("unpacking the case archive")
}
