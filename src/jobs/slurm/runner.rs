//! The runner a Slurm cluster runs: which local file it is, whether it is the static build,
//! and its name on the cluster.
//!
//! Clusters run the batch job with `flowcfd run`, but not necessarily this server's own
//! executable: a glibc-linked build fails on a login node with an older glibc. The runner
//! is the `--no-default-features` build for `x86_64-unknown-linux-musl` (static, no server
//! libraries), found through `[jobs] runner_bin`, else as `flowcfd-runner` beside this
//! executable, else as `../lib/flowcfd/flowcfd-runner` relative to it (the .deb's and the
//! appliance image's place). Without one, the server's own executable is uploaded, with a
//! warning. It is uploaded once per version and content: `bin/flowcfd-runner-VERSION-SHA`.
use std::path::{Path, PathBuf};

/// The runner to upload: `configured`, or the packaged one beside `exe`, or `exe` itself.
pub fn locate(configured: Option<&Path>, exe: &Path) -> PathBuf {
    if let Some(p) = configured {
        return p.to_path_buf();
    }
    if let Some(dir) = exe.parent() {
        for c in [dir.join("flowcfd-runner"), dir.join("../lib/flowcfd/flowcfd-runner")] {
            if c.is_file() {
                return c;
            }
        }
    }
    exe.to_path_buf()
}

/// Whether `elf` is an ELF executable that needs no dynamic loader (no `PT_INTERP`
/// program header): a static or static-pie build. Anything that is not a 64-bit
/// little-endian ELF is `None`.
pub fn is_static(elf: &[u8]) -> Option<bool> {
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return None;
    }
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().ok()?) as usize;
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    for i in 0..count {
        let at = phoff.checked_add(i.checked_mul(size)?)?;
        let kind = elf.get(at..at + 4)?;
        if u32::from_le_bytes(kind.try_into().ok()?) == PT_INTERP {
            return Some(false);
        }
    }
    Some(true)
}

/// What `runner --version` prints on this machine (`flowcfd 0.1.0`), or `unknown`.
pub fn local_version(runner: &Path) -> String {
    std::process::Command::new(runner)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The runner's file name on the cluster: its version and the start of its SHA-256, so
/// that each build is uploaded once and a new one never replaces a running one.
pub fn remote_name(version: &str, sha256_hex: &str) -> String {
    let v = version.split_whitespace().last().unwrap_or("unknown");
    let v: String = v.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')).collect();
    format!("flowcfd-runner-{v}-{}", &sha256_hex[..16.min(sha256_hex.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 header with one program header of type `kind`.
    fn elf(kind: u32) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        b[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        b[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        b[64..68].copy_from_slice(&kind.to_le_bytes());
        b
    }

    #[test]
    fn an_interpreter_header_means_dynamic() {
        assert_eq!(is_static(&elf(3)), Some(false));
        assert_eq!(is_static(&elf(1)), Some(true));
        assert_eq!(is_static(b"#!/bin/sh\n"), None);
        let mut short = elf(1);
        short[0x38..0x3a].copy_from_slice(&9u16.to_le_bytes());
        assert_eq!(is_static(&short), None, "program headers past the end");
        // This test binary is glibc-linked.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(is_static(&me), Some(false));
    }

    #[test]
    fn the_packaged_runner_is_preferred_to_the_servers_own_executable() {
        let d = tempfile::tempdir().unwrap();
        let exe = d.path().join("bin/flowcfd");
        std::fs::create_dir_all(d.path().join("bin")).unwrap();
        std::fs::write(&exe, b"").unwrap();
        assert_eq!(locate(None, &exe), exe);
        std::fs::create_dir_all(d.path().join("lib/flowcfd")).unwrap();
        std::fs::write(d.path().join("lib/flowcfd/flowcfd-runner"), b"").unwrap();
        assert_eq!(locate(None, &exe), d.path().join("bin/../lib/flowcfd/flowcfd-runner"));
        std::fs::write(d.path().join("bin/flowcfd-runner"), b"").unwrap();
        assert_eq!(locate(None, &exe), d.path().join("bin/flowcfd-runner"));
        assert_eq!(locate(Some(Path::new("/opt/r")), &exe), PathBuf::from("/opt/r"));
        assert_eq!(remote_name("flowcfd 0.1.0", "0123456789abcdef0123"), "flowcfd-runner-0.1.0-0123456789abcdef");
    }
}
