//! The `textclf` command line as a library: [`run_cli`] is the whole binary (flags, one
//! subcommand, errors with their chain of causes, exit codes 0 ok, 1 error, 2 usage, 130
//! interrupted); [`run_embedded`] runs one command line inside another program (the Python
//! package) with the same flags, defaults and messages, its output sent as
//! [`ui::Event`]s and Ctrl-C taken from [`ui::interrupt`].

mod args;
mod cmd;
mod hub;
pub mod ui;

use std::ffi::OsString;

use clap::Parser;

/// Training allocates and frees the same large activation buffers at every step. glibc's
/// allocator maps blocks above its mmap threshold fresh each time, so every step paid for
/// the kernel zeroing new pages (about 12 % of a MiniLM step here). mimalloc reuses freed
/// memory; see [`keep_freed_memory`].
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (15 in both the v2 and v3 headers; the Rust
/// bindings do not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never hand freed pages back to the OS (mimalloc's default purges them after 10 ms, and
/// the next step faults them in again): a training process reuses the same sizes step
/// after step, so its footprint stays at the peak of one step. `MIMALLOC_PURGE_DELAY` in
/// the environment still wins.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a process-wide allocator option; valid at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

/// candle runs its element-wise ops on a pool of its own whose idle worker spins 25,000
/// times before it sleeps, beside the rayon threads that run our kernels and the GEMMs. On
/// a 2-core machine that spinning took about 5 % of a training step (MiniLM, 32×64: 895 →
/// 850 ms); a short spin keeps the quick hand-over without it. Set before candle starts
/// the pool (it reads the variable once); `CANDLE_BARRIER_POOL_SPIN_LIMIT` in the
/// environment still wins.
fn short_spins() {
    const VAR: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(VAR).is_none() {
        // Called before any textclf work starts a thread.
        std::env::set_var(VAR, "1000");
    }
}

/// The process-wide settings the binary makes first thing: call once, early, before any
/// command (the Python package calls it when it is imported).
pub fn prepare_process() {
    keep_freed_memory();
    short_spins();
}

/// The error and its causes, joined by ": ", leaving out a cause whose text the message
/// before it already holds (a library error that prints its source, then that source
/// again, as in "incomplete deflate stream: incomplete deflate stream").
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// True when the run stopped on Ctrl-C (or SIGTERM) after saving its checkpoint.
fn is_interrupted(e: &anyhow::Error) -> bool {
    cmd::common::classify(e) == textclf_runs::Outcome::Interrupted
}

/// The whole `textclf` binary on a command line (`argv[0]` is the program name): returns
/// the exit status.
pub fn run_cli<I, T>(argv: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    prepare_process();
    let cli = match args::Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            // As clap's own `exit`: help and version on stdout with status 0, errors on
            // stderr with status 2.
            let _ = e.print();
            return e.exit_code().clamp(0, 255) as u8;
        }
    };
    let ui = ui::Ui::new(cli.global.quiet, cli.global.json);
    match cmd::run(cli.command, &ui) {
        Ok(()) => 0,
        Err(e) => {
            // A closed pipe (e.g. `textclf … | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return 0;
            }
            ui.finish();
            eprintln!("error: {}", error_chain(&e));
            if is_interrupted(&e) {
                130
            } else {
                1
            }
        }
    }
}

/// How an embedded command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The command line was refused (what the binary exits 2 for), or it asked for
    /// `--help`/`--version`, whose text is the message.
    Usage,
    /// Training was interrupted and saved a checkpoint (the binary's status 130).
    Interrupted,
    /// Any other error (the binary's status 1).
    Error,
}

/// An embedded command's error: the message the binary prints after `error: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub failure: Failure,
    pub message: String,
}

/// Output goes to the embedding program while this lives; dropping it (also when the
/// command panics) ends that, which closes the event channel the host waits on.
struct Embedded;

impl Embedded {
    fn start(events: std::sync::mpsc::Sender<ui::Event>) -> Self {
        ui::embed(events);
        Embedded
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        ui::unembed();
    }
}

/// One embedded command at a time per process: the event routing is process-wide.
static EMBEDDED: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs one command line (without the program name) as the binary would with `--json`,
/// sending its output to `events` instead of the terminal. Interrupts come from
/// [`ui::interrupt`] (no signal handler is installed).
pub fn run_embedded(
    argv: Vec<OsString>,
    events: std::sync::mpsc::Sender<ui::Event>,
) -> Result<(), CommandError> {
    let _one = match EMBEDDED.try_lock() {
        Ok(guard) => guard,
        // A command that panicked left nothing behind that matters (see `Embedded`).
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => {
            return Err(CommandError {
                failure: Failure::Error,
                message:
                    "another textclf command is running in this process; wait for it to finish"
                        .into(),
            })
        }
    };
    let full = std::iter::once(OsString::from("textclf")).chain(argv);
    let cli = args::Cli::try_parse_from(full).map_err(|e| {
        let text = e.to_string();
        let text = text.trim_end();
        CommandError {
            failure: Failure::Usage,
            message: text.strip_prefix("error: ").unwrap_or(text).to_string(),
        }
    })?;
    let _embedded = Embedded::start(events);
    let ui = ui::Ui::new(false, true);
    let result = cmd::run(cli.command, &ui);
    ui.finish();
    result.map_err(|e| CommandError {
        failure: if is_interrupted(&e) {
            Failure::Interrupted
        } else {
            Failure::Error
        },
        message: error_chain(&e),
    })
}

/// Loads a saved model folder as `textclf predict --model DIR` does (a linear baseline's
/// or a fine-tuned transformer's), with its warnings.
pub fn load_model(
    dir: &std::path::Path,
    int8: bool,
) -> Result<(Box<dyn textclf_core::Model>, Vec<String>), CommandError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let _one = EMBEDDED.lock().unwrap_or_else(|p| p.into_inner());
    let embedded = Embedded::start(tx);
    let ui = ui::Ui::new(false, true);
    let loaded = cmd::load_model(dir, int8, &ui);
    drop(embedded);
    let warnings = rx
        .try_iter()
        .filter_map(|e| match e {
            ui::Event::Warning(w) => Some(w),
            _ => None,
        })
        .collect();
    loaded.map(|m| (m, warnings)).map_err(|e| CommandError {
        failure: Failure::Error,
        message: error_chain(&e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::other("incomplete deflate stream");
        let e = anyhow::Error::new(io).context("data.csv.gz: incomplete deflate stream");
        let e = e.context("cannot read data.csv.gz");
        assert_eq!(
            error_chain(&e),
            "cannot read data.csv.gz: data.csv.gz: incomplete deflate stream"
        );
    }

    #[test]
    fn an_embedded_usage_error_carries_the_cli_message() {
        let (tx, _rx) = std::sync::mpsc::channel();
        let e = run_embedded(vec!["baseline".into(), "--bogus".into()], tx).unwrap_err();
        assert_eq!(e.failure, Failure::Usage);
        assert!(
            e.message.contains("unexpected argument '--bogus'"),
            "{}",
            e.message
        );
    }
}
