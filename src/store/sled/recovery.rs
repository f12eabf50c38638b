//! Recovery at open: the writes a crash cut short, finished from the log (see "Recovery at
//! open" in the module documentation). `verify` asks it
//! whether the last logged write is applied.

use sled::Tree;

use super::revision_key;
use crate::domain::ChangeKind;
use crate::store::StoreError;
use crate::store::records::{LogEntry, decode_person, decode_session};

/// The revision of the record stored under `id` in `tree`, if any.
fn stored_revision(tree: &Tree, id: &str, person: bool) -> Result<Option<u64>, StoreError> {
    let Some(bytes) = tree.get(id)? else { return Ok(None) };
    Ok(Some(if person { decode_person(&bytes)?.meta.revision } else { decode_session(&bytes)?.meta.revision }))
}

/// What a log entry writes: (person?, id, the record for a put).
fn entry_write(entry: LogEntry<'_>) -> Result<(bool, String, Option<&[u8]>), StoreError> {
    Ok(match entry {
        LogEntry::Session { kind, record } => {
            let id = decode_session(record)?.id.as_str().to_owned();
            (false, id, (kind != ChangeKind::Deleted).then_some(record))
        }
        LogEntry::PutPerson(record) => (true, decode_person(record)?.id.as_str().to_owned(), Some(record)),
        LogEntry::DeletePerson(id) => (true, id.to_owned(), None),
    })
}

/// Replays the log after `watermark` in revision order: a write whose record is older than its
/// entry is finished from the entry. Returns how many writes it finished.
pub(super) fn recover(sessions: &Tree, people: &Tree, changes: &Tree, watermark: u64) -> Result<usize, StoreError> {
    let mut finished = 0;
    for item in changes.range((watermark + 1).to_be_bytes()..) {
        let (k, v) = item?;
        let rev = revision_key(&k)?;
        let (person, id, put) = entry_write(LogEntry::decode(&v)?)?;
        let tree = if person { people } else { sessions };
        let current = stored_revision(tree, &id, person)?;
        if current.is_some_and(|c| c >= rev) {
            continue;
        }
        match put {
            Some(record) => drop(tree.insert(id.as_bytes(), record)?),
            None if current.is_some() => drop(tree.remove(id.as_bytes())?),
            None => continue,
        }
        finished += 1;
    }
    if finished > 0 {
        sessions.flush()?;
    }
    Ok(finished)
}

/// Why the write of the log entry at `rev` is not applied, if it is not.
pub(super) fn unapplied(sessions: &Tree, people: &Tree, rev: u64, entry: &[u8]) -> Result<Option<String>, StoreError> {
    let (person, id, put) = entry_write(LogEntry::decode(entry)?)?;
    let current = stored_revision(if person { people } else { sessions }, &id, person)?;
    let applied = match put {
        Some(_) => current == Some(rev),
        None => current.is_none(),
    };
    Ok((!applied).then(|| format!("the last logged write (revision {rev}, {id}) is not applied")))
}
