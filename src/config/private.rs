//! The data directory's private files and folders: the database, the server secret and
//! users' uploads are created owner-only (files 0600, folders 0700) whatever the umask,
//! because other local accounts have no business reading them. What already exists keeps
//! the mode its operator gave it.
use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of the private files the server creates.
pub const FILE_MODE: u32 = 0o600;
/// Mode of the private folders the server creates.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents, each new one 0700; existing ones are left alone.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut next = Some(dir);
    while let Some(d) = next.filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
        missing.push(d);
        next = d.parent();
    }
    for d in missing.into_iter().rev() {
        match DirBuilder::new().mode(DIR_MODE).create(d) {
            // The umask may have taken bits away; set exactly 0700.
            Ok(()) => std::fs::set_permissions(d, Permissions::from_mode(DIR_MODE))?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates a new, empty file 0600 for writing; `AlreadyExists` if something is there.
pub fn create_new_file(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path)?;
    f.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_folders_and_files_are_owner_only_whatever_the_umask() {
        let t = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let deep = t.path().join("a/b/c");
        create_dir_all(&deep).unwrap();
        for d in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&t.path().join(d)), DIR_MODE, "{d}");
        }
        // An existing folder keeps its mode.
        std::fs::set_permissions(t.path().join("a"), Permissions::from_mode(0o750)).unwrap();
        create_dir_all(&t.path().join("a/d")).unwrap();
        assert_eq!(mode(&t.path().join("a")), 0o750);
        let f = deep.join("f");
        create_new_file(&f).unwrap();
        assert_eq!(mode(&f), FILE_MODE);
        assert_eq!(create_new_file(&f).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    }
}
