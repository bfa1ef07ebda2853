//! How an experiment tells what it does: the command line shows it, a test ignores it.

/// Receives an experiment's progress.
pub trait Observer {
    /// A phase starts (e.g. "reading data").
    fn phase(&self, what: &str);
    /// The current phase ended.
    fn finish(&self);
    /// Something worth knowing (a choice made, a fit's progress).
    fn note(&self, msg: &str);
    /// Something that may be wrong.
    fn warn(&self, msg: &str);
}

/// An observer that drops everything.
pub struct Silent;

impl Observer for Silent {
    fn phase(&self, _: &str) {}
    fn finish(&self) {}
    fn note(&self, _: &str) {}
    fn warn(&self, _: &str) {}
}
