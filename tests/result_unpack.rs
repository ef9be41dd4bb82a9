//! A result's case archive unpacked by many first opens at once (issue 19, item 16): every
//! opener gets the whole case, none sees part of an unpack or has it removed under it.
use flowcfd::service::post::unpack_once;
use std::path::Path;
use std::sync::{Arc, Barrier};

const FILES: usize = 120;
const SIZE: usize = 32 * 1024;

/// A `.tar.gz` of `case/constant/f{i}` files, each `SIZE` bytes of its own byte.
fn archive() -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for i in 0..FILES {
        let data = vec![(i % 251) as u8; SIZE];
        let mut h = tar::Header::new_gnu();
        h.set_size(SIZE as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("case/constant/f{i}"), &data[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// Whether `dir` holds the whole case, every file with its full content.
fn whole(dir: &Path) -> Result<(), String> {
    for i in 0..FILES {
        let p = dir.join(format!("case/constant/f{i}"));
        let b = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        if b.len() != SIZE || b.iter().any(|x| *x != (i % 251) as u8) {
            return Err(format!("{} is partial ({} bytes)", p.display(), b.len()));
        }
    }
    Ok(())
}

#[test]
fn concurrent_first_opens_each_get_the_whole_case() {
    let bytes = Arc::new(archive());
    for round in 0..5 {
        let root = tempfile::tempdir().unwrap();
        let target = Arc::new(root.path().join("post").join(format!("job-{round}")));
        let n = 8;
        let start = Arc::new(Barrier::new(n));
        let threads: Vec<_> = (0..n)
            .map(|_| {
                let (bytes, target, start) = (bytes.clone(), target.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    unpack_once(&bytes, &target).map_err(|e| format!("unpack: {e}"))?;
                    // What the opener reads next must be whole, and stay so.
                    whole(&target)
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        whole(&target).unwrap();
        // No unpacking leftovers beside the result.
        let left: Vec<String> = std::fs::read_dir(target.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, [format!("job-{round}")], "only the result is left");
        // A later open finds it whole and leaves it alone.
        unpack_once(&bytes, &target).unwrap();
        whole(&target).unwrap();
    }
}
