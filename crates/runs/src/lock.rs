//! Exclusive folder locks (`flock` on a lock file), released when the holder exits, however
//! it exits: a killed process never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Result, RunsError};

/// Who holds a lock, as written into the lock file by the holder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    /// Seconds since the Unix epoch when the lock was taken.
    pub since_unix: u64,
    /// What the holder is doing (e.g. `textclf sweep, shard 0/2`).
    pub what: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (pid {}", self.what, self.pid)?;
        if !self.host.is_empty() {
            write!(f, " on {}", self.host)?;
        }
        write!(f, ")")
    }
}

/// This machine's host name (empty when it cannot be read).
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An exclusive lock on a lock file; dropped, it is released.
#[derive(Debug)]
pub struct FolderLock {
    file: File,
    path: PathBuf,
}

impl FolderLock {
    /// Takes the lock at `path` (creating the file and its folder), or fails at once with
    /// [`RunsError::Locked`] naming the holder. `what` says what this process does, for the
    /// message another process gets.
    pub fn acquire(path: &Path, what: &str) -> Result<FolderLock> {
        match Self::try_acquire(path, what)? {
            Ok(lock) => Ok(lock),
            Err(holder) => Err(RunsError::Locked {
                path: path.parent().unwrap_or(path).to_path_buf(),
                holder: holder.map_or_else(|| "another process".to_string(), |h| h.to_string()),
            }),
        }
    }

    /// Waits up to `timeout` for the lock; `on_wait` is called once, with the holder, when
    /// the first try fails.
    pub fn acquire_waiting(
        path: &Path,
        what: &str,
        timeout: Duration,
        on_wait: impl FnOnce(Option<&LockHolder>),
    ) -> Result<FolderLock> {
        let start = Instant::now();
        let mut on_wait = Some(on_wait);
        loop {
            match Self::try_acquire(path, what)? {
                Ok(lock) => return Ok(lock),
                Err(holder) => {
                    if start.elapsed() >= timeout {
                        return Err(RunsError::Locked {
                            path: path.parent().unwrap_or(path).to_path_buf(),
                            holder: holder
                                .map_or_else(|| "another process".to_string(), |h| h.to_string()),
                        });
                    }
                    if let Some(f) = on_wait.take() {
                        f(holder.as_ref());
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// `Ok(Ok(lock))` when taken, `Ok(Err(holder))` when another process holds it.
    fn try_acquire(
        path: &Path,
        what: &str,
    ) -> Result<std::result::Result<FolderLock, Option<LockHolder>>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| RunsError::io(dir, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| RunsError::io(path, e))?;
        if !flock_exclusive(&file).map_err(|e| RunsError::io(path, e))? {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Ok(Err(serde_json::from_str(&text).ok()));
        }
        let holder = LockHolder {
            pid: std::process::id(),
            host: host_name(),
            since_unix: now_unix(),
            what: what.to_string(),
        };
        let bytes = serde_json::to_vec(&holder).map_err(|source| RunsError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        let res = (|| {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&bytes)?;
            file.flush()
        })();
        res.map_err(|e| RunsError::io(path, e))?;
        Ok(Ok(FolderLock {
            file,
            path: path.to_path_buf(),
        }))
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Releases the lock and removes the lock file.
    pub fn release(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

/// Non-blocking exclusive `flock`: `Ok(false)` when another open file holds it.
#[cfg(unix)]
fn flock_exclusive(f: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this `File` owns for the duration of the call.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Without `flock`, the lock file is created exclusively (and removed on release).
#[cfg(not(unix))]
fn flock_exclusive(_f: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder_named_and_free_after_release() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x/.lock");
        let a = FolderLock::acquire(&p, "textclf sweep, shard all").unwrap();
        let e = FolderLock::acquire(&p, "second").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("textclf sweep, shard all"), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        let mut waited = false;
        let e = FolderLock::acquire_waiting(&p, "third", Duration::from_millis(300), |h| {
            waited = h.is_some()
        })
        .unwrap_err();
        assert!(waited && matches!(e, RunsError::Locked { .. }));
        a.release();
        assert!(!p.exists());
        let b = FolderLock::acquire(&p, "again").unwrap();
        drop(b);
        FolderLock::acquire(&p, "after drop").unwrap();
    }
}
