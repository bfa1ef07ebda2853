//! The run folder, owned in one place.
//!
//! Every command that writes a run (`train`, `baseline`, `eval`, `ensemble`, and each run
//! of a sweep) goes through this crate:
//!
//! - [`write_atomic`]: a file is either its old or its new content, never a mix;
//! - [`FolderLock`]: one process at a time works in a folder, and a second one is told who
//!   holds it (pid, host);
//! - [`RunFolder`]: a run is built in `<out>.partial/` and renamed to `<out>` only when it
//!   is complete. An `--out` that holds another run is refused unless the caller asks to
//!   replace it whole;
//! - [`SweepRunRecord`]: a sweep run's `run.json`, typed, with one reader and one writer;
//! - [`RunStatus`]: the typed outcome a run leaves in its folder (`status.json`), which a
//!   sweep reads instead of parsing its child's messages.
//!
//! It has no dependency on the tensor stack or on any other textclf crate.

mod atomic;
mod error;
mod folder;
mod lock;
mod manifest;
mod record;
mod status;

pub use atomic::{honour_umask, write_atomic, write_json, AtomicFile};
pub use error::{Result, RunsError};
pub use folder::{
    describe_occupant, is_empty_dir, partial_path, Begin, Occupant, RunFolder, LOCK_FILE,
};
pub use lock::{host_name, now_unix, FolderLock, LockHolder};
pub use manifest::{verify_manifest, write_manifest, FileEntry, Manifest, MANIFEST_FILE};
pub use record::{Attempt, Family, RecordedStatus, SweepRunRecord, RUN_FILE};
pub use status::{Outcome, RunStatus, STATUS_FILE};
