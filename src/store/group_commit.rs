//! Group commit: one thread flushes the store; every writer waits for a flush that started
//! after its write.
//!
//! Why: an acknowledged write must survive `kill -9`, so each write waits for a flush, but
//! one flush per request would cap writes at the disk's flush rate. Here concurrent writers
//! share flushes: while one flush runs, the writes that arrive meanwhile queue up and the
//! next flush makes all of them durable at once. It is also the one place sled is flushed
//! from, which avoids sled 0.34's deadlock between concurrent `flush_async` calls (sled
//! issue 1308).
//!
//! **A failed flush is the last one.** After fsync fails, the kernel may have dropped the
//! pages it was asked to write and marked them clean, so a later flush that succeeds says
//! nothing about them (PostgreSQL's fsync lesson). Every writer waiting then, and every later
//! one, gets the error; no flush runs again (the store stops taking writes, see
//! `SledStore::stop`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// What flushes: `sled::Db::flush` in production.
pub type FlushFn = Box<dyn Fn() -> Result<(), String> + Send>;

#[derive(Default)]
struct State {
    /// Tickets handed out so far; a ticket is a write waiting for durability.
    requested: u64,
    /// Every ticket up to this one is durable.
    completed: u64,
    /// Every ticket up to this one has had its flush, successful or not.
    settled: u64,
    /// Set by the first flush that failed, with its error: no ticket from then on is known
    /// to be durable, and no flush runs again.
    failed: Option<String>,
    shutdown: bool,
}

struct Inner {
    state: Mutex<State>,
    /// Wakes the flusher when a ticket is requested or on shutdown.
    work: Condvar,
    /// Wakes writers when a flush ends.
    done: Condvar,
    /// Flushes run so far: with the number of writes, shows how well writes are grouped.
    flushes: AtomicU64,
}

/// The flusher thread and the handle writers wait on.
pub struct GroupCommit {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    pub fn start(flush: FlushFn) -> Self {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            done: Condvar::new(),
            flushes: AtomicU64::new(0),
        });
        let worker = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("agenda-flusher".into())
            .spawn(move || flusher(&worker, &flush))
            .expect("spawning the flusher thread");
        Self { inner, thread: Some(thread) }
    }

    /// Blocks until everything written before this call is durable.
    pub fn wait_durable(&self) -> Result<(), String> {
        let mut st = self.inner.state.lock().expect("group commit lock");
        st.requested += 1;
        let ticket = st.requested;
        self.inner.work.notify_one();
        loop {
            if st.completed >= ticket {
                return Ok(());
            }
            if let Some(err) = &st.failed {
                return Err(err.clone());
            }
            if st.shutdown {
                return Err("store is shutting down".into());
            }
            st = self.inner.done.wait(st).expect("group commit lock");
        }
    }

    /// (tickets requested, flushes run) so far.
    pub fn stats(&self) -> (u64, u64) {
        let requested = self.inner.state.lock().expect("group commit lock").requested;
        (requested, self.inner.flushes.load(Ordering::Relaxed))
    }
}

fn flusher(inner: &Inner, flush: &FlushFn) {
    let mut st = inner.state.lock().expect("group commit lock");
    loop {
        while st.requested == st.settled && !st.shutdown {
            st = inner.work.wait(st).expect("group commit lock");
        }
        if st.requested == st.settled && st.shutdown {
            return;
        }
        if st.failed.is_some() {
            // No flush after a failed one: the waiters already have the error.
            st.settled = st.requested;
            inner.done.notify_all();
            continue;
        }
        // Every ticket handed out so far was requested after its write committed, so a
        // flush that starts now makes all of them durable.
        let target = st.requested;
        drop(st);
        let result = flush();
        inner.flushes.fetch_add(1, Ordering::Relaxed);
        st = inner.state.lock().expect("group commit lock");
        st.settled = target;
        match result {
            Ok(()) => st.completed = target,
            // Not durable as far as we know: these writers and every later one get the error.
            Err(e) => st.failed = Some(e),
        }
        inner.done.notify_all();
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        if let Ok(mut st) = self.inner.state.lock() {
            st.shutdown = true;
        }
        self.inner.work.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    #[test]
    fn concurrent_writers_share_flushes() {
        let gc = Arc::new(GroupCommit::start(Box::new(|| {
            std::thread::sleep(Duration::from_millis(20));
            Ok(())
        })));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let gc = Arc::clone(&gc);
                std::thread::spawn(move || gc.wait_durable())
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let (writes, flushes) = gc.stats();
        assert_eq!(writes, 16);
        assert!(flushes < 16, "{flushes} flushes for 16 concurrent writes");
    }

    #[test]
    fn a_failed_flush_fails_every_later_writer_and_is_the_last_flush() {
        let fail = Arc::new(AtomicBool::new(true));
        let f = Arc::clone(&fail);
        let gc = GroupCommit::start(Box::new(
            move || {
                if f.load(Ordering::SeqCst) { Err("disk full".into()) } else { Ok(()) }
            },
        ));
        assert_eq!(gc.wait_durable(), Err("disk full".to_owned()));
        // The disk would take a flush again: nothing written before it is known durable.
        fail.store(false, Ordering::SeqCst);
        assert_eq!(gc.wait_durable(), Err("disk full".to_owned()));
        assert_eq!(gc.stats(), (2, 1), "the second writer got no flush of its own");
    }
}
