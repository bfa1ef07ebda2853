//! Terminal output: phase spinners on stderr (hidden with --quiet, --json, or when
//! stderr is not a terminal) and the choice between human and JSON output; or, when
//! textclf is embedded (the Python package), the same output as [`Event`]s to the host.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Ui {
    pub quiet: bool,
    pub json: bool,
    current: RefCell<Option<(ProgressBar, Instant, String)>>,
}

impl Ui {
    pub fn new(quiet: bool, json: bool) -> Self {
        Self {
            quiet,
            json,
            current: RefCell::new(None),
        }
    }

    /// Starts a named phase with a spinner; the previous phase is closed first.
    pub fn phase(&self, name: &str) {
        self.finish();
        let embedded = emit(Event::Phase(name.to_string()));
        let pb = if self.quiet || self.json || embedded {
            ProgressBar::hidden()
        } else {
            let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        };
        pb.set_message(name.to_string());
        *self.current.borrow_mut() = Some((pb, Instant::now(), name.to_string()));
    }

    /// Closes the running phase, leaving a line "✓ name (1.23 s)" unless quiet.
    pub fn finish(&self) {
        if let Some((pb, t, name)) = self.current.borrow_mut().take() {
            pb.finish_and_clear();
            let line = format!("{name} ({:.2} s)", t.elapsed().as_secs_f64());
            if emit(Event::Note(line.clone())) {
                return;
            }
            if !self.quiet && !self.json {
                eprintln!("  {line}");
            }
        }
    }

    /// A note for the user on stderr (suppressed by --quiet / --json).
    pub fn note(&self, msg: &str) {
        if emit(Event::Note(msg.to_string())) {
            return;
        }
        if !self.quiet && !self.json {
            if let Some((pb, _, _)) = self.current.borrow().as_ref() {
                pb.suspend(|| eprintln!("  {msg}"));
                return;
            }
            eprintln!("  {msg}");
        }
    }

    /// A warning on stderr: printed unless --quiet (also with --json, whose stdout it
    /// leaves alone).
    pub fn warn(&self, msg: &str) {
        if emit(Event::Warning(msg.to_string())) {
            return;
        }
        if !self.quiet {
            if let Some((pb, _, _)) = self.current.borrow().as_ref() {
                pb.suspend(|| eprintln!("  warning: {msg}"));
                return;
            }
            eprintln!("  warning: {msg}");
        }
    }

    /// The main human-readable result on stdout (not printed with --json or --quiet).
    pub fn print(&self, text: &str) {
        if emit(Event::Text(text.to_string())) {
            return;
        }
        if !self.json && !self.quiet {
            println!("{text}");
        }
    }

    /// The machine-readable result on stdout (only with --json).
    pub fn print_json(&self, value: &serde_json::Value) -> anyhow::Result<()> {
        if emit(Event::Json(value.clone())) {
            return Ok(());
        }
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        }
        Ok(())
    }
}

impl textclf_experiment::Observer for Ui {
    fn phase(&self, what: &str) {
        Ui::phase(self, what)
    }
    fn finish(&self) {
        Ui::finish(self)
    }
    fn note(&self, msg: &str) {
        Ui::note(self, msg)
    }
    fn warn(&self, msg: &str) {
        Ui::warn(self, msg)
    }
}

// ---------------------------------------------------------------------------------------
// Embedding: when textclf runs inside another program (the Python package), the output
// above goes to that program as [`Event`]s instead of the terminal, interrupts come from
// it instead of a signal handler, and `sweep` starts its children with its command.

/// What an embedding program receives while a command runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A named phase started (a spinner on the terminal).
    Phase(String),
    /// A finished line of progress: a phase's time, a note, a fit, an epoch's record.
    Note(String),
    /// A warning.
    Warning(String),
    /// The human-readable result the terminal shows on stdout.
    Text(String),
    /// The machine-readable result (`--json`).
    Json(serde_json::Value),
    /// A progress bar starts (or restarts): its label, length and position.
    BarStart { prefix: String, len: u64, pos: u64 },
    /// The progress bar moved.
    BarUpdate { pos: u64, msg: String },
    /// The progress bar is done.
    BarEnd,
}

type Handler = Box<dyn Fn() + Send + 'static>;

#[derive(Default)]
struct Embedding {
    events: Option<std::sync::mpsc::Sender<Event>>,
    on_interrupt: Option<Handler>,
    /// An interrupt came before a handler was registered (or none ever is).
    pending: bool,
    fired: bool,
}

static EMBEDDING: std::sync::Mutex<Option<Embedding>> = std::sync::Mutex::new(None);
static CHILD_COMMAND: std::sync::OnceLock<Vec<std::ffi::OsString>> = std::sync::OnceLock::new();

fn with_embedding<R>(f: impl FnOnce(&mut Option<Embedding>) -> R) -> R {
    let mut guard = EMBEDDING.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut guard)
}

/// Sends an event to the embedding program; false when not embedded.
pub fn emit(e: Event) -> bool {
    with_embedding(|emb| match emb.as_ref().and_then(|x| x.events.as_ref()) {
        Some(tx) => {
            let _ = tx.send(e);
            true
        }
        None => false,
    })
}

/// Routes output and interrupts to an embedding program until [`unembed`].
pub fn embed(events: std::sync::mpsc::Sender<Event>) {
    with_embedding(|emb| {
        *emb = Some(Embedding {
            events: Some(events),
            ..Embedding::default()
        })
    });
}

/// Ends the embedding started by [`embed`].
pub fn unembed() {
    with_embedding(|emb| *emb = None);
}

/// Registers what Ctrl-C does: on the terminal, a signal handler (Ctrl-C, SIGTERM, SIGHUP);
/// embedded, a handler that [`interrupt`] calls once.
pub fn on_interrupt(f: impl Fn() + Send + 'static) {
    let run_now = with_embedding(|emb| match emb.as_mut() {
        Some(e) => {
            if e.pending && !e.fired {
                e.fired = true;
                e.pending = false;
                Some(Box::new(f) as Handler)
            } else {
                e.on_interrupt = Some(Box::new(f));
                None
            }
        }
        None => {
            let _ = ctrlc::set_handler(f);
            None
        }
    });
    if let Some(f) = run_now {
        f();
        with_embedding(|emb| {
            if let Some(e) = emb.as_mut() {
                e.on_interrupt = Some(f);
            }
        });
    }
}

/// The embedding program's Ctrl-C: calls the registered handler once (it saves a
/// checkpoint and stops), or remembers it for a handler registered later.
pub fn interrupt() {
    let handler = with_embedding(|emb| match emb.as_mut() {
        Some(e) if e.fired => None,
        Some(e) => match e.on_interrupt.take() {
            Some(h) => {
                e.fired = true;
                Some(h)
            }
            None => {
                e.pending = true;
                None
            }
        },
        None => None,
    });
    if let Some(h) = handler {
        h();
        with_embedding(|emb| {
            if let Some(e) = emb.as_mut() {
                e.on_interrupt = Some(h);
            }
        });
    }
}

/// Sets the program and leading arguments `sweep` runs its children with (default: this
/// executable). An embedding interpreter is not a `textclf` binary.
pub fn set_child_command(command: Vec<std::ffi::OsString>) {
    let _ = CHILD_COMMAND.set(command);
}

/// The program and leading arguments of a `sweep` child.
pub fn child_command() -> anyhow::Result<(std::path::PathBuf, Vec<std::ffi::OsString>)> {
    use anyhow::Context;
    match CHILD_COMMAND.get().and_then(|c| c.split_first()) {
        Some((exe, rest)) => Ok((exe.into(), rest.to_vec())),
        None => Ok((
            std::env::current_exe().context("cannot find the textclf executable")?,
            Vec::new(),
        )),
    }
}

/// A line of a `sweep` child's output: on stderr with its run id when `show`, else to the
/// embedding program, if any.
pub fn relay_child_line(id: &str, line: &str, show: bool) {
    if line.trim().is_empty() {
        return;
    }
    if show {
        eprintln!("[{id}] {line}");
    } else {
        emit(Event::Note(format!("[{id}] {line}")));
    }
}

/// A training [`Progress`](textclf_train::Progress) that also reports to the embedding
/// program (bar events, records, messages), if any.
pub fn observe(inner: &dyn textclf_train::Progress) -> Observed<'_> {
    Observed { inner }
}

pub struct Observed<'a> {
    inner: &'a dyn textclf_train::Progress,
}

impl textclf_train::Progress for Observed<'_> {
    fn start_epoch(&self, epoch: usize, epochs: usize, batches: usize, first: usize) {
        emit(Event::BarStart {
            prefix: format!("epoch {}/{epochs}", epoch + 1),
            len: batches as u64,
            pos: first as u64,
        });
        self.inner.start_epoch(epoch, epochs, batches, first);
    }
    fn batch(&self, done: usize, loss: f64, lr: f64, sps: f64) {
        emit(Event::BarUpdate {
            pos: done as u64,
            msg: format!("loss {loss:.4}  lr {lr:.2e}  {sps:.1} samples/s"),
        });
        self.inner.batch(done, loss, lr, sps);
    }
    fn evaluated(&self, r: &textclf_train::EpochRecord) {
        emit(Event::Note(format!(
            "epoch {} step {}: train loss {:.4} acc {:.4} | val loss {:.4} acc {:.4} macro-F1 {:.4} | {:.0} s, {:.1} samples/s",
            r.epoch, r.step, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy,
            r.val_macro_f1, r.train_seconds, r.samples_per_s
        )));
        self.inner.evaluated(r);
    }
    fn message(&self, msg: &str) {
        emit(Event::Note(msg.to_string()));
        self.inner.message(msg);
    }
    fn should_stop(&self) -> bool {
        self.inner.should_stop()
    }
}

impl Drop for Observed<'_> {
    fn drop(&mut self) {
        emit(Event::BarEnd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn embedded_output_and_interrupts_go_to_the_host() {
        let (tx, rx) = std::sync::mpsc::channel();
        embed(tx);
        let ui = Ui::new(false, true);
        ui.note("a note");
        ui.warn("a warning");
        ui.print_json(&serde_json::json!({"k": 1})).unwrap();
        // A handler registered before the interrupt runs once, however often it comes.
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        on_interrupt(move || {
            c.fetch_add(1, Ordering::SeqCst);
        });
        interrupt();
        interrupt();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        unembed();
        assert!(!emit(Event::Note("after".into())));
        let got: Vec<Event> = rx.try_iter().collect();
        assert_eq!(
            got,
            vec![
                Event::Note("a note".into()),
                Event::Warning("a warning".into()),
                Event::Json(serde_json::json!({"k": 1})),
            ]
        );

        // An interrupt before any handler is kept for the handler registered next.
        let (tx, _rx) = std::sync::mpsc::channel();
        embed(tx);
        interrupt();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        on_interrupt(move || {
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        interrupt();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        unembed();
    }
}
