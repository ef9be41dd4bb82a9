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

/// Starts moto and creates `bucket`.
pub async fn start(bucket: &str) -> Moto {
    let bin = std::env::var("FLOWCFD_TEST_MOTO").expect(
        "FLOWCFD_TEST_MOTO is not set: run the tests with .ci/test, which installs moto[server] (a real S3-protocol server)",
    );
    let port = free_port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let m = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.put(format!("{}/{bucket}", m.endpoint)).send().await {
            assert!(r.status().is_success(), "create bucket: {}", r.status());
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not answer on port {port} within 20 s");
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
