//! `flowcfd serve` as a child process on a loopback port, for the tests that kill it
//! (`kill -9`, or a test build's crash point) and start it again on the same data.
#![allow(dead_code)]

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `flowcfd serve`; killed when dropped.
pub struct ChildServer {
    pub child: Child,
    pub url: String,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `flowcfd serve --bind 127.0.0.1:0 --data-dir DATA` with only the configuration
/// `extra` adds (arguments, `FLOWCFD_*` variables, crash switches); returns once it listens.
pub fn serve(data: &Path, extra: impl FnOnce(&mut Command)) -> ChildServer {
    let mut cmd = super::flowcfd_clean();
    cmd.arg("serve").args(["--bind", "127.0.0.1:0", "--data-dir"]).arg(data).env("FLOWCFD_LOG__FORMAT", "text");
    extra(&mut cmd);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().nth(4).unwrap_or_else(|| panic!("no URL in {line:?}")).to_string();
    ChildServer { child, url }
}
