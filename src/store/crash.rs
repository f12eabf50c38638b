//! A test hook: `AGENDA_CRASH_AT=<step>:<n>` aborts the process at one step of its `n`th write
//! of a session or person (counted from 1 since the store was opened).
//!
//! Why: recovery must finish or discard a write cut at any of its steps, and a random
//! `kill -9` rarely lands inside the few microseconds between them. The hook is compiled in
//! always, so the tests run the binary that ships; unset, it costs one relaxed atomic load per
//! step. Before aborting it flushes sled, so everything the write did so far is on disk: the
//! hardest case for recovery (a log entry whose record was never written).
//!
//! Steps: `before-log` (a request id kept, the log entry not yet written: the write never
//! happened, and its kept id must not survive it), `after-log` (the log entry is written, the record not yet), `after-record` (both,
//! indexes not yet updated), `before-flush-wait`, `after-flush` (durable, not yet answered).
//!
//! On etcd only `after-flush` exists (the quorum has the write, its caller is not answered),
//! counting the etcd store's own writes of sessions and people.
//!
//! One more plan does not abort: `fail-flush:<n>` makes the flush that write `n` waits for,
//! and every flush after it, fail as a failed fsync does, without flushing (an injected EIO:
//! what a failing disk does to the store, testable without a failing disk).

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    AfterLog = 1,
    AfterRecord = 2,
    BeforeFlushWait = 3,
    AfterFlush = 4,
    /// Not a place in a write: the plan `fail-flush`, armed at write `n`'s
    /// `BeforeFlushWait`.
    FailFlush = 5,
    BeforeLog = 6,
}

const STEPS: [(&str, Step); 6] = [
    ("before-log", Step::BeforeLog),
    ("after-log", Step::AfterLog),
    ("after-record", Step::AfterRecord),
    ("before-flush-wait", Step::BeforeFlushWait),
    ("after-flush", Step::AfterFlush),
    ("fail-flush", Step::FailFlush),
];

/// The armed step (0: none) and write number.
static STEP: AtomicU8 = AtomicU8::new(0);
static NTH: AtomicU64 = AtomicU64::new(0);
static ARM: Once = Once::new();
/// Set once the `fail-flush` plan has reached its write: every flush fails from then on.
static FLUSH_FAILS: AtomicBool = AtomicBool::new(false);

/// Reads `AGENDA_CRASH_AT` once per process.
pub fn arm_from_env() {
    ARM.call_once(|| {
        let Ok(plan) = std::env::var("AGENDA_CRASH_AT") else { return };
        let parsed = plan.split_once(':').and_then(|(step, n)| {
            let step = STEPS.iter().find(|(name, _)| *name == step)?.1;
            Some((step, n.parse::<u64>().ok()?))
        });
        match parsed {
            Some((step, n)) => {
                tracing::warn!(%plan, "test hook armed: the process aborts at this step of this write");
                NTH.store(n, Ordering::Relaxed);
                STEP.store(step as u8, Ordering::Relaxed);
            }
            None => tracing::warn!(%plan, "AGENDA_CRASH_AT ignored: expected <step>:<n>"),
        }
    });
}

/// Aborts the process if the hook is armed for `step` of write `n`, after `flush`; or, armed
/// with `fail-flush` for write `n`, makes every flush fail from this write's on.
#[inline]
pub fn at(step: Step, n: u64, flush: impl FnOnce()) {
    let armed = STEP.load(Ordering::Relaxed);
    if armed == Step::FailFlush as u8 && step == Step::BeforeFlushWait && NTH.load(Ordering::Relaxed) == n {
        eprintln!("AGENDA_CRASH_AT: every flush fails from write {n} on");
        FLUSH_FAILS.store(true, Ordering::SeqCst);
        return;
    }
    if armed == step as u8 && NTH.load(Ordering::Relaxed) == n {
        flush();
        eprintln!("AGENDA_CRASH_AT: aborting at {step:?} of write {n}");
        std::process::abort();
    }
}

/// The failure the `fail-flush` plan injects in place of a flush, once armed.
pub fn injected_flush_failure() -> Option<String> {
    FLUSH_FAILS
        .load(Ordering::SeqCst)
        .then(|| "injected fsync failure (AGENDA_CRASH_AT=fail-flush): Input/output error (os error 5)".to_owned())
}
