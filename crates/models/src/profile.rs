//! Per-op-kind timing of a step (`textclf bench … --profile`): where the forward pass, the
//! backward pass and the optimizer spend their time.
//!
//! Off by default; a disabled [`span`] costs one relaxed atomic load. When enabled, every
//! span records its *self* time: the time of spans opened inside it (on the same thread) is
//! subtracted, so a fused linear layer inside the classifier head is counted once, under
//! `linear`, and the head's span keeps only its own `tanh`/slicing. candle runs an op's
//! CPU kernel and its backward on the calling thread, so the nesting is seen.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which part of a training step a span belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Forward,
    Backward,
    Optimizer,
}

/// Accumulated self time of one op kind in one phase.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpTime {
    pub op: &'static str,
    pub phase: Phase,
    pub seconds: f64,
    pub calls: u64,
}

static ON: AtomicBool = AtomicBool::new(false);
static TABLE: Mutex<Vec<OpTime>> = Mutex::new(Vec::new());

thread_local! {
    /// Time taken by child spans of each open span on this thread, innermost last.
    static OPEN: RefCell<Vec<Duration>> = const { RefCell::new(Vec::new()) };
}

/// Turns recording on or off (process-wide).
pub fn set_enabled(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Returns what was recorded since the last call and clears it, sorted by phase, then by
/// time (largest first).
pub fn take() -> Vec<OpTime> {
    let mut t = match TABLE.lock() {
        Ok(mut g) => std::mem::take(&mut *g),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    t.sort_by(|a, b| a.phase.cmp(&b.phase).then(b.seconds.total_cmp(&a.seconds)));
    t
}

/// A running span; its self time is recorded when it is dropped.
pub struct Span {
    op: &'static str,
    phase: Phase,
    start: Instant,
}

/// Starts timing `op` in `phase`, or does nothing when profiling is off.
#[must_use = "the span is timed until it is dropped"]
pub fn span(op: &'static str, phase: Phase) -> Option<Span> {
    if !enabled() {
        return None;
    }
    OPEN.with(|o| o.borrow_mut().push(Duration::ZERO));
    Some(Span {
        op,
        phase,
        start: Instant::now(),
    })
}

impl Drop for Span {
    fn drop(&mut self) {
        let total = self.start.elapsed();
        let children = OPEN.with(|o| {
            let mut o = o.borrow_mut();
            let c = o.pop().unwrap_or_default();
            if let Some(parent) = o.last_mut() {
                *parent += total;
            }
            c
        });
        let own = total.saturating_sub(children).as_secs_f64();
        let mut t = match TABLE.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match t
            .iter_mut()
            .find(|e| e.op == self.op && e.phase == self.phase)
        {
            Some(e) => {
                e.seconds += own;
                e.calls += 1;
            }
            None => t.push(OpTime {
                op: self.op,
                phase: self.phase,
                seconds: own,
                calls: 1,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy(ms: u64) {
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(ms) {
            std::hint::spin_loop();
        }
    }

    // One test touches the process-wide switch, so the cases run in sequence.
    #[test]
    fn records_self_time_only_when_enabled() {
        {
            let _s = span("off", Phase::Forward);
        }
        assert!(take().is_empty(), "nothing is recorded while disabled");

        set_enabled(true);
        {
            let _outer = span("outer", Phase::Forward);
            busy(20);
            for _ in 0..2 {
                let _inner = span("inner", Phase::Forward);
                busy(50);
            }
        }
        {
            let _b = span("inner", Phase::Backward);
            busy(5);
        }
        set_enabled(false);
        let t = take();
        let get = |op: &str, ph: Phase| t.iter().find(|e| e.op == op && e.phase == ph).unwrap();
        let inner = get("inner", Phase::Forward);
        let outer = get("outer", Phase::Forward);
        assert_eq!(inner.calls, 2);
        assert_eq!(outer.calls, 1);
        assert!(inner.seconds >= 0.100, "inner {}", inner.seconds);
        // The outer span's own work was 20 ms; its children's 100 ms are not counted again
        // (counted, it would be at least 120 ms).
        assert!(
            outer.seconds >= 0.020 && outer.seconds < 0.100,
            "outer {}",
            outer.seconds
        );
        assert_eq!(get("inner", Phase::Backward).calls, 1);
        assert_eq!(t[0].phase, Phase::Forward, "sorted by phase");
        assert!(take().is_empty(), "take clears the table");
    }
}
