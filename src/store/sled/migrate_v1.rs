//! The format-1 migration: format 1 kept its query indexes in trees on disk, format 2 in
//! memory. Run by [`super::SledStore::open`] on a store whose `format_version` is 1.

use sled::Tree;

use super::{FORMAT_VERSION, K_FORMAT, StoreError};

/// The index trees format 1 kept on disk; format 2 derives them in memory.
const V1_INDEX_TREES: [&str; 7] = [
    "sessions_by_start",
    "sessions_by_person",
    "sessions_by_organizer",
    "sessions_by_tag",
    "slots_by_person",
    "people_by_name",
    "person_refs",
];

/// The `meta` key of format 1's longest session span (format 2 keeps it in memory).
const K_MAX_SPAN: &[u8] = b"max_span";

/// Format 1 kept seven index trees on disk, written in the same transaction as each record
/// (so every record is applied and `meta/revision` is its last revision). Format 2 derives
/// them in memory: drop them, and the longest-span key that went with them.
pub(super) fn migrate(db: &sled::Db, meta: &Tree) -> Result<(), StoreError> {
    for name in V1_INDEX_TREES {
        db.drop_tree(name)?;
    }
    meta.remove(K_MAX_SPAN)?;
    meta.insert(K_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
    db.flush()?;
    tracing::info!(
        from = 1,
        to = FORMAT_VERSION,
        dropped = V1_INDEX_TREES.len(),
        "migrated the store: index trees dropped, indexes are now kept in memory"
    );
    Ok(())
}
