//! `flowcfd serve`, `migrate`, `admin create-user` and `config show` as a user runs them.
mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};

fn flowcfd_in(dir: &std::path::Path) -> Command {
    let mut c = common::flowcfd_clean();
    c.current_dir(dir);
    c
}

#[test]
fn zero_configuration_serve_prints_its_url_keeps_data_in_data_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = flowcfd_in(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("FlowCFD is running at http://127.0.0.1:"), "{line}");
    let url = line.split_whitespace().nth(4).unwrap().to_string();
    let body = plain_http::get(&format!("{url}/health/ready"));
    assert!(body.contains("\"database\":\"ok\""), "{body}");
    assert!(dir.path().join("data/flowcfd.db").exists());
    assert!(dir.path().join("data/blobs").is_dir());
    assert!(dir.path().join("data/secret.key").exists());
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown on SIGTERM: {status:?}");
}

mod plain_http {
    /// A tiny blocking GET over a std TcpStream (the tests' reqwest is async).
    pub fn get(url: &str) -> String {
        use std::io::{Read, Write};
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap();
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }
}

#[test]
fn config_show_layers_and_masks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flowcfd.toml"),
        "bind = \"127.0.0.1:9000\"\n[auth]\nsecret = \"file-secret-value-0123456789abcdef0123\"\n",
    )
    .unwrap();
    let (ok, out, err) = common::run(
        flowcfd_in(dir.path())
            .args(["config", "show", "--data-dir", "/srv/flowcfd"])
            .env("FLOWCFD_LIMITS__AUTH_PER_MINUTE", "7"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("bind = \"127.0.0.1:9000\""), "{out}");
    assert!(out.contains("data_dir = \"/srv/flowcfd\""), "{out}");
    assert!(out.contains("auth_per_minute = 7"), "{out}");
    assert!(!out.contains("file-secret-value") && out.contains("********"), "{out}");
    let (ok, _, err) = common::run(flowcfd_in(dir.path()).args(["config", "show"]).env("FLOWCFD_LIMITS__BOGUS", "1"));
    assert!(!ok && err.contains("FLOWCFD_LIMITS__BOGUS"), "{err}");
}

#[test]
fn migrate_and_create_the_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = common::run(flowcfd_in(dir.path()).arg("migrate"));
    assert!(ok && out.contains("sqlite"), "{out}{err}");
    let (ok, out, err) = common::run(
        flowcfd_in(dir.path())
            .args(["admin", "create-user", "--email", "Root@Example.org", "--name", "Root", "--admin"])
            .env("FLOWCFD_ADMIN_PASSWORD", "pressure-gradient-9"),
    );
    assert!(ok && out.contains("root@example.org") && out.contains("administrator"), "{out}{err}");
    let (ok, _, err) = common::run(
        flowcfd_in(dir.path())
            .args(["admin", "create-user", "--email", "root@example.org", "--name", "Again"])
            .env("FLOWCFD_ADMIN_PASSWORD", "pressure-gradient-9"),
    );
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = common::run(
        flowcfd_in(dir.path())
            .args(["admin", "create-user", "--email", "x@example.org", "--name", "X"])
            .env("FLOWCFD_ADMIN_PASSWORD", "short"),
    );
    assert!(!ok && err.contains("at least 10"), "{err}");
}
