//! `textclf._native`: the compiled half of the `textclf` Python package.
//!
//! * [`run`] runs one `textclf` command line (the CLI's own flags, defaults and error
//!   messages) on a worker thread with the GIL released. The calling thread relays the
//!   command's output (phases, notes, a progress bar) to a Python callback, and polls
//!   Python's signal handlers between events: a `KeyboardInterrupt` asks training to save
//!   a checkpoint and stop, as Ctrl-C does on the terminal, and is raised again once the
//!   command has stopped.
//! * [`Model`] is a saved model folder loaded as `textclf predict` loads it.
//! * [`main`] is the whole `textclf` binary, for `python -m textclf` (and the children a
//!   sweep starts).
//!
//! The Python-facing API (`textclf/__init__.py`) builds the command lines; this module
//! knows nothing of keyword arguments, so it can later call a typed experiment path
//! instead without changing that API.

use std::ffi::OsString;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::IntoPyObjectExt;
use textclf_cli::ui::Event;
use textclf_cli::{CommandError, Failure};
use textclf_core::{Inputs, Outputs};

create_exception!(
    _native,
    TextclfError,
    PyException,
    "An error textclf reported; the message is the one the command line prints after `error:`."
);
create_exception!(
    _native,
    UsageError,
    TextclfError,
    "Arguments the command line refuses (what `textclf` exits with status 2 for)."
);

/// How often the waiting thread looks at Python's signal handlers.
const POLL: Duration = Duration::from_millis(100);

/// The worker thread's stack: the binary's main thread has 8 MiB; be generous.
const STACK: usize = 64 << 20;

fn to_py_err(e: CommandError) -> PyErr {
    match e.failure {
        Failure::Usage => UsageError::new_err(e.message),
        Failure::Interrupted => PyKeyboardInterrupt::new_err(e.message),
        Failure::Error => TextclfError::new_err(e.message),
    }
}

/// An event as a tuple for the Python callback: `(kind, a, b, c)`.
fn event_tuple<'py>(py: Python<'py>, e: &Event) -> PyResult<Bound<'py, PyTuple>> {
    fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>> {
        v.into_bound_py_any(py)
    }
    let none = || py.None().into_bound(py);
    let (kind, a, b, c) = match e {
        Event::Phase(s) => ("phase", obj(py, s)?, none(), none()),
        Event::Note(s) => ("note", obj(py, s)?, none(), none()),
        Event::Warning(s) => ("warning", obj(py, s)?, none(), none()),
        Event::Text(s) => ("text", obj(py, s)?, none(), none()),
        Event::Json(_) => ("json", none(), none(), none()),
        Event::BarStart { prefix, len, pos } => (
            "bar_start",
            obj(py, prefix)?,
            obj(py, *len)?,
            obj(py, *pos)?,
        ),
        Event::BarUpdate { pos, msg } => ("bar_update", obj(py, *pos)?, obj(py, msg)?, none()),
        Event::BarEnd => ("bar_end", none(), none(), none()),
    };
    PyTuple::new(py, [obj(py, kind)?, a, b, c])
}

/// Runs one command line (without the program name, e.g. `["baseline", "--train", …]`).
///
/// `on_event(kind, a, b, c)` receives its output: `("phase", name)`, `("note", line)`,
/// `("warning", line)`, `("text", report)`, `("bar_start", label, length, position)`,
/// `("bar_update", position, message)`, `("bar_end",)`. Returns the command's JSON
/// result (what `--json` prints) as a string, or None.
#[pyfunction]
#[pyo3(signature = (argv, on_event=None))]
fn run(py: Python<'_>, argv: Vec<String>, on_event: Option<Py<PyAny>>) -> PyResult<Option<String>> {
    let (tx, rx) = mpsc::channel::<Event>();
    // A Receiver is not Sync; the lock lets the GIL-free wait borrow it.
    let rx = std::sync::Mutex::new(rx);
    let argv: Vec<OsString> = argv.into_iter().map(OsString::from).collect();
    let worker = std::thread::Builder::new()
        .name("textclf".into())
        .stack_size(STACK)
        .spawn(move || textclf_cli::run_embedded(argv, tx))
        .map_err(|e| TextclfError::new_err(format!("cannot start a thread: {e}")))?;

    let mut json: Option<String> = None;
    let mut interrupted = false;
    let mut callback_error: Option<PyErr> = None;
    let interrupt =
        |py: Python<'_>, e: PyErr, interrupted: &mut bool, callback_error: &mut Option<PyErr>| {
            if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                if !*interrupted {
                    *interrupted = true;
                    textclf_cli::ui::interrupt();
                }
            } else if callback_error.is_none() {
                *callback_error = Some(e);
            }
        };
    loop {
        // The channel closes when the worker is done (its sender is dropped).
        match py.detach(|| {
            rx.lock()
                .map_err(|_| RecvTimeoutError::Disconnected)
                .and_then(|r| r.recv_timeout(POLL))
        }) {
            Ok(Event::Json(v)) => json = Some(v.to_string()),
            Ok(event) => {
                if let Some(cb) = &on_event {
                    let r = event_tuple(py, &event).and_then(|t| cb.call1(py, t).map(|_| ()));
                    if let Err(e) = r {
                        interrupt(py, e, &mut interrupted, &mut callback_error);
                    }
                }
            }
            // A worker that died without closing the channel (it cannot, but be sure).
            Err(RecvTimeoutError::Timeout) if worker.is_finished() => break,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if let Err(e) = py.check_signals() {
            interrupt(py, e, &mut interrupted, &mut callback_error);
        }
    }
    let result = py
        .detach(|| worker.join())
        .map_err(|_| TextclfError::new_err("textclf panicked; this is a bug, please report it"))?;
    match result {
        // Stopped because of the interrupt (a sweep reports it as its own error).
        Err(e) if interrupted => Err(PyKeyboardInterrupt::new_err(e.message)),
        Err(e) => Err(to_py_err(e)),
        Ok(()) if interrupted => Err(PyKeyboardInterrupt::new_err(
            "interrupted, but the command had no checkpoint to stop at and finished first; its results are in place",
        )),
        Ok(()) => match callback_error {
            Some(e) => Err(e),
            None => Ok(json),
        },
    }
}

/// The whole `textclf` binary on `argv` (with the program name first); returns the exit
/// status. Installs the binary's Ctrl-C handling.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| textclf_cli::run_cli(argv))
}

/// Sets the program and leading arguments `sweep` starts its child runs with.
#[pyfunction]
fn set_child_command(command: Vec<String>) {
    textclf_cli::ui::set_child_command(command.into_iter().map(OsString::from).collect());
}

/// A saved model folder (`<run>/model`), loaded as `textclf predict --model` loads it.
#[pyclass(frozen, module = "textclf._native")]
struct Model {
    inner: Box<dyn textclf_core::Model>,
    warnings: Vec<String>,
}

#[pymethods]
impl Model {
    #[staticmethod]
    #[pyo3(signature = (path, int8=false))]
    fn load(py: Python<'_>, path: std::path::PathBuf, int8: bool) -> PyResult<Self> {
        let (inner, warnings) = py
            .detach(|| textclf_cli::load_model(&path, int8))
            .map_err(to_py_err)?;
        Ok(Model { inner, warnings })
    }

    /// The class names, in the column order of `predict_proba`.
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.inner.labels().names().to_vec()
    }

    /// The model family, e.g. "tfidf-nbsvm" or "bert".
    #[getter]
    fn kind(&self) -> String {
        self.inner.kind()
    }

    /// The task: "single-label", "multi-label" or "regression".
    #[getter]
    fn task(&self) -> String {
        self.inner.task().name().to_string()
    }

    /// Warnings printed while loading.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// Class probabilities (single-label), per-label scores (multi-label) or the one
    /// predicted value (regression), one row per text.
    fn predict_proba(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<Vec<f32>>> {
        let k = self.inner.labels().len();
        py.detach(|| {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok::<_, textclf_core::Error>(match self.inner.predict(Inputs::Texts(&refs))? {
                Outputs::Classes(p) => (0..p.len()).map(|i| p.row(i).to_vec()).collect(),
                Outputs::LabelSets { scores, .. } => {
                    scores.chunks(k.max(1)).map(<[f32]>::to_vec).collect()
                }
                Outputs::Values(v) => v.into_iter().map(|x| vec![x]).collect(),
            })
        })
        .map_err(|e| TextclfError::new_err(e.to_string()))
    }

    /// The most probable class name of each text (multi-label: the predicted label names
    /// joined by "|"; regression: the value as text).
    fn predict(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<String>> {
        let labels = self.inner.labels();
        py.detach(|| {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            self.inner.predict(Inputs::Texts(&refs))
        })
        .map(|o| match o {
            Outputs::Classes(p) => p
                .argmax()
                .into_iter()
                .map(|i| labels.name(i).to_string())
                .collect(),
            Outputs::LabelSets { predicted, .. } => predicted
                .iter()
                .map(|s| {
                    s.iter()
                        .map(|&l| labels.name(l))
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect(),
            Outputs::Values(v) => v.iter().map(|x| x.to_string()).collect(),
        })
        .map_err(|e| TextclfError::new_err(e.to_string()))
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    textclf_cli::prepare_process();
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(set_child_command, m)?)?;
    m.add_class::<Model>()?;
    m.add("TextclfError", m.py().get_type::<TextclfError>())?;
    m.add("UsageError", m.py().get_type::<UsageError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
