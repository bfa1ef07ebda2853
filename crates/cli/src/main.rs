//! The `textclf` binary: parses flags, runs one subcommand, prints errors with their
//! whole chain of causes and maps them to exit codes (0 ok, 1 error, 2 usage).

mod args;
mod cmd;
mod hub;
mod ui;

use std::process::ExitCode;

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
        // Called first thing in `main`, before any thread exists.
        std::env::set_var(VAR, "1000");
    }
}

/// The error and its causes, joined by ": ", leaving out a cause whose text the message
/// before it already holds (a library error that prints its source, then that source
/// again, as in "incomplete deflate stream: incomplete deflate stream").
fn error_chain(e: &anyhow::Error) -> String {
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

fn main() -> ExitCode {
    keep_freed_memory();
    short_spins();
    let cli = args::Cli::parse();
    let ui = ui::Ui::new(cli.global.quiet, cli.global.json);
    match cmd::run(cli.command, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (e.g. `textclf … | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            ui.finish();
            eprintln!("error: {}", error_chain(&e));
            if cmd::common::classify(&e) == textclf_runs::Outcome::Interrupted {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
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
}
