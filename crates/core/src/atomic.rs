//! Files that appear whole: every file textclf writes (run records, saved models,
//! predictions) goes to a temporary file beside its final name, is flushed to disk, and is
//! then renamed over that name. A reader sees the old content or the new, never a mix,
//! even when the writer is killed half-way; a failed write removes its temporary file.
//!
//! One implementation for every crate: [`write_atomic`] for bytes in memory,
//! [`AtomicFile`] for a file written in pieces, [`replace_with`] for a library that only
//! writes to a path (safetensors).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh temporary name beside `path` (`.NAME.tmp-PID-N`), after creating its folder.
/// The counter keeps two writers of one process apart.
fn temporary_beside(path: &Path) -> io::Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!(".{name}.tmp-{}-{n}", std::process::id())))
}

/// Moves the finished temporary file `tmp` over `path` after flushing it to disk; on
/// failure removes it.
fn commit(tmp: &Path, path: &Path) -> io::Result<()> {
    let res = fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| fs::rename(tmp, path));
    if res.is_err() {
        let _ = fs::remove_file(tmp);
    }
    res
}

/// Writes `path` through `write`, which is given a temporary path beside it to create and
/// fill; the result is then flushed and renamed into place. When `write` fails, its
/// temporary file is removed and the old file at `path` is untouched. Creates the folder
/// if needed.
pub fn replace_with(path: &Path, write: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let tmp = temporary_beside(path)?;
    if let Err(e) = write(&tmp) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    commit(&tmp, path)
}

/// Writes `bytes` to `path` atomically (see the module documentation). Creates the
/// folder if needed. The file's mode follows the umask.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_with(path, |tmp| fs::write(tmp, bytes))
}

/// A file written in pieces that appears under its name only when complete: the pieces go
/// to a temporary file beside it, which [`AtomicFile::commit`] flushes and renames into
/// place. Dropped without a commit, the temporary file is removed and any old file at the
/// path is untouched.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<io::BufWriter<fs::File>>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let tmp = temporary_beside(path)?;
        let f = fs::File::create(&tmp)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            out: Some(io::BufWriter::with_capacity(1 << 20, f)),
        })
    }

    /// Flushes the file to disk and renames it into place.
    pub fn commit(mut self) -> io::Result<()> {
        if let Some(w) = self.out.take() {
            if let Err(e) = w.into_inner().map_err(|e| e.into_error()) {
                let _ = fs::remove_file(&self.tmp);
                return Err(e);
            }
        }
        commit(&self.tmp, &self.path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.out {
            Some(w) => w.write(buf),
            None => Err(io::Error::other("the file was committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("sub/a.json");
        write_atomic(&p, b"first, longer content").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        assert_eq!(names(&t.path().join("sub")), ["a.json"]);
    }

    #[test]
    fn a_failed_rename_keeps_what_was_there_and_cleans_up() {
        let t = tempfile::tempdir().unwrap();
        // A folder where the file should go: the rename fails.
        let p = t.path().join("x");
        fs::create_dir_all(p.join("inner")).unwrap();
        assert!(write_atomic(&p, b"data").is_err());
        assert!(p.join("inner").is_dir());
        assert_eq!(names(t.path()), ["x"]);
    }

    #[test]
    fn a_failed_writer_leaves_the_old_file_and_no_temporary() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("model.safetensors");
        fs::write(&p, "old").unwrap();
        let e = replace_with(&p, |tmp| {
            fs::write(tmp, "half of it")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(names(t.path()), ["model.safetensors"]);
        replace_with(&p, |tmp| fs::write(tmp, "new")).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
    }

    #[test]
    fn two_writers_of_one_process_get_their_own_temporaries() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("out.csv");
        let mut a = AtomicFile::create(&p).unwrap();
        let mut b = AtomicFile::create(&p).unwrap();
        a.write_all(b"a\n").unwrap();
        b.write_all(b"b\n").unwrap();
        a.commit().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a\n");
        b.commit().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "b\n");
        assert_eq!(names(t.path()), ["out.csv"]);
    }

    #[test]
    fn pieces_appear_only_when_committed() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("out.csv");
        fs::write(&p, "old\n").unwrap();
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"a\n").unwrap();
        f.write_all(b"b\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "old\n");
        f.commit().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a\nb\n");
        let mut g = AtomicFile::create(&p).unwrap();
        g.write_all(b"never").unwrap();
        drop(g);
        assert_eq!(fs::read_to_string(&p).unwrap(), "a\nb\n");
        assert_eq!(names(t.path()), ["out.csv"]);
    }
}
