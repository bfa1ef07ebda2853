//! Terminal output: phase spinners on stderr (hidden with --quiet, --json, or when
//! stderr is not a terminal) and the choice between human and JSON output.

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
        let pb = if self.quiet || self.json {
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
            if !self.quiet && !self.json {
                eprintln!("  {name} ({:.2} s)", t.elapsed().as_secs_f64());
            }
        }
    }

    /// A note for the user on stderr (suppressed by --quiet / --json).
    pub fn note(&self, msg: &str) {
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
        if !self.json && !self.quiet {
            println!("{text}");
        }
    }

    /// The machine-readable result on stdout (only with --json).
    pub fn print_json(&self, value: &serde_json::Value) -> anyhow::Result<()> {
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
