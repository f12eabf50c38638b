//! Striped locks for read-change-write on one record.

use crate::error::Kind;

/// How many stripe locks an [`Agenda`] keeps.
const STRIPES: usize = 64;

/// Locks for read-change-write on one record, chosen by a hash of the record's kind and id.
///
/// Why: an update reads the record, changes it and writes it back with a compare on the
/// revision it read. Without a lock, N concurrent updates of one session all read the same
/// revision, one wins and N-1 read and encode the record again, over and over (each round
/// costs a read, a validation and an encode per loser). With the stripe held from the read to
/// the write they queue instead and each does its work once. Striped, not one lock per id, so
/// memory stays fixed; two ids that share a stripe only wait for each other. The store's
/// compare-and-write still decides between processes: stripes save work, they do not make
/// the update correct.
pub(super) struct Stripes(Box<[tokio::sync::Mutex<()>]>);

impl Stripes {
    pub(super) fn new() -> Self {
        Self((0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect())
    }

    pub(super) async fn lock(&self, kind: Kind, id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (kind, id).hash(&mut h);
        self.0[(h.finish() % STRIPES as u64) as usize].lock().await
    }
}
