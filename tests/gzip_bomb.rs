//! A decompression bomb is refused while the real `flowcfd serve` process stays small
//! (issue 19, item 9). The server runs as a child process so that its peak memory
//! (`VmHWM` in /proc) is its own, not the test harness's.
mod common;

use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `members` gzip members of 1 MiB of zeros each: about 1 KiB per MiB inflated.
fn bomb(members: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; 1 << 20]).unwrap();
    let one = enc.finish().unwrap();
    one.repeat(members)
}

/// Peak resident memory of process `pid`, bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_while_the_server_stays_under_500_mb() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = common::flowcfd_clean()
        .current_dir(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().nth(4).unwrap_or_else(|| panic!("{line}")).trim_end_matches('/').to_string();
    let http = reqwest::Client::new();

    let result = async {
        let token = common::server::sign_up(&http, &url, "bomb@example.org").await;
        let p: Value = http
            .post(format!("{url}/api/projects"))
            .bearer_auth(&token)
            .json(&json!({"name": "bombs"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pid_ = p["id"].as_str().unwrap().to_string();
        let before = peak_rss(pid);

        // 1.5 MB that inflates to 1.5 GiB: within the old cap (8 × the 1 GiB upload limit),
        // which the old code inflated whole into memory.
        let data = bomb(1536);
        assert!(data.len() < 2 << 20, "{}", data.len());
        let part = reqwest::multipart::Part::bytes(data).file_name("bomb.stl.gz");
        let g: Value = http
            .post(format!("{url}/api/projects/{pid_}/geometries"))
            .bearer_auth(&token)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let gid = g["id"].as_str().unwrap_or_else(|| panic!("{g}")).to_string();
        let t = Instant::now();
        let g = loop {
            let g: Value = http
                .get(format!("{url}/api/geometries/{gid}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if g["status"] != "pending" && g["status"] != "processing" {
                break g;
            }
            assert!(t.elapsed() < Duration::from_secs(120), "not refused in 2 minutes: {g}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        (before, g)
    }
    .await;
    let peak = peak_rss(pid);
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = child.wait();
    let (before, g) = result;
    assert!(peak < 500 << 20, "the server peaked at {} MB (from {} MB before the upload)", peak >> 20, before >> 20);
    assert_eq!(g["status"], "failed", "{g}");
    let msg = g["error"].as_str().unwrap();
    assert!(msg.contains("decompressed size of bomb.stl.gz"), "{msg}");
}
