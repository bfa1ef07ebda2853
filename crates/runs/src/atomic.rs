//! Atomic writes of run files, on [`textclf_core::atomic`] (the one implementation), with
//! this crate's errors; and file modes of saved folders.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::error::{Result, RunsError};

pub use textclf_core::atomic::AtomicFile;

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so
/// `path` is either its old or its new content, never a mix, even if the process is
/// killed half-way. Creates the folder if needed. The file's mode follows the umask.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    textclf_core::atomic::write_atomic(path, bytes).map_err(|e| RunsError::io(path, e))
}

/// Writes `value` as pretty JSON with a final newline, atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| RunsError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_written_pretty_with_a_final_newline() {
        // The atomicity itself is tested with `textclf_core::atomic`.
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("sub/a.json");
        write_json(&p, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "{\n  \"a\": 1\n}\n");
    }

    #[test]
    fn a_failed_write_names_the_path_and_keeps_the_old_content() {
        let t = tempfile::tempdir().unwrap();
        // A folder where the file should go: the rename fails.
        let p = t.path().join("x");
        fs::create_dir_all(p.join("inner")).unwrap();
        let e = write_atomic(&p, b"data").unwrap_err();
        assert!(e.to_string().contains(&p.display().to_string()), "{e}");
        assert!(p.join("inner").is_dir());
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
    }
}

/// Gives every file directly in `dir` the mode a new file gets here (the umask's), as a
/// file written with `File::create` would have: some writers create 0600 files (temporary
/// files renamed into place), and files copied from a read-only source stay read-only.
/// Another user can then load a saved model when the umask allows it.
#[cfg(unix)]
pub fn honour_umask(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join(format!(".mode-probe-{}", std::process::id()));
    let mode = {
        let f = fs::File::create(&probe).map_err(|e| RunsError::io(&probe, e))?;
        let m = f.metadata().map_err(|e| RunsError::io(&probe, e))?;
        m.permissions().mode() & 0o666
    };
    let _ = fs::remove_file(&probe);
    for e in fs::read_dir(dir).map_err(|e| RunsError::io(dir, e))? {
        let e = e.map_err(|e| RunsError::io(dir, e))?;
        let p = e.path();
        if p.is_file() && !p.is_symlink() {
            fs::set_permissions(&p, fs::Permissions::from_mode(mode))
                .map_err(|err| RunsError::io(&p, err))?;
        }
    }
    Ok(())
}

/// Without Unix modes there is nothing to do.
#[cfg(not(unix))]
pub fn honour_umask(_dir: &Path) -> Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod mode_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saved_files_get_the_mode_of_a_new_file() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        fs::write(&a, "x").unwrap();
        fs::set_permissions(&a, fs::Permissions::from_mode(0o600)).unwrap();
        let b = t.path().join("b");
        fs::write(&b, "y").unwrap();
        fs::set_permissions(&b, fs::Permissions::from_mode(0o444)).unwrap();
        let fresh = t.path().join("fresh");
        let want = fs::File::create(&fresh)
            .unwrap()
            .metadata()
            .unwrap()
            .permissions()
            .mode()
            & 0o666;
        honour_umask(t.path()).unwrap();
        for p in [a, b] {
            let m = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, want, "{}", p.display());
        }
        assert_eq!(
            fs::read_dir(t.path()).unwrap().count(),
            3,
            "the probe is removed"
        );
    }
}
