//! moto's S3 server on a loopback port (`.ci/test` installs it and sets FLOWCFD_TEST_MOTO).
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts moto and creates `bucket`. moto cannot report a port it picked itself, so a free
/// port is chosen here; if another test's listener takes it first (moto exits, or a server
/// that is not moto answers), it starts again on a new port.
pub async fn start(bucket: &str) -> Moto {
    let bin = std::env::var("FLOWCFD_TEST_MOTO").expect(
        "FLOWCFD_TEST_MOTO is not set: run the tests with .ci/test, which installs moto[server] (a real S3-protocol server)",
    );
    let http = reqwest::Client::new();
    let mut last = String::new();
    for _attempt in 0..5 {
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let mut m = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        last = format!("moto_server did not answer on port {port} within 20 s");
        for _ in 0..200 {
            if let Ok(Some(status)) = m.child.try_wait() {
                last = format!("moto_server exited ({status}) on port {port}");
                break;
            }
            if let Ok(r) = http.put(format!("{}/{bucket}", m.endpoint)).send().await {
                if r.status().is_success() {
                    return m;
                }
                last = format!("port {port} answered {} to create bucket (not moto?)", r.status());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    panic!("{last}");
}

/// Points a configuration's blob store at this server.
pub fn configure(m: &Moto, cfg: &mut flowcfd::config::Config, bucket: &str) {
    cfg.blobs.kind = "s3".into();
    let s3 = &mut cfg.blobs.s3;
    s3.bucket = bucket.into();
    s3.region = "us-east-1".into();
    s3.endpoint = Some(m.endpoint.clone());
    s3.access_key_id = Some("testing".into());
    s3.secret_access_key = Some("testing".into());
    s3.path_style = true;
    s3.allow_http = true;
}
